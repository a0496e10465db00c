/**
 * The registry client: tessera's way to any OCI distribution-spec
 * registry (docker-registry, Harbor, GHCR, ECR, `tessera serve`).
 *
 * Contract (`./types.ts` holds the interface the transfer code depends on):
 * - {@link openRepository}`(reference, options)` gives a
 *   {@link RegistryRepository}: manifests, blobs (HEAD, verified GET, verified
 *   stream, ranged reads, uploads with HEAD-first and cross-repository
 *   mount), referrers (API, else the `sha256-<hex>` tag fallback) and tags.
 *   It makes no request until a method is called.
 * - {@link parseRemoteReference} parses `docker://HOST[:PORT]/REPO[:TAG|@sha256:…]`
 *   strictly (`ERR_INVALID_REFERENCE`).
 * - Auth follows skopeo: `credentials` (`--creds`), else the auth files;
 *   Bearer token and Basic challenges are answered (`./authenticator.ts`).
 *   `tlsVerify: false` allows plain HTTP and any certificate (`./session.ts`
 *   says which scheme is tried first).
 * - Nothing a registry sends is trusted: every body is bounded, every
 *   whole blob and manifest asked by digest is verified, every range
 *   answer's status, `Content-Range`, framing and length is checked
 *   (`./ranged.ts`, `./multipart.ts`). Failures are one-line
 *   {@link RegistryError}s with stable codes (`./errors.ts`).
 * - Time is bounded: per-request timeouts on headers and each body stall,
 *   bounded retries with backoff for 429 (honouring `Retry-After` up to a
 *   cap), 5xx and network failures, and the caller's `AbortSignal`.
 * - Requests to one repository run at most `maxConcurrency` at once; its
 *   `counters` add up the requests and body bytes, for `--json`.
 * - {@link addReferrer} makes a manifest a listed referrer of another on any
 *   registry (the pusher's side of the fallback tag).
 *
 * Files: `reference.ts`, `credentials.ts`, `challenge.ts`,
 * `authenticator.ts`, `http.ts` (one exchange), `ping.ts` (`GET /v2/`), `session.ts` (scheme,
 * auth, concurrency, retries, redirects), `response-error.ts`,
 * `manifests.ts`, `blobs.ts`, `ranges.ts` (planning), `multipart.ts`,
 * `ranged.ts` (getRanges), `upload.ts`, `referrers.ts`, `tags.ts`,
 * `link.ts`, `descriptor.ts`, `repository.ts`, `errors.ts`, `types.ts`.
 *
 * @module
 */
import { HttpRepository } from './repository.js'
import { formatRemoteReference, parseRemoteReference } from './reference.js'
import type { OpenRepository, RegistryClientOptions, RemoteReference } from './types.js'

export type * from './types.js'
export * from './errors.js'
export { parseRemoteReference, formatRemoteReference } from './reference.js'
export { addReferrer, referrersTag } from './referrers.js'
export { HttpRepository } from './repository.js'
export type { RangeMode } from './ranged.js'
export { OCI_MANIFEST, OCI_INDEX, DOCKER_MANIFEST, DOCKER_MANIFEST_LIST, DEFAULT_MANIFEST_ACCEPT, DEFAULT_MAX_MANIFEST_BYTES } from './manifests.js'

/** The defaults of {@link RegistryClientOptions}. */
export const DEFAULT_CLIENT_OPTIONS = {
  tlsVerify: true,
  maxConcurrency: 6,
  timeoutMs: 30_000,
  retries: 4,
  retryDelayMs: 250,
  maxRetryAfterMs: 30_000
} as const

function positiveInteger (name: string, value: number | undefined, fallback: number, min = 1): number {
  if (value === undefined) return fallback
  if (!Number.isSafeInteger(value) || value < min) throw new RangeError(`${name} must be an integer of at least ${min}, got ${String(value)}`)
  return value
}

/**
 * Open a repository of a registry (no request is made yet).
 *
 * @throws `InvalidReferenceError` (`ERR_INVALID_REFERENCE`) for a reference string that does not parse
 */
export const openRepository: OpenRepository = (reference: RemoteReference | string, options: RegistryClientOptions = {}): HttpRepository => {
  // an object is checked as strictly as a string: its parts end up in URLs
  const ref = parseRemoteReference(typeof reference === 'string' ? reference : formatRemoteReference(reference))
  const d = DEFAULT_CLIENT_OPTIONS
  return new HttpRepository(ref, {
    registry: ref.registry,
    repository: ref.repository,
    tlsVerify: options.tlsVerify ?? d.tlsVerify,
    maxConcurrency: positiveInteger('maxConcurrency', options.maxConcurrency, d.maxConcurrency),
    timeoutMs: positiveInteger('timeoutMs', options.timeoutMs, d.timeoutMs),
    retries: positiveInteger('retries', options.retries, d.retries, 0),
    retryDelayMs: positiveInteger('retryDelayMs', options.retryDelayMs, d.retryDelayMs, 0),
    maxRetryAfterMs: positiveInteger('maxRetryAfterMs', options.maxRetryAfterMs, d.maxRetryAfterMs, 0),
    ...(options.credentials !== undefined ? { credentials: options.credentials } : {}),
    ...(options.authFile !== undefined ? { authFile: options.authFile } : {})
  })
}
