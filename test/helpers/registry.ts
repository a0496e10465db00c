/**
 * Debian's `docker-registry` (distribution 2.8) for tests: started on a
 * free loopback port (`http.addr: 127.0.0.1:0`; the port is read from its
 * "listening on" log line, so there is no race for a port), with its
 * storage in a fresh temporary directory, deletes enabled, and optionally
 * htpasswd Basic auth or token auth (`./token-server.ts`).
 *
 * ```ts
 * test('...', requireTool('docker-registry'), async (t) => {
 *   const registry = await startRegistry({ htpasswd: { alice: 'secret' } })
 *   t.after(() => registry.stop())
 *   // docker://${registry.host}/lib/app:v1 ...
 *   const log = await registry.accessLog()   // [{ method, path, status, bytes, userAgent }]
 * })
 * ```
 *
 * - `htpasswd`: users and passwords, written as bcrypt hashes (made with
 *   perl's `crypt`, libxcrypt's `$2b$`; distribution accepts only bcrypt).
 * - `token`: a running {@link TokenServer}; the registry is configured with
 *   its realm, service, issuer and certificate.
 * - `tls`: serve HTTPS with a fresh self-signed certificate for
 *   127.0.0.1 (made with `openssl`; `certFile` is its path): a client must
 *   not verify it (`tlsVerify: false`) or must trust that file.
 * - `config`: extra top-level YAML appended to the generated config.
 * - `accessLog()` returns the registry's own record of the requests it
 *   served (its combined-format access log on stdout), an independent
 *   count of what reached it. To be sure every earlier request is in it,
 *   it first sends a marker request and waits for the marker's line; the
 *   marker is not returned.
 * - `stop()` ends the process (SIGTERM, then SIGKILL after 5 s) and removes
 *   the directory.
 *
 * Skip a test without the tool with `requireTool('docker-registry')`
 * (`./tools.ts`); token auth also needs `openssl`, htpasswd `perl`.
 *
 * @module
 */
import { execFileSync, spawn, type ChildProcess } from 'node:child_process'
import { randomBytes } from 'node:crypto'
import { get as httpsGet } from 'node:https'
import { once } from 'node:events'
import { mkdtemp, rm, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import type { TokenServer } from './token-server.js'

/** Options of {@link startRegistry}. */
export interface StartRegistryOptions {
  /** htpasswd Basic auth: user → password. */
  htpasswd?: Record<string, string>
  /** Token auth through this token server. */
  token?: TokenServer
  /** Serve HTTPS with a self-signed certificate. */
  tls?: boolean
  /** Extra top-level YAML. */
  config?: string
}

/** One line of the registry's access log. */
export interface AccessLogEntry {
  method: string
  /** Path and query as requested. */
  path: string
  status: number
  /** Response body bytes. */
  bytes: number
  userAgent: string
}

/** A running registry. */
export interface RunningRegistry {
  /** `127.0.0.1:PORT`, for `docker://` references. */
  readonly host: string
  /** `http://127.0.0.1:PORT` (`https://` with `tls`). */
  readonly url: string
  /** The self-signed certificate, with `tls`. */
  readonly certFile: string | undefined
  readonly port: number
  /** The temporary directory (config, storage, htpasswd). */
  readonly dir: string
  /** Everything the registry logged on stderr so far. */
  readonly stderr: () => string
  accessLog: () => Promise<AccessLogEntry[]>
  stop: () => Promise<void>
}

const BCRYPT_ALPHABET = './ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789'

/** A bcrypt hash of `password` (cost 5), as distribution's htpasswd wants. */
export function bcryptHash (password: string): string {
  const salt = [...randomBytes(22)].map((b) => BCRYPT_ALPHABET[b % 64]).join('')
  // 22 salt characters, the last restricted to the ones bcrypt keeps whole
  const fixed = salt.slice(0, 21) + '.Oeu'[salt.charCodeAt(21) % 4]
  const hash = execFileSync('perl', ['-e', 'print crypt($ARGV[0], $ARGV[1])', password, `$2b$05$${fixed}`]).toString()
  if (!hash.startsWith('$2b$05$') || hash.length !== 60) throw new Error(`perl crypt does not make bcrypt hashes here: ${JSON.stringify(hash)}`)
  return hash
}

/** Parse one combined-format access log line. */
export function parseAccessLine (line: string): AccessLogEntry | undefined {
  const m = /^\S+ \S+ \S+ \[[^\]]*\] "(\S+) (\S+) [^"]*" (\d{3}) (\d+|-) "[^"]*" "([^"]*)"/.exec(line)
  if (m === null) return undefined
  return { method: m[1]!, path: m[2]!, status: Number(m[3]), bytes: m[4] === '-' ? 0 : Number(m[4]), userAgent: m[5]! }
}

