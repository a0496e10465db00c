/**
 * The registry server: a fastify instance with the routes of the
 * distribution spec over a {@link RegistryStore}, optional authentication,
 * limits, and spec-shaped errors.
 *
 * Repository names contain slashes, which routers do not match inside one
 * parameter: each request URL is first rewritten so that the name's slashes
 * are `%2F` (`/v2/a/b/manifests/x` routes as `/v2/a%2Fb/manifests/x`), then
 * ordinary routes (`/v2/:name/manifests/:reference`, ...) take over.
 *
 * @module
 */
import Fastify, { type FastifyError, type FastifyInstance, type FastifyReply, type FastifyRequest } from 'fastify'
import type { RegistryStore, SnapshotOffers } from '../types.js'
import { type AuthConfig, Authenticator } from './auth.js'
import type { ServerContext } from './context.js'
import { errorBody, RegistryHttpError, toHttpError } from './errors.js'
import { type RegistryLimits, resolveRegistryLimits } from './limits.js'
import { baseRoutes } from './routes/base.js'
import { blobRoutes } from './routes/blobs.js'
import { manifestRoutes } from './routes/manifests.js'
import { referrerRoutes } from './routes/referrers.js'
import { tagRoutes } from './routes/tags.js'
import { uploadRoutes } from './routes/uploads.js'
import { UploadSessions } from './uploads.js'

/** Options of {@link createRegistryServer}. */
export interface RegistryServerOptions {
  /** Directory of upload session files (created; files left in it by an earlier run are removed). The CLI uses `<store>/uploads`. */
  uploadDirectory: string
  /** Require credentials (see `auth.ts` for the file format); none when absent. */
  auth?: AuthConfig
  /** Limits; each defaults to {@link DEFAULT_REGISTRY_LIMITS}. */
  limits?: Partial<RegistryLimits>
  /** Called with one line per request answered (method, path, status, time). */
  onLog?: (line: string) => void
  /**
   * Offer images pushed as layers in tessera's format (`../offer/`): asked
   * before referrers of the tessera artifact type are listed and before the
   * fallback tag `sha256-<hex>` is answered. Closed with the server.
   */
  offers?: SnapshotOffers
  /**
   * Also start building the offer of every image manifest pushed, in the
   * background (the push does not wait; a referrers request made
   * meanwhile waits for the build). Default false: built on first request.
   */
  offerOnPush?: boolean
}

/** Where to listen. */
export interface ListenOptions {
  /** Default `127.0.0.1`. */
  host?: string
  /** Default 5000; 0 for any free port. */
  port?: number
}

/** A registry server, not yet listening. */
export interface RegistryServer {
  /** The fastify instance (for `inject` in tests, or to add routes before listening). */
  readonly app: FastifyInstance
  /** The limits in force. */
  readonly limits: Readonly<RegistryLimits>
  /** Start listening; resolves to the base URL, e.g. `http://127.0.0.1:5000`. */
  listen (options?: ListenOptions): Promise<string>
  /** Stop accepting requests, wait for those in flight, remove upload files. The store is left open. */
  close (): Promise<void>
}

/** Route kinds a name may be followed by, with what must follow them. */
const NAMED_ROUTE = /^\/v2\/(.+)\/(blobs\/uploads(?:\/[^/]*)?|blobs\/[^/]+|manifests\/[^/]+|tags\/list|referrers\/[^/]+)$/

/** `url` with the slashes of the repository name encoded, so the name is one route parameter. */
export function routeUrl (url: string): string {
  const q = url.indexOf('?')
  const path = q < 0 ? url : url.slice(0, q)
  const m = NAMED_ROUTE.exec(path)
  if (m === null) return url
  return `/v2/${m[1]!.replaceAll('/', '%2F')}/${m[2]!}${q < 0 ? '' : url.slice(q)}`
}

const WRITE_METHODS = new Set(['POST', 'PUT', 'PATCH', 'DELETE'])

/**
 * A registry server over `registry`. Call `listen()` to serve; `close()`
 * before closing the store.
 */
