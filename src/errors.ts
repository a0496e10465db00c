/**
 * Errors thrown by tessera. Every error carries a stable `code` (`ERR_...`)
 * that callers may match on; messages are for people and may change.
 * Errors that wrap another error pass it as `cause`.
 *
 * @module
 */

/** Options accepted by every tessera error. */
export interface TesseraErrorOptions {
  /** The lower-level error this one wraps. */
  cause?: unknown
}

/** Base class of every error tessera throws on purpose. */
export class TesseraError extends Error {
  /** Stable, uppercase identifier of the failure. */
  readonly code: string

  constructor (code: string, message: string, options: TesseraErrorOptions = {}) {
    super(message, options.cause === undefined ? undefined : { cause: options.cause })
    this.name = new.target.name
    this.code = code
  }
}

/** Stored or received bytes do not match the digest that names them. */
export class IntegrityError extends TesseraError {
  static readonly code = 'ERR_INTEGRITY'
  constructor (message: string, options?: TesseraErrorOptions) { super(IntegrityError.code, message, options) }
}

/** An encoded object does not follow the canonical rules of docs/FORMAT.md. */
export class NonCanonicalError extends TesseraError {
  static readonly code = 'ERR_NON_CANONICAL'
  constructor (message: string, options?: TesseraErrorOptions) { super(NonCanonicalError.code, message, options) }
}

/** A builder was handed entries out of order or twice. */
export class UnsortedEntriesError extends TesseraError {
  static readonly code = 'ERR_UNSORTED_ENTRIES'
  constructor (message: string, options?: TesseraErrorOptions) { super(UnsortedEntriesError.code, message, options) }
}

/** A string is not a digest of the form `sha256:<64 lowercase hex>`. */
export class InvalidDigestError extends TesseraError {
  static readonly code = 'ERR_INVALID_DIGEST'
  constructor (message: string, options?: TesseraErrorOptions) { super(InvalidDigestError.code, message, options) }
}

/** A requested object, snapshot, ref or path does not exist. */
export class NotFoundError extends TesseraError {
  static readonly code = 'ERR_NOT_FOUND'
  constructor (message: string, options?: TesseraErrorOptions) { super(NotFoundError.code, message, options) }
}

/** A ref name is already taken and replacing it was not asked for. */
export class RefExistsError extends TesseraError {
  static readonly code = 'ERR_REF_EXISTS'
  constructor (message: string, options?: TesseraErrorOptions) { super(RefExistsError.code, message, options) }
}

/** A ref name does not follow the naming rules. */
export class InvalidRefNameError extends TesseraError {
  static readonly code = 'ERR_INVALID_REF_NAME'
  constructor (message: string, options?: TesseraErrorOptions) { super(InvalidRefNameError.code, message, options) }
}

/** Another process holds the store open. */
export class StoreLockedError extends TesseraError {
  static readonly code = 'ERR_STORE_LOCKED'
  constructor (message: string, options?: TesseraErrorOptions) { super(StoreLockedError.code, message, options) }
}

/** The store directory does not exist or holds no store, and the operation only reads (only writing operations create a store). */
export class StoreNotFoundError extends TesseraError {
  static readonly code = 'ERR_STORE_NOT_FOUND'
  constructor (message: string, options?: TesseraErrorOptions) { super(StoreNotFoundError.code, message, options) }
}

/** The store could not be opened or written for a reason other than a lock. */
export class StoreError extends TesseraError {
  static readonly code = 'ERR_STORE'
  constructor (message: string, options?: TesseraErrorOptions) { super(StoreError.code, message, options) }
}

/** gc refused to run because something reachable is missing or corrupt (run `fsck`). */
export class StoreInconsistentError extends TesseraError {
  static readonly code = 'ERR_STORE_INCONSISTENT'
  constructor (message: string, options?: TesseraErrorOptions) { super(StoreInconsistentError.code, message, options) }
}

/** Input goes past a resource limit (entries, depth, sizes); the limits are options with safe defaults (docs/SECURITY.md). */
export class LimitExceededError extends TesseraError {
  static readonly code = 'ERR_LIMIT_EXCEEDED'
  constructor (message: string, options?: TesseraErrorOptions) { super(LimitExceededError.code, message, options) }
}

