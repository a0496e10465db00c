/**
 * A reverse HTTP proxy in front of any registry, for tests: it counts the
 * requests and the bytes on the wire per route (independently of the code
 * under test), and misbehaves on demand.
 *
 * ```ts
 * const proxy = await startCountingProxy(registry.url)
 * // point the client at docker://${proxy.host}/...
 * proxy.rule = (req) => req.route === 'GET blob' && req.nth < 2 ? { respond: { status: 429, headers: { 'retry-after': '1' } } } : undefined
 * ...
 * proxy.counts()   // { requests, bytesIn, bytesOut, byRoute: { 'GET blob': { requests, bytesOut }, ... } }
 * proxy.log        // every exchange: method, path, route, range, status, bytesOut, misbehaved
 * proxy.reset(); await proxy.close()
 * ```
 *
 * Requests are forwarded unchanged (the `Host` header too, so the
 * registry's absolute `Location`s point back at the proxy). A `rule`
 * sees each request ({@link ProxiedRequest}: method, path, route, headers,
 * its index overall and among requests of the same route) and may return
 * a {@link Misbehaviour}:
 * - `respond`: answer this instead of forwarding (injected 401/404/429/5xx,
 *   hostile headers and bodies);
 * - `rewritePath`: forward to this path and query instead (a smaller page
 *   size, another digest);
 * - `dropRequestHeaders`: forward without them (drop `range` and the
 *   registry answers 200 with the whole blob where 206 was asked);
 * - `setResponseHeaders`: override (or, with `null`, remove) response headers;
 * - `flipByteAt`: xor 0xff into the body byte at that offset (wrong bytes);
 * - `truncateAt`: send that many body bytes, then cut the connection;
 * - `stallAt`: send that many body bytes, then nothing more, keeping the
 *   connection open (until the client gives up or the proxy closes);
 * - `dripMs`: send the body one byte every `dripMs` (a slow-drip answer);
 * - `delayMs`: wait before answering;
 * - `replaceBody`: a function of the whole upstream body (buffered, for
 *   small answers) giving the body to send; `Content-Length` is adjusted
 *   unless `setResponseHeaders` sets it.
 *
 * Routes: `GET /v2/`, `HEAD blob`, `GET blob`, `GET manifest`, `PUT
 * manifest`, `POST upload`, `PATCH upload`, `PUT upload`, `GET tags`,
 * `GET referrers`, else `METHOD other`.
 *
 * Bytes: `bytesIn` are request body bytes received from the client,
 * `bytesOut` response body bytes sent to it (after misbehaviour).
 *
 * @module
 */
import { createServer, request as httpRequest, type IncomingHttpHeaders, type IncomingMessage, type ServerResponse } from 'node:http'
import { once } from 'node:events'
import type { AddressInfo, Socket } from 'node:net'

/** A request as a rule sees it. */
export interface ProxiedRequest {
  method: string
  /** Path and query. */
  path: string
  route: string
  headers: IncomingHttpHeaders
  /** 0-based index among all requests since the last reset. */
  index: number
  /** 0-based index among requests of the same route since the last reset. */
  nth: number
}

/** What to do to one exchange (see the module comment). */
export interface Misbehaviour {
  respond?: { status: number, headers?: Record<string, string>, body?: string | Uint8Array }
  rewritePath?: string
  dropRequestHeaders?: string[]
  setResponseHeaders?: Record<string, string | null>
  flipByteAt?: number
  truncateAt?: number
  stallAt?: number
  dripMs?: number
  delayMs?: number
  replaceBody?: (body: Buffer, upstream: IncomingMessage) => Buffer
}

/** Decide per request. */
export type ProxyRule = (req: ProxiedRequest) => Misbehaviour | undefined

/** One exchange as the proxy relayed it. */
export interface ProxyLogEntry {
  method: string
  path: string
  route: string
  /** The request's `Range` header, if any. */
  range: string | undefined
  /** Whether the request carried an Authorization header. */
  authorized: boolean
  status: number
  bytesIn: number
  bytesOut: number
  misbehaved: boolean
}

