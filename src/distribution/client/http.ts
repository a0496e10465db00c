/**
 * One HTTP exchange over `node:http`/`node:https`: no retries, no
 * redirects, no auth (the session does those). What it guarantees:
 * - time is bounded: waiting for the response headers, waiting for each
 *   KiB of the body (so a body dripping a byte at a time times out too),
 *   and each wait for the server to take more of the request body are
 *   bounded by `timeoutMs` (a consumer that is slow to read does not
 *   count: only waits on the network do);
 * - memory is bounded: {@link HttpResponse.readAll} stops at `maxBytes`,
 *   before buffering more, and refuses a declared `Content-Length` over it;
 * - a body shorter than its `Content-Length` is
 *   {@link RegistryTruncatedError}, whatever the socket did;
 * - the caller's `AbortSignal` ends the exchange at once with `ERR_ABORTED`;
 * - bytes sent and received (bodies only) are added to `counters`, and a
 *   request is counted when its answer arrives;
 * - network failures are {@link RegistryUnavailableError} (retryable) or
 *   {@link RegistryTlsError}, with the system error as `cause`.
 *
 * @module
 */
import { request as httpRequest, type Agent as HttpAgent, type IncomingHttpHeaders, type IncomingMessage, type ClientRequest } from 'node:http'
import { request as httpsRequest, type Agent as HttpsAgent } from 'node:https'
import { isIP } from 'node:net'
import { AbortedError, TesseraError } from '../../errors.js'
import { RegistryProtocolError, RegistryTlsError, RegistryTooLargeError, RegistryTruncatedError, RegistryUnavailableError } from './errors.js'
import type { TransferCounters } from './types.js'

/** A request body: bytes (replayable) or a stream. */
export type RequestBody = Uint8Array | AsyncIterable<Uint8Array>

/** One exchange to send. */
export interface HttpExchange {
  url: URL
  method: string
  headers: Record<string, string>
  body?: RequestBody
  /** Accept any TLS certificate. */
  insecure: boolean
  timeoutMs: number
  signal?: AbortSignal
  counters: TransferCounters
  agents: { http: HttpAgent, https: HttpsAgent }
}

/** Whether an error is worth retrying (the request may succeed if sent again). */
export function isRetryable (err: unknown): boolean {
  return err instanceof RegistryUnavailableError || err instanceof RegistryTruncatedError
}

/** OpenSSL's words for a first record that is not TLS: the server speaks plain HTTP. */
const PLAIN_HTTP = /wrong version number|packet length too long|http request/i

const TLS_CODES = /^(?:ERR_SSL_|ERR_TLS_|CERT_|UNABLE_TO_|DEPTH_ZERO_SELF_SIGNED_CERT|SELF_SIGNED_CERT_IN_CHAIN|ERR_OSSL_|EPROTO$|HOSTNAME_MISMATCH|ERR_TLS_CERT_ALTNAME_INVALID)/

/** Map a socket or TLS failure to a registry error. */
export function networkError (err: unknown, url: URL, what = 'request'): TesseraError {
  if (err instanceof TesseraError) return err
  const code = String((err as NodeJS.ErrnoException)?.code ?? '')
  const message = (err as Error)?.message ?? String(err)
  if (code.startsWith('HPE_')) {
    return new RegistryProtocolError(`${url.host} sent a malformed HTTP answer (${code}: ${message})`, { cause: err })
  }
  if (TLS_CODES.test(code) && PLAIN_HTTP.test(message)) {
    // OpenSSL read an HTTP answer where it expected a TLS record; said as skopeo and docker say it
    return new RegistryTlsError(`${url.host}: server gave HTTP response to HTTPS client (--tls-verify=false allows plain HTTP)`, { cause: err })
  }
  if (TLS_CODES.test(code)) {
    return new RegistryTlsError(`TLS with ${url.host} failed (${code}: ${message})${url.protocol === 'https:' ? '; --tls-verify=false accepts any certificate' : ''}`, { cause: err })
  }
  if (code === 'ECONNREFUSED') return new RegistryUnavailableError(`cannot connect to ${url.host}: connection refused`, { cause: err })
  // getaddrinfo's EAI_NONAME: the name has no address (EAI_AGAIN, a DNS server not answering, stays retryable)
  if (code === 'ENOTFOUND') return new RegistryUnavailableError(`cannot connect to ${url.host}: no such host`, { cause: err })
  return new RegistryUnavailableError(`${what} to ${url.host} failed: ${code !== '' ? `${code}: ` : ''}${message}`, { cause: err })
}

