/**
 * The contract between tessera's transfer code (push, pull, the remote
 * snapshot reader) and an OCI distribution-spec registry. The transfer code
 * depends on {@link RegistryClient} only; `./http-client.ts` implements it
 * over `fetch`/`node:http(s)`, and tests may implement it over anything.
 *
 * Rules every implementation keeps:
 * - Nothing a registry returns is trusted. Bodies are bounded by the caller's
 *   `maxBytes` (or the descriptor's size) and verified: a whole blob against
 *   its digest, a manifest against the digest it was asked by. A range
 *   answer is checked for status (206, or 200 where the whole blob was
 *   asked), `Content-Range` and length; the caller verifies the chunk digests
 *   inside.
 * - Failures are {@link RegistryError}s (`./errors.ts`) with stable codes:
 *   `ERR_REGISTRY_AUTH` (401/403 after the challenge was answered),
 *   `ERR_REGISTRY_NOT_FOUND` (404 / BLOB_UNKNOWN / MANIFEST_UNKNOWN),
 *   `ERR_REGISTRY_RATE_LIMITED` (429 after bounded retries),
 *   `ERR_REGISTRY_UNAVAILABLE` (5xx after bounded retries, connection refused or reset, timeouts),
 *   `ERR_REGISTRY_PROTOCOL` (an answer that breaks the spec: wrong status, missing or wrong Content-Range, bad multipart),
 *   `ERR_REGISTRY_TRUNCATED` (a body shorter than declared),
 *   `ERR_REGISTRY_TOO_LARGE` (a body over the limit),
 *   `ERR_INTEGRITY` (bytes that do not match their digest),
 *   `ERR_MANIFEST_TOO_LARGE` (the registry refused a manifest for its size),
 *   `ERR_REGISTRY_REJECTED` (another 4xx: the registry refused the request),
 *   `ERR_REGISTRY_TLS` (the TLS handshake failed),
 *   `ERR_INVALID_REFERENCE` (a reference, tag or digest that does not parse),
 *   `ERR_INVALID_RANGE` (a range outside the blob), `ERR_ABORTED`.
 * - Every call takes an `AbortSignal`; retries and waits are bounded.
 *
 * @module
 */

/** A parsed `docker://HOST[:PORT]/REPO[:TAG|@DIGEST]` reference. */
export interface RemoteReference {
  /** `host` or `host:port`, as written (docker.io is not rewritten). */
  registry: string
  /** The repository path, `lib/app`. */
  repository: string
  /** A tag, when the reference names one. */
  tag?: string
  /** A digest `sha256:<hex>`, when the reference names one. */
  digest?: string
}

/** How to reach a registry and prove who we are (skopeo's conventions). */
export interface RegistryClientOptions {
  /** `false` allows plain HTTP and unverified TLS (skopeo's `--tls-verify=false`). Default true. */
  tlsVerify?: boolean
  /** `USER:PASS`, as skopeo's `--creds`. Else the auth files are read. */
  credentials?: string
  /** An explicit auth file (skopeo's `--authfile`); else `$REGISTRY_AUTH_FILE`, `$XDG_RUNTIME_DIR/containers/auth.json`, `~/.docker/config.json`. */
  authFile?: string
  /** Simultaneous requests to one registry. Default 6. */
  maxConcurrency?: number
  /** Per-request timeout for headers and for each body stall, in ms. Default 30000. */
  timeoutMs?: number
  /** Retries of a failing request (429, 5xx, resets, timeouts), as skopeo's `--retry-times`. Default 4. */
  retries?: number
  /** The first retry's delay in ms, doubled for each next one (skopeo's `--retry-delay`). Default 250. */
  retryDelayMs?: number
  /** The longest `Retry-After` honoured, in ms; a registry asking for more fails at once with `ERR_REGISTRY_RATE_LIMITED`. Default 30000. */
  maxRetryAfterMs?: number
}

/** An OCI descriptor as the transfer code needs it. */
export interface BlobDescriptor {
  mediaType: string
  digest: string
  size: number
  annotations?: Record<string, string>
  artifactType?: string
}

/** A manifest as fetched: its exact bytes, verified against `digest`. */
export interface FetchedManifest {
  mediaType: string
  digest: string
  bytes: Uint8Array
}

/** A byte range of a blob, `[offset, offset + length)`. */
export interface ByteRange {
  offset: number
  length: number
}

/** Options every call takes. */
export interface CallOptions {
  signal?: AbortSignal
}

/** What the ranged reader reports, for `--json` and benches. */
export interface TransferCounters {
  /** HTTP requests answered (token requests included). */
  requests: number
  /** Response body bytes. */
  bytesReceived: number
  /** Request body bytes. */
  bytesSent: number
}

/**
 * One repository of one registry. Obtained from `openRepository(ref,
 * options)` in `./index.ts`.
 */
export interface RegistryRepository {
  readonly reference: RemoteReference
  /** Requests and bytes so far (as seen by the client; tests count independently). */
  readonly counters: TransferCounters

  /** GET a manifest by tag or digest, at most `maxBytes` (default 4 MiB); verified when asked by digest. */
  getManifest (tagOrDigest: string, options?: CallOptions & { accept?: string[], maxBytes?: number }): Promise<FetchedManifest>
  /** PUT a manifest under a tag or its digest; returns its digest. */
  putManifest (tagOrDigest: string, mediaType: string, bytes: Uint8Array, options?: CallOptions): Promise<string>
  /** HEAD a blob: its size, or undefined when the repository lacks it. */
  statBlob (digest: string, options?: CallOptions): Promise<number | undefined>
  /** GET a whole blob of known size, verified against its digest before it resolves. */
  getBlob (digest: string, size: number, options?: CallOptions): Promise<Uint8Array>
  /** GET a whole blob as a stream; the stream throws `ERR_INTEGRITY` at its end if the digest does not match. */
  streamBlob (digest: string, size: number, options?: CallOptions): AsyncIterable<Uint8Array>
  /**
   * GET ranges of a blob of known size, as few requests as it can: one
   * multi-range request per batch (bounded header size and range count),
   * falling back to single ranges when the registry refuses multi-range
   * (400/416/a 200 with the whole body: then the body is used, bounded by
   * `size`) and to the whole blob when ranges are not honoured at all.
   * Yields each requested range's bytes exactly once, in any order.
   */
  getRanges (digest: string, size: number, ranges: ByteRange[], options?: CallOptions): AsyncIterable<{ range: ByteRange, bytes: Uint8Array }>
  /** Upload a blob unless present (HEAD first); try a cross-repository mount from `mountFrom` first. Returns whether bytes were sent. */
  putBlob (descriptor: { digest: string, size: number }, body: Uint8Array | (() => AsyncIterable<Uint8Array>), options?: CallOptions & { mountFrom?: string }): Promise<'uploaded' | 'present' | 'mounted'>
  /** The referrers of a manifest (the referrers API, else the `sha256-<hex>` tag fallback), filtered by artifact type. */
  listReferrers (digest: string, options?: CallOptions & { artifactType?: string }): Promise<BlobDescriptor[]>
  /** List tags (paged). */
  listTags (options?: CallOptions): Promise<string[]>
}

/** What `./index.ts` exports to open a repository (the transfer code's only entry point into the client). */
export type OpenRepository = (reference: RemoteReference | string, options?: RegistryClientOptions) => RegistryRepository