/** Counts since the last reset. */
export interface ProxyCounts {
  requests: number
  /** The most exchanges in flight at once. */
  maxInFlight: number
  /** TCP connections accepted (a client reusing connections opens few). */
  connections: number
  bytesIn: number
  bytesOut: number
  byRoute: Record<string, { requests: number, bytesOut: number }>
}

/** A running proxy. */
export interface CountingProxy {
  /** `127.0.0.1:PORT`. */
  readonly host: string
  /** `http://127.0.0.1:PORT`. */
  readonly url: string
  /** The misbehaviour rule; set it any time (undefined: relay faithfully). */
  rule: ProxyRule | undefined
  /** Every completed exchange since the last reset, in completion order. */
  readonly log: ProxyLogEntry[]
  counts: () => ProxyCounts
  /** The log entries of one route. */
  ofRoute: (route: string) => ProxyLogEntry[]
  reset: () => void
  close: () => Promise<void>
}

/** The route of a registry request, for counting. */
export function routeOf (method: string, path: string): string {
  const p = path.split('?')[0]!
  if (p === '/v2/' || p === '/v2') return `${method} /v2/`
  if (/^\/v2\/.+\/blobs\/uploads\/?/.test(p)) return `${method} upload`
  if (/^\/v2\/.+\/blobs\/[^/]+$/.test(p)) return `${method} blob`
  if (/^\/v2\/.+\/manifests\/[^/]+$/.test(p)) return `${method} manifest`
  if (/^\/v2\/.+\/tags\/list$/.test(p)) return `${method} tags`
  if (/^\/v2\/.+\/referrers\/[^/]+$/.test(p)) return `${method} referrers`
  return `${method} other`
}

/** Start a proxy to `target` (`http://host:port`). */
export async function startCountingProxy (target: string, rule?: ProxyRule): Promise<CountingProxy> {
  const upstream = new URL(target)
  const log: ProxyLogEntry[] = []
  const perRoute = new Map<string, number>()
  let index = 0
  let inFlight = 0
  let maxInFlight = 0
  let connections = 0
  const sockets = new Set<Socket>()
  const state = { rule }

  const handle = (req: IncomingMessage, res: ServerResponse): void => {
    const method = req.method ?? 'GET'
    const path = req.url ?? '/'
    const route = routeOf(method, path)
    const nth = perRoute.get(route) ?? 0
    perRoute.set(route, nth + 1)
    const info: ProxiedRequest = { method, path, route, headers: req.headers, index: index++, nth }
    const m = state.rule?.(info) ?? undefined
    const entry: ProxyLogEntry = { method, path, route, range: req.headers.range, authorized: req.headers.authorization !== undefined, status: 0, bytesIn: 0, bytesOut: 0, misbehaved: m !== undefined }
    req.on('data', (d: Buffer) => { entry.bytesIn += d.length })
    let logged = false
    inFlight++
    maxInFlight = Math.max(maxInFlight, inFlight)
    const finish = (): void => { if (!logged) { logged = true; inFlight--; log.push(entry) } }
    res.on('close', finish)

    const go = (): void => {
      if (m?.respond !== undefined) {
        const body = m.respond.body === undefined ? Buffer.alloc(0) : Buffer.from(m.respond.body)
        req.resume()
        entry.status = m.respond.status
        res.writeHead(m.respond.status, { 'content-length': String(body.length), ...m.respond.headers })
        entry.bytesOut += body.length
        res.end(method === 'HEAD' ? undefined : body)
        return
      }
      const headers = { ...req.headers }
      for (const h of m?.dropRequestHeaders ?? []) delete headers[h.toLowerCase()]
      const up = httpRequest({ host: upstream.hostname, port: upstream.port, method, path: m?.rewritePath ?? path, headers }, (ures) => {
        entry.status = ures.statusCode ?? 0
        const outHeaders: Record<string, string | string[]> = {}
        for (const [k, v] of Object.entries(ures.headers)) if (v !== undefined) outHeaders[k] = v
        const send = (body: AsyncIterable<Buffer> | Buffer): void => {
          for (const [k, v] of Object.entries(m?.setResponseHeaders ?? {})) {
            if (v === null) delete outHeaders[k.toLowerCase()]
            else outHeaders[k.toLowerCase()] = v
          }
          res.writeHead(ures.statusCode ?? 502, outHeaders)
          relayBody(body, res, entry, m).catch(() => { res.destroy() })
        }
        if (m?.replaceBody !== undefined) {
          const parts: Buffer[] = []
          ures.on('data', (d: Buffer) => parts.push(d))
          ures.on('end', () => {
            const body = m.replaceBody!(Buffer.concat(parts), ures)
            if (m.setResponseHeaders?.['content-length'] === undefined) {
              outHeaders['content-length'] = String(body.length)
              delete outHeaders['transfer-encoding']
            }
            send(body)
          })
        } else {
          send(ures)
        }
      })
      up.on('error', () => { if (!res.headersSent) { entry.status = 502; res.writeHead(502).end() } else res.destroy() })
      req.pipe(up)
    }
    if (m?.delayMs !== undefined) setTimeout(go, m.delayMs)
    else go()
  }

  const server = createServer(handle)
  server.on('connection', (s) => { connections++; sockets.add(s); s.on('close', () => sockets.delete(s)) })
  server.listen(0, '127.0.0.1')
  await once(server, 'listening')
  const { port } = server.address() as AddressInfo
  return {
    host: `127.0.0.1:${port}`,
    url: `http://127.0.0.1:${port}`,
    get rule () { return state.rule },
    set rule (r: ProxyRule | undefined) { state.rule = r },
    log,
    counts: () => {
      const byRoute: ProxyCounts['byRoute'] = {}
      for (const e of log) {
        const r = byRoute[e.route] ??= { requests: 0, bytesOut: 0 }
        r.requests++
        r.bytesOut += e.bytesOut
      }
      return { requests: log.length, maxInFlight, connections, bytesIn: log.reduce((n, e) => n + e.bytesIn, 0), bytesOut: log.reduce((n, e) => n + e.bytesOut, 0), byRoute }
    },
    ofRoute: (route: string) => log.filter((e) => e.route === route),
    reset: () => { log.length = 0; perRoute.clear(); index = 0; maxInFlight = inFlight; connections = 0 },
    close: async () => {
      for (const s of sockets) s.destroy()
      server.close()
      await once(server, 'close')
    }
  }
}

