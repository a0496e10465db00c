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

/**
 * Ascending, disjoint ranges visited at positions that never decrease:
 * what of `[pos, pos + n)` lies inside them, in one pass over the ranges.
 */
export class RangeCursor {
  readonly ranges: ReadonlyArray<{ start: number, end: number }>
  #i = 0

  constructor (ranges: ReadonlyArray<{ start: number, end: number }>) { this.ranges = ranges }

  /** The end of the last range (0 without ranges). */
  get end (): number { return this.ranges.at(-1)?.end ?? 0 }

  /** The parts of `[pos, pos + n)` inside the ranges, as `[from, to)` offsets from `pos`. */
  cut (pos: number, n: number): Array<[number, number]> {
    const r = this.ranges
    while (this.#i < r.length && r[this.#i]!.end <= pos) this.#i++
    const out: Array<[number, number]> = []
    for (let j = this.#i; j < r.length && r[j]!.start < pos + n; j++) {
      const from = Math.max(r[j]!.start, pos) - pos
      const to = Math.min(r[j]!.end, pos + n) - pos
      if (to > from) out.push([from, to])
    }
    return out
  }
}

/** Check ranges of a blob: each within it, not empty, ascending and apart. Throws `ERR_INVALID_RANGE`. */
export function checkRanges (ranges: ReadonlyArray<{ start: number, end: number }>, size: number): Array<{ start: number, end: number }> {
  let last = -1
  return ranges.map((range) => {
    const r = checkRange(range, size)
    if (r.start <= last || r.start === r.end) throw new InvalidRangeError(`ranges must be ascending, apart and not empty: [${r.start}, ${r.end}) after one ending at ${last}`)
    last = r.end
    return r
  })
}
