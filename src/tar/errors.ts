/**
 * Errors specific to tar archives. Like every tessera error they extend
 * {@link TesseraError} and carry a stable `code`. Unsafe or malformed
 * archive paths are reported with the shared {@link InvalidPathError}
 * (`ERR_INVALID_PATH`) instead of a tar-specific class.
 *
 * @module
 */
import { TesseraError, type TesseraErrorOptions } from '../errors.js'

/**
 * A file entry's content is longer or shorter than its declared `size`.
 * The archive bytes produced before the error are not a valid archive.
 */
export class TarSizeMismatchError extends TesseraError {
  static readonly code = 'ERR_TAR_SIZE_MISMATCH'
  /** The size the entry declared, in bytes. */
  readonly declared: number
  /**
   * The number of content bytes received when the mismatch was detected:
   * the full length when the content ended early, or a count past
   * `declared` when it ran over (the rest of the content is not read).
   */
  readonly received: number

  constructor (message: string, declared: number, received: number, options?: TesseraErrorOptions) {
    super(TarSizeMismatchError.code, message, options)
    this.declared = declared
    this.received = received
  }
}

/**
 * A tar entry handed to the writer is malformed: a field is out of range,
 * of the wrong type, missing, or does not apply to the entry's type.
 */
export class TarInvalidEntryError extends TesseraError {
  static readonly code = 'ERR_TAR_INVALID_ENTRY'
  constructor (message: string, options?: TesseraErrorOptions) { super(TarInvalidEntryError.code, message, options) }
}

/**
 * Bytes read as a tar header or PAX extended header are malformed (bad
 * checksum, non-numeric field, broken record). Raised by the decode helpers.
 */
export class TarHeaderError extends TesseraError {
  static readonly code = 'ERR_TAR_BAD_HEADER'
  constructor (message: string, options?: TesseraErrorOptions) { super(TarHeaderError.code, message, options) }
}
