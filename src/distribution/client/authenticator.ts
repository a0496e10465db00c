/**
 * Answering a registry's `WWW-Authenticate` challenges, as docker and
 * skopeo do:
 * - `Bearer realm=…,service=…,scope=…`: GET the realm with `service` and
 *   one `scope` parameter per scope (the challenge's and the request's
 *   own, merged), with Basic credentials when there are some, anonymously
 *   otherwise; the answer's `token` (or `access_token`) is sent as
 *   `Authorization: Bearer`. Tokens are cached by scope until `expires_in`
 *   (60 s when absent) and reused for any request whose scopes they cover.
 * - `Basic`: the credentials, or {@link RegistryAuthError} when there are none.
 *
 * After the first challenge the scheme is known, so later requests carry
 * their Authorization at once (no 401 round trip per request). The
 * challenges of the registry's ping ({@link Authenticator.learn}) make it
 * known before the first request; Basic is then sent only when there are
 * credentials (without any, the request goes anonymously and its 401 says
 * that credentials are needed). A token
 * that is refused is dropped and fetched again once; the session turns a
 * second 401 into `ERR_REGISTRY_AUTH`.
 *
 * Credentials are never sent in clear text: not to a realm or registry on
 * plain `http://` unless the client was opened with `tlsVerify: false` or
 * the host is a loopback address.
 *
 * Scopes are `repository:NAME:ACTIONS` (`pull`, `pull,push`); a
 * cross-repository mount also needs `repository:FROM:pull`.
 *
 * @module
 */
import { RegistryAuthError, RegistryProtocolError, quoteRemote } from './errors.js'
import type { Challenge } from './challenge.js'
import type { Credentials } from './credentials.js'
import type { HttpResponse } from './http.js'
import { errorFromResponse } from './response-error.js'

/** How the authenticator sends its token requests (the session's plain exchange). */
export type TokenRequest = (url: URL, headers: Record<string, string>, signal: AbortSignal | undefined) => Promise<HttpResponse>

/** What the authenticator needs from its session. */
export interface AuthenticatorOptions {
  credentials: () => Promise<Credentials | undefined>
  send: TokenRequest
  /** Whether credentials may go to `url` (https, or http when allowed). */
  mayCarryCredentials: (url: URL) => boolean
}

type ScopeSet = Map<string, Set<string>>

const MAX_TOKEN_BODY = 1024 * 1024
const DEFAULT_EXPIRY_S = 60
const MAX_CACHED = 64

/** `repository:lib/app:pull,push` → resource `repository:lib/app`, actions. */
export function parseScope (scope: string): { resource: string, actions: string[] } | undefined {
  const first = scope.indexOf(':')
  const last = scope.lastIndexOf(':')
  if (first <= 0 || last <= first) return undefined
  return { resource: scope.slice(0, last), actions: scope.slice(last + 1).split(',').filter((a) => a !== '') }
}

/** Merge scope strings (each may hold several, space-separated) into one set. */
export function mergeScopes (...lists: Array<readonly string[] | string | undefined>): ScopeSet {
  const out: ScopeSet = new Map()
  for (const list of lists) {
    if (list === undefined) continue
    for (const item of (typeof list === 'string' ? [list] : list)) {
      for (const scope of item.split(' ')) {
        const parsed = parseScope(scope)
        if (parsed === undefined) continue
        const set = out.get(parsed.resource) ?? new Set<string>()
        for (const a of parsed.actions) set.add(a)
        out.set(parsed.resource, set)
      }
    }
  }
  return out
}

/** The scope strings of a set, sorted. */
export function formatScopes (set: ScopeSet): string[] {
  return [...set].map(([resource, actions]) => `${resource}:${[...actions].sort().join(',')}`).sort()
}

function covers (have: ScopeSet, want: ScopeSet): boolean {
  for (const [resource, actions] of want) {
    const got = have.get(resource)
    if (got === undefined) return false
    for (const a of actions) if (!got.has(a) && !got.has('*')) return false
  }
  return true
}

interface CachedToken { scopes: ScopeSet, header: string, expires: number }

type Mode = { kind: 'none' } | { kind: 'basic' } | { kind: 'bearer', realm: URL, service: string | undefined }

/** The scheme the challenges ask for: Bearer first, then Basic; undefined for none usable. */
function modeOf (challenges: Challenge[], registryUrl: URL): Exclude<Mode, { kind: 'none' }> | undefined {
  const bearer = challenges.find((c) => c.scheme === 'bearer' && c.params.realm !== undefined)
  if (bearer !== undefined) {
    let realm: URL
    try {
      realm = new URL(bearer.params.realm!)
    } catch {
      throw new RegistryProtocolError(`${registryUrl.host} asks for a token from an invalid realm ${quoteRemote(bearer.params.realm!)}`)
    }
    if (realm.protocol !== 'https:' && realm.protocol !== 'http:') throw new RegistryProtocolError(`${registryUrl.host} asks for a token from a realm that is not http(s): ${quoteRemote(realm.href)}`)
    return { kind: 'bearer', realm, service: bearer.params.service }
  }
  return challenges.some((c) => c.scheme === 'basic') ? { kind: 'basic' } : undefined
}

/** Answers challenges for one registry and caches what it got. */
export class Authenticator {
  readonly #options: AuthenticatorOptions
  #mode: Mode = { kind: 'none' }
  #tokens: CachedToken[] = []
  readonly #inflight = new Map<string, Promise<string>>()

  constructor (options: AuthenticatorOptions) {
    this.#options = options
  }

