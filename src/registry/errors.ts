/**
 * Errors of tessera's registry storage. Each has a stable `code`; the ones
 * named after an OCI distribution-spec error code map one to one onto it
 * (the HTTP server answers with that code):
 *
 * | code                                  | class                                   | distribution-spec code  |
 * |---------------------------------------|-----------------------------------------|-------------------------|
 * | `ERR_REGISTRY_BLOB_UNKNOWN`           | {@link RegistryBlobUnknownError}        | `BLOB_UNKNOWN`          |
 * | `ERR_REGISTRY_DIGEST_INVALID`         | {@link RegistryDigestInvalidError}      | `DIGEST_INVALID`        |
 * | `ERR_REGISTRY_SIZE_INVALID`           | {@link RegistrySizeInvalidError}        | `SIZE_INVALID`          |
 * | `ERR_REGISTRY_MANIFEST_INVALID`       | {@link RegistryManifestInvalidError}    | `MANIFEST_INVALID`      |
 * | `ERR_REGISTRY_MANIFEST_BLOB_UNKNOWN`  | {@link RegistryManifestBlobUnknownError}| `MANIFEST_BLOB_UNKNOWN` |
 * | `ERR_REGISTRY_MANIFEST_UNKNOWN`       | {@link RegistryManifestUnknownError}    | `MANIFEST_UNKNOWN`      |
 * | `ERR_REGISTRY_NAME_INVALID`           | {@link RegistryNameInvalidError}        | `NAME_INVALID`          |
 * | `ERR_REGISTRY_NAME_UNKNOWN`           | {@link RegistryNameUnknownError}        | `NAME_UNKNOWN`          |
 * | `ERR_REGISTRY_TAG_INVALID`            | {@link RegistryTagInvalidError}         | `TAG_INVALID`           |
 *
 * Other failures use tessera's general errors: `ERR_INTEGRITY` when stored
 * bytes do not match their digest, `ERR_INVALID_RANGE` for a byte range
 * outside a blob, `ERR_ABORTED`, `ERR_STORE`, `ERR_NON_CANONICAL` for a
 * malformed registry record.
 *
 * Strings from the (untrusted) input are quoted and shortened in messages.
 *
 * @module
 */
import { TesseraError, type TesseraErrorOptions } from '../errors.js'

/** A string from the input, quoted and shortened for a message. */
export function quoteInput (value: string, max = 200): string {
  return JSON.stringify(value.length > max ? `${value.slice(0, max)}...` : value)
}

/** The blob is not in the store (or not visible in the repository asked about). */
export class RegistryBlobUnknownError extends TesseraError {
  static readonly code = 'ERR_REGISTRY_BLOB_UNKNOWN'
  /** The digest asked for. */
  readonly digest: string
  constructor (digest: string, message = `blob ${quoteInput(digest)} is unknown`, options?: TesseraErrorOptions) {
    super(RegistryBlobUnknownError.code, message, options)
    this.digest = digest
  }
}

/**
 * A digest is malformed or of an unsupported algorithm, or bytes do not
 * match the digest that was claimed for them.
 */
export class RegistryDigestInvalidError extends TesseraError {
  static readonly code = 'ERR_REGISTRY_DIGEST_INVALID'
  /** The digest that was claimed. */
  readonly digest: string
  /** The digest the bytes actually have, when they were hashed. */
  readonly actualDigest: string | undefined
  constructor (message: string, details: { digest: string, actualDigest?: string }, options?: TesseraErrorOptions) {
    super(RegistryDigestInvalidError.code, message, options)
    this.digest = details.digest
    this.actualDigest = details.actualDigest
  }
}

/** The bytes received are not as many as the client said. */
export class RegistrySizeInvalidError extends TesseraError {
  static readonly code = 'ERR_REGISTRY_SIZE_INVALID'
  readonly expectedSize: number
  /** Bytes received (a count past `expectedSize` when the stream was cut off early). */
  readonly receivedSize: number
  constructor (message: string, details: { expectedSize: number, receivedSize: number }, options?: TesseraErrorOptions) {
    super(RegistrySizeInvalidError.code, message, options)
    this.expectedSize = details.expectedSize
    this.receivedSize = details.receivedSize
  }
}

/** A manifest is not valid JSON, does not fit its media type, is too large, or names a blob of another size. */
export class RegistryManifestInvalidError extends TesseraError {
  static readonly code = 'ERR_REGISTRY_MANIFEST_INVALID'
  constructor (message: string, options?: TesseraErrorOptions) { super(RegistryManifestInvalidError.code, message, options) }
}

/** A manifest references a blob or child manifest that is not in the repository. */
export class RegistryManifestBlobUnknownError extends TesseraError {
  static readonly code = 'ERR_REGISTRY_MANIFEST_BLOB_UNKNOWN'
  /** The digests of the missing blobs and manifests. */
  readonly missing: string[]
  constructor (message: string, missing: string[], options?: TesseraErrorOptions) {
    super(RegistryManifestBlobUnknownError.code, message, options)
    this.missing = missing
  }
}

/** No manifest has this tag or digest in the repository. */
export class RegistryManifestUnknownError extends TesseraError {
  static readonly code = 'ERR_REGISTRY_MANIFEST_UNKNOWN'
  readonly reference: string
  constructor (repository: string, reference: string, options?: TesseraErrorOptions) {
    super(RegistryManifestUnknownError.code, `repository ${quoteInput(repository)} has no manifest ${quoteInput(reference)}`, options)
    this.reference = reference
  }
}

/** A repository name does not follow the distribution spec's grammar or is too long. */
export class RegistryNameInvalidError extends TesseraError {
  static readonly code = 'ERR_REGISTRY_NAME_INVALID'
  constructor (message: string, options?: TesseraErrorOptions) { super(RegistryNameInvalidError.code, message, options) }
}

/** The repository is not known (nothing was ever pushed to it, or everything was deleted). */
export class RegistryNameUnknownError extends TesseraError {
  static readonly code = 'ERR_REGISTRY_NAME_UNKNOWN'
  readonly repository: string
  constructor (repository: string, options?: TesseraErrorOptions) {
    super(RegistryNameUnknownError.code, `repository ${quoteInput(repository)} is unknown`, options)
    this.repository = repository
  }
}

/** A tag does not follow the grammar `[a-zA-Z0-9_][a-zA-Z0-9._-]{0,127}`. */
export class RegistryTagInvalidError extends TesseraError {
  static readonly code = 'ERR_REGISTRY_TAG_INVALID'
  constructor (message: string, options?: TesseraErrorOptions) { super(RegistryTagInvalidError.code, message, options) }
}
