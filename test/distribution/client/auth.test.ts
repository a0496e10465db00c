/**
 * Authentication and transport security against real docker-registry
 * instances started by the test: none, htpasswd Basic, token auth through
 * a token server (scopes, caching, cross-repository mount), credentials
 * from auth files, wrong credentials, and TLS with a self-signed
 * certificate. A counting proxy in front shows the 401 round trips and
 * which requests carried credentials.
 */
import { test } from 'node:test'
import assert from 'node:assert/strict'
import { mkdtemp, mkdir, rm, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { startRegistry } from '../../helpers/registry.js'
import { startTokenServer } from '../../helpers/token-server.js'
import { startCountingProxy } from '../../helpers/counting-proxy.js'
import { missingTools } from '../../helpers/tools.js'
import { digestOf, open, pushImage, randomBlob } from './fixture.js'

const code = (c: string) => (err: any): boolean => { assert.equal(err.code, c, err.message); assert.ok(!String(err.message).includes('\n'), 'one line'); return true }
const blob = randomBlob(70_000, 21)
const d = digestOf(blob)

test('no auth: nothing is sent that was not asked for', { skip: missingTools('docker-registry') }, async (t) => {
  const registry = await startRegistry()
  const proxy = await startCountingProxy(registry.url)
  t.after(async () => { await proxy.close(); await registry.stop() })
  const repo = open(proxy.host, 'lib/app', { credentials: 'alice:secret' })
  await pushImage(repo, 'v1', [blob])
  assert.ok(proxy.log.length > 0)
  assert.ok(proxy.log.every((e) => !e.authorized && e.status !== 401), 'no challenge, so no credentials on the wire')
  // the registry's own access log saw the same requests
  const log = await registry.accessLog()
  assert.deepEqual(log.map((e) => `${e.method} ${e.path}`), proxy.log.map((e) => `${e.method} ${e.path}`))
})

test('Basic auth (htpasswd): one challenge, then credentials on every request; none or wrong ones are ERR_REGISTRY_AUTH', { skip: missingTools('docker-registry', 'perl') }, async (t) => {
  const registry = await startRegistry({ htpasswd: { alice: 'secret', bob: 'pa:ss' } })
  const proxy = await startCountingProxy(registry.url)
  const dir = await mkdtemp(join(tmpdir(), 'tessera-auth-'))
  t.after(async () => { await proxy.close(); await registry.stop(); await rm(dir, { recursive: true, force: true }) })
  const repo = open(proxy.host, 'lib/app', { credentials: 'alice:secret' })
  const { digest } = await pushImage(repo, 'v1', [blob])
  assert.equal((await repo.getManifest(digest)).digest, digest)
  assert.deepEqual(proxy.log.filter((e) => e.status === 401).map((e) => e.path), ['/v2/'], 'one 401, the ping\'s, then Basic is sent at once')
  assert.ok(proxy.log.slice(1).every((e) => e.authorized))

  proxy.reset()
  await assert.rejects(open(proxy.host, 'lib/app').getManifest('v1'), (err: any) => code('ERR_REGISTRY_AUTH')(err) && /user and password/.test(err.message))
  await assert.rejects(open(proxy.host, 'lib/app', { credentials: 'alice:wrong' }).getManifest('v1'), (err: any) => code('ERR_REGISTRY_AUTH')(err) && err.message === `${proxy.host} rejected the credentials for user "alice" (HTTP 401)`)
  await assert.rejects(open(proxy.host, 'lib/app', { credentials: 'mallory:secret' }).getManifest('v1'), (err: any) => code('ERR_REGISTRY_AUTH')(err) && /rejected the credentials for user "mallory"/.test(err.message))
  // the ping's challenge is known, so refused credentials cost one request, not sent twice
  assert.equal(proxy.counts().requests, 1 + 1 + 1, 'a refused answer is not retried')

  // credentials from an auth file: skopeo's --authfile, with a password holding a colon
  const authFile = join(dir, 'auth.json')
  await writeFile(authFile, JSON.stringify({ auths: { [proxy.host]: { auth: Buffer.from('bob:pa:ss').toString('base64') } } }))
  assert.equal((await open(proxy.host, 'lib/app', { authFile }).getManifest('v1')).digest, digest)
  // and from $XDG_RUNTIME_DIR/containers/auth.json, the first place skopeo looks
  await mkdir(join(dir, 'run', 'containers'), { recursive: true })
  await writeFile(join(dir, 'run', 'containers', 'auth.json'), JSON.stringify({ auths: { [`${proxy.host}/lib`]: { auth: Buffer.from('alice:secret').toString('base64') } } }))
  const saved = { XDG_RUNTIME_DIR: process.env.XDG_RUNTIME_DIR, REGISTRY_AUTH_FILE: process.env.REGISTRY_AUTH_FILE, HOME: process.env.HOME }
  try {
    process.env.XDG_RUNTIME_DIR = join(dir, 'run')
    process.env.HOME = join(dir, 'home')
    delete process.env.REGISTRY_AUTH_FILE
    assert.equal((await open(proxy.host, 'lib/app').getManifest('v1')).digest, digest)
    await assert.rejects(open(proxy.host, 'other/app').getManifest('v1'), code('ERR_REGISTRY_AUTH'), 'the entry is for lib/ only')
  } finally {
    for (const [k, v] of Object.entries(saved)) { if (v === undefined) delete process.env[k]; else process.env[k] = v }
  }
})

test('token auth: a Bearer token per scope set, fetched with the credentials, cached, with the mount source scope', { skip: missingTools('docker-registry', 'openssl') }, async (t) => {
  const dir = await mkdtemp(join(tmpdir(), 'tessera-token-'))
  const tokens = await startTokenServer(dir, { users: { alice: 'secret' }, anonymousPull: true })
  const registry = await startRegistry({ token: tokens })
  const proxy = await startCountingProxy(registry.url)
  t.after(async () => { await proxy.close(); await registry.stop(); await tokens.close(); await rm(dir, { recursive: true, force: true }) })

  const repo = open(proxy.host, 'lib/app', { credentials: 'alice:secret' })
  const { digest } = await pushImage(repo, 'v1', [blob])
  assert.ok(Buffer.from(await repo.getBlob(d, blob.length)).equals(blob))
  assert.equal((await repo.getManifest('v1')).digest, digest)
  assert.deepEqual(tokens.requests.map((r) => [r.user, r.authenticated, r.service, r.scopes]), [
    ['alice', true, tokens.service, ['repository:lib/app:pull']],
    ['alice', true, tokens.service, ['repository:lib/app:pull,push']]
  ], 'a pull token for the first HEAD, a push token for the upload, reused for everything after')
  assert.deepEqual(proxy.log.filter((e) => e.status === 401).map((e) => e.path), ['/v2/'], 'the ping\'s challenge primes the tokens: no request is refused')

  // a cross-repository mount asks for pull on the source as well
  tokens.requests.length = 0
  const other = open(proxy.host, 'lib/other', { credentials: 'alice:secret' })
  assert.equal(await other.putBlob({ digest: d, size: blob.length }, blob, { mountFrom: 'lib/app' }), 'mounted')
  assert.deepEqual(tokens.requests.at(-1)!.scopes, ['repository:lib/app:pull', 'repository:lib/other:pull,push'])

  // anonymous: pull is granted, push is not
  tokens.requests.length = 0
  const anonymous = open(proxy.host, 'lib/app')
  assert.equal((await anonymous.getManifest('v1')).digest, digest)
  assert.equal(tokens.requests[0]!.authenticated, false)
  await assert.rejects(anonymous.putManifest('v2', 'application/vnd.oci.image.manifest.v1+json', (await anonymous.getManifest('v1')).bytes), code('ERR_REGISTRY_AUTH'))
  // wrong credentials: the token server refuses, naming the user
  await assert.rejects(open(proxy.host, 'lib/app', { credentials: 'alice:nope' }).getManifest('v1'), (err: any) => code('ERR_REGISTRY_AUTH')(err) && err.message.includes('"alice"'))
  // a token server that is down
  await tokens.close()
  await assert.rejects(open(proxy.host, 'lib/app', { credentials: 'alice:secret', retries: 1 }).getManifest('v1'), code('ERR_REGISTRY_UNAVAILABLE'))
})

test('TLS: a self-signed registry is refused unless tlsVerify is false; tlsVerify true never speaks plain HTTP', { skip: missingTools('docker-registry', 'openssl') }, async (t) => {
  const secure = await startRegistry({ tls: true })
  const plain = await startRegistry()
  t.after(async () => { await secure.stop(); await plain.stop() })
  await assert.rejects(open(secure.host, 'lib/app', { tlsVerify: true }).statBlob(d), (err: any) => code('ERR_REGISTRY_TLS')(err) && /tls-verify=false/.test(err.message))
  const insecure = open(secure.host, 'lib/app')
  await pushImage(insecure, 'v1', [blob])
  assert.ok(Buffer.from(await insecure.getBlob(d, blob.length)).equals(blob))
  assert.equal(insecure.session.origin.protocol, 'https:')
  const log = await secure.accessLog()
  assert.ok(log.length >= 5)

  await assert.rejects(open(plain.host, 'lib/app', { tlsVerify: true, retries: 0 }).statBlob(d), code('ERR_REGISTRY_TLS'))
  const overHttp = open(plain.host, 'lib/app')
  assert.equal(await overHttp.statBlob(d), undefined)
  assert.equal(overHttp.session.origin.protocol, 'http:')
  assert.equal(overHttp.counters.requests, 2, 'the ping and the HEAD: the refused TLS handshake is not a request')
  assert.deepEqual((await plain.accessLog()).map((e) => `${e.method} ${e.path}`), ['GET /v2/', `HEAD /v2/lib/app/blobs/${d}`])
})