/** Start a docker-registry (see the module comment). */
export async function startRegistry (options: StartRegistryOptions = {}): Promise<RunningRegistry> {
  const dir = await mkdtemp(join(tmpdir(), 'tessera-docker-registry-'))
  let auth = ''
  if (options.htpasswd !== undefined) {
    const file = join(dir, 'htpasswd')
    await writeFile(file, Object.entries(options.htpasswd).map(([u, p]) => `${u}:${bcryptHash(p)}\n`).join(''))
    auth = `auth:\n  htpasswd:\n    realm: tessera-test\n    path: ${file}\n`
  } else if (options.token !== undefined) {
    const t = options.token
    auth = `auth:\n  token:\n    realm: ${t.realm}\n    service: ${t.service}\n    issuer: ${t.issuer}\n    rootcertbundle: ${t.certFile}\n`
  }
  let tls = ''
  let certFile: string | undefined
  if (options.tls === true) {
    certFile = join(dir, 'registry.crt')
    const keyFile = join(dir, 'registry.key')
    execFileSync('openssl', ['req', '-x509', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:prime256v1', '-nodes', '-subj', '/CN=127.0.0.1',
      '-addext', 'subjectAltName=IP:127.0.0.1', '-days', '2', '-keyout', keyFile, '-out', certFile], { stdio: 'ignore' })
    tls = `  tls:\n    certificate: ${certFile}\n    key: ${keyFile}\n`
  }
  const config = join(dir, 'config.yml')
  await writeFile(config, [
    'version: 0.1',
    'log:\n  level: info\n  formatter: text',
    `storage:\n  filesystem:\n    rootdirectory: ${join(dir, 'data')}\n  delete:\n    enabled: true`,
    `http:\n  addr: 127.0.0.1:0\n  secret: ${randomBytes(16).toString('hex')}\n${tls}`,
    auth,
    options.config ?? ''
  ].join('\n') + '\n')
  const child: ChildProcess = spawn('docker-registry', ['serve', config], { stdio: ['ignore', 'pipe', 'pipe'] })
  let stderr = ''
  let stdout = ''
  const lineWaiters: Array<() => void> = []
  child.stdout!.on('data', (d: Buffer) => { stdout += d.toString(); for (const w of lineWaiters.splice(0)) w() })
  const port = await new Promise<number>((resolve, reject) => {
    const timer = setTimeout(() => { child.kill('SIGKILL'); reject(new Error(`docker-registry did not start in 30 s: ${stderr.slice(-2000)}`)) }, 30_000)
    child.stderr!.on('data', (d: Buffer) => {
      stderr += d.toString()
      const m = /listening on 127\.0\.0\.1:(\d+)/.exec(stderr)
      if (m !== null) { clearTimeout(timer); resolve(Number(m[1])) }
    })
    child.once('exit', (code) => { clearTimeout(timer); reject(new Error(`docker-registry exited (${String(code)}): ${stderr.slice(-2000)}`)) })
  })
  const host = `127.0.0.1:${port}`
  const url = `${options.tls === true ? 'https' : 'http'}://${host}`
  let markers = 0
  const getMarker = async (path: string): Promise<void> => {
    if (options.tls !== true) { await (await fetch(`${url}${path}`)).arrayBuffer(); return }
    await new Promise<void>((resolve, reject) => {
      httpsGet(`${url}${path}`, { rejectUnauthorized: false }, (res) => { res.resume(); res.on('end', resolve) }).on('error', reject)
    })
  }
  return {
    host,
    url,
    certFile,
    port,
    dir,
    stderr: () => stderr,
    accessLog: async () => {
      const marker = `/v2/tessera-access-log-marker-${process.pid}-${markers++}/tags/list`
      await getMarker(marker)
      const deadline = Date.now() + 10_000
      while (!stdout.includes(` ${marker} `)) {
        if (Date.now() > deadline) throw new Error('the access log marker never appeared')
        await new Promise<void>((resolve) => { lineWaiters.push(resolve); setTimeout(resolve, 200) })
      }
      const lines = stdout.slice(0, stdout.indexOf(` ${marker} `)).split('\n')
      return lines.map(parseAccessLine).filter((e): e is AccessLogEntry => e !== undefined && !e.path.includes('/tessera-access-log-marker-'))
    },
    stop: async () => {
      if (child.exitCode === null && child.signalCode === null) {
        const exited = once(child, 'exit')
        child.kill('SIGTERM')
        const timer = setTimeout(() => child.kill('SIGKILL'), 5000)
        await exited
        clearTimeout(timer)
      }
      await rm(dir, { recursive: true, force: true })
    }
  }
}