export async function createRegistryServer (registry: RegistryStore, options: RegistryServerOptions): Promise<RegistryServer> {
  const limits = resolveRegistryLimits(options.limits)
  const authenticator = options.auth !== undefined ? new Authenticator(options.auth) : undefined
  const uploads = new UploadSessions(options.uploadDirectory, limits)
  const context: ServerContext = {
    registry,
    limits,
    uploads,
    ...(options.offers !== undefined ? { offers: options.offers } : {}),
    offerOnPush: options.offerOnPush === true,
    ...(options.onLog !== undefined ? { onLog: options.onLog } : {})
  }
  const app = Fastify({
    logger: false,
    rewriteUrl: (request: { url?: string }) => routeUrl(request.url ?? '/'),
    routerOptions: { maxParamLength: Math.max(1024, limits.maxNameLength * 3 + 16), ignoreTrailingSlash: true },
    exposeHeadRoutes: false,
    connectionTimeout: limits.idleTimeoutMs,
    requestTimeout: limits.requestTimeoutMs,
    bodyLimit: limits.maxManifestBytes,
    forceCloseConnections: 'idle',
    return503OnClosing: true
  })
  app.server.headersTimeout = limits.headersTimeoutMs

  function sendError (error: unknown, request: FastifyRequest, reply: FastifyReply): FastifyReply {
    let answer = toHttpError(error)
    // A manifest above its limit is an invalid manifest.
    if (answer instanceof RegistryHttpError && answer.status === 413 && (request.routeOptions.url ?? '').includes('/manifests/')) {
      answer = new RegistryHttpError('MANIFEST_INVALID', `manifest larger than the limit of ${limits.maxManifestBytes} bytes`, { status: 413, cause: error })
    }
    if (reply.sent || reply.raw.headersSent) {
      reply.raw.destroy(error instanceof Error ? error : undefined)
      return reply
    }
    if (answer instanceof RegistryHttpError) {
      reply.code(answer.status).headers(answer.headers).type('application/json')
      return reply.send(errorBody(answer))
    }
    if (answer.status >= 500) options.onLog?.(`error ${request.method} ${request.url}: ${error instanceof Error ? (error.stack ?? error.message) : String(error)}`)
    return reply.code(answer.status).type('application/json').send(answer.body)
  }

  app.setErrorHandler((error: FastifyError, request, reply) => sendError(error, request, reply))
  app.setNotFoundHandler((request, reply) => sendError(new RegistryHttpError('UNSUPPORTED', `no such endpoint: ${request.method} ${request.url.slice(0, 300)}`, { status: 404 }), request, reply))

  app.addHook('onRequest', async (request, reply) => {
    reply.header('docker-distribution-api-version', 'registry/2.0')
    if (authenticator !== undefined) await authenticator.authenticate(request.headers.authorization, WRITE_METHODS.has(request.method))
  })
  if (options.onLog !== undefined) {
    const log = options.onLog
    app.addHook('onResponse', async (request, reply) => {
      log(`${request.method} ${request.originalUrl ?? request.url} ${reply.statusCode} ${reply.elapsedTime.toFixed(0)}ms`)
    })
  }

  await app.register(baseRoutes(context))
  await app.register(blobRoutes(context))
  await app.register(uploadRoutes(context))
  await app.register(manifestRoutes(context))
  await app.register(tagRoutes(context))
  await app.register(referrerRoutes(context))
  await uploads.start()

  let closed = false
  return {
    app,
    limits,
    async listen (listen: ListenOptions = {}): Promise<string> {
      const address = await app.listen({ host: listen.host ?? '127.0.0.1', port: listen.port ?? 5000 })
      const info = app.server.address()
      if (info !== null && typeof info === 'object') {
        const host = info.family === 'IPv6' ? `[${info.address}]` : info.address
        return `http://${host}:${info.port}`
      }
      return address
    },
    async close (): Promise<void> {
      if (closed) return
      closed = true
      await options.offers?.close()
      await app.close()
      await uploads.close()
    }
  }
}
