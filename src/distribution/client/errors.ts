/**
 * Errors of the registry client. Each has a stable `code`; messages are one
 * line, for people, and may change. Strings from the (untrusted) registry
 * are quoted and shortened, so a hostile answer cannot flood or forge a
 * message.
 *
 * | code                        | class                            | when |
 * |-----------------------------|----------------------------------|------|
 * | `ERR_INVALID_REFERENCE`     | {@link InvalidReferenceError}    | a `docker://` reference that does not parse |
 * | `ERR_REGISTRY_AUTH`         | {@link RegistryAuthError}        | 401/403 after the challenge was answered; a token server refusing; an unreadable auth file |
 * | `ERR_NOT_A_REGISTRY`        | {@link NotARegistryError}        | the server's `GET /v2/` answered neither 2xx, 401 nor 403 (a web server, a wrong port) |
 * | `ERR_REGISTRY_NOT_FOUND`    | {@link RegistryNotFoundError}    | 404 (BLOB_UNKNOWN, MANIFEST_UNKNOWN, NAME_UNKNOWN) |
 * | `ERR_REGISTRY_RATE_LIMITED` | {@link RegistryRateLimitedError} | 429 after bounded retries, or a `Retry-After` past the cap |
 * | `ERR_REGISTRY_UNAVAILABLE`  | {@link RegistryUnavailableError} | 5xx after bounded retries, connection refused or reset, timeouts |
 * | `ERR_REGISTRY_TLS`          | {@link RegistryTlsError}         | the TLS handshake failed (untrusted certificate: `tlsVerify: false` allows it), or the server speaks plain HTTP ("server gave HTTP response to HTTPS client") |
 * | `ERR_REGISTRY_PROTOCOL`     | {@link RegistryProtocolError}    | an answer that breaks the spec: wrong status, missing or wrong `Content-Range`, bad multipart, bad JSON |
 * | `ERR_REGISTRY_TRUNCATED`    | {@link RegistryTruncatedError}   | a body shorter than declared |
 * | `ERR_REGISTRY_TOO_LARGE`    | {@link RegistryTooLargeError}    | a body over its limit, or longer than declared |
 * | `ERR_REGISTRY_REJECTED`     | {@link RegistryRejectedError}    | another 4xx: the registry refused the request (its error codes are in the message and `registryCodes`) |
 * | `ERR_MANIFEST_TOO_LARGE`    | {@link ManifestTooLargeError}    | the registry refused a manifest for its size (413, or 400 `MANIFEST_INVALID` "request body too large") |
 * | `ERR_INTEGRITY`             | `IntegrityError` (`src/errors.ts`) | bytes that do not match their digest |
 * | `ERR_ABORTED`               | `AbortedError` (`src/errors.ts`)   | the caller's `AbortSignal` fired |
 *
 * Every class here extends {@link RegistryError}, which carries the HTTP
 * `status` when there was one.
 *
 * @module
 */
import { TesseraError, type TesseraErrorOptions } from '../../errors.js'

/** A string from the registry, quoted and shortened for a message. */
export function quoteRemote (value: string, max = 200): string {
  const flat = value.replace(/[\u0000-\u001f\u007f]/g, ' ')
  return JSON.stringify(flat.length > max ? `${flat.slice(0, max)}...` : flat)
}

/** Options of every registry error. */
export interface RegistryErrorOptions extends TesseraErrorOptions {
  /** The HTTP status of the answer, when there was one. */
  status?: number
  /** The distribution-spec error codes of the answer's body (`BLOB_UNKNOWN`, ...). */
  registryCodes?: string[]
}

/** Base class of the registry client's errors. */
export class RegistryError extends TesseraError {
  /** The HTTP status of the answer, when there was one. */
  readonly status: number | undefined
  /** The distribution-spec error codes the registry gave, if any. */
  readonly registryCodes: string[]
  constructor (code: string, message: string, options: RegistryErrorOptions = {}) {
    // one line, whatever a lower layer (OpenSSL, a registry) put in it
    super(code, message.replace(/\s*[\r\n]+\s*/g, ' ').trim(), options)
    this.status = options.status
    this.registryCodes = options.registryCodes ?? []
  }
}

