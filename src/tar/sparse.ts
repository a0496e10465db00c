/**
 * GNU sparse files: the maps of data segments that old GNU (`S` entries
 * with extended sparse headers) and PAX (formats 0.0, 0.1 and 1.0) archives
 * store, parsed and checked for a reader of untrusted input.
 *
 * Holes are not stored: the archive holds the data segments back to back,
 * and the logical file is the segments placed at their offsets with zeros
 * everywhere else, up to the real size.
 *
 * @module
 */
import type { TarDialect } from './dialect.js'
import { TarHeaderError } from './errors.js'
import { readNumber } from './fields.js'

/** One data segment of a sparse file: `size` stored bytes that belong at `offset`. */
export interface TarSparseSegment {
  /** Offset in the logical file. */
  offset: number
  /** Number of bytes (stored contiguously in the archive). */
  size: number
}

/** Sparse entries in an old GNU header: four, from byte 386. */
export const OLDGNU_SPARSE_IN_HEADER = 4
/** Sparse entries in an extended sparse header block: 21, from byte 0. */
export const OLDGNU_SPARSE_IN_EXTENSION = 21
/** Offset of the first sparse entry of an old GNU header. */
export const OLDGNU_SPARSE_OFFSET = 386
/** Offset of the `isextended` byte of an old GNU header. */
export const OLDGNU_ISEXTENDED_OFFSET = 482
/** Offset and width of the `realsize` field of an old GNU header. */
export const OLDGNU_REALSIZE: readonly [number, number] = [483, 12]
/** Offset of the `isextended` byte of an extended sparse header block. */
export const OLDGNU_EXTENSION_ISEXTENDED_OFFSET = 504

function toSafe (value: bigint, what: string): number {
  if (value < 0n || value > BigInt(Number.MAX_SAFE_INTEGER)) throw new TarHeaderError(`${what} ${value} is out of range`)
  return Number(value)
}

/**
 * Read `count` 24-byte sparse entries (12-byte offset, 12-byte size) of an
 * old GNU header or extension block, from `at`.
 *
 * - `'gnu'` (default): an entry whose size field starts with NUL ends the
 *   map (GNU tar's rule); the rest of the block must then be unused too,
 *   or readers would disagree.
 * - `'go'`: an entry whose offset field starts with NUL ends this block's
 *   entries (Go's rule); whatever follows it in the block is ignored, and
 *   the map goes on in an extension block if the header says one follows.
 *
 * @returns the segments and whether the map ended in this block (always
 *   false for `'go'`: only the extension flag ends it there)
 * @throws {@link TarHeaderError} on a malformed number
 */
export function readOldGnuSparseEntries (block: Uint8Array, at: number, count: number, dialect: TarDialect = 'gnu'): { segments: TarSparseSegment[], ended: boolean } {
  const segments: TarSparseSegment[] = []
  for (let i = 0; i < count; i++) {
    const o = at + i * 24
    if (dialect === 'go') {
      if (block[o] === 0) break
    } else if (block[o + 12] === 0) {
      // the rest of the block must be unused too, or readers would disagree
      for (let j = o; j < at + count * 24; j++) {
        if (block[j] !== 0) throw new TarHeaderError('old GNU sparse map: an entry follows the end of the map')
      }
      return { segments, ended: true }
    }
    segments.push({
      offset: toSafe(readNumber(block, o, 12, 'sparse offset', dialect), 'sparse offset'),
      size: toSafe(readNumber(block, o + 12, 12, 'sparse size', dialect), 'sparse size')
    })
  }
  return { segments, ended: false }
}

/** The `realsize` of an old GNU sparse header. */
export function readOldGnuRealSize (block: Uint8Array, dialect: TarDialect = 'gnu'): number {
  const [o, w] = OLDGNU_REALSIZE
  return toSafe(readNumber(block, o, w, 'sparse realsize', dialect), 'sparse realsize')
}

/**
 * A decimal PAX value as a safe integer: digits with any number of leading
 * zeros (`000000000000000000000999` is 999), optionally after a `+`, as GNU
 * tar and Go both read them.
 *
 * @throws {@link TarHeaderError} when it is empty, not decimal, or above 2^53 - 1
 */
export function parseDecimal (value: Uint8Array | string, what: string): number {
  const s = typeof value === 'string' ? value : Buffer.from(value).toString('latin1')
  const m = /^\+?0*([0-9]*)$/.exec(s)
  if (m === null || s.replace(/^\+/, '') === '') throw new TarHeaderError(`${what} is not a decimal number: ${JSON.stringify(s.slice(0, 40))}`)
  const digits = m[1] ?? ''
  const n = digits === '' ? 0 : Number(digits)
  if (digits.length > 16 || !Number.isSafeInteger(n)) throw new TarHeaderError(`${what} ${s.slice(0, 40)} is out of range`)
  return n
}

/**
 * Segments from a flat list of numbers `offset, size, offset, size, ...`
 * (PAX 0.0 records, the 0.1 `GNU.sparse.map` value, the 1.0 map).
 */
