/**
 * A token server for docker-registry's `auth.token` (the docker token
 * protocol: https://distribution.github.io/distribution/spec/auth/token/),
 * for tests. It is a real HTTP server on a loopback port; the registry
 * trusts it through a self-signed certificate made with `openssl` (EC
 * P-256), and the tokens it issues are ES256 JWTs carrying that
 * certificate in `x5c`, which distribution 2.8 verifies against its
 * `rootcertbundle`.
 *
 * ```ts
 * const tokens = await startTokenServer(dir, { users: { alice: 'secret' } })
 * const registry = await startRegistry({ token: tokens })
 * // ... tokens.requests lists every token request: user, scopes asked, scopes granted
 * await registry.stop(); await tokens.close()
 * ```
 *
 * `GET /token?service=S&scope=A&scope=B` with optional Basic auth:
 * - wrong credentials (an unknown user or a wrong password) → 401;
 * - otherwise a token whose `access` holds, for each scope, the actions
 *   `grant(user, scope)` allows (default: a known user gets every action
 *   asked; anonymous callers get `pull` when `anonymousPull` is set, else
 *   nothing), answered as `{"token","access_token","expires_in","issued_at"}`.
 *
 * Needs `openssl` (`requireTool('openssl')`).
 *
 * @module
 */
import { execFileSync } from 'node:child_process'
import { createPrivateKey, randomUUID, sign, X509Certificate, type KeyObject } from 'node:crypto'
import { createServer, type Server } from 'node:http'
import { once } from 'node:events'
import { readFileSync } from 'node:fs'
import { join } from 'node:path'
import type { AddressInfo } from 'node:net'

/** One scope of a token request: `repository:lib/app:pull,push`. */
export interface TokenScope {
  type: string
  name: string
  actions: string[]
}

/** Options of {@link startTokenServer}. */
export interface TokenServerOptions {
  /** Users and their passwords. */
  users?: Record<string, string>
  /** Anonymous callers may pull (default false). */
  anonymousPull?: boolean
  /** The actions granted to `user` (undefined: anonymous) for a scope; overrides the default policy. */
  grant?: (user: string | undefined, scope: TokenScope) => string[]
  /** Token lifetime in seconds (default 300). */
  expiresIn?: number
  /** `service` the registry names (default `tessera-test-registry`). */
  service?: string
}

/** A token request as the server saw it. */
export interface TokenRequestRecord {
  user: string | undefined
  /** Whether Basic credentials were sent and accepted. */
  authenticated: boolean
  service: string | undefined
  scopes: string[]
  granted: TokenScope[]
  status: number
}

/** A running token server. */
export interface TokenServer {
  /** The realm: `http://127.0.0.1:PORT/token`. */
  readonly realm: string
  readonly service: string
  readonly issuer: string
  /** PEM certificate the registry must trust (`rootcertbundle`). */
  readonly certFile: string
  /** Every request so far. */
  readonly requests: TokenRequestRecord[]
  close: () => Promise<void>
}

const b64url = (b: Buffer | string): string => Buffer.from(b).toString('base64url')

/** Parse `type:name:actions` (the name may hold colons, e.g. a port). */
export function parseTokenScope (scope: string): TokenScope | undefined {
  const first = scope.indexOf(':')
  const last = scope.lastIndexOf(':')
  if (first <= 0 || last <= first) return undefined
  return { type: scope.slice(0, first), name: scope.slice(first + 1, last), actions: scope.slice(last + 1).split(',').filter((a) => a !== '') }
}

/** Start a token server whose key and certificate live in `dir`. */
export async function startTokenServer (dir: string, options: TokenServerOptions = {}): Promise<TokenServer> {
  const keyFile = join(dir, 'token.key')
  const certFile = join(dir, 'token.crt')
  execFileSync('openssl', ['req', '-x509', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:prime256v1', '-nodes', '-subj', '/CN=tessera-test-token',
    '-days', '2', '-keyout', keyFile, '-out', certFile], { stdio: 'ignore' })
  const key: KeyObject = createPrivateKey(readFileSync(keyFile))
  const certDer = new X509Certificate(readFileSync(certFile)).raw
  const service = options.service ?? 'tessera-test-registry'
  const issuer = 'tessera-test-issuer'
  const users = options.users ?? {}
  const requests: TokenRequestRecord[] = []
  const grant = options.grant ?? ((user, scope) => user !== undefined ? scope.actions : options.anonymousPull === true ? scope.actions.filter((a) => a === 'pull') : [])

  const issue = (user: string | undefined, access: TokenScope[]): string => {
    const now = Math.floor(Date.now() / 1000)
    const header = { typ: 'JWT', alg: 'ES256', x5c: [certDer.toString('base64')] }
    const claims = { iss: issuer, sub: user ?? '', aud: service, exp: now + (options.expiresIn ?? 300), nbf: now - 10, iat: now, jti: randomUUID(), access }
    const signingInput = `${b64url(JSON.stringify(header))}.${b64url(JSON.stringify(claims))}`
    const signature = sign('sha256', Buffer.from(signingInput), { key, dsaEncoding: 'ieee-p1363' })
    return `${signingInput}.${b64url(signature)}`
  }

  const server: Server = createServer((req, res) => {
    const url = new URL(req.url ?? '/', 'http://token')
    const scopes = url.searchParams.getAll('scope').flatMap((s) => s.split(' ')).filter((s) => s !== '')
    const record: TokenRequestRecord = { user: undefined, authenticated: false, service: url.searchParams.get('service') ?? undefined, scopes, granted: [], status: 200 }
    requests.push(record)
    if (url.pathname !== '/token') { record.status = 404; res.writeHead(404).end(); return }
    const auth = req.headers.authorization
    if (auth !== undefined) {
      const m = /^Basic ([A-Za-z0-9+/=]+)$/.exec(auth)
      const decoded = m === null ? '' : Buffer.from(m[1]!, 'base64').toString()
      const colon = decoded.indexOf(':')
      const user = colon > 0 ? decoded.slice(0, colon) : ''
      record.user = user
      if (colon <= 0 || !Object.hasOwn(users, user) || users[user] !== decoded.slice(colon + 1)) {
        record.status = 401
        res.writeHead(401, { 'content-type': 'application/json' }).end(JSON.stringify({ errors: [{ code: 'UNAUTHORIZED', message: 'wrong user or password' }] }))
        return
      }
      record.authenticated = true
    }
    for (const s of scopes) {
      const parsed = parseTokenScope(s)
      if (parsed === undefined) continue
      const actions = grant(record.authenticated ? record.user : undefined, parsed).filter((a) => parsed.actions.includes(a))
      if (actions.length > 0) record.granted.push({ ...parsed, actions })
    }
    const token = issue(record.authenticated ? record.user : undefined, record.granted)
    res.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify({ token, access_token: token, expires_in: options.expiresIn ?? 300, issued_at: new Date().toISOString() }))
  })
  server.listen(0, '127.0.0.1')
  await once(server, 'listening')
  const { port } = server.address() as AddressInfo
  return {
    realm: `http://127.0.0.1:${port}/token`,
    service,
    issuer,
    certFile,
    requests,
    close: async () => {
      server.closeAllConnections()
      server.close()
      await once(server, 'close')
    }
  }
}
