/**
 * What a new user sees when a `docker://` operand goes wrong, through the
 * CLI as a child process, against servers the test starts: a real
 * docker-registry (plain HTTP, htpasswd), a plain web server that is not a
 * registry, and a port where nothing listens. Each mistake must give one
 * line with a stable code that says what to do, and leave no store behind
 * that was not there before.
 */
import { after, before, test } from 'node:test'
import assert from 'node:assert/strict'
import { spawn } from 'node:child_process'
import { createServer, type Server } from 'node:http'
import { once } from 'node:events'
import { existsSync } from 'node:fs'
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises'
import type { AddressInfo } from 'node:net'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { openRepository } from '../../src/distribution/client/index.js'
import { TESSERA_BIN } from '../helpers/cli.js'
import { startRegistry, type RunningRegistry } from '../helpers/registry.js'
import { missingTools } from '../helpers/tools.js'

const skip = missingTools('docker-registry')
let work = ''
let plain: RunningRegistry | undefined

before(async () => {
  work = await mkdtemp(join(tmpdir(), 'tessera-registry-errors-'))
  if (skip === false) plain = await startRegistry()
})

after(async () => {
  await plain?.stop()
  await rm(work, { recursive: true, force: true })
})

interface Run { code: number | string, stdout: string, stderr: string, ms: number }

/** Run the CLI as a child process without blocking this process (a test server may run here). */
async function tessera (args: string[], store: string): Promise<Run> {
  const started = Date.now()
  const child = spawn(TESSERA_BIN, ['--store', store, ...args], { stdio: ['ignore', 'pipe', 'pipe'] })
  let stdout = ''
  let stderr = ''
  child.stdout.on('data', (d: Buffer) => { stdout += d.toString() })
  child.stderr.on('data', (d: Buffer) => { stderr += d.toString() })
  const code = await new Promise<number | string>((resolve) => child.once('close', (c, s) => resolve(c ?? s ?? -1)))
  return { code, stdout, stderr, ms: Date.now() - started }
}

/** The one line of stderr, checked to be `tessera: CODE: ...`; returns the message. */
function oneLine (r: Run, code: string, status = 1): string {
  assert.equal(r.code, status, r.stderr)
  const lines = r.stderr.trimEnd().split('\n')
  assert.equal(lines.length, 1, r.stderr)
  const m = /^tessera: (ERR_[A-Z_]+): (.*)$/.exec(lines[0]!)
  assert.ok(m !== null, r.stderr)
  assert.equal(m[1], code, r.stderr)
  return m[2]!
}

test('a plain-HTTP registry without --tls-verify=false: "server gave HTTP response to HTTPS client", and the option that helps', { skip }, async () => {
  const store = join(work, 'plain-http')
  const r = await tessera(['pull', `docker://${plain!.host}/lib/app:v1`, '--name', 'app'], store)
  const message = oneLine(r, 'ERR_REGISTRY_TLS')
  assert.match(message, /server gave HTTP response to HTTPS client/)
  assert.match(message, /--tls-verify=false/)
  assert.doesNotMatch(message, /wrong version number|certificate|ssl3_get_record/i, 'no OpenSSL dump, no hint about certificates')
  assert.equal((await plain!.accessLog()).length, 0, 'no request reached the registry')
})