/** A path inside a snapshot or archive is unsafe or malformed (`..`, absolute, NUL, empty component). */
export class InvalidPathError extends TesseraError {
  static readonly code = 'ERR_INVALID_PATH'
  constructor (message: string, options?: TesseraErrorOptions) { super(InvalidPathError.code, message, options) }
}

/** A path exists but is of the wrong kind for the operation (for example `cat` on a directory). */
export class WrongKindError extends TesseraError {
  static readonly code = 'ERR_WRONG_KIND'
  constructor (message: string, options?: TesseraErrorOptions) { super(WrongKindError.code, message, options) }
}

/** A byte range lies outside the file it addresses or is malformed. */
export class InvalidRangeError extends TesseraError {
  static readonly code = 'ERR_INVALID_RANGE'
  constructor (message: string, options?: TesseraErrorOptions) { super(InvalidRangeError.code, message, options) }
}

/** A file or directory of the import source could not be read. */
export class UnreadableSourceError extends TesseraError {
  static readonly code = 'ERR_UNREADABLE_SOURCE'
  constructor (message: string, options?: TesseraErrorOptions) { super(UnreadableSourceError.code, message, options) }
}

/** An export target exists and is not an empty directory. */
export class TargetNotEmptyError extends TesseraError {
  static readonly code = 'ERR_TARGET_NOT_EMPTY'
  constructor (message: string, options?: TesseraErrorOptions) { super(TargetNotEmptyError.code, message, options) }
}

/** An export target (a tar file) exists already: exports never overwrite. */
export class TargetExistsError extends TesseraError {
  static readonly code = 'ERR_TARGET_EXISTS'
  constructor (message: string, options?: TesseraErrorOptions) { super(TargetExistsError.code, message, options) }
}

/** Writing an export failed part way (permissions, disk full, a filesystem that refuses an attribute). */
export class ExportError extends TesseraError {
  static readonly code = 'ERR_EXPORT'
  constructor (message: string, options?: TesseraErrorOptions) { super(ExportError.code, message, options) }
}

/** An operation was cancelled through its `AbortSignal`. */
export class AbortedError extends TesseraError {
  static readonly code = 'ERR_ABORTED'
  constructor (message = 'the operation was aborted', options?: TesseraErrorOptions) { super(AbortedError.code, message, options) }
}

/** An argument passed by the caller is invalid (command line or API). */
export class InvalidArgumentError extends TesseraError {
  static readonly code = 'ERR_INVALID_ARGUMENT'
  constructor (message: string, options?: TesseraErrorOptions) { super(InvalidArgumentError.code, message, options) }
}

/** A command line that does not parse: an unknown command or option, a missing or extra operand (exit status 2). */
export class UsageError extends TesseraError {
  static readonly code = 'ERR_USAGE'
  constructor (message: string, options?: TesseraErrorOptions) { super(UsageError.code, message, options) }
}

/** A snapshot digest prefix matches more than one snapshot. */
export class AmbiguousSnapshotError extends TesseraError {
  static readonly code = 'ERR_AMBIGUOUS_SNAPSHOT'
  constructor (message: string, options?: TesseraErrorOptions) { super(AmbiguousSnapshotError.code, message, options) }
}

/** Something the input asks for is not supported (a format version, an inode kind, a platform feature). */
export class UnsupportedError extends TesseraError {
  static readonly code = 'ERR_UNSUPPORTED'
  constructor (message: string, options?: TesseraErrorOptions) { super(UnsupportedError.code, message, options) }
}

/**
 * Chunker parameters out of range. A `RangeError`, as for any numeric
 * argument out of its domain, with the tessera `code` as well.
 */
export class InvalidChunkerParamsError extends RangeError {
  static readonly code = 'ERR_INVALID_CHUNKER_PARAMS'
  readonly code = InvalidChunkerParamsError.code
  constructor (message: string) {
    super(message)
    this.name = 'InvalidChunkerParamsError'
  }
}

/** Throw {@link AbortedError} if `signal` has been aborted. */
export function throwIfAborted (signal: AbortSignal | undefined): void {
  if (signal?.aborted === true) throw new AbortedError(undefined, { cause: signal.reason })
}
