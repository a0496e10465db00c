/**
 * The stored form of an object (docs/FORMAT.md §6): one codec byte, then
 * the bytes as they are (0x00) or one zstd frame (0x01). Decoding always
 * hashes the result and compares it with the digest the object is stored
 * under.
 *
 * @module
 */
import { IntegrityError } from '../errors.js'
import { bytesEqual, digestToString } from '../hash/digest.js'
import { sha256 } from '../hash/index.js'
import { zstdCompress, zstdContentSize, zstdDecompress } from './zstd.js'

/** Codec byte: stored as is. */
export const CODEC_RAW = 0x00
/** Codec byte: one zstd frame. */
export const CODEC_ZSTD = 0x01

/** Largest chunk a read accepts (decompressed). */
export const MAX_CHUNK_BYTES = 64 * 1024 * 1024

/** Largest tree or snapshot object a read accepts (decompressed). */
export const MAX_TREE_BYTES = 256 * 1024 * 1024

/** The zstd level tessera writes with (docs/FORMAT.md §7). */
export const DEFAULT_COMPRESSION_LEVEL = 5

/** Options for {@link encodeStored}. */
export interface EncodeStoredOptions {
  /** zstd level; 0 disables compression. Default {@link DEFAULT_COMPRESSION_LEVEL}. */
  level?: number
}

/**
 * Frame `bytes` for storage: zstd when that is strictly smaller, raw
 * otherwise. Objects under 64 bytes are never compressed.
 */
export function encodeStored (bytes: Uint8Array, options: EncodeStoredOptions = {}): Uint8Array {
  const level = options.level ?? DEFAULT_COMPRESSION_LEVEL
  if (level > 0 && bytes.length >= 64) {
    // The frame comes with a byte of headroom for the codec byte: one copy.
    const out = zstdCompress(bytes, level, 1)
    if (out.length - 1 < bytes.length) {
      out[0] = CODEC_ZSTD
      return out
    }
  }
  const out = new Uint8Array(bytes.length + 1)
  out[0] = CODEC_RAW
  out.set(bytes, 1)
  return out
}

/**
 * Unframe a stored value and verify it against `digest`. Throws
 * {@link IntegrityError} (`ERR_INTEGRITY`) on an unknown codec, a broken
 * frame, an oversized frame, or a digest mismatch. With `scratch` (a
 * buffer the caller reuses), the bytes returned may be a view of it, valid
 * until its next use.
 */
export function decodeStored (stored: Uint8Array, digest: Uint8Array, what: string, maxSize: number, scratch?: Uint8Array): Uint8Array {
  const codec = stored[0]
  let bytes: Uint8Array
  if (codec === CODEC_RAW) {
    bytes = stored.subarray(1)
  } else if (codec === CODEC_ZSTD) {
    try {
      bytes = zstdDecompress(stored.subarray(1), maxSize, scratch)
    } catch (err) {
      throw new IntegrityError(`${what} ${digestToString(digest)}: ${(err as Error).message}`, { cause: err })
    }
  } else {
    throw new IntegrityError(`${what} ${digestToString(digest)}: unknown codec byte ${String(codec)}`)
  }
  const actual = sha256.digest(bytes)
  if (!bytesEqual(actual, digest)) {
    throw new IntegrityError(`${what} ${digestToString(digest)} is corrupt: its bytes hash to ${digestToString(actual)}`)
  }
  return bytes
}

/**
 * The uncompressed length a stored object declares (codec byte and zstd
 * frame header), without decompressing; 0 when the header is unreadable.
 */
export function declaredLength (stored: Uint8Array): number {
  if (stored[0] === CODEC_RAW) return stored.length - 1
  if (stored[0] === CODEC_ZSTD) return zstdContentSize(stored.subarray(1)) ?? 0
  return 0
}