  /** The Authorization to send for a request needing `scopes`, when the scheme is known; undefined before the first challenge. */
  async header (scopes: readonly string[], registryUrl: URL, signal?: AbortSignal): Promise<string | undefined> {
    const mode = this.#mode
    if (mode.kind === 'basic') return await this.#options.credentials() === undefined ? undefined : await this.#basic(registryUrl)
    if (mode.kind !== 'bearer') return undefined
    return await this.#token(mode, mergeScopes(scopes), signal)
  }

  /**
   * Answer a 401's challenges for a request needing `scopes`; returns the
   * Authorization to retry with.
   *
   * @throws {@link RegistryAuthError} when there is no way to answer
   */
  async answer (challenges: Challenge[], scopes: readonly string[], registryUrl: URL, refused: string | undefined, signal?: AbortSignal): Promise<string> {
    const mode = modeOf(challenges, registryUrl)
    if (mode?.kind === 'bearer') {
      this.#mode = mode
      const wanted = mergeScopes(scopes, challenges.find((c) => c.scheme === 'bearer' && c.params.realm !== undefined)!.params.scope)
      if (refused !== undefined) this.#tokens = this.#tokens.filter((t) => t.header !== refused)
      return await this.#token(mode, wanted, signal)
    }
    if (mode?.kind === 'basic') {
      this.#mode = mode
      return await this.#basic(registryUrl)
    }
    const schemes = challenges.map((c) => c.scheme).join(', ')
    throw new RegistryAuthError(`${registryUrl.host} requires authentication${schemes !== '' ? ` with an unsupported scheme (${quoteRemote(schemes)})` : ' but sent no usable challenge'}`, { status: 401 })
  }

  /**
   * Take the challenges of the registry's `GET /v2/` answer (none when it
   * answered 200): later requests carry their Authorization at once.
   *
   * @throws {@link RegistryProtocolError} for a Bearer realm that is not an http(s) URL
   */
  learn (challenges: Challenge[], registryUrl: URL): void {
    if (this.#mode.kind !== 'none') return
    const mode = modeOf(challenges, registryUrl)
    if (mode !== undefined) this.#mode = mode
  }

  async #basic (url: URL): Promise<string> {
    const creds = await this.#options.credentials()
    if (creds === undefined) throw new RegistryAuthError(`${url.host} requires a user and password (--creds USER:PASS or an auth file)`, { status: 401 })
    if (!this.#options.mayCarryCredentials(url)) throw new RegistryAuthError(`refusing to send credentials to ${url.host} over plain HTTP`)
    return `Basic ${Buffer.from(`${creds.username}:${creds.password}`).toString('base64')}`
  }

  async #token (mode: Extract<Mode, { kind: 'bearer' }>, wanted: ScopeSet, signal?: AbortSignal): Promise<string> {
    const now = Date.now()
    this.#tokens = this.#tokens.filter((t) => t.expires > now)
    const cached = this.#tokens.find((t) => covers(t.scopes, wanted))
    if (cached !== undefined) return cached.header
    const key = formatScopes(wanted).join(' ')
    let pending = this.#inflight.get(key)
    if (pending === undefined) {
      pending = this.#fetchToken(mode, wanted, signal).finally(() => this.#inflight.delete(key))
      this.#inflight.set(key, pending)
    }
    return await pending
  }

  async #fetchToken (mode: Extract<Mode, { kind: 'bearer' }>, wanted: ScopeSet, signal?: AbortSignal): Promise<string> {
    const url = new URL(mode.realm.href)
    if (mode.service !== undefined) url.searchParams.set('service', mode.service)
    for (const scope of formatScopes(wanted)) url.searchParams.append('scope', scope)
    const headers: Record<string, string> = { accept: 'application/json' }
    const creds = await this.#options.credentials()
    if (creds !== undefined) {
      if (!this.#options.mayCarryCredentials(url)) throw new RegistryAuthError(`refusing to send credentials to the token server ${url.host} over plain HTTP`)
      headers.authorization = `Basic ${Buffer.from(`${creds.username}:${creds.password}`).toString('base64')}`
    }
    const res = await this.#options.send(url, headers, signal)
    if (res.status === 401 || res.status === 403) {
      const err = await errorFromResponse(res, 'GET', `the token server ${url.host} refused ${creds === undefined ? 'anonymous access' : `user ${quoteRemote(creds.username)}`} for ${formatScopes(wanted).join(' ')}`)
      throw new RegistryAuthError(err.message, { status: res.status, registryCodes: err.registryCodes })
    }
    if (res.status !== 200) throw await errorFromResponse(res, 'GET', `token request to ${url.host}`)
    const body = await res.readAll(MAX_TOKEN_BODY, 'token answer')
    let doc: { token?: unknown, access_token?: unknown, expires_in?: unknown }
    try {
      doc = JSON.parse(Buffer.from(body).toString('utf8'))
    } catch (err) {
      throw new RegistryProtocolError(`the token server ${url.host} sent an answer that is not JSON`, { cause: err })
    }
    const token = typeof doc?.token === 'string' && doc.token !== '' ? doc.token : doc?.access_token
    if (typeof token !== 'string' || token === '' || !/^[\x21-\x7e]+$/.test(token)) throw new RegistryProtocolError(`the token server ${url.host} sent no usable token`)
    const expiresIn = typeof doc.expires_in === 'number' && Number.isFinite(doc.expires_in) && doc.expires_in > 0 ? Math.min(doc.expires_in, 86400) : DEFAULT_EXPIRY_S
    const header = `Bearer ${token}`
    // renew a little before the server's expiry
    this.#tokens.push({ scopes: wanted, header, expires: Date.now() + expiresIn * 900 })
    if (this.#tokens.length > MAX_CACHED) this.#tokens.shift()
    return header
  }
}