/** Relay a body with the byte-level misbehaviours applied. */
async function relayBody (body: AsyncIterable<Buffer> | Buffer, res: ServerResponse, entry: ProxyLogEntry, m: Misbehaviour | undefined): Promise<void> {
  let at = 0
  const chunks: AsyncIterable<Buffer> | Buffer[] = Buffer.isBuffer(body) ? [body] : body
  for await (const raw of chunks) {
    let chunk = raw
    if (m?.flipByteAt !== undefined && m.flipByteAt >= at && m.flipByteAt < at + chunk.length) {
      chunk = Buffer.from(chunk)
      chunk[m.flipByteAt - at] = chunk[m.flipByteAt - at]! ^ 0xff
    }
    const limit = m?.truncateAt ?? m?.stallAt
    if (limit !== undefined && at + chunk.length >= limit) {
      const part = chunk.subarray(0, Math.max(0, limit - at))
      if (part.length > 0) { entry.bytesOut += part.length; res.write(part) }
      if (m?.truncateAt !== undefined) {
        // let the bytes go out, then cut the connection
        await new Promise<void>((resolve) => res.socket?.end(resolve) ?? resolve())
        res.socket?.destroy()
      }
      // stallAt: send nothing more; the connection stays open until someone closes it
      return
    }
    if (m?.dripMs !== undefined) {
      for (let i = 0; i < chunk.length; i++) {
        if (res.destroyed) return
        entry.bytesOut++
        res.write(chunk.subarray(i, i + 1))
        await new Promise((resolve) => setTimeout(resolve, m.dripMs))
      }
      at += chunk.length
      continue
    }
    at += chunk.length
    entry.bytesOut += chunk.length
    if (!res.write(chunk)) await once(res, 'drain')
  }
  res.end()
}
