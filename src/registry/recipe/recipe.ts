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
import { decodeStreamRef, encodeStreamRef, fieldChecks, type StreamRef } from './recipe-fields.js'
import type { BlockDeflateParams, DeflateParams } from '../../compression/params.js'

export type { BlockDeflateParams, DeflateParams }

/** Type number of a layer recipe (trees are 1, snapshots 2). */
export const LAYER_RECIPE_TYPE = 3
/** Version of the layer recipe encoding. */
export const LAYER_RECIPE_VERSION = 1

export { STREAM_INLINE_REFS, STREAM_MAX_DEPTH, decodeChunkRef, type StreamRef } from './recipe-fields.js'

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
  return encodeCanonical([LAYER_RECIPE_TYPE, LAYER_RECIPE_VERSION, r.blobSize, r.blobDigest, encodeCompression(r.compression), r.tarSize, encodeStreamRef(r.meta), encodeStreamRef(r.layout)])
}

const layerFields = fieldChecks('layer recipe')
const { bad, arr, int, size, bytes } = layerFields

function implementation (v: CanonicalValue | undefined): string {
  const s = new TextDecoder().decode(bytes(v, undefined, 'implementation'))
  if (!IMPLEMENTATION_RE.test(s)) bad('implementation must be 1–64 printable ASCII characters')
  return s
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
    meta: decodeStreamRef(a[6]!, 'meta stream', layerFields),
    layout: decodeStreamRef(a[7]!, 'layout stream', layerFields)
  }
  if (recipe.compression.kind === 'none' && recipe.tarSize !== recipe.blobSize) bad('a plain tar recipe must have tarSize = blobSize')
  if (recipe.meta.length > recipe.tarSize) bad('meta stream longer than the tar')
  return recipe
}
