/**
 * The requests of one client to one registry: where they go, who we say
 * we are, how many at once, and what happens when they fail.
 *
 * - **Scheme.** `tlsVerify: true` (the default) uses `https://` only.
 *   `tlsVerify: false` accepts any certificate and plain HTTP: as skopeo
 *   does for insecure registries, the first request tries `https://` and,
 *   when the TLS handshake fails, the connection is refused or reset, or
 *   no answer comes in time, `http://`; the first answer fixes the scheme
 *   for the session. (Plain HTTP first for loopback hosts was rejected: a
 *   TLS registry on loopback answers plain HTTP with an HTTP 400, which
 *   cannot be told from a real refusal; the cost of https first on a
 *   plain-HTTP registry is one refused handshake per session, which no
 *   proxy or access log counts as a request.) `docker.io` is reached at
 *   `registry-1.docker.io`.
 * - **Ping.** The first request to a registry is preceded by `GET /v2/`
 *   (`./ping.ts`), once per process: it fixes the scheme, tells a server
 *   that is no registry (`ERR_NOT_A_REGISTRY`), and its 401 challenges
 *   prime the authenticator, so the first real request carries its
 *   `Authorization` at once. It costs one request, counted in `counters`.
 * - **Auth.** `./authenticator.ts` answers 401 challenges once per request.
 * - **Concurrency.** At most `maxConcurrency` exchanges are in flight; a
 *   slot is held from sending the request until its body has been read
 *   or dropped (token requests do not take a slot).
 * - **Retries.** Requests whose body can be sent again are retried up to
 *   `retries` times with exponential backoff from `retryDelayMs` on 429
 *   (waiting at least `Retry-After`, but failing at once with
 *   `ERR_REGISTRY_RATE_LIMITED` when it asks for more than
 *   `maxRetryAfterMs`), on 500/502/503/504 and on network failures and
 *   timeouts before the response headers. After the last try: 429 is
 *   `ERR_REGISTRY_RATE_LIMITED`, the others `ERR_REGISTRY_UNAVAILABLE`.
 *   A refused connection before the registry ever answered (nothing
 *   listens there), or a host name with no address, is
 *   `ERR_REGISTRY_UNAVAILABLE` at once, as in skopeo.
 * - **Redirects** (301/302/303/307/308) of GET and HEAD are followed, at
 *   most 5; `Authorization` goes only to the registry's own origin, so it
 *   is dropped on a redirect to blob storage. `https` never redirects to
 *   `http` unless `tlsVerify` is false.
 *
 * @module
 */
import { Agent as HttpAgent } from 'node:http'
import { Agent as HttpsAgent } from 'node:https'
import { isIP } from 'node:net'
import { AbortedError, throwIfAborted } from '../../errors.js'
import { Limiter } from '../../util/limiter.js'
import { Authenticator } from './authenticator.js'
import { parseChallenges } from './challenge.js'
import { findCredentials, type Credentials, type CredentialSources } from './credentials.js'
import { RegistryAuthError, RegistryProtocolError, RegistryRateLimitedError, RegistryTlsError, RegistryUnavailableError, quoteRemote } from './errors.js'
import { HttpResponse, isRetryable, sendHttp, TimeoutError, type HttpExchange, type RequestBody } from './http.js'
import { PING_PATH, pingChallenges, pingOnce, type PingResult } from './ping.js'
import { describeRequest, errorFromResponse } from './response-error.js'
import type { TransferCounters } from './types.js'

/** Session settings (the client options, resolved). */
export interface SessionOptions extends CredentialSources {
  registry: string
  repository: string
  tlsVerify: boolean
  maxConcurrency: number
  timeoutMs: number
  retries: number
  retryDelayMs: number
  maxRetryAfterMs: number
}

/** One request as the repository code asks for it. */
export interface RequestSpec {
  method: string
  /** A path with query under the registry (`/v2/...`), or an absolute URL (an upload `Location`, a `Link`). */
  target: string | URL
  headers?: Record<string, string>
  /** Bytes, or a function giving the body stream afresh for each try. */
  body?: Uint8Array | (() => AsyncIterable<Uint8Array>)
  /** The token scopes the request needs (`repository:NAME:pull`). */
  scopes: readonly string[]
  signal?: AbortSignal
  /** Retry on 429/5xx/network failures (default: for GET, HEAD, PUT and DELETE). */
  retry?: boolean
}