export function pairSegments (numbers: readonly number[], what: string): TarSparseSegment[] {
  if (numbers.length % 2 !== 0) throw new TarHeaderError(`${what}: an odd count of numbers (${numbers.length})`)
  const out: TarSparseSegment[] = []
  for (let i = 0; i < numbers.length; i += 2) out.push({ offset: numbers[i] ?? 0, size: numbers[i + 1] ?? 0 })
  return out
}

/** The numbers of a PAX 0.1 `GNU.sparse.map` value: decimals separated by commas (empty: none). */
export function parseSparseMapValue (value: Uint8Array): number[] {
  const s = Buffer.from(value).toString('latin1')
  if (s === '') return []
  return s.split(',').map((part) => parseDecimal(part, 'GNU.sparse.map number'))
}

/**
 * Check a sparse map against the entry: segments in increasing order
 * without overlap, each inside the real size, and together exactly the
 * stored data. Readers disagree on anything else, so it is refused.
 *
 * @throws {@link TarHeaderError} (`ERR_TAR_BAD_HEADER`) when a rule is broken
 */
export function checkSparseMap (segments: readonly TarSparseSegment[], realSize: number, storedSize: number): void {
  let end = 0
  let total = 0
  for (const { offset, size } of segments) {
    if (offset < end) throw new TarHeaderError(`sparse map: segment at ${offset} overlaps or precedes the previous one (ending at ${end})`)
    end = offset + size
    if (end > realSize) throw new TarHeaderError(`sparse map: segment ${offset}+${size} ends past the real size ${realSize}`)
    total += size
  }
  if (total !== storedSize) throw new TarHeaderError(`sparse map: segments hold ${total} bytes but the entry stores ${storedSize}`)
}

/**
 * Incremental parser of the PAX 1.0 sparse map stored at the start of the
 * entry's data: decimal numbers each ended by a newline, first the segment
 * count then `offset` and `size` of each, padded with NULs to whole blocks.
 * Numbers may have leading zeros and a `+` (as Go reads them).
 */
export class SparseMapParser {
  private readonly numbers: number[] = []
  private value = 0
  /** Characters of the current number (a `+`, zeros and digits). */
  private digits = 0
  /** Significant digits of the current number (leading zeros not counted). */
  private significant = 0
  /** 1 once a leading `+` was read. */
  private sign = 0
  private need = -1

  /**
   * @param maxSegments - more segments than this is refused (from the header size limit)
   */
  constructor (private readonly maxSegments: number, private readonly onTooMany: (count: number) => Error) {}

  /** True once the count and every segment's numbers are read. */
  get done (): boolean { return this.need >= 0 && this.numbers.length === this.need }

  /** Feed one block; bytes after the end of the map are ignored (padding). */
  push (block: Uint8Array): void {
    for (const c of block) {
      if (this.done) return
      if (c >= 0x30 && c <= 0x39) {
        this.digits++
        if (c !== 0x30 || this.significant > 0) this.significant++
        if (this.significant > 16) throw new TarHeaderError('PAX 1.0 sparse map: a number is too long')
        this.value = this.value * 10 + (c - 0x30)
      } else if (c === 0x2b && this.digits === 0 && this.sign === 0) {
        this.sign = 1
      } else if (c === 0x0a && this.digits > 0) {
        if (!Number.isSafeInteger(this.value)) throw new TarHeaderError('PAX 1.0 sparse map: a number is out of range')
        this.numbers.push(this.value)
        if (this.need < 0) {
          if (this.value > this.maxSegments) throw this.onTooMany(this.value)
          this.need = 1 + 2 * this.value
        }
        this.value = 0
        this.digits = 0
        this.significant = 0
        this.sign = 0
      } else {
        throw new TarHeaderError(`PAX 1.0 sparse map: unexpected byte 0x${c.toString(16).padStart(2, '0')}`)
      }
    }
  }

  /** The segments read (once {@link done}). */
  segments (): TarSparseSegment[] {
    return pairSegments(this.numbers.slice(1), 'PAX 1.0 sparse map')
  }
}

/**
 * The data segments a writer stores for a sparse file, GNU tar's way: the
 * segments given, and when the file ends in a hole a last empty segment at
 * its size (so that every reader extends the file to it).
 */
export function sparseSegmentsToWrite (segments: readonly TarSparseSegment[], size: number): TarSparseSegment[] {
  const out = segments.filter((s) => s.size > 0).map((s) => ({ offset: s.offset, size: s.size }))
  const last = out[out.length - 1]
  if (last === undefined || last.offset + last.size < size) out.push({ offset: size, size: 0 })
  return out
}

/**
 * The GNU sparse 1.0 map at the start of the entry's data: the segment
 * count and each segment's offset and size in decimal, one per line,
 * padded with NULs to whole 512-byte blocks.
 */
export function encodePax10Map (segments: readonly TarSparseSegment[]): Uint8Array {
  const text = `${segments.length}\n${segments.map((s) => `${s.offset}\n${s.size}\n`).join('')}`
  const out = new Uint8Array(Math.ceil(text.length / 512) * 512)
  out.set(Buffer.from(text, 'latin1'))
  return out
}
