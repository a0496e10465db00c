/**
 * Fetching chunks from the pack blobs of a tessera image
 * (docs/FORMAT.md §11.5): the stored objects of the chunks asked for,
 * grouped by pack, one `getRanges` call per pack (the client coalesces
 * neighbouring ranges and sends multi-range GETs), a bounded number of
 * packs at once. Each stored object is decoded with the table's length
 * as its limit and hashed before it is handed on: a chunk that does not
 * match its digest is `ERR_INTEGRITY`.
 *
 * @module
 */
import { IntegrityError, TesseraError, throwIfAborted } from '../errors.js'
import { digestToString } from '../hash/digest.js'
import type { EncodedChunkWriter, ObjectWriter } from '../store/index.js'
import { hasEncodedChunkWrites } from '../store/capability-guards.js'
import { decodeStored } from '../store/stored-object.js'
import { Limiter } from '../util/limiter.js'
import type { ByteRange, RegistryRepository } from './client/types.js'
import type { ChunkLocation, SnapshotMetadata } from './metadata.js'

/** A verified chunk: its stored object (as the pack holds it) and its bytes. */
export interface FetchedChunk {
  digest: Uint8Array
  length: number
  stored: Uint8Array
  bytes: Uint8Array
}

/** Packs fetched from at once. */
export const DEFAULT_PACK_CONCURRENCY = 4
/** Chunks asked for in one `getRanges` call (bounds the memory of one call). */
const MAX_CHUNKS_PER_CALL = 4096

/** Decode and verify a stored object fetched for `digest`. */
export function verifyFetched (digest: Uint8Array, at: ChunkLocation, stored: Uint8Array): FetchedChunk {
  if (stored.length !== at.storedLength) throw new IntegrityError(`chunk ${digestToString(digest)}: the registry gave ${stored.length} bytes for a ${at.storedLength}-byte record`)
  const bytes = decodeStored(stored, digest, 'chunk', at.length)
  if (bytes.length !== at.length) throw new IntegrityError(`chunk ${digestToString(digest)} has ${bytes.length} bytes, the metadata says ${at.length}`)
  return { digest, length: at.length, stored, bytes }
}

/** Fetches chunks of one image. */
export class ChunkFetcher {
  readonly #repository: RegistryRepository
  readonly #metadata: SnapshotMetadata
  readonly #packs: Limiter

  constructor (repository: RegistryRepository, metadata: SnapshotMetadata, options: { packConcurrency?: number } = {}) {
    this.#repository = repository
    this.#metadata = metadata
    this.#packs = new Limiter(options.packConcurrency ?? DEFAULT_PACK_CONCURRENCY)
  }

  /**
   * Fetch `chunks` (digests the metadata lists) and call `onChunk` for each,
   * verified, in any order; resolves when all were handed on.
   */
  async fetch (chunks: Iterable<Uint8Array>, onChunk: (chunk: FetchedChunk) => Promise<void> | void, signal?: AbortSignal): Promise<void> {
    const byPack = new Map<number, Array<{ digest: Uint8Array, at: ChunkLocation }>>()
    for (const digest of chunks) {
      const at = this.#metadata.chunks.get(Buffer.from(digest).toString('latin1'))
      if (at === undefined) throw new IntegrityError(`chunk ${digestToString(digest)} is not in the image's chunk table`)
      let list = byPack.get(at.pack)
      if (list === undefined) { list = []; byPack.set(at.pack, list) }
      list.push({ digest, at })
    }
    const jobs: Array<Promise<void>> = []
    for (const [pack, list] of byPack) {
      list.sort((a, b) => a.at.offset - b.at.offset)
      for (let i = 0; i < list.length; i += MAX_CHUNKS_PER_CALL) {
        const part = list.slice(i, i + MAX_CHUNKS_PER_CALL)
        jobs.push(this.#packs.run(async () => await this.#fetchPack(pack, part, onChunk, signal)))
      }
    }
    const results = await Promise.allSettled(jobs)
    const failed = results.find((r): r is PromiseRejectedResult => r.status === 'rejected')
    if (failed !== undefined) throw failed.reason
  }

  async #fetchPack (pack: number, list: Array<{ digest: Uint8Array, at: ChunkLocation }>, onChunk: (chunk: FetchedChunk) => Promise<void> | void, signal: AbortSignal | undefined): Promise<void> {
    throwIfAborted(signal)
    const table = this.#metadata.packs[pack]!
    const byOffset = new Map<number, { digest: Uint8Array, at: ChunkLocation }>()
    const ranges: ByteRange[] = []
    for (const item of list) {
      byOffset.set(item.at.offset, item)
      ranges.push({ offset: item.at.offset, length: item.at.storedLength })
    }
    const digest = digestToString(table.digest)
    for await (const { range, bytes } of this.#repository.getRanges(digest, table.size, ranges, signal !== undefined ? { signal } : {})) {
      const item = byOffset.get(range.offset)
      if (item === undefined) continue
      byOffset.delete(range.offset)
      // A view on the answer's buffer: copied, so the stored object kept is only its own bytes.
      await onChunk(verifyFetched(item.digest, item.at, new Uint8Array(bytes)))
    }
    if (byOffset.size > 0) throw new TesseraError('ERR_REGISTRY_PROTOCOL', `pack ${digest}: the registry did not give ${byOffset.size} of the ranges asked for`)
  }
}

/** Write a verified fetched chunk in its stored form (or as bytes, for a store without encoded writes). */
export async function storeFetched (store: Pick<ObjectWriter, 'putChunk'> & Partial<EncodedChunkWriter>, chunk: FetchedChunk): Promise<void> {
  if (hasEncodedChunkWrites(store)) await store.putEncodedChunk(chunk.digest, chunk.length, chunk.stored)
  else await store.putChunk(chunk.digest, chunk.bytes)
}
