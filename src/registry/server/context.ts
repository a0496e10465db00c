/**
 * What every route of the registry server shares: the store, the limits,
 * the upload sessions, and helpers for the parts of a request all routes
 * check the same way.
 *
 * @module
 */
import type { FastifyRequest } from 'fastify'
import type { RegistryStore, SnapshotOffers } from '../types.js'
import type { RegistryLimits } from './limits.js'
import { checkName } from './names.js'
import type { UploadSessions } from './uploads.js'

/** The state routes are registered with. */
export interface ServerContext {
  readonly registry: RegistryStore
  readonly limits: RegistryLimits
  readonly uploads: UploadSessions
  /** Offers images pushed as layers in tessera's format, when the server was given one. */
  readonly offers?: SnapshotOffers
  /** Build offers of pushed image manifests in the background. */
  readonly offerOnPush?: boolean
  /** Where lines about background work go. */
  readonly onLog?: (line: string) => void
}

/** The repository name of a request routed with a `:name` parameter, checked. */
export function repositoryOf (request: FastifyRequest, context: ServerContext): string {
  return checkName((request.params as { name: string }).name, context.limits.maxNameLength)
}

/** A query parameter given once as a string, else undefined. */
export function queryString (request: FastifyRequest, key: string): string | undefined {
  const value = (request.query as Record<string, unknown>)[key]
  return typeof value === 'string' ? value : undefined
}

/** The `Content-Length` header as a number, undefined when absent; `SIZE_INVALID` when malformed. */
export function contentLengthOf (request: FastifyRequest): number | undefined {
  const raw = request.headers['content-length']
  if (raw === undefined) return undefined
  return /^\d{1,15}$/.test(raw) ? Number(raw) : undefined
}
