/**
 * The chunks a layer or pack recipe needs, without what rebuilds its
 * compression: gc and fsck list them for every registry blob, and must not
 * load the deflate ports to do so.
 *
 * @module
 */
import type { ChunkRef } from '../../format/entry.js'
import type { ChunkReader } from '../../store/index.js'
import { streamAllChunks } from './chunked-stream.js'
import { layoutRecords } from './layer-tar.js'
import { decodeRecipe } from './recipe.js'
import { decodePackRecipe, packLayoutRecords } from './pack-recipe.js'

/**
 * Every chunk digest an encoded recipe needs, for gc and fsck: the meta
 * and layout streams' chunks (index levels included) and every content
 * chunk. A digest may be listed more than once. Reads (and verifies) the
 * index and layout chunks, so a missing one throws `ERR_NOT_FOUND`.
 */
export async function * recipeChunks (recipe: Uint8Array, store: ChunkReader, options: { signal?: AbortSignal } = {}): AsyncGenerator<Uint8Array> {
  const r = decodeRecipe(recipe)
  const digests = async function * (refs: AsyncIterable<ChunkRef>): AsyncGenerator<Uint8Array> {
    for await (const ref of refs) yield ref.digest
  }
  yield * digests(streamAllChunks(store, r.meta, options.signal))
  yield * digests(streamAllChunks(store, r.layout, options.signal))
  for await (const { chunk } of layoutRecords(store, r.layout, options.signal)) yield chunk.digest
}

/**
 * Every chunk digest an encoded pack recipe needs, for gc and fsck: the
 * meta and layout streams' chunks (index levels included) and the chunk
 * of every layout record. Reads (and verifies) the index and layout
 * chunks, so a missing one throws `ERR_NOT_FOUND`.
 */
export async function * packRecipeChunks (recipe: Uint8Array, store: ChunkReader, options: { signal?: AbortSignal } = {}): AsyncGenerator<Uint8Array> {
  const r = decodePackRecipe(recipe)
  for await (const ref of streamAllChunks(store, r.meta, options.signal)) yield ref.digest
  for await (const ref of streamAllChunks(store, r.layout, options.signal)) yield ref.digest
  for await (const record of packLayoutRecords(store, r.layout, options.signal)) yield record.digest
}
