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
import { Limiter } from '../util/limiter.js'
import type { ByteRange, RegistryRepository } from './client/types.js'
import type { ChunkLocation, SnapshotMetadata } from './metadata.js'
import type { VerifyPool } from './verify-pool.js'
import { decodeFetched } from './verify-stored.js'

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

/** Check the length of a stored object fetched for `digest`. */
function checkLength (digest: Uint8Array, at: ChunkLocation, stored: Uint8Array): void {
  if (stored.length !== at.storedLength) throw new IntegrityError(`chunk ${digestToString(digest)}: the registry gave ${stored.length} bytes for a ${at.storedLength}-byte record`)
}

/** Decode and verify a stored object fetched for `digest`. */
export function verifyFetched (digest: Uint8Array, at: ChunkLocation, stored: Uint8Array): FetchedChunk {
  checkLength(digest, at, stored)
  const bytes = decodeFetched(digest, at.length, stored)
  // A raw record decodes to a view of what the client received, which is
  // shared memory: readers get bytes of their own (TextDecoder, for one,
  // refuses shared views), not a view pinning the whole response part.
  return { digest, length: at.length, stored, bytes: bytes.buffer instanceof SharedArrayBuffer ? bytes.slice() : bytes }
}

/** A verified chunk without its decoded bytes (verified on a worker). */
export type VerifiedStored = Omit<FetchedChunk, 'bytes'>

/** Stored bytes per batch sent to a verifying worker. */
const VERIFY_BATCH_BYTES = 1024 * 1024
/** Batches of one pack being verified at once. */
const VERIFY_BATCHES_IN_FLIGHT = 8

type Item = { digest: Uint8Array, at: ChunkLocation }

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
   * verified and decoded, in any order; resolves when all were handed on.
   */
  async fetch (chunks: Iterable<Uint8Array>, onChunk: (chunk: FetchedChunk) => Promise<void> | void, signal?: AbortSignal): Promise<void> {
    await this.#each(chunks, signal, async (pack, list) => {
      for await (const { item, stored } of this.#ranges(pack, list, signal)) await onChunk(verifyFetched(item.digest, item.at, stored))
    })
  }

  /**
   * Fetch `chunks` and hand them on in batches once `pool` has verified
   * them (decoded and hashed on its workers), without their decoded bytes:
   * for a pull, which stores the stored objects as they are.
   */
  async fetchVerified (chunks: Iterable<Uint8Array>, pool: VerifyPool, onBatch: (batch: VerifiedStored[]) => Promise<void> | void, signal?: AbortSignal): Promise<void> {
    await this.#each(chunks, signal, async (pack, list) => {
      const inFlight = new Set<Promise<void>>()
      let failure: unknown
      const submit = async (batch: VerifiedStored[]): Promise<void> => {
        const p: Promise<void> = pool.verify(batch).then(async () => await onBatch(batch))
        const tracked = p.catch((err) => { failure ??= err }).finally(() => inFlight.delete(tracked))
        inFlight.add(tracked)
        while (inFlight.size >= VERIFY_BATCHES_IN_FLIGHT) await Promise.race(inFlight)
        if (failure !== undefined) throw failure
      }
      let batch: VerifiedStored[] = []
      let bytes = 0
      for await (const { item, stored } of this.#ranges(pack, list, signal)) {
        checkLength(item.digest, item.at, stored)
        batch.push({ digest: item.digest, length: item.at.length, stored })
        bytes += stored.length
        if (bytes >= VERIFY_BATCH_BYTES) { await submit(batch); batch = []; bytes = 0 }
      }
      if (batch.length > 0) await submit(batch)
      await Promise.all(inFlight)
      if (failure !== undefined) throw failure
    })
  }

  /** Group `chunks` by pack and run `job` on each group (bounded), failing with the first error. */
  async #each (chunks: Iterable<Uint8Array>, signal: AbortSignal | undefined, job: (pack: number, list: Item[]) => Promise<void>): Promise<void> {
    const byPack = new Map<number, Item[]>()
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
        jobs.push(this.#packs.run(async () => { throwIfAborted(signal); await job(pack, part) }))
      }
    }
    const results = await Promise.allSettled(jobs)
    const failed = results.find((r): r is PromiseRejectedResult => r.status === 'rejected')
    if (failed !== undefined) throw failed.reason
  }

  /** The stored objects of `list` (chunks of pack `pack`), as the registry gives them, each once. */
  async * #ranges (pack: number, list: Item[], signal: AbortSignal | undefined): AsyncGenerator<{ item: Item, stored: Uint8Array }> {
    const table = this.#metadata.packs[pack]!
    const byOffset = new Map<number, Item>()
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
      yield { item, stored: bytes }
    }
    if (byOffset.size > 0) throw new TesseraError('ERR_REGISTRY_PROTOCOL', `pack ${digest}: the registry did not give ${byOffset.size} of the ranges asked for`)
  }
}

/** Write a verified fetched chunk in its stored form (or decoded, for a store without encoded writes). */
export async function storeFetched (store: Pick<ObjectWriter, 'putChunk'> & Partial<EncodedChunkWriter>, chunk: VerifiedStored & { bytes?: Uint8Array }): Promise<void> {
  if (hasEncodedChunkWrites(store)) await store.putEncodedChunk(chunk.digest, chunk.length, chunk.stored)
  else await store.putChunk(chunk.digest, chunk.bytes ?? decodeFetched(chunk.digest, chunk.length, chunk.stored))
}