/** Body bytes that must arrive within each `timeoutMs` of waiting. */
const PROGRESS_BYTES = 1024

/** Whether `signal` has fired (a function, so checks after an await are not narrowed away). */
function isAborted (signal: AbortSignal | undefined): boolean {
  return signal?.aborted === true
}

/** A wait on the network that took longer than the timeout (headers, a body chunk, a drain). */
export class TimeoutError extends RegistryUnavailableError {}

/** A response whose body has not been read yet. */
export class HttpResponse {
  readonly status: number
  readonly headers: IncomingHttpHeaders
  readonly url: URL
  readonly #res: IncomingMessage
  readonly #exchange: HttpExchange
  readonly #onDone: () => void
  #done = false
  #received = 0

  constructor (res: IncomingMessage, exchange: HttpExchange, onDone: () => void) {
    this.status = res.statusCode ?? 0
    this.headers = res.headers
    this.url = exchange.url
    this.#res = res
    this.#exchange = exchange
    this.#onDone = onDone
  }

  /** One header's value (the first when repeated), lowercase name. */
  header (name: string): string | undefined {
    const v = this.headers[name.toLowerCase()]
    return Array.isArray(v) ? v[0] : v
  }

  /** Every value of a header (`WWW-Authenticate`, `Link` may repeat). */
  headerAll (name: string): string[] {
    const lower = name.toLowerCase()
    const out: string[] = []
    const raw = this.#res.rawHeaders
    for (let i = 0; i + 1 < raw.length; i += 2) if (raw[i]!.toLowerCase() === lower) out.push(raw[i + 1]!)
    return out
  }

  /** The declared `Content-Length`, undefined when absent; malformed is a protocol error for the caller to raise. */
  get contentLength (): number | undefined {
    const v = this.header('content-length')
    if (v === undefined || !/^[0-9]{1,15}$/.test(v.trim())) return undefined
    return Number(v.trim())
  }

  #finish (): void {
    if (this.#done) return
    this.#done = true
    this.#onDone()
  }

