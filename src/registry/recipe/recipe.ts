/**
 * The layer recipe root object (docs/FORMAT.md, "Layer recipes"): what
 * rebuilds one layer blob bit for bit from chunks. Its canonical encoding
 * (§3) is what `decomposeLayer` returns and what a registry keeps per blob;
 * the bulk (non-content tar bytes, the per-chunk layout) lives in chunks
 * that the root lists, so the root stays small for any layer.
 *
 * ```
 * recipe      = [ 3, 1, blobSize, blobDigest, compression, tarSize, meta, layout ]
 * stream      = [ depth, length, [ [digest, length], ... ] ]
 * compression = [ 0 ]                                                        ; plain tar
 *             | [ 1, header, [ impl, level, windowBits, memLevel, strategy ] ] ; gzip, one member
 *             | [ 2, impl, level ]                                            ; zstd, one frame
 *             | [ 3, header, [ impl, level, blockSize ] ]                     ; gzip by a Go writer
 * ```
 *
 * @module
 */
import { decodeCanonical, encodeCanonical } from '../../format/canonical.js'
import type { CanonicalValue } from '../../format/canonical.js'
import type { ChunkRef } from '../../format/entry.js'
import { NonCanonicalError } from '../../errors.js'
import type { BlockDeflateParams, DeflateParams } from '../../compression/params.js'

export type { BlockDeflateParams, DeflateParams }

/** Type number of a layer recipe (trees are 1, snapshots 2). */
export const LAYER_RECIPE_TYPE = 3
/** Version of the layer recipe encoding. */
export const LAYER_RECIPE_VERSION = 1

/** Most chunk references a stream keeps in its parent; more go one level down into chunks. */
export const STREAM_INLINE_REFS = 256
/** Deepest indirection a stream may use (256^8 chunks is far beyond any blob). */
export const STREAM_MAX_DEPTH = 8

/**
 * A byte stream kept as chunks. At depth 0 the chunks concatenate to the
 * stream; at depth d > 0 they concatenate to the canonical encodings of the
 * `[digest, length]` references of the depth d−1 chunks, one after another.
 */
export interface StreamRef {
  depth: number
  /** Bytes of the stream itself (at depth 0). */
  length: number
  chunks: ChunkRef[]
}

/** Largest block size a recipe may record. */
export const MAX_RECIPE_BLOCK_SIZE = 64 * 1024 * 1024

/** How the tar stream was compressed into the blob. */
export type RecipeCompression =
  | { kind: 'none' }
  /** One gzip member: these header bytes, deflate with `deflate`, then CRC-32 and ISIZE of the tar. */
  | { kind: 'gzip', header: Uint8Array, deflate: DeflateParams }
  /** One zstd frame made by `implementation` at `level`. */
  | { kind: 'zstd', implementation: string, level: number }
  /** One gzip member: these header bytes, deflate by a Go-style writer with `deflate`, then CRC-32 and ISIZE of the tar. */
  | { kind: 'gzip-blocks', header: Uint8Array, deflate: BlockDeflateParams }

/** A decoded layer recipe. */
export interface LayerRecipe {
  /** Size of the blob as pushed (compressed, if it was). */
  blobSize: number
  /** sha256 of the blob as pushed (32 bytes). */
  blobDigest: Uint8Array
  compression: RecipeCompression
  /** Size of the uncompressed tar stream. */
  tarSize: number
  /** Every tar byte that is not regular-file content (headers, padding, small files, trailer), in order. */
  meta: StreamRef
  /** Canonical `[gap, digest, length]` records, one per content chunk (see FORMAT.md). */
  layout: StreamRef
}

/** The media-type-like name of a recipe's format. */
export function recipeFormat (recipe: LayerRecipe): 'tar' | 'tar+gzip' | 'tar+zstd' {
  const k = recipe.compression.kind
  return k === 'none' ? 'tar' : k === 'zstd' ? 'tar+zstd' : 'tar+gzip'
}

const ascii = (s: string): Uint8Array => new TextEncoder().encode(s)
const IMPLEMENTATION_RE = /^[\x21-\x7e]{1,64}$/

function encodeStream (s: StreamRef): CanonicalValue {
  return [s.depth, s.length, s.chunks.map((c) => [c.digest, c.length])]
}

function encodeCompression (c: RecipeCompression): CanonicalValue {
  switch (c.kind) {
    case 'none': return [0]
    case 'gzip': {
      const d = c.deflate
      return [1, c.header, [ascii(d.implementation), d.level, d.windowBits, d.memLevel, d.strategy]]
    }
    case 'zstd': return [2, ascii(c.implementation), c.level]
    case 'gzip-blocks': {
      const d = c.deflate
      return [3, c.header, [ascii(d.implementation), d.level, d.blockSize]]
    }
  }
}

/** Encode a recipe canonically. */
export function encodeRecipe (r: LayerRecipe): Uint8Array {
  return encodeCanonical([LAYER_RECIPE_TYPE, LAYER_RECIPE_VERSION, r.blobSize, r.blobDigest, encodeCompression(r.compression), r.tarSize, encodeStream(r.meta), encodeStream(r.layout)])
}

function bad (what: string): never {
  throw new NonCanonicalError(`layer recipe: ${what}`)
}

function arr (v: CanonicalValue, n: number | undefined, what: string): CanonicalValue[] {
  if (!Array.isArray(v) || (n !== undefined && v.length !== n)) bad(`${what} must be an array${n === undefined ? '' : ` of ${n}`}`)
  return v
}

