/**
 * Errors of the image sources (OCI layouts and docker archives). Each has a
 * stable `code`; messages are for people and may change. Strings taken from
 * the (untrusted) input are quoted with `JSON.stringify` and long lists are
 * cut short, so a hostile image cannot flood or forge a message.
 *
 * | code                             | class                               | when |
 * |----------------------------------|-------------------------------------|------|
 * | `ERR_OCI_INVALID`                | {@link OciInvalidError}             | malformed JSON or schema, a document above its size limit, a limit exceeded, a layout or archive that is not one |
 * | `ERR_OCI_MISSING_BLOB`           | {@link OciMissingBlobError}         | a blob (manifest, config, layer) named by the image is absent |
 * | `ERR_OCI_BLOB_MISMATCH`          | {@link OciBlobMismatchError}        | a blob's bytes do not match the digest or size that names it |
 * | `ERR_OCI_UNSUPPORTED_MEDIA_TYPE` | {@link OciUnsupportedMediaTypeError}| a manifest, config or layer of a media type tessera cannot use |
 * | `ERR_OCI_REFERENCE_NOT_FOUND`    | {@link OciReferenceNotFoundError}   | no image has the requested tag or digest |
 * | `ERR_OCI_AMBIGUOUS_REFERENCE`    | {@link OciAmbiguousReferenceError}  | several images fit and nothing says which one |
 * | `ERR_OCI_PLATFORM_NOT_FOUND`     | {@link OciPlatformNotFoundError}    | an index has no image for the requested platform |
 *
 * A blob mismatch is its own class, not an {@link IntegrityError}
 * (`ERR_INTEGRITY`, which is for tessera's own store): callers match on
 * `ERR_OCI_BLOB_MISMATCH`.
 *
 * @module
 */
import { TesseraError, type TesseraErrorOptions } from '../errors.js'

/** At most this many items of a list are put in a message. */
const MESSAGE_LIST_MAX = 20

/** `["a", "b", ... and 3 more]` for messages: quoted, bounded. */
export function describeList (items: readonly string[], max = MESSAGE_LIST_MAX): string {
  if (items.length === 0) return '(none)'
  const shown = items.slice(0, max).map((s) => JSON.stringify(s.length > 200 ? `${s.slice(0, 200)}...` : s))
  const more = items.length > max ? `, ... and ${items.length - max} more` : ''
  return shown.join(', ') + more
}

/** A string from the input, quoted and shortened for a message. */
export function quote (value: string, max = 200): string {
  return JSON.stringify(value.length > max ? `${value.slice(0, max)}...` : value)
}

/**
 * The input is not a valid image: malformed JSON, a schema violation (wrong
 * type, missing field, bad digest string, `schemaVersion` other than 2), a
 * document larger than its limit (raised from the declared or file size,
 * before reading further), a count above a limit (layers, manifests, index
 * depth, archive members), a truncated archive.
 */
export class OciInvalidError extends TesseraError {
  static readonly code = 'ERR_OCI_INVALID'
  constructor (message: string, options?: TesseraErrorOptions) { super(OciInvalidError.code, message, options) }
}

/** A blob the image needs is not in the layout or archive. */
export class OciMissingBlobError extends TesseraError {
  static readonly code = 'ERR_OCI_MISSING_BLOB'
  /** Digest of the missing blob (for a docker archive: the layer's or config's digest when known, else its member name). */
  readonly digest: string
  constructor (message: string, digest: string, options?: TesseraErrorOptions) {
    super(OciMissingBlobError.code, message, options)
    this.digest = digest
  }
}

/**
 * A blob's bytes do not match its descriptor: more bytes than its size
 * (raised as soon as the first extra byte arrives), fewer, or a different
 * sha256. For a layer this is raised by the stream of
 * {@link LayerSource.open}, at the point of failure, so a consumer must
 * read a layer to the end before trusting it.
 */
export class OciBlobMismatchError extends TesseraError {
  static readonly code = 'ERR_OCI_BLOB_MISMATCH'
  /** The digest the blob should have. */
  readonly digest: string
  /** The size the blob should have, in bytes. */
  readonly expectedSize: number
  /** Bytes received: the full count when the blob was short or its digest wrong, a count past `expectedSize` when it ran over. */
  readonly receivedSize: number | undefined
  /** The digest the bytes actually have, when it was computed. */
  readonly actualDigest: string | undefined
  constructor (
    message: string,
    details: { digest: string, expectedSize: number, receivedSize?: number, actualDigest?: string },
    options?: TesseraErrorOptions
  ) {
    super(OciBlobMismatchError.code, message, options)
    this.digest = details.digest
    this.expectedSize = details.expectedSize
    this.receivedSize = details.receivedSize
    this.actualDigest = details.actualDigest
  }
}

/** A manifest, index, config or layer has a media type tessera cannot use. */
export class OciUnsupportedMediaTypeError extends TesseraError {
  static readonly code = 'ERR_OCI_UNSUPPORTED_MEDIA_TYPE'
  readonly mediaType: string
  constructor (message: string, mediaType: string, options?: TesseraErrorOptions) {
    super(OciUnsupportedMediaTypeError.code, message, options)
    this.mediaType = mediaType
  }
}

/** No image has the requested reference. The message and `available` list the tags there are. */
export class OciReferenceNotFoundError extends TesseraError {
  static readonly code = 'ERR_OCI_REFERENCE_NOT_FOUND'
  readonly reference: string
  /** The tags (or, for untagged images, other names) the source offers. */
  readonly available: string[]
  constructor (reference: string, available: string[], where: string, options?: TesseraErrorOptions) {
    super(OciReferenceNotFoundError.code, `${where} has no image ${quote(reference)}; available: ${describeList(available)}`, options)
    this.reference = reference
    this.available = available
  }
}

/**
 * Several images fit: no reference was given and the source holds more than
 * one, or a reference names several different images. The message and
 * `available` list the choices.
 */
export class OciAmbiguousReferenceError extends TesseraError {
  static readonly code = 'ERR_OCI_AMBIGUOUS_REFERENCE'
  readonly available: string[]
  constructor (message: string, available: string[], options?: TesseraErrorOptions) {
    super(OciAmbiguousReferenceError.code, `${message}; choose one of: ${describeList(available)}`, options)
    this.available = available
  }
}

/** An index has no image for the requested platform. The message and `available` list the platforms it has. */
export class OciPlatformNotFoundError extends TesseraError {
  static readonly code = 'ERR_OCI_PLATFORM_NOT_FOUND'
  readonly platform: string
  readonly available: string[]
  constructor (platform: string, available: string[], where: string, options?: TesseraErrorOptions) {
    super(OciPlatformNotFoundError.code, `${where} has no image for platform ${quote(platform)}; available: ${describeList(available)}`, options)
    this.platform = platform
    this.available = available
  }
}
