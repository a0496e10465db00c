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
 * Bytes read as a tar header or PAX extended header are malformed
 * (non-numeric field, broken record, value out of range, fields that
 * contradict each other). Raised by the decode helpers and the reader.
 * Subclasses narrow the failure down with their own `code`.
 */
export class TarHeaderError extends TesseraError {
  static readonly code: string = 'ERR_TAR_BAD_HEADER'
  constructor (message: string, options?: TesseraErrorOptions) { super(new.target.code, message, options) }
}

/**
 * A header block's checksum matches neither the unsigned nor the signed
 * byte sum: the block is corrupt, or is not a tar header at all.
 */
export class TarChecksumError extends TarHeaderError {
  static override readonly code: string = 'ERR_TAR_BAD_CHECKSUM'
}

/**
 * The stream is not a tar archive at all: its first block fails as a
 * header and does not even start like one (nor like a compressed stream
 * tessera knows), or the stream is shorter than one header. A first block
 * that starts like a header but has a wrong checksum is a corrupt archive
 * instead ({@link TarChecksumError}).
 */
export class TarNotArchiveError extends TarChecksumError {
  static override readonly code: string = 'ERR_TAR_NOT_ARCHIVE'
}

/**
 * A PAX extended header, GNU long name or link, or sparse map declares more
 * bytes than the reader's `maxHeaderSize` allows. Raised from the declared
 * size, before anything is read or allocated.
 */
export class TarHeaderTooLargeError extends TarHeaderError {
  static override readonly code: string = 'ERR_TAR_HEADER_TOO_LARGE'
}

/**
 * An entry's (logical) size is above the reader's `maxEntrySize`. Raised
 * from the header, before any content is read.
 */
export class TarEntryTooLargeError extends TesseraError {
  static readonly code = 'ERR_TAR_ENTRY_TOO_LARGE'
  constructor (message: string, options?: TesseraErrorOptions) { super(TarEntryTooLargeError.code, message, options) }
}

/**
 * The archive ends inside a header, an extended header's data, an entry's
 * content or its padding, or between an extended header and the entry it
 * applies to. (An archive that ends cleanly at an entry boundary without the
 * end-of-archive marker is accepted.)
 */
export class TarTruncatedError extends TesseraError {
  static readonly code = 'ERR_TAR_TRUNCATED'
  /** Number of archive bytes read when the end was met. */
  readonly offset: number
  constructor (message: string, offset: number, options?: TesseraErrorOptions) {
    super(TarTruncatedError.code, message, options)
    this.offset = offset
  }
}

/**
 * An entry's content was read after the reader moved on to the next entry
 * (or finished), or iterated a second time. Content is a one-shot stream of
 * the archive bytes: read it before asking for the next entry.
 */
export class TarContentUnavailableError extends TesseraError {
  static readonly code = 'ERR_TAR_CONTENT_UNAVAILABLE'
  constructor (message: string, options?: TesseraErrorOptions) { super(TarContentUnavailableError.code, message, options) }
}

/** Compressed input is corrupt or truncated (the decompressor's message, or the tool's stderr, says why). */
export class DecompressError extends TesseraError {
  static readonly code = 'ERR_DECOMPRESS'
  constructor (message: string, options?: TesseraErrorOptions) { super(DecompressError.code, message, options) }
}

/** Decompressed output grew past `maxOutputBytes` (a decompression bomb, or a limit set too low). */
export class DecompressionLimitError extends TesseraError {
  static readonly code = 'ERR_DECOMPRESSION_LIMIT'
  /** The limit that was exceeded, in bytes. */
  readonly limit: number
  constructor (message: string, limit: number, options?: TesseraErrorOptions) {
    super(DecompressionLimitError.code, message, options)
    this.limit = limit
  }
}

/**
 * The stream is compressed with something tessera does not decompress
 * (bzip2, xz, compress, lzip, lz4, brotli), or is gzip or zstd where an
 * uncompressed tar was expected. Decompress it first (`bunzip2`, `xz -d`...)
 * or recompress it with gzip or zstd.
 */
export class UnsupportedCompressionError extends TesseraError {
  static readonly code = 'ERR_UNSUPPORTED_COMPRESSION'
  /** The compression recognised. */
  readonly compression: string
  constructor (message: string, compression: string, options?: TesseraErrorOptions) {
    super(UnsupportedCompressionError.code, message, options)
    this.compression = compression
  }
}
