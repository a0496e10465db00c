/**
 * `Range` requests of blob reads (RFC 9110 §14): one range of bytes,
 * `bytes=a-b`, `bytes=a-` or the suffix `bytes=-n`.
 *
 * @module
 */
import type { ByteRange } from '../types.js'

/** What a `Range` header asks of a blob of `size` bytes. */
export type RangeRequest =
  /** Answer the whole blob (no header, another unit, several ranges, or a malformed header: RFC 9110 lets a server ignore it). */
  | { kind: 'whole' }
  /** Answer 206 with the half-open range `[start, end)`. */
  | { kind: 'partial', range: ByteRange }
  /** Answer 416 with `Content-Range: bytes *\/size`. */
  | { kind: 'unsatisfiable' }

/** Parse a `Range` header against a blob of `size` bytes. */
export function parseRangeHeader (header: string | undefined, size: number): RangeRequest {
  if (header === undefined) return { kind: 'whole' }
  const m = /^\s*bytes\s*=\s*(\d*)\s*-\s*(\d*)\s*$/i.exec(header)
  if (m === null) return { kind: 'whole' }
  const [first, last] = [m[1]!, m[2]!]
  if (first === '' && last === '') return { kind: 'whole' }
  if (first.length > 15 || last.length > 15) return { kind: 'unsatisfiable' }
  if (first === '') {
    const n = Number(last)
    if (n === 0 || size === 0) return { kind: 'unsatisfiable' }
    return { kind: 'partial', range: { start: Math.max(0, size - n), end: size } }
  }
  const start = Number(first)
  if (start >= size) return { kind: 'unsatisfiable' }
  if (last === '') return { kind: 'partial', range: { start, end: size } }
  const end = Number(last)
  if (end < start) return { kind: 'whole' }
  return { kind: 'partial', range: { start, end: Math.min(end + 1, size) } }
}

/** The `Content-Range` of a 206 answer: `bytes <first>-<last>/<size>`. */
export function contentRange (range: ByteRange, size: number): string {
  return `bytes ${range.start}-${range.end - 1}/${size}`
}
