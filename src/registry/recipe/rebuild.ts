/**
 * Rebuilding a layer blob from its recipe: the tar stream from chunks,
 * compressed again where the blob was compressed, optionally only a byte
 * range. A full rebuild also checks the result against the blob digest
 * the recipe records and fails rather than end when it differs.
 *
 * @module
 */
import { IntegrityError, throwIfAborted } from '../../errors.js'
import { checkRange } from './range.js'
import { gzipBlocksStream, gzipStream, zstdStream } from '../../compression/index.js'
import { bytesEqual } from '../../hash/index.js'
import { sha256 } from '../../hash/index.js'
import type { ObjectStore } from '../../store/index.js'
import { decodeRecipe } from './recipe.js'
import type { LayerRecipe } from './recipe.js'
import { rebuildTar } from './layer-tar.js'

/** Options of {@link rebuildLayer}. */
export interface RebuildOptions {
  /** Half-open range `[start, end)` of blob bytes; default the whole blob. */
  range?: { start: number, end: number }
  signal?: AbortSignal
}

export { checkRange } from './range.js'

/** The whole blob's bytes, from the decoded recipe. */
function blobStream (recipe: LayerRecipe, store: Pick<ObjectStore, 'getChunk'>, signal: AbortSignal | undefined): AsyncIterable<Uint8Array> {
  const tar = rebuildTar(store, recipe, { signal })
  const c = recipe.compression
  switch (c.kind) {
    case 'none': return tar
    case 'gzip': return gzipStream(tar, c.header, c.deflate, signal)
    case 'gzip-blocks': return gzipBlocksStream(tar, c.header, c.deflate, signal)
    case 'zstd': return zstdStream(tar, recipe.tarSize, c.implementation, c.level, signal)
  }
}

/**
 * The blob's bytes, or those of `options.range`. Every chunk read is
 * verified by the store; a whole rebuild is hashed and throws
 * `IntegrityError` (`ERR_INTEGRITY`) at its end if it does not match the
 * recipe's digest. A range of a plain tar reads only the chunks it needs;
 * a range of a compressed blob is cut from the blob recreated from its start.
 */
export async function * rebuildRecipe (recipe: LayerRecipe, store: Pick<ObjectStore, 'getChunk'>, options: RebuildOptions = {}): AsyncGenerator<Uint8Array> {
  const { signal } = options
  const { start, end } = checkRange(options.range, recipe.blobSize)
  if (start === end) return
  if (recipe.compression.kind === 'none' && (start > 0 || end < recipe.blobSize)) {
    yield * rebuildTar(store, recipe, { start, end, signal })
    return
  }
  const hash = sha256.create()
  let pos = 0
  for await (const piece of blobStream(recipe, store, signal)) {
    throwIfAborted(signal)
    hash.update(piece)
    const pEnd = pos + piece.length
    if (pEnd > start && pos < end) yield piece.subarray(Math.max(0, start - pos), Math.min(piece.length, end - pos))
    pos = pEnd
    if (pos >= end && end < recipe.blobSize) return
  }
  if (pos !== recipe.blobSize || !bytesEqual(hash.digest(), recipe.blobDigest)) {
    throw new IntegrityError(`layer rebuilt from its recipe does not match its digest (${pos} bytes, expected ${recipe.blobSize})`)
  }
}

/** Rebuild from an encoded recipe (see {@link rebuildRecipe}); a malformed recipe throws `ERR_NON_CANONICAL`. */
export function rebuildLayer (recipe: Uint8Array, store: Pick<ObjectStore, 'getChunk'>, options: RebuildOptions = {}): AsyncIterable<Uint8Array> {
  const decoded = decodeRecipe(recipe)
  return rebuildRecipe(decoded, store, options)
}

/**
 * The uncompressed tar of an encoded recipe, from its chunks, without
 * recompressing (every chunk verified; the tar's own digest is the
 * caller's to check, e.g. against the image config's `diff_ids`).
 */
export function rebuildLayerTar (recipe: Uint8Array, store: Pick<ObjectStore, 'getChunk'>, options: { signal?: AbortSignal } = {}): AsyncIterable<Uint8Array> {
  return rebuildTar(store, decodeRecipe(recipe), options)
}
