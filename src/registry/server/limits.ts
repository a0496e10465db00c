/**
 * The limits `tessera serve` enforces, with their defaults. Every limit
 * is checked before the bytes it bounds are stored.
 *
 * @module
 */
import { InvalidArgumentError } from '../../errors.js'

/** Limits of the registry server; every field is optional, see {@link DEFAULT_REGISTRY_LIMITS}. */
export interface RegistryLimits {
  /** Largest manifest or index accepted, in bytes (413 `MANIFEST_INVALID` above). Default 4 MiB. */
  maxManifestBytes: number
  /** Largest blob accepted through an upload, in bytes (413 `SIZE_INVALID` above). Default 16 GiB. */
  maxUploadBytes: number
  /** Longest repository name (`NAME_INVALID` above). Default 255. */
  maxNameLength: number
  /** Upload sessions open at once (429 `TOOMANYREQUESTS` above). Default 1000. */
  maxUploadSessions: number
  /** An upload session untouched this long is cancelled and its file removed, in ms. Default 1 hour. */
  uploadSessionTtlMs: number
  /** A connection idle this long (no bytes either way) is closed, in ms. Default 60 s. */
  idleTimeoutMs: number
  /** Time allowed to receive one request's headers, in ms. Default 30 s. */
  headersTimeoutMs: number
  /** Time allowed to receive a whole request, in ms; 0 for none (large blob uploads). Default 0. */
  requestTimeoutMs: number
  /** Most tags answered in one page of `tags/list` (more come through the `Link` header). Default 1000. */
  maxTagsPerPage: number
}

/** The defaults of {@link RegistryLimits}. */
export const DEFAULT_REGISTRY_LIMITS: Readonly<RegistryLimits> = Object.freeze({
  maxManifestBytes: 4 * 1024 * 1024,
  maxUploadBytes: 16 * 1024 * 1024 * 1024,
  maxNameLength: 255,
  maxUploadSessions: 1000,
  uploadSessionTtlMs: 60 * 60 * 1000,
  idleTimeoutMs: 60 * 1000,
  headersTimeoutMs: 30 * 1000,
  requestTimeoutMs: 0,
  maxTagsPerPage: 1000
})

/** The defaults overridden by `given`; throws `ERR_INVALID_ARGUMENT` for a value that is not a non-negative integer. */
export function resolveRegistryLimits (given: Partial<RegistryLimits> = {}): RegistryLimits {
  const limits = { ...DEFAULT_REGISTRY_LIMITS }
  for (const [key, value] of Object.entries(given) as Array<[keyof RegistryLimits, unknown]>) {
    if (value === undefined) continue
    if (!(key in DEFAULT_REGISTRY_LIMITS)) throw new InvalidArgumentError(`unknown registry limit ${JSON.stringify(key)}`)
    if (typeof value !== 'number' || !Number.isSafeInteger(value) || value < 0) throw new InvalidArgumentError(`registry limit ${key} must be a non-negative integer, got ${JSON.stringify(value)}`)
    limits[key] = value
  }
  if (limits.maxTagsPerPage < 1) throw new InvalidArgumentError('registry limit maxTagsPerPage must be at least 1')
  return limits
}
