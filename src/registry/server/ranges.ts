/**
 * `Range` requests of blob reads (RFC 9110 §14): byte ranges `a-b`, `a-`
 * and suffixes `-n`, one or several. Several ranges are answered as a
 * `multipart/byteranges` body (RFC 9110 §14.6), after the satisfiable ones
 * are sorted and those that overlap or touch are merged (which the RFC
 * allows, whatever their order in the header).
 *
 * @module
 */
import { randomBytes } from 'node:crypto'
import type { ByteRange } from '../types.js'

/** Most ranges answered in one request; a header with more is answered whole (RFC 9110 lets a server ignore it). */
export const MAX_RANGES = 4096

/** What a `Range` header asks of a blob of `size` bytes. */
export type RangeRequest =
  /** Answer the whole blob (no header, another unit, too many ranges, or a malformed header: RFC 9110 lets a server ignore it). */
  | { kind: 'whole' }
  /** Answer 206 with the half-open range `[start, end)`. */
  | { kind: 'partial', range: ByteRange }
  /** Answer 206 with a `multipart/byteranges` body of these ranges (ascending, apart from each other). */
  | { kind: 'multi', ranges: ByteRange[] }
  /** Answer 416 with `Content-Range: bytes *\/size`. */
  | { kind: 'unsatisfiable' }

/** One range-spec: a range, `undefined` when unsatisfiable, `'invalid'` when malformed. */
function rangeSpec (spec: string, size: number): ByteRange | undefined | 'invalid' {
  const m = /^(\d*)\s*-\s*(\d*)$/.exec(spec)
  if (m === null) return 'invalid'
  const [first, last] = [m[1]!, m[2]!]
  if (first === '' && last === '') return 'invalid'
  if (first.length > 15 || last.length > 15) return undefined
  if (first === '') {
    const n = Number(last)
    if (n === 0 || size === 0) return undefined
    return { start: Math.max(0, size - n), end: size }
  }
  const start = Number(first)
  if (start >= size) return undefined
  if (last !== '' && Number(last) < start) return 'invalid'
  if (last === '') return { start, end: size }
  return { start, end: Math.min(Number(last) + 1, size) }
}

/** Parse a `Range` header against a blob of `size` bytes. */
export function parseRangeHeader (header: string | undefined, size: number): RangeRequest {
  if (header === undefined) return { kind: 'whole' }
  const m = /^\s*bytes\s*=(.*)$/i.exec(header)
  if (m === null) return { kind: 'whole' }
  const specs = m[1]!.split(',').map((s) => s.trim()).filter((s) => s !== '')
  if (specs.length === 0 || specs.length > MAX_RANGES) return { kind: 'whole' }
  const ranges: ByteRange[] = []
  for (const spec of specs) {
    const r = rangeSpec(spec, size)
    if (r === 'invalid') return { kind: 'whole' }
    if (r !== undefined) ranges.push(r)
  }
  if (ranges.length === 0) return { kind: 'unsatisfiable' }
  ranges.sort((a, b) => a.start - b.start || a.end - b.end)
  const merged: ByteRange[] = [{ ...ranges[0]! }]
  for (const r of ranges.slice(1)) {
    const last = merged[merged.length - 1]!
    if (r.start <= last.end) last.end = Math.max(last.end, r.end)
    else merged.push({ ...r })
  }
  return merged.length === 1 ? { kind: 'partial', range: merged[0]! } : { kind: 'multi', ranges: merged }
}

/** The `Content-Range` of a 206 answer: `bytes <first>-<last>/<size>`. */
export function contentRange (range: ByteRange, size: number): string {
  return `bytes ${range.start}-${range.end - 1}/${size}`
}

/** A `multipart/byteranges` answer: its content type, length, and body. */
export interface MultipartAnswer {
  contentType: string
  length: number
  body: () => AsyncIterable<Uint8Array>
}

/**
 * The `multipart/byteranges` answer of `ranges` of a blob of `size` bytes,
 * whose bytes `body` gives one range after the other (each range's bytes
 * exactly; the part headers are put between them here).
 */
export function multipartAnswer (ranges: ByteRange[], size: number, body: () => AsyncIterable<Uint8Array>): MultipartAnswer {
  const boundary = `tessera-${randomBytes(12).toString('hex')}`
  const heads = ranges.map((r, i) => Buffer.from(`${i === 0 ? '' : '\r\n'}--${boundary}\r\ncontent-type: application/octet-stream\r\ncontent-range: ${contentRange(r, size)}\r\n\r\n`, 'latin1'))
  const tail = Buffer.from(`\r\n--${boundary}--\r\n`, 'latin1')
  const length = heads.reduce((n, h) => n + h.length, 0) + ranges.reduce((n, r) => n + r.end - r.start, 0) + tail.length
  async function * parts (): AsyncIterable<Uint8Array> {
    let i = 0
    let left = ranges[0]!.end - ranges[0]!.start
    yield heads[0]!
    for await (const piece of body()) {
      let at = 0
      while (at < piece.length) {
        if (left === 0) {
          if (++i >= ranges.length) throw new RangeError('the ranges\' bytes run past the last range')
          left = ranges[i]!.end - ranges[i]!.start
          yield heads[i]!
        }
        const take = Math.min(left, piece.length - at)
        yield piece.subarray(at, at + take)
        at += take
        left -= take
      }
    }
    if (left !== 0 || i !== ranges.length - 1) throw new RangeError('the ranges\' bytes end before the last range')
    yield tail
  }
  return { contentType: `multipart/byteranges; boundary=${boundary}`, length, body: parts }
}
