/**
 * The registry client's parsers on their own: references, credentials and
 * auth files, challenges, Retry-After, Link, error bodies, Content-Range.
 */
import { test } from 'node:test'
import assert from 'node:assert/strict'
import { mkdtemp, mkdir, rm, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { parseRemoteReference } from '../../../src/distribution/client/index.js'
import { findCredentials, authFilePaths } from '../../../src/distribution/client/credentials.js'
import { parseChallenges } from '../../../src/distribution/client/challenge.js'
import { isLoopback, parseRetryAfter } from '../../../src/distribution/client/session.js'
import { nextLink } from '../../../src/distribution/client/link.js'
import { parseErrorBody } from '../../../src/distribution/client/response-error.js'
import { parseContentRange } from '../../../src/distribution/client/ranges.js'
import { mergeScopes, formatScopes } from '../../../src/distribution/client/authenticator.js'
import { withQuery } from '../../../src/distribution/client/upload.js'

const hex = 'a'.repeat(64)

test('parseRemoteReference accepts what distribution accepts, with the registry written', () => {
  assert.deepEqual(parseRemoteReference('docker://127.0.0.1:5000/lib/app:v1'), { registry: '127.0.0.1:5000', repository: 'lib/app', tag: 'v1' })
  assert.deepEqual(parseRemoteReference(`docker://localhost/app@sha256:${hex}`), { registry: 'localhost', repository: 'app', digest: `sha256:${hex}` })
  assert.deepEqual(parseRemoteReference('docker://ghcr.io/a/b/c'), { registry: 'ghcr.io', repository: 'a/b/c' })
  assert.deepEqual(parseRemoteReference('docker://docker.io/busybox:1.36'), { registry: 'docker.io', repository: 'library/busybox', tag: '1.36' })
  assert.deepEqual(parseRemoteReference('docker://[::1]:5000/x__y/a-b.c:T_1.x-2'), { registry: '[::1]:5000', repository: 'x__y/a-b.c', tag: 'T_1.x-2' })
})

test('parseRemoteReference refuses anything else with ERR_INVALID_REFERENCE', () => {
  const bad = [
    '127.0.0.1:5000/lib/app', // no transport
    'docker:/127.0.0.1/app',
    'docker://busybox', // no registry
    'docker://busybox/app', // first component is not a host
    'docker://127.0.0.1:5000', // no repository
    'docker://127.0.0.1:5000/', // empty repository
    'docker://127.0.0.1:70000/app', // port out of range
    'docker://127.0.0.1:0/app',
    'docker://h.io/App', // uppercase
    'docker://h.io/a//b',
    'docker://h.io/a/../b',
    'docker://h.io/a/b:', // empty tag
    `docker://h.io/a:${'t'.repeat(129)}`,
    'docker://h.io/a:-t',
    `docker://h.io/a@sha512:${'a'.repeat(128)}`, // only sha256
    `docker://h.io/a@sha256:${'A'.repeat(64)}`,
    'docker://h.io/a@sha256:abc',
    `docker://h.io/a:v1@sha256:${hex}`, // tag and digest
    'docker://h.io/a b',
    'docker://h.io/a\n',
    `docker://h.io/${'a'.repeat(300)}`,
    `docker://h.io/${'a/'.repeat(3000)}a`
  ]
  for (const value of bad) {
    assert.throws(() => parseRemoteReference(value), (err: any) => err.code === 'ERR_INVALID_REFERENCE' && !err.message.includes('\n'), value)
  }
})

test('credentials: --creds, then the auth files in skopeo order, keys most specific first', async (t) => {
  const dir = await mkdtemp(join(tmpdir(), 'tessera-creds-'))
  t.after(async () => { await rm(dir, { recursive: true, force: true }) })
  const b64 = (s: string): string => Buffer.from(s).toString('base64')
  const runtime = join(dir, 'run')
  const home = join(dir, 'home')
  await mkdir(join(runtime, 'containers'), { recursive: true })
  await mkdir(join(home, '.docker'), { recursive: true })
  await writeFile(join(runtime, 'containers', 'auth.json'), JSON.stringify({ auths: { 'r.io/team': { auth: b64('team:t') }, 'other.io': { auth: b64('o:o') } } }))
  await writeFile(join(home, '.docker', 'config.json'), JSON.stringify({ auths: { 'https://r.io/v1/': { auth: b64('legacy:pa:ss') }, 'd.io': { auth: b64('d:d') } } }))
  const env = { XDG_RUNTIME_DIR: runtime, HOME: home }
  assert.deepEqual(await findCredentials('r.io', 'x', { credentials: 'u:p:q', env }), { username: 'u', password: 'p:q' })
  assert.deepEqual(await findCredentials('r.io', 'team/app', { env }), { username: 'team', password: 't' })
  // no entry in the runtime file for r.io/x: the docker config's legacy key matches, password keeps its colon
  assert.deepEqual(await findCredentials('r.io', 'x', { env }), { username: 'legacy', password: 'pa:ss' })
  assert.deepEqual(await findCredentials('d.io', 'x', { env }), { username: 'd', password: 'd' })
  assert.equal(await findCredentials('none.io', 'x', { env }), undefined)
  // an explicit auth file is the only one read
  const explicit = join(dir, 'explicit.json')
  await writeFile(explicit, JSON.stringify({ auths: { 'e.io': { auth: b64('e:e') } } }))
  assert.deepEqual(authFilePaths({ authFile: explicit, env }), [explicit])
  assert.deepEqual(authFilePaths({ env: { ...env, REGISTRY_AUTH_FILE: explicit } }), [explicit])
  assert.equal(await findCredentials('d.io', 'x', { authFile: explicit, env }), undefined)
  assert.deepEqual(await findCredentials('e.io', 'x', { env: { ...env, REGISTRY_AUTH_FILE: explicit } }), { username: 'e', password: 'e' })
  assert.equal(await findCredentials('e.io', 'x', { authFile: join(dir, 'missing.json'), env }), undefined)
  // malformed files and entries are one clear error
  const broken = join(dir, 'broken.json')
  await writeFile(broken, '{"auths":')
  await assert.rejects(findCredentials('e.io', 'x', { authFile: broken, env }), (err: any) => err.code === 'ERR_REGISTRY_AUTH' && err.message.includes('broken.json'))
  await writeFile(broken, JSON.stringify({ auths: { 'e.io': { auth: b64('nocolon') } } }))
  await assert.rejects(findCredentials('e.io', 'x', { authFile: broken, env }), { code: 'ERR_REGISTRY_AUTH' })
  await assert.rejects(findCredentials('e.io', 'x', { credentials: ':p', env }), { code: 'ERR_REGISTRY_AUTH' })
})

test('WWW-Authenticate challenges parse, several per header, hostile ones bounded', () => {
  assert.deepEqual(parseChallenges('Bearer realm="https://auth.io/token",service="registry.io",scope="repository:a/b:pull,push"'), [
    { scheme: 'bearer', params: Object.assign(Object.create(null), { realm: 'https://auth.io/token', service: 'registry.io', scope: 'repository:a/b:pull,push' }) }
  ])
  const two = parseChallenges('Basic realm="x", Bearer realm="https://t/\\"q\\"",error=insufficient_scope')
  assert.deepEqual(two.map((c) => c.scheme), ['basic', 'bearer'])
  assert.equal(two[1]!.params.realm, 'https://t/"q"')
  assert.equal(two[1]!.params.error, 'insufficient_scope')
  assert.deepEqual(parseChallenges(['Basic realm=x', 'Bearer realm=y']).map((c) => c.scheme), ['basic', 'bearer'])
  assert.deepEqual(parseChallenges('Bearer realm="unterminated'), [{ scheme: 'bearer', params: Object.create(null) }])
  assert.ok(parseChallenges('a, '.repeat(100_000)).length <= 16)
  assert.deepEqual(parseChallenges(undefined), [])
})

test('scopes merge by resource', () => {
  assert.deepEqual(formatScopes(mergeScopes(['repository:a:pull'], 'repository:a:push repository:b:pull', ['junk'])), ['repository:a:pull,push', 'repository:b:pull'])
})

test('Retry-After, loopback hosts, Link, error bodies, Content-Range, upload locations', () => {
  assert.equal(parseRetryAfter('3'), 3000)
  assert.equal(parseRetryAfter(new Date(10_000).toUTCString(), 4000), 6000)
  assert.equal(parseRetryAfter('soon'), undefined)
  assert.equal(parseRetryAfter(undefined), undefined)
  for (const h of ['127.0.0.1', '127.9.9.9', 'localhost', '[::1]', '::1']) assert.equal(isLoopback(h), true, h)
  for (const h of ['10.0.0.1', 'example.com', '128.0.0.1', '[::2]']) assert.equal(isLoopback(h), false, h)

  const base = new URL('http://r.io/v2/a/tags/list?n=2')
  assert.equal(nextLink(['</v2/a/tags/list?n=2&last=b>; rel="next"'], base)?.href, 'http://r.io/v2/a/tags/list?n=2&last=b')
  assert.equal(nextLink(['<http://r.io/x>; rel=prev, <http://r.io/y>; rel="next"'], base)?.href, 'http://r.io/y')
  assert.equal(nextLink([], base), undefined)
  assert.throws(() => nextLink(['<http://evil.io/x>; rel="next"'], base), { code: 'ERR_REGISTRY_PROTOCOL' })

  const body = parseErrorBody(JSON.stringify({ errors: [{ code: 'MANIFEST_INVALID', message: 'manifest invalid', detail: 'http: request body too large' }, { code: 'X' }, { code: 'Y' }, { code: 'Z' }] }))
  assert.deepEqual(body.codes, ['MANIFEST_INVALID', 'X', 'Y', 'Z'])
  assert.match(body.summary, /^MANIFEST_INVALID "manifest invalid: http: request body too large", X, Y \(\+1 more\)$/)
  assert.equal(parseErrorBody('<html>\n<b>oops\u0007</b>').summary, '', 'a web page is left out')
  assert.equal(parseErrorBody('Not Found: no such page', 'text/html; charset=utf-8').summary, '')
  assert.equal(parseErrorBody('  no such\u0007 page\nmore', 'text/plain').summary, '"no such  page"')
  assert.ok(parseErrorBody('x'.repeat(10_000)).summary.length < 200)

  assert.deepEqual(parseContentRange('bytes 0-9/100'), { start: 0, end: 10, size: 100 })
  assert.deepEqual(parseContentRange('bytes 5-5/*'), { start: 5, end: 6, size: undefined })
  for (const v of ['bytes 9-0/100', 'bytes 0-100/100', 'bytes=0-9/100', 'bytes 0-9', 'bytes */100', 'bytes -1-9/100', 'bytes 0-9/100 x']) assert.equal(parseContentRange(v), undefined, v)

  assert.equal(withQuery(new URL('http://r/v2/a/blobs/uploads/u?_state=ab%3D%3D&x=1'), 'digest', `sha256:${hex}`).href, `http://r/v2/a/blobs/uploads/u?_state=ab%3D%3D&x=1&digest=sha256%3A${hex}`)
  assert.equal(withQuery(new URL('http://r/u'), 'digest', 'd').href, 'http://r/u?digest=d')
})
