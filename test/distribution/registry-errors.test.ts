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
import { mkdtemp, rm } from 'node:fs/promises'
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
  }
})