  /**
   * The body, chunk by chunk. Each wait for a chunk is bounded by the
   * timeout; a body that ends before its `Content-Length` throws
   * {@link RegistryTruncatedError}.
   */
  async * body (): AsyncGenerator<Uint8Array> {
    const res = this.#res
    const { timeoutMs, signal, counters } = this.#exchange
    const declared = this.contentLength
    const it = res[Symbol.asyncIterator]() as AsyncIterator<Buffer>
    let timer: NodeJS.Timeout | undefined
    const onAbort = (): void => { res.destroy(new AbortedError(undefined, { cause: signal?.reason })) }
    signal?.addEventListener('abort', onAbort, { once: true })
    try {
      if (signal?.aborted === true) throw new AbortedError(undefined, { cause: signal.reason })
      // the clock runs only while waiting on the network, and is reset by each
      // PROGRESS_BYTES that arrive (or the end): a body dripping a byte at a
      // time cannot hold the request open for ever
      let budget = timeoutMs
      let progress = 0
      for (;;) {
        let next: IteratorResult<Buffer>
        const waitStart = Date.now()
        try {
          next = await new Promise<IteratorResult<Buffer>>((resolve, reject) => {
            timer = setTimeout(() => {
              const err = new TimeoutError(`the body from ${this.url.host} stalled (less than ${PROGRESS_BYTES} bytes in ${timeoutMs} ms)`)
              res.destroy(err)
              reject(err)
            }, budget)
            it.next().then(resolve, reject)
          })
          budget -= Date.now() - waitStart
          progress += next.done === true ? 0 : next.value.length
          if (progress >= PROGRESS_BYTES) { budget = timeoutMs; progress = 0 }
        } catch (err) {
          if (isAborted(signal)) throw new AbortedError(undefined, { cause: signal?.reason })
          if (err instanceof TimeoutError) throw err
          const mapped = networkError(err, this.url, 'reading the body')
          // the connection ended in the body: a truncated body, whether it declared its length or was chunked
          if (mapped instanceof RegistryUnavailableError) {
            throw new RegistryTruncatedError(`the body from ${this.url.host} ended after ${this.#received}${declared !== undefined ? ` of ${declared}` : ''} bytes (${mapped.message})`, { cause: err, status: this.status })
          }
          throw mapped
        } finally {
          clearTimeout(timer)
        }
        if (next.done === true) break
        const chunk = next.value
        this.#received += chunk.length
        counters.bytesReceived += chunk.length
        if (declared !== undefined && this.#received > declared) {
          throw new RegistryTooLargeError(`the body from ${this.url.host} is longer than its Content-Length ${declared}`, { status: this.status })
        }
        yield new Uint8Array(chunk.buffer, chunk.byteOffset, chunk.byteLength)
      }
      if (declared !== undefined && this.#received < declared) {
        throw new RegistryTruncatedError(`the body from ${this.url.host} ended after ${this.#received} of ${declared} bytes`, { status: this.status })
      }
    } finally {
      signal?.removeEventListener('abort', onAbort)
      if (!res.complete) res.destroy()
      this.#finish()
    }
  }

  /** The whole body, at most `maxBytes` (else {@link RegistryTooLargeError} naming `what`). */
  async readAll (maxBytes: number, what = 'body'): Promise<Uint8Array> {
    const declared = this.contentLength
    if (declared !== undefined && declared > maxBytes) {
      this.discard()
      throw new RegistryTooLargeError(`the ${what} from ${this.url.host} is ${declared} bytes, over the limit of ${maxBytes}`, { status: this.status })
    }
    const parts: Uint8Array[] = []
    let total = 0
    for await (const chunk of this.body()) {
      total += chunk.length
      if (total > maxBytes) throw new RegistryTooLargeError(`the ${what} from ${this.url.host} is over the limit of ${maxBytes} bytes`, { status: this.status })
      parts.push(chunk)
    }
    return concatBytes(parts, total)
  }

  /** A bounded prefix of the body (for error messages); never throws. */
  async readPrefix (maxBytes: number): Promise<string> {
    try {
      const parts: Uint8Array[] = []
      let total = 0
      for await (const chunk of this.body()) {
        parts.push(chunk)
        total += chunk.length
        if (total >= maxBytes) break
      }
      return Buffer.from(concatBytes(parts, total)).subarray(0, maxBytes).toString('utf8')
    } catch {
      return ''
    }
  }

