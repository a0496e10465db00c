/**
 * The error the platform layer throws when the operating system or one of
 * the external tools it drives (`getfattr`, `setfattr`, `mknod`) fails.
 *
 * A missing tool is not a `PlatformError` but an
 * `UnsupportedError` (`ERR_UNSUPPORTED`, from `src/errors.ts`): the feature is unavailable
 * on this host, as opposed to an operation that failed.
 *
 * @module
 */
import { TesseraError, type TesseraErrorOptions } from '../errors.js'

/** Options of {@link PlatformError}. */
export interface PlatformErrorOptions extends TesseraErrorOptions {
  /** Diagnostic lines from the external tool (its stderr), oldest first. */
  details?: readonly string[]
}

/**
 * A file system operation or an external tool failed (`ERR_PLATFORM`).
 * The underlying Node.js error, when there is one, is the `cause` (its
 * `code`, such as `EEXIST` or `EPERM`, tells what went wrong); a tool's
 * complaints are in {@link PlatformError.details}.
 */
export class PlatformError extends TesseraError {
  static readonly code = 'ERR_PLATFORM'
  /** Diagnostic lines from the external tool (its stderr), possibly truncated; empty if none. */
  readonly details: readonly string[]
  constructor (message: string, options: PlatformErrorOptions = {}) {
    super(PlatformError.code, message, options)
    this.details = options.details ?? []
  }
}
