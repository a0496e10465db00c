/**
 * Planning ranged reads of one blob: the caller's ranges are checked,
 * sorted and coalesced into *spans* (overlapping ranges always merge;
 * ranges separated by at most `gap` bytes merge while the span stays
 * under `maxSpan`), and spans are grouped into *batches*, one HTTP request
 * each, bounded by range count, `Range` header length and bytes. Also the
 * strict `Content-Range` parser the answers are checked with.
 *
 * @module
 */
import { InvalidRangeError } from '../../errors.js'
import type { ByteRange } from './types.js'

/** A half-open span `[start, end)` of the blob and the requests (indices into the caller's list) it covers. */
export interface Span {
  start: number
  end: number
  requests: number[]
}

/** How spans are made and grouped. */
export interface RangePlan {
  /** Ranges at most this many bytes apart are fetched as one span. */
  gap: number
  /** A span does not grow past this by merging separate ranges (overlapping ranges merge regardless). */
  maxSpan: number
  /** Ranges in one request. */
  maxRanges: number
  /** Length of one `Range` header value. */
  maxHeaderBytes: number
  /** Bytes one request asks for (a span larger than this is a batch of its own). */
  maxBatchBytes: number
}

/** The defaults: 4 KiB gaps, 8 MiB spans, 1000 ranges or 32 KiB of header or 64 MiB per request. */
export const DEFAULT_RANGE_PLAN: RangePlan = {
  gap: 4096,
  maxSpan: 8 * 1024 * 1024,
  maxRanges: 1000,
  maxHeaderBytes: 32 * 1024,
  maxBatchBytes: 64 * 1024 * 1024
}

/**
 * Check the caller's ranges against a blob of `size` bytes.
 *
 * @throws {@link InvalidRangeError} (`ERR_INVALID_RANGE`) for a range that is not integral, negative or past the end
 */
export function checkRanges (ranges: readonly ByteRange[], size: number): void {
  if (!Number.isSafeInteger(size) || size < 0) throw new InvalidRangeError(`blob size ${String(size)} is not a non-negative integer`)
  for (const r of ranges) {
    if (r === null || typeof r !== 'object' || !Number.isSafeInteger(r.offset) || !Number.isSafeInteger(r.length) || r.offset < 0 || r.length < 0 || r.offset + r.length > size) {
      throw new InvalidRangeError(`range ${JSON.stringify(r)} is not within a blob of ${size} bytes`)
    }
  }
}

/** Coalesce the non-empty ranges of `ranges` (indices kept) into sorted, disjoint spans. */
export function coalesce (ranges: readonly ByteRange[], plan: Pick<RangePlan, 'gap' | 'maxSpan'>, only?: readonly number[]): Span[] {
  const order = (only ?? ranges.map((_, i) => i)).filter((i) => ranges[i]!.length > 0)
  order.sort((a, b) => ranges[a]!.offset - ranges[b]!.offset || ranges[a]!.length - ranges[b]!.length)
  const spans: Span[] = []
  let cur: Span | undefined
  for (const i of order) {
    const r = ranges[i]!
    const end = r.offset + r.length
    if (cur !== undefined && (r.offset < cur.end || (r.offset - cur.end <= plan.gap && Math.max(end, cur.end) - cur.start <= plan.maxSpan))) {
      cur.end = Math.max(cur.end, end)
      cur.requests.push(i)
    } else {
      cur = { start: r.offset, end, requests: [i] }
      spans.push(cur)
    }
  }
  return spans
}

/** `a-b` of a span (inclusive end, as HTTP writes it). */
export function spanSpec (span: Pick<Span, 'start' | 'end'>): string {
  return `${span.start}-${span.end - 1}`
}

/** The `Range` header value for spans. */
export function rangeHeaderValue (spans: ReadonlyArray<Pick<Span, 'start' | 'end'>>): string {
  return `bytes=${spans.map(spanSpec).join(',')}`
}

/** Group sorted spans into batches, each within the plan's bounds (a batch holds at least one span). */
export function batchSpans (spans: readonly Span[], plan: Pick<RangePlan, 'maxRanges' | 'maxHeaderBytes' | 'maxBatchBytes'>): Span[][] {
  const out: Span[][] = []
  let cur: Span[] = []
  let header = 'bytes='.length
  let bytes = 0
  for (const s of spans) {
    const add = spanSpec(s).length + (cur.length > 0 ? 1 : 0)
    const len = s.end - s.start
    if (cur.length > 0 && (cur.length + 1 > plan.maxRanges || header + add > plan.maxHeaderBytes || bytes + len > plan.maxBatchBytes)) {
      out.push(cur)
      cur = []
      header = 'bytes='.length
      bytes = 0
    }
    header += spanSpec(s).length + (cur.length > 0 ? 1 : 0)
    bytes += len
    cur.push(s)
  }
  if (cur.length > 0) out.push(cur)
  return out
}

/** A parsed `Content-Range: bytes a-b/size` (half-open `[start, end)`; `size` undefined for `*`). */
export interface ContentRange {
  start: number
  end: number
  size: number | undefined
}

/** Parse `bytes a-b/size` or `bytes a-b/*` strictly; undefined when it is anything else. */
export function parseContentRange (value: string | undefined): ContentRange | undefined {
  if (value === undefined) return undefined
  const m = /^bytes ([0-9]{1,15})-([0-9]{1,15})\/([0-9]{1,15}|\*)$/.exec(value.trim())
  if (m === null) return undefined
  const start = Number(m[1])
  const last = Number(m[2])
  const size = m[3] === '*' ? undefined : Number(m[3])
  if (last < start || (size !== undefined && last >= size)) return undefined
  return { start, end: last + 1, size }
}