  /**
   * Drop the body: a HEAD answer or an empty body is consumed (so the
   * connection goes back to the pool), a small body read to its end in the
   * background, any other ends the connection.
   */
  discard (): void {
    if (this.#done) return
    const declared = this.contentLength
    if (this.#exchange.method === 'HEAD' || declared === 0 || this.status === 204 || this.status === 304) {
      this.#res.resume()
      this.#finish()
      return
    }
    if (declared !== undefined && declared <= 64 * 1024) {
      this.readPrefix(declared + 1).catch(() => {})
      return
    }
    if (!this.#res.complete) this.#res.destroy()
    else this.#res.resume()
    this.#finish()
  }
}

/** Concatenate byte arrays of known total length. */
export function concatBytes (parts: Uint8Array[], total = parts.reduce((n, p) => n + p.length, 0)): Uint8Array {
  if (parts.length === 1) return parts[0]!
  const out = new Uint8Array(total)
  let at = 0
  for (const p of parts) { out.set(p, at); at += p.length }
  return out
}

async function writeBody (req: ClientRequest, body: RequestBody, exchange: HttpExchange): Promise<void> {
  const { timeoutMs, counters } = exchange
  const write = async (chunk: Uint8Array): Promise<void> => {
    counters.bytesSent += chunk.length
    if (req.write(chunk)) return
    await new Promise<void>((resolve, reject) => {
      const timer = setTimeout(() => { cleanup(); reject(new TimeoutError(`${exchange.url.host} took no request body data for ${timeoutMs} ms`)) }, timeoutMs)
      const onDrain = (): void => { cleanup(); resolve() }
      const onClose = (): void => { cleanup(); reject(new RegistryUnavailableError(`${exchange.url.host} closed the connection while the request body was sent`)) }
      const cleanup = (): void => { clearTimeout(timer); req.off('drain', onDrain); req.off('close', onClose) }
      req.on('drain', onDrain)
      req.on('close', onClose)
    })
  }
  if (body instanceof Uint8Array) {
    await write(body)
  } else {
    for await (const chunk of body) {
      if (req.destroyed) return
      if (chunk.length > 0) await write(chunk)
    }
  }
  req.end()
}

/**
 * Send one request and resolve when the response headers arrive. `onDone`
 * runs once, when the response body has been consumed or dropped, or the
 * exchange failed.
 */
export async function sendHttp (exchange: HttpExchange, onDone: () => void = () => {}): Promise<HttpResponse> {
  const { url, method, timeoutMs, signal } = exchange
  if (signal?.aborted === true) { onDone(); throw new AbortedError(undefined, { cause: signal.reason }) }
  const headers: Record<string, string> = { 'user-agent': 'tessera', ...exchange.headers }
  if (exchange.body instanceof Uint8Array) headers['content-length'] = String(exchange.body.length)
  const https = url.protocol === 'https:'
  const options = {
    method,
    headers,
    agent: https ? exchange.agents.https : exchange.agents.http,
    ...(https ? { rejectUnauthorized: !exchange.insecure, ...(isIP(url.hostname.replace(/^\[|\]$/g, '')) === 0 ? { servername: url.hostname } : {}) } : {})
  }
  return await new Promise<HttpResponse>((resolve, reject) => {
    let settled = false
    let timer: NodeJS.Timeout | undefined
    const fail = (err: unknown): void => {
      if (settled) return
      settled = true
      clearTimeout(timer)
      signal?.removeEventListener('abort', onAbort)
      req.destroy()
      onDone()
      reject(signal?.aborted === true ? new AbortedError(undefined, { cause: signal.reason }) : networkError(err, url))
    }
    const onAbort = (): void => { fail(new AbortedError(undefined, { cause: signal?.reason })) }
    const armHeaderTimer = (): void => {
      clearTimeout(timer)
      timer = setTimeout(() => { fail(new TimeoutError(`${url.host} sent no response headers for ${timeoutMs} ms`)) }, timeoutMs)
    }
    const req = (https ? httpsRequest : httpRequest)(url, options, (res) => {
      if (settled) { res.destroy(); return }
      settled = true
      clearTimeout(timer)
      signal?.removeEventListener('abort', onAbort)
      // from here, the body's reader watches the signal and the time
      res.on('error', () => {})
      // a request counts once answered, as a proxy or an access log counts it
      exchange.counters.requests++
      resolve(new HttpResponse(res, exchange, onDone))
    })
    req.on('error', fail)
    signal?.addEventListener('abort', onAbort, { once: true })
    if (exchange.body === undefined) {
      armHeaderTimer()
      req.end()
    } else {
      // while the body is sent, writeBody bounds each wait for the server to take more
      writeBody(req, exchange.body, exchange).then(() => { if (!settled) armHeaderTimer() }, fail)
    }
  })
}