test('--creds without a colon is a usage error (exit 2), before any request or store', { skip }, async () => {
  const store = join(work, 'creds-usage')
  for (const [creds, why] of [['alice', /no ":" between the user and the password/], [':secret', /the user can't be empty/]] as const) {
    const r = await tessera(['pull', `docker://${plain!.host}/lib/app:v1`, '--name', 'app', '--tls-verify=false', '--creds', creds], store)
    assert.match(oneLine(r, 'ERR_USAGE', 2), new RegExp(`^--creds must be USER:PASS: .*${why.source}`))
  }
  assert.equal(existsSync(store), false, 'no store was created')
  assert.equal((await plain!.accessLog()).length, 0, 'no request reached the registry')
})

/** A loopback port where nothing listens (bound, then closed). */
async function closedPort (): Promise<number> {
  const server = createServer()
  server.listen(0, '127.0.0.1')
  await once(server, 'listening')
  const { port } = server.address() as AddressInfo
  server.close()
  await once(server, 'close')
  return port
}

test('a refused connection to a registry never reached fails at once, in one line', { timeout: 60_000 }, async () => {
  const port = await closedPort()
  // backoff of ten minutes: a retry would outlast the test's timeout
  const repo = openRepository(`docker://127.0.0.1:${port}/lib/app:v1`, { tlsVerify: false, retries: 4, retryDelayMs: 600_000 })
  await assert.rejects(repo.getManifest('v1'), (err: any) => {
    assert.equal(err.code, 'ERR_REGISTRY_UNAVAILABLE')
    assert.equal(err.message, `cannot connect to 127.0.0.1:${port}: connection refused`)
    return true
  })
  const store = join(work, 'refused')
  for (const tls of [[], ['--tls-verify=false']]) {
    const r = await tessera(['pull', `docker://127.0.0.1:${port}/lib/app:v1`, '--name', 'app', ...tls], store)
    assert.equal(oneLine(r, 'ERR_REGISTRY_UNAVAILABLE'), `cannot connect to 127.0.0.1:${port}: connection refused`)
    assert.equal(existsSync(store), false, 'no store is left')
  }
})

test('a registry host with no address (.invalid, RFC 6761) fails at once, in one line', { timeout: 60_000 }, async () => {
  // backoff of ten minutes: a retry would outlast the test's timeout
  const repo = openRepository('docker://registry.example.invalid/lib/app:v1', { retries: 4, retryDelayMs: 600_000 })
  await assert.rejects(repo.getManifest('v1'), (err: any) => {
    // a machine without any DNS server says EAI_AGAIN, which is worth retrying: only a name known to have no address fails at once
    if (err.cause?.code !== 'ENOTFOUND') return true
    assert.equal(err.code, 'ERR_REGISTRY_UNAVAILABLE')
    assert.equal(err.message, 'cannot connect to registry.example.invalid: no such host')
    return true
  })
  const store = join(work, 'no-such-host')
  const r = await tessera(['pull', 'docker://registry.example.invalid/lib/app:v1', '--name', 'app'], store)
  assert.match(oneLine(r, 'ERR_REGISTRY_UNAVAILABLE'), /^cannot connect to registry\.example\.invalid: /)
  assert.equal(existsSync(store), false, 'no store is left')
})

/** A web server that is no registry: 404 with an HTML page for everything but, when `v2` is true, `GET /v2/` (200 `{}`). */
async function startWebServer (v2: boolean): Promise<{ server: Server, host: string, paths: string[] }> {
  const paths: string[] = []
  const page = `<!DOCTYPE html>\n<html><head><title>404 Not Found</title></head>\n<body>${'<p>nothing here</p>\n'.repeat(200)}</body></html>\n`
  const server = createServer((req, res) => {
    paths.push(`${req.method!} ${req.url!}`)
    if (v2 && req.url === '/v2/') { res.writeHead(200, { 'content-type': 'application/json' }).end('{}'); return }
    res.writeHead(404, { 'content-type': 'text/html' }).end(page)
  })
  server.listen(0, '127.0.0.1')
  await once(server, 'listening')
  return { server, host: `127.0.0.1:${(server.address() as AddressInfo).port}`, paths }
}

test('a web server is "not an OCI registry" after one GET /v2/, and no HTML reaches a message', async (t) => {
  const web = await startWebServer(false)
  const almost = await startWebServer(true)
  t.after(() => { web.server.close(); almost.server.close() })
  const notRegistry = await tessera(['pull', `docker://${web.host}/lib/app:v1`, '--name', 'app', '--tls-verify=false'], join(work, 'web'))
  assert.equal(oneLine(notRegistry, 'ERR_NOT_A_REGISTRY'), `${web.host} is not an OCI registry (GET /v2/ answered 404)`)
  // the TLS handshake tried first is no request: one GET, the ping
  assert.deepEqual(web.paths, ['GET /v2/'])
  // a server whose /v2/ looks right: its 404 page stays out of the message
  const r = await tessera(['pull', `docker://${almost.host}/lib/app:v1`, '--name', 'app', '--tls-verify=false'], join(work, 'almost'))
  const message = oneLine(r, 'ERR_REGISTRY_NOT_FOUND')
  assert.match(message, /HTTP 404$/)
  assert.doesNotMatch(message, /[<>]|nothing here/)
  assert.equal(almost.paths[0], 'GET /v2/')
})

test('a pull pings the registry once: one GET /v2/ before everything, however many blobs', { skip }, async () => {
  const tree = join(work, 'ping-tree')
  await mkdir(tree, { recursive: true })
  for (let i = 0; i < 8; i++) await writeFile(join(tree, `f${i}`), Buffer.alloc(300_000, i + 1))
  const source = join(work, 'ping-source')
  const imported = await tessera(['import', `dir:${tree}`, '--name', 'v1'], source)
  assert.equal(imported.code, 0, imported.stderr)
  const pushed = await tessera(['push', 'v1', `docker://${plain!.host}/ping/app:v1`, '--tls-verify=false'], source)
  assert.equal(pushed.code, 0, pushed.stderr)
  const before = (await plain!.accessLog()).length
  const r = await tessera(['pull', `docker://${plain!.host}/ping/app:v1`, '--name', 'app', '--tls-verify=false', '--json'], join(work, 'ping-pull'))
  assert.equal(r.code, 0, r.stderr)
  const log = (await plain!.accessLog()).slice(before)
  assert.equal(log[0]!.path, '/v2/', 'the ping comes first')
  assert.equal(log.filter((e) => e.path === '/v2/').length, 1, 'and only once')
  assert.ok(log.filter((e) => e.path.includes('/blobs/')).length >= 2)
  assert.equal(JSON.parse(r.stdout).requests, log.length, 'the ping is one of the requests the pull reports')
})

test('a command that fails before it stores anything leaves no store it created; a store that was there, or that holds what was fetched, stays', { skip }, async () => {
  const missing = `docker://${plain!.host}/lib/nothing:v1`
  // a new store, parents and all, for a pull and for a remote read (which caches)
  const parent = join(work, 'gone')
  const store = join(parent, 'deep', 'store')
  for (const args of [['pull', missing, '--name', 'app'], ['cat', missing, 'etc/x'], ['import', missing, '--name', 'app']]) {
    const r = await tessera([...args, '--tls-verify=false'], store)
    oneLine(r, 'ERR_REGISTRY_NOT_FOUND')
    assert.equal(existsSync(parent), false, `${args[0]!}: what was made for the store is removed`)
  }
  // a store that existed stays, with its snapshot
  const tree = join(work, 'kept-tree')
  await mkdir(tree, { recursive: true })
  await writeFile(join(tree, 'a'), 'a\n')
  const kept = join(work, 'kept')
  assert.equal((await tessera(['import', `dir:${tree}`, '--name', 'v1'], kept)).code, 0)
  oneLine(await tessera(['pull', missing, '--name', 'app', '--tls-verify=false'], kept), 'ERR_REGISTRY_NOT_FOUND')
  const names = await tessera(['snapshots', '--json'], kept)
  assert.deepEqual((JSON.parse(names.stdout) as Array<{ name: string }>).map((s) => s.name), ['v1'])
  // a new store that a failed pull stored something in stays: a rerun needs it
  const pushed = await tessera(['push', 'v1', `docker://${plain!.host}/kept/app:v1`, '--tls-verify=false'], kept)
  assert.equal(pushed.code, 0, pushed.stderr)
  const partial = join(work, 'partial')
  assert.equal((await tessera(['cat', `docker://${plain!.host}/kept/app:v1`, 'nothing-here', '--tls-verify=false'], partial)).code, 1)
  assert.equal(existsSync(join(partial, 'CURRENT')), true, 'the cached metadata keeps the store')
})