const RETRY_STATUS = new Set([429, 500, 502, 503, 504])
const REDIRECT_STATUS = new Set([301, 302, 303, 307, 308])
const MAX_REDIRECTS = 5
const MAX_BACKOFF_MS = 10_000

/** Whether `hostname` is a loopback name or address. */
export function isLoopback (hostname: string): boolean {
  const h = hostname.replace(/^\[|\]$/g, '').toLowerCase()
  if (h === 'localhost' || h.endsWith('.localhost')) return true
  if (isIP(h) === 4) return h.startsWith('127.')
  return h === '::1' || h === '0:0:0:0:0:0:0:1'
}

/** Milliseconds a `Retry-After` asks for (delta seconds or an HTTP date), undefined when absent or malformed. */
export function parseRetryAfter (value: string | undefined, now = Date.now()): number | undefined {
  if (value === undefined) return undefined
  const v = value.trim()
  if (/^[0-9]{1,10}$/.test(v)) return Number(v) * 1000
  const t = Date.parse(v)
  return Number.isNaN(t) ? undefined : Math.max(0, t - now)
}

async function sleep (ms: number, signal?: AbortSignal): Promise<void> {
  throwIfAborted(signal)
  await new Promise<void>((resolve, reject) => {
    const onAbort = (): void => { clearTimeout(timer); reject(new AbortedError(undefined, { cause: signal?.reason })) }
    const timer = setTimeout(() => { signal?.removeEventListener('abort', onAbort); resolve() }, ms)
    signal?.addEventListener('abort', onAbort, { once: true })
  })
}

/** The requests to one registry. */
export class RegistrySession {
  readonly counters: TransferCounters = { requests: 0, bytesReceived: 0, bytesSent: 0 }
  readonly options: SessionOptions
  readonly #limiter: Limiter
  readonly #agents: HttpExchange['agents']
  readonly #auth: Authenticator
  readonly #host: string
  #origin: URL | undefined
  #candidates: URL[]
  #credentials: Promise<Credentials | undefined> | undefined
  #pinged: Promise<void> | undefined

