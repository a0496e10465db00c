/**
 * Telling a compressed stream from a tar archive, for the streams the
 * reader cannot read: when an archive's first block is not a tar header,
 * {@link sniffCompression} says whether the bytes are a compressed stream
 * tessera does not decompress (bzip2, xz, compress, lzip, lz4, brotli), so
 * that the error says "unsupported compression" instead of "bad header".
 *
 * Only asked when the first block fails as a header: a tar whose first
 * name happens to start with `BZh9` is still a tar.
 *
 * @module
 */
import { brotliDecompressSync, constants } from 'node:zlib'

/** Compressions recognised in order to be refused (gzip and zstd are decompressed, see `compression.ts`). */
export type SniffedCompression = 'gzip' | 'zstd' | 'bzip2' | 'xz' | 'compress' | 'lzip' | 'lz4' | 'brotli'

const MAGICS: ReadonlyArray<[SniffedCompression, readonly number[]]> = [
  ['gzip', [0x1f, 0x8b]],
  ['zstd', [0x28, 0xb5, 0x2f, 0xfd]],
  ['xz', [0xfd, 0x37, 0x7a, 0x58, 0x5a, 0x00]],
  ['compress', [0x1f, 0x9d]],
  ['lzip', [0x4c, 0x5a, 0x49, 0x50]],
  ['lz4', [0x04, 0x22, 0x4d, 0x18]]
]

/** Numeric fields of a ustar header up to the checksum: offset and width. */
const NUMERIC_FIELDS: ReadonlyArray<readonly [number, number]> = [[100, 8], [108, 8], [116, 8], [124, 12], [136, 12], [148, 8]]

/**
 * Whether `bytes` (at least up to the checksum field) start like a tar
 * header: the numeric fields hold only octal digits, spaces and NULs (or
 * a base-256 size), and the magic, when there, is `ustar` or absent.
 */
export function looksLikeHeaderStart (bytes: Uint8Array): boolean {
  if (bytes.length < 156 || bytes[0] === 0) return false
  return couldStartHeader(bytes)
}

/**
 * Whether `bytes`, however few, could be the start of a tar header (or of
 * a zero block): no byte seen contradicts the numeric fields or the magic.
 * A stream shorter than a header that could start one is a truncated tar,
 * not something else.
 */
export function couldStartHeader (bytes: Uint8Array): boolean {
  for (const [o, w] of NUMERIC_FIELDS) {
    if (o === 124 && bytes[o] === 0x80) continue
    for (let i = o; i < Math.min(o + w, bytes.length); i++) {
      const c = bytes[i] ?? 0
      if (!(c === 0 || c === 0x20 || (c >= 0x30 && c <= 0x37))) return false
    }
  }
  if (bytes.length > 257) {
    const seen = bytes.subarray(257, 262)
    if (!seen.every((c, i) => c === 'ustar'.charCodeAt(i)) && !seen.every((c) => c === 0)) return false
  }
  return true
}

/**
 * The compression of a stream whose first block is not a tar header, from
 * its first bytes (give up to 512): a known magic number, or brotli (which
 * has none) when those bytes decode as brotli to something that starts
 * like a tar header. Undefined when none applies.
 */
export function sniffCompression (head: Uint8Array): SniffedCompression | undefined {
  for (const [name, magic] of MAGICS) {
    if (head.length >= magic.length && magic.every((c, i) => head[i] === c)) return name
  }
  if (head.length >= 4 && head[0] === 0x42 && head[1] === 0x5a && head[2] === 0x68 && (head[3] ?? 0) >= 0x31 && (head[3] ?? 0) <= 0x39) return 'bzip2'
  try {
    const out = brotliDecompressSync(head, { finishFlush: constants.BROTLI_OPERATION_FLUSH, maxOutputLength: 1 << 20 })
    if (looksLikeHeaderStart(out)) return 'brotli'
  } catch {
    // not brotli
  }
  return undefined
}
