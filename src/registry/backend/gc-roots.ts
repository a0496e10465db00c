/**
 * The chunks registry records keep alive, for `tessera gc` and `fsck`.
 * Loading this module registers {@link registryRootProvider} with the
 * maintenance root set, so every `gc` in a program that uses the registry
 * (or the package index, or the CLI) keeps what `tessera serve` stored.
 * It loads only what lists a recipe's chunks, not the compression ports.
 *
 * @module
 */
import { hasRecords } from '../../store/capability-guards.js'
import type { ChunkReader, RecordStore } from '../../store/index.js'
import { digestToString } from '../../hash/digest.js'
import { registerRootProvider, type RootProvider } from '../../maintenance/roots.js'
import { packRecipeChunks, recipeChunks } from '../recipe/recipe-chunks.js'
import { decodeBlobRecord, SUBLEVELS } from './records.js'

/**
 * Every chunk digest (32 bytes) a registry blob record needs: the chunk
 * lists of whole blobs and the chunks of every reproduced layer's recipe
 * and of every pack blob's pack recipe (duplicates are possible). `gc` MUST treat each as a root, besides the
 * chunks reachable from refs: deleting a registry blob or manifest only
 * removes records, and their chunks stay until a `gc` that no longer finds
 * them here. Call it on an open store while nothing writes registry
 * records, or take the roots after the deletions gc is meant to reclaim.
 */
export async function * registryChunkRoots (store: Pick<RecordStore, 'recordSublevel'> & ChunkReader): AsyncIterable<Uint8Array> {
  const blobs = store.recordSublevel(SUBLEVELS.blobs)
  for await (const value of blobs.values()) {
    const record = decodeBlobRecord(value as Uint8Array)
    if (record.body.storage === 'whole') {
      const chunks = record.body.chunks
      for (let at = 0; at < chunks.length; at += 32) yield chunks.slice(at, at + 32)
    } else if (record.body.storage === 'reproduced') {
      yield * recipeChunks(record.body.recipe, store)
    } else {
      yield * packRecipeChunks(record.body.recipe, store)
    }
  }
}

/** {@link registryChunkRoots} as a gc root provider, registered when this module loads. */
export const registryRootProvider: RootProvider = {
  name: 'registry blobs',
  async * roots (store) {
    // A store without record sublevels holds no registry records.
    if (!hasRecords(store)) return
    for await (const digest of registryChunkRoots(store)) yield { kind: 'chunk', digest: digestToString(digest) }
  }
}

registerRootProvider(registryRootProvider)
