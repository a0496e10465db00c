/**
 * Errors of mounting. Each has a stable `code`; messages are for people.
 *
 * | code                      | class                          | when |
 * |---------------------------|--------------------------------|------|
 * | `ERR_MOUNT_UNAVAILABLE`   | {@link MountUnavailableError}  | this machine cannot mount: no `/dev/fuse`, not root, not Linux |
 * | `ERR_MOUNT`               | {@link MountError}             | the mount or unmount itself failed (target missing or not a directory, `mount` refused) |
 *
 * @module
 */
import { TesseraError, type TesseraErrorOptions } from '../errors.js'

/** This machine or process cannot mount a FUSE filesystem (no `/dev/fuse`, no privilege). */
export class MountUnavailableError extends TesseraError {
  static readonly code = 'ERR_MOUNT_UNAVAILABLE'
  constructor (message: string, options?: TesseraErrorOptions) { super(MountUnavailableError.code, message, options) }
}

/** Mounting or unmounting failed. */
export class MountError extends TesseraError {
  static readonly code = 'ERR_MOUNT'
  constructor (message: string, options?: TesseraErrorOptions) { super(MountError.code, message, options) }
}
