/**
 * How a verified blob file becomes a blob record body: decomposed into a
 * layer recipe when it is a layer whose bytes can be rebuilt exactly, else
 * kept whole as chunks. And the way back: its bytes, verified.
 *
 * @module
 */
import type { LevelObjectStore } from '../../store/level-store.js'
import type { ByteRange, OperationOptions } from '../types.js'
import type { BlobRecord } from './records.js'
import { readWholeBlob, storeWholeFile } from './whole-blob.js'

/** Store the verified blob in `path` and describe it (every field of its record but the owner). */
export async function storeBlobFile (store: LevelObjectStore, path: string, blob: { digest: string, size: number }, options: OperationOptions = {}): Promise<Omit<BlobRecord, 'owner'>> {
  void blob
  const whole = await storeWholeFile(store, path, options)
  return {
    size: blob.size,
    isLayer: false,
    storedBytes: whole.storedBytes,
    body: { storage: 'whole', chunks: whole.chunks, lengths: whole.lengths, reason: 'layer decomposition is not available' }
  }
}

/** The blob's bytes (or `range` of them), verified as {@link readWholeBlob} says. */
export function readBlob (store: LevelObjectStore, digest: string, record: BlobRecord, options: { range?: ByteRange, signal?: AbortSignal }): AsyncIterable<Uint8Array> {
  if (record.body.storage === 'whole') {
    return readWholeBlob(store, { digest, size: record.size, chunks: record.body.chunks, lengths: record.body.lengths }, options)
  }
  throw new Error('reproduced blobs are not readable yet')
}

/** The chunk digests a reproduced layer's recipe needs. */
export async function * recipeChunksOf (recipe: Uint8Array, store: LevelObjectStore): AsyncIterable<Uint8Array> {
  void recipe
  void store
  throw new Error('layer recipes are not readable yet')
}