/** A `docker://HOST[:PORT]/REPO[:TAG|@DIGEST]` reference that does not parse. */
export class InvalidReferenceError extends RegistryError {
  static readonly code = 'ERR_INVALID_REFERENCE'
  constructor (message: string, options?: RegistryErrorOptions) { super(InvalidReferenceError.code, message, options) }
}

/** The registry (or its token server) refused who we are, or what we asked for. */
export class RegistryAuthError extends RegistryError {
  static readonly code = 'ERR_REGISTRY_AUTH'
  constructor (message: string, options?: RegistryErrorOptions) { super(RegistryAuthError.code, message, options) }
}

/** The server answers HTTP, but its `GET /v2/` says it is no OCI distribution registry. */
export class NotARegistryError extends RegistryError {
  static readonly code = 'ERR_NOT_A_REGISTRY'
  constructor (message: string, options?: RegistryErrorOptions) { super(NotARegistryError.code, message, options) }
}

/** The repository, manifest or blob does not exist. */
export class RegistryNotFoundError extends RegistryError {
  static readonly code = 'ERR_REGISTRY_NOT_FOUND'
  constructor (message: string, options?: RegistryErrorOptions) { super(RegistryNotFoundError.code, message, options) }
}

/** The registry kept answering 429. */
export class RegistryRateLimitedError extends RegistryError {
  static readonly code = 'ERR_REGISTRY_RATE_LIMITED'
  constructor (message: string, options?: RegistryErrorOptions) { super(RegistryRateLimitedError.code, message, options) }
}

/** The registry could not be reached or kept failing (5xx, resets, timeouts). */
export class RegistryUnavailableError extends RegistryError {
  static readonly code = 'ERR_REGISTRY_UNAVAILABLE'
  constructor (message: string, options?: RegistryErrorOptions) { super(RegistryUnavailableError.code, message, options) }
}

/** The TLS handshake failed: an untrusted or invalid certificate, or a server that does not speak TLS. */
export class RegistryTlsError extends RegistryError {
  static readonly code = 'ERR_REGISTRY_TLS'
  constructor (message: string, options?: RegistryErrorOptions) { super(RegistryTlsError.code, message, options) }
}

/** An answer that breaks the protocol (status, headers, multipart framing, JSON). */
export class RegistryProtocolError extends RegistryError {
  static readonly code = 'ERR_REGISTRY_PROTOCOL'
  constructor (message: string, options?: RegistryErrorOptions) { super(RegistryProtocolError.code, message, options) }
}

/** A body ended before the length it declared (or the caller expected). */
export class RegistryTruncatedError extends RegistryError {
  static readonly code = 'ERR_REGISTRY_TRUNCATED'
  constructor (message: string, options?: RegistryErrorOptions) { super(RegistryTruncatedError.code, message, options) }
}

/** A body went past its limit, or past the length it declared. */
export class RegistryTooLargeError extends RegistryError {
  static readonly code = 'ERR_REGISTRY_TOO_LARGE'
  constructor (message: string, options?: RegistryErrorOptions) { super(RegistryTooLargeError.code, message, options) }
}

/** The registry refused the request with a 4xx the other classes do not cover. */
export class RegistryRejectedError extends RegistryError {
  static readonly code = 'ERR_REGISTRY_REJECTED'
  constructor (message: string, options?: RegistryErrorOptions) { super(RegistryRejectedError.code, message, options) }
}

/** The registry refused a manifest for its size. */
export class ManifestTooLargeError extends RegistryError {
  static readonly code = 'ERR_MANIFEST_TOO_LARGE'
  constructor (message: string, options?: RegistryErrorOptions) { super(ManifestTooLargeError.code, message, options) }
}
