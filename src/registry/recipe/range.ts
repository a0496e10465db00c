/**
 * Byte ranges of rebuilt blobs, checked against the blob's size.
 *
 * @module
 */
import { InvalidRangeError } from '../../errors.js'

/** Check a range against a blob size. Throws `InvalidRangeError` (`ERR_INVALID_RANGE`). */
export function checkRange (range: { start: number, end: number } | undefined, size: number): { start: number, end: number } {
  if (range === undefined) return { start: 0, end: size }
  const { start, end } = range
  if (!Number.isSafeInteger(start) || !Number.isSafeInteger(end) || start < 0 || end < start || end > size) {
    throw new InvalidRangeError(`range [${String(start)}, ${String(end)}) is not within a blob of ${size} bytes`)
  }
  return { start, end }
}