function int (v: CanonicalValue | undefined, min: number, max: number, what: string): number {
  if (typeof v !== 'number' || v < min || v > max) bad(`${what} must be an integer ${min} … ${max}`)
  return v
}

function size (v: CanonicalValue | undefined, what: string): number {
  if (typeof v === 'number' && v >= 0) return v
  if (typeof v === 'bigint' && v > 0n && v <= BigInt(Number.MAX_SAFE_INTEGER)) return Number(v)
  return bad(`${what} must be a size`)
}

function bytes (v: CanonicalValue | undefined, len: number | undefined, what: string): Uint8Array {
  if (!(v instanceof Uint8Array) || (len !== undefined && v.length !== len)) bad(`${what} must be ${len === undefined ? 'a byte string' : `${len} bytes`}`)
  return v
}

function implementation (v: CanonicalValue | undefined): string {
  const s = new TextDecoder().decode(bytes(v, undefined, 'implementation'))
  if (!IMPLEMENTATION_RE.test(s)) bad('implementation must be 1–64 printable ASCII characters')
  return s
}

/** Decode a chunk reference `[digest, length]`. */
export function decodeChunkRef (v: CanonicalValue): ChunkRef {
  const a = arr(v, 2, 'chunk reference')
  return { digest: bytes(a[0], 32, 'chunk digest'), length: int(a[1], 1, 2 ** 32 - 1, 'chunk length') }
}

function decodeStream (v: CanonicalValue, what: string): StreamRef {
  const a = arr(v, 3, what)
  const depth = int(a[0], 0, STREAM_MAX_DEPTH, `${what} depth`)
  const length = size(a[1], `${what} length`)
  const chunks = arr(a[2]!, undefined, `${what} chunks`).map(decodeChunkRef)
  if (chunks.length > STREAM_INLINE_REFS) bad(`${what} lists more than ${STREAM_INLINE_REFS} chunks`)
  if (depth === 0 && chunks.reduce((n, c) => n + c.length, 0) !== length) bad(`${what} chunk lengths do not add up to its length`)
  if (depth > 0 && chunks.length === 0) bad(`${what} is indirect but lists no chunk`)
  return { depth, length, chunks }
}

function gzipHeader (v: CanonicalValue | undefined): Uint8Array {
  const header = bytes(v, undefined, 'gzip header')
  if (header.length < 10 || header.length > 65536 || header[0] !== 0x1f || header[1] !== 0x8b || header[2] !== 8) bad('gzip header must be 10 … 65536 bytes starting 1f 8b 08')
  return header
}

function decodeCompression (v: CanonicalValue): RecipeCompression {
  const a = arr(v, undefined, 'compression')
  switch (a[0]) {
    case 0:
      arr(v, 1, 'plain compression')
      return { kind: 'none' }
    case 1: {
      arr(v, 3, 'gzip compression')
      const header = gzipHeader(a[1])
      const d = arr(a[2]!, 5, 'deflate parameters')
      return {
        kind: 'gzip',
        header,
        deflate: {
          implementation: implementation(d[0]),
          level: int(d[1], 0, 9, 'deflate level'),
          windowBits: int(d[2], 8, 15, 'deflate windowBits'),
          memLevel: int(d[3], 1, 9, 'deflate memLevel'),
          strategy: int(d[4], 0, 4, 'deflate strategy')
        }
      }
    }
    case 2:
      arr(v, 3, 'zstd compression')
      return { kind: 'zstd', implementation: implementation(a[1]), level: int(a[2], 1, 22, 'zstd level') }
    case 3: {
      arr(v, 3, 'gzip compression')
      const header = gzipHeader(a[1])
      const d = arr(a[2]!, 3, 'block deflate parameters')
      const blockSize = int(d[2], 0, MAX_RECIPE_BLOCK_SIZE, 'deflate block size')
      if (blockSize !== 0 && blockSize <= 16384) bad('deflate block size must be 0 or more than 16384')
      return { kind: 'gzip-blocks', header, deflate: { implementation: implementation(d[0]), level: int(d[1], 1, 9, 'deflate level'), blockSize } }
    }
    default:
      return bad('unknown compression kind')
  }
}

/**
 * Decode and check a recipe. Throws `NonCanonicalError` (`ERR_NON_CANONICAL`)
 * for anything that is not a canonical, well-formed recipe.
 */
export function decodeRecipe (encoded: Uint8Array): LayerRecipe {
  const a = arr(decodeCanonical(encoded), 8, 'recipe')
  if (a[0] !== LAYER_RECIPE_TYPE) bad(`type must be ${LAYER_RECIPE_TYPE}`)
  if (a[1] !== LAYER_RECIPE_VERSION) bad(`version must be ${LAYER_RECIPE_VERSION}`)
  const recipe: LayerRecipe = {
    blobSize: size(a[2], 'blob size'),
    blobDigest: bytes(a[3], 32, 'blob digest'),
    compression: decodeCompression(a[4]!),
    tarSize: size(a[5], 'tar size'),
    meta: decodeStream(a[6]!, 'meta stream'),
    layout: decodeStream(a[7]!, 'layout stream')
  }
  if (recipe.compression.kind === 'none' && recipe.tarSize !== recipe.blobSize) bad('a plain tar recipe must have tarSize = blobSize')
  if (recipe.meta.length > recipe.tarSize) bad('meta stream longer than the tar')
  return recipe
}
