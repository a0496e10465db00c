/**
 * Blobs kept whole: their bytes cut by FastCDC into chunks of the shared
 * chunk store (so identical blobs, and identical runs of bytes in different
 * blobs, are stored once), listed in order in the blob record. Reads fetch
 * and verify the chunks a range needs.
 *
 * @module
 */
import { createReadStream } from 'node:fs'
import { chunkStream } from '../../chunker/index.js'
import { IntegrityError, throwIfAborted } from '../../errors.js'
import { sha256 } from '../../hash/index.js'
import type { ChunkReader, MeasuredChunkWriter } from '../../store/index.js'
import type { ByteRange, OperationOptions } from '../types.js'

/** Chunk puts kept in flight at once (compression may run on worker threads). */
const PUT_WINDOW = 16
/** Chunk reads started ahead of the one being served. */
const READ_AHEAD = 4

/** The chunk list of a whole blob and the bytes newly written for it. */
export interface StoredChunks {
  chunks: Uint8Array
  lengths: number[]
  /** Stored size of the chunks this call wrote (those not present before). */
  storedBytes: number
}

/** Cut the file at `path` into chunks and store those not present. */
export async function storeWholeFile (store: MeasuredChunkWriter, path: string, options: OperationOptions = {}): Promise<StoredChunks> {
  const digests: Uint8Array[] = []
  const lengths: number[] = []
  let storedBytes = 0
  let done = 0
  const inflight = new Set<Promise<void>>()
  let failure: unknown
  const source = createReadStream(path, { highWaterMark: 1024 * 1024 })
  try {
    for await (const chunk of chunkStream(source as AsyncIterable<Uint8Array>, { signal: options.signal })) {
      const digest = sha256.digest(chunk)
      digests.push(digest)
      lengths.push(chunk.length)
      const put = store.putChunkMeasured(digest, chunk).then(
        (r) => { storedBytes += r.storedBytes; done += chunk.length; options.onProgress?.(done) },
        (err) => { failure ??= err }
      ).finally(() => { inflight.delete(put) })
      inflight.add(put)
      if (inflight.size >= PUT_WINDOW) await Promise.race(inflight)
      if (failure !== undefined) throw failure
    }
  } finally {
    source.destroy()
    await Promise.all(inflight)
  }
  if (failure !== undefined) throw failure
  const chunks = new Uint8Array(digests.length * 32)
  digests.forEach((d, i) => chunks.set(d, i * 32))
  return { chunks, lengths, storedBytes }
}

/** Read a chunk the record lists; a missing or wrong chunk is `ERR_INTEGRITY`. */
async function readChunk (store: ChunkReader, digest: Uint8Array, length: number, blob: string): Promise<Uint8Array> {
  let bytes: Uint8Array
  try {
    bytes = await store.getChunk(digest)
  } catch (err) {
    if ((err as { code?: string }).code === IntegrityError.code) throw err
    throw new IntegrityError(`a chunk of blob ${blob} cannot be read: ${(err as Error).message}`, { cause: err })
  }
  if (bytes.length !== length) throw new IntegrityError(`a chunk of blob ${blob} has ${bytes.length} bytes, not ${length}`)
  return bytes
}

/**
 * The bytes of a whole blob, or of `range`. Every chunk is verified by
 * the store; a full read also hashes the blob and, on a mismatch, throws
 * `ERR_INTEGRITY` instead of yielding its last piece. A ranged read cannot
 * check the blob's digest (it does not read every byte) but every chunk it
 * reads is verified against its own digest.
 */
export async function * readWholeBlob (
  store: ChunkReader,
  blob: { digest: string, size: number, chunks: Uint8Array, lengths: number[] },
  options: { range?: ByteRange, signal?: AbortSignal } = {}
): AsyncIterable<Uint8Array> {
  const start = options.range?.start ?? 0
  const end = options.range?.end ?? blob.size
  if (options.range !== undefined && start === end) return
  const hash = options.range === undefined ? sha256.create() : undefined
  // The chunks the range needs: [first, last).
  const wanted: Array<{ index: number, offset: number }> = []
  let offset = 0
  for (let i = 0; i < blob.lengths.length && offset < end; i++) {
    const length = blob.lengths[i]!
    if (offset + length > start) wanted.push({ index: i, offset })
    offset += length
  }
  const reads: Array<Promise<Uint8Array>> = []
  const startRead = (k: number): void => {
    const w = wanted[k]
    if (w === undefined) return
    const p = readChunk(store, blob.chunks.subarray(w.index * 32, w.index * 32 + 32), blob.lengths[w.index]!, blob.digest)
    p.catch(() => {}) // observed when awaited below
    reads.push(p)
  }
  for (let k = 0; k < READ_AHEAD; k++) startRead(k)
  let held: Uint8Array | undefined
  for (let k = 0; k < wanted.length; k++) {
    throwIfAborted(options.signal)
    const bytes = await reads[k]!
    startRead(k + READ_AHEAD)
    const w = wanted[k]!
    hash?.update(bytes)
    const piece = bytes.subarray(Math.max(0, start - w.offset), Math.min(bytes.length, end - w.offset))
    if (held !== undefined) yield held
    held = piece
  }
  if (hash !== undefined) {
    const actual = `sha256:${Buffer.from(hash.digest()).toString('hex')}`
    if (actual !== blob.digest) throw new IntegrityError(`blob ${blob.digest} read from the store has digest ${actual}`)
  }
  if (held !== undefined && held.length > 0) yield held
}
