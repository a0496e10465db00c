/**
 * Errors of the transfer code that are not the registry client's.
 *
 * @module
 */
import { TesseraError, type TesseraErrorOptions } from '../errors.js'

/** A reference names an ordinary image with no tessera form, where only a tessera image will do (a remote read without a store). */
export class NotTesseraImageError extends TesseraError {
  static readonly code = 'ERR_NOT_TESSERA_IMAGE'
  /** The image manifest's digest. */
  readonly manifestDigest: string
  constructor (message: string, manifestDigest: string, options?: TesseraErrorOptions) {
    super(NotTesseraImageError.code, message, options)
    this.manifestDigest = manifestDigest
  }
}