  constructor (options: SessionOptions) {
    this.options = options
    this.#limiter = new Limiter(options.maxConcurrency)
    this.#agents = {
      http: new HttpAgent({ keepAlive: true, maxSockets: options.maxConcurrency }),
      https: new HttpsAgent({ keepAlive: true, maxSockets: options.maxConcurrency })
    }
    this.#host = options.registry === 'docker.io' ? 'registry-1.docker.io' : options.registry
    const https = new URL(`https://${this.#host}`)
    const http = new URL(`http://${this.#host}`)
    this.#candidates = options.tlsVerify ? [https] : [https, http]
    this.#auth = new Authenticator({
      credentials: async () => await this.#getCredentials(),
      send: async (url, headers, signal) => await this.#withRetries({ method: 'GET', target: url, headers, scopes: [], signal }, async () => await this.#send(url, 'GET', headers, undefined, signal, false)),
      mayCarryCredentials: (url) => url.protocol === 'https:' || !this.options.tlsVerify || isLoopback(url.hostname)
    })
  }

  /** The registry's origin once known (else the preferred candidate), for messages. */
  get origin (): URL { return this.#origin ?? this.#candidates[0]! }

  async #getCredentials (): Promise<Credentials | undefined> {
    this.#credentials ??= findCredentials(this.options.registry, this.options.repository, this.options)
    return await this.#credentials
  }

  /** Close idle connections. */
  close (): void {
    this.#agents.http.destroy()
    this.#agents.https.destroy()
  }

  /**
   * Send a request (auth, redirects, retries as the module comment says)
   * and resolve with the final answer, whatever its status, except:
   * 401 after the challenge was answered and 429/5xx after the last retry
   * throw. The caller must read or `discard()` the body.
   */
  async request (spec: RequestSpec): Promise<HttpResponse> {
    await this.#ping(spec.signal)
    return await this.#withRetries(spec, async () => await this.#attempt(spec, true))
  }

  /** Ping the registry unless this process has (see `./ping.ts`), and take what it learnt. */
  async #ping (signal: AbortSignal | undefined): Promise<void> {
    this.#pinged ??= (async () => {
      const found = await pingOnce(`${this.#host} ${this.#candidates.map((c) => c.protocol).join(',')}`, async () => await this.#probe(signal))
      this.#origin ??= found.origin
      this.#auth.learn(found.challenges, found.origin)
    })()
    try {
      await this.#pinged
    } catch (err) {
      this.#pinged = undefined
      throw err
    }
  }

  async #probe (signal: AbortSignal | undefined): Promise<PingResult> {
    const spec: RequestSpec = { method: 'GET', target: PING_PATH, scopes: [], ...(signal !== undefined ? { signal } : {}) }
    // a 401 is the answer, not a challenge to answer: its challenges are for the requests to come
    const res = await this.#withRetries(spec, async () => await this.#attempt(spec, false))
    return { origin: this.origin, challenges: pingChallenges(res) }
  }

  #resolve (target: string | URL, origin: URL): URL {
    return typeof target === 'string' ? new URL(target, origin) : target
  }

  async #attempt (spec: RequestSpec, answer: boolean): Promise<HttpResponse> {
    if (this.#origin !== undefined) return await this.#attemptAt(spec, this.#origin, answer)
    let first: unknown
    for (const candidate of this.#candidates) {
      try {
        return await this.#attemptAt(spec, candidate, answer)
      } catch (err) {
        // the candidate answered, so the failure came later (auth, retries): it stands
        if (this.#origin !== undefined) throw err
        if (!(err instanceof RegistryTlsError || err instanceof TimeoutError || (err instanceof RegistryUnavailableError && /ECONNREFUSED|ECONNRESET|EPROTO/.test(String((err.cause as NodeJS.ErrnoException)?.code))))) throw err
        // report the https failure, unless it only showed the server does not speak TLS
        if (first === undefined || first instanceof RegistryTlsError) first = err
      }
    }
    throw first
  }

  /** One try at `origin`: auth (unless `answer` is false: a 401 is returned), redirects. */
  async #attemptAt (spec: RequestSpec, origin: URL, answer: boolean): Promise<HttpResponse> {
    const body = (): RequestBody | undefined => spec.body === undefined || spec.body instanceof Uint8Array ? spec.body : spec.body()
    let url = this.#resolve(spec.target, origin)
    let method = spec.method
    let authorization = url.origin === origin.origin ? await this.#auth.header(spec.scopes, url, spec.signal) : undefined
    let answered = false
    let hops = 0
    for (;;) {
      const headers: Record<string, string> = { ...spec.headers }
      const ours = url.origin === origin.origin
      if (authorization !== undefined && ours) headers.authorization = authorization
      const res = await this.#send(url, method, headers, body(), spec.signal, true)
      if (ours) this.#origin ??= origin
      if (res.status === 401 && ours && answer) {
        if (authorization?.startsWith('Basic ') === true) throw await this.#rejected(res, method)
        if (answered) throw await errorFromResponse(res, method)
        const challenges = parseChallenges(res.headerAll('www-authenticate'))
        res.discard()
        authorization = await this.#auth.answer(challenges, spec.scopes, url, authorization, spec.signal)
        answered = true
        continue
      }
      if (REDIRECT_STATUS.has(res.status) && (method === 'GET' || method === 'HEAD')) {
        const location = res.header('location')
        res.discard()
        if (location === undefined) throw new RegistryProtocolError(`${describeRequest(method, url)}: HTTP ${res.status} without a Location`, { status: res.status })
        if (++hops > MAX_REDIRECTS) throw new RegistryProtocolError(`${describeRequest(method, url)}: more than ${MAX_REDIRECTS} redirects`, { status: res.status })
        let next: URL
        try { next = new URL(location, url) } catch { throw new RegistryProtocolError(`${describeRequest(method, url)}: redirect to an invalid Location ${quoteRemote(location)}`) }
        if (next.protocol !== 'https:' && next.protocol !== 'http:') throw new RegistryProtocolError(`${describeRequest(method, url)}: redirect to a non-HTTP Location ${quoteRemote(next.protocol)}`)
        if (url.protocol === 'https:' && next.protocol === 'http:' && this.options.tlsVerify) throw new RegistryProtocolError(`${describeRequest(method, url)}: redirect from https to plain http refused (--tls-verify=false allows it)`)
        url = next
        if (res.status === 303) method = 'GET'
        continue
      }
      return res
    }
  }

  /** The error for a 401 to the Basic credentials sent: sending them again cannot help. */
  async #rejected (res: HttpResponse, method: string): Promise<RegistryAuthError> {
    const err = await errorFromResponse(res, method)
    const creds = await this.#getCredentials()
    return new RegistryAuthError(`${res.url.host} rejected the credentials for user ${quoteRemote(creds?.username ?? '')} (HTTP ${res.status})`, { status: res.status, registryCodes: err.registryCodes })
  }

  async #send (url: URL, method: string, headers: Record<string, string>, body: RequestBody | undefined, signal: AbortSignal | undefined, limited: boolean): Promise<HttpResponse> {
    const exchange: HttpExchange = {
      url, method, headers, insecure: !this.options.tlsVerify, timeoutMs: this.options.timeoutMs, counters: this.counters, agents: this.#agents,
      ...(body !== undefined ? { body } : {}), ...(signal !== undefined ? { signal } : {})
    }
    if (!limited) return await sendHttp(exchange)
    await this.#acquire(signal)
    let released = false
    const release = (): void => { if (!released) { released = true; this.#limiter.release() } }
    try {
      return await sendHttp(exchange, release)
    } catch (err) {
      release()
      throw err
    }
  }

  /** Wait for a slot, or for the signal (a slot granted after an abort is given back at once). */
  async #acquire (signal: AbortSignal | undefined): Promise<void> {
    const slot = this.#limiter.acquire()
    if (signal === undefined) { await slot; return }
    let onAbort: (() => void) | undefined
    const aborted = new Promise<'aborted'>((resolve) => {
      onAbort = () => resolve('aborted')
      if (signal.aborted) resolve('aborted')
      else signal.addEventListener('abort', onAbort, { once: true })
    })
    const won = await Promise.race([slot.then(() => 'slot' as const), aborted])
    signal.removeEventListener('abort', onAbort!)
    if (won === 'aborted') {
      slot.then(() => this.#limiter.release(), () => {})
      throw new AbortedError(undefined, { cause: signal.reason })
    }
  }

  /** Wait before the next try after `failures` failures (exponential, jittered, abortable). */
  async backoff (failures: number, signal?: AbortSignal): Promise<void> {
    await sleep(this.#backoff(Math.max(0, failures - 1)), signal)
  }

  async #withRetries (spec: RequestSpec, attempt: () => Promise<HttpResponse>): Promise<HttpResponse> {
    const replayable = spec.body === undefined || spec.body instanceof Uint8Array || typeof spec.body === 'function'
    const retry = replayable && (spec.retry ?? ['GET', 'HEAD', 'PUT', 'DELETE'].includes(spec.method))
    const tries = retry ? this.options.retries + 1 : 1
    for (let i = 0; ; i++) {
      throwIfAborted(spec.signal)
      const last = i + 1 >= tries
      let res: HttpResponse
      try {
        res = await attempt()
      } catch (err) {
        if (last || !isRetryable(err) || err instanceof RegistryAuthError || this.#neverReached(err)) throw err
        await sleep(this.#backoff(i), spec.signal)
        continue
      }
      if (!RETRY_STATUS.has(res.status)) return res
      const wait = res.status === 429 ? parseRetryAfter(res.header('retry-after')) : undefined
      if (wait !== undefined && wait > this.options.maxRetryAfterMs) {
        const err = await errorFromResponse(res, spec.method)
        throw new RegistryRateLimitedError(`${err.message} (asks to retry after ${Math.ceil(wait / 1000)} s, more than the ${Math.ceil(this.options.maxRetryAfterMs / 1000)} s this client waits)`, { status: 429, registryCodes: err.registryCodes })
      }
      if (last) {
        const err = await errorFromResponse(res, spec.method)
        if (!retry) throw err
        const Class = res.status === 429 ? RegistryRateLimitedError : RegistryUnavailableError
        throw new Class(`${err.message} (after ${tries} tries)`, { status: res.status, registryCodes: err.registryCodes })
      }
      res.discard()
      await sleep(Math.max(wait ?? 0, this.#backoff(i)), spec.signal)
    }
  }

  /**
   * Whether `err` is a refused connection to a registry that has not
   * answered yet, or a host name with no address: nothing listens there
   * (a wrong host or port), which waiting will not change. As skopeo,
   * fail at once; once the registry has answered, a refusal (a restart)
   * is retried like any other failure.
   */
  #neverReached (err: unknown): boolean {
    const code = (err as { cause?: NodeJS.ErrnoException } | undefined)?.cause?.code
    return this.#origin === undefined && err instanceof RegistryUnavailableError && (code === 'ECONNREFUSED' || code === 'ENOTFOUND')
  }

  #backoff (attempt: number): number {
    const base = Math.min(MAX_BACKOFF_MS, this.options.retryDelayMs * 2 ** attempt)
    return Math.round(base * (0.75 + Math.random() * 0.5))
  }
}
