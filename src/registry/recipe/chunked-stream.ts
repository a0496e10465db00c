/**
 * Byte streams kept as FastCDC chunks in the store ({@link StreamRef}):
 * writing them (chunk, hash, store with a few writes in flight) and reading
 * them back in order, every chunk verified by the store, with skipping
 * that does not fetch chunks lying wholly before a position.
 *
 * @module
 */
import { createChunker } from '../../chunker/index.js'
import type { Chunker } from '../../chunker/index.js'
import { encodeCanonical } from '../../format/canonical.js'
import type { ChunkRef } from '../../format/entry.js'
import type { SnapshotParams } from '../../format/snapshot.js'
import { DEFAULT_SNAPSHOT_PARAMS } from '../../format/snapshot.js'
import { IntegrityError, throwIfAborted } from '../../errors.js'
import { sha256 } from '../../hash/index.js'
import type { ObjectStore } from '../../store/index.js'
import { CanonicalSequenceReader } from './canonical-sequence.js'
import type { RangeCursor } from './range.js'
import { STREAM_INLINE_REFS, STREAM_MAX_DEPTH, decodeChunkRef } from './recipe-fields.js'
import type { StreamRef } from './recipe-fields.js'

/** Chunk writes that may overlap (the store compresses on worker threads). */
const PUTS_IN_FLIGHT = 4

/** The chunker parameters of layers: tessera's defaults, so chunks are shared with `import`. */
export const LAYER_PARAMS: Readonly<SnapshotParams> = DEFAULT_SNAPSHOT_PARAMS

/** Hashes chunks and stores them, a few writes in flight, surfacing the first failure. */
export class ChunkSink {
  readonly #store: Pick<ObjectStore, 'putChunk'>
  readonly #inflight: Array<Promise<unknown>> = []
  /** Chunks handed to the store, and their bytes. */
  chunks = 0
  bytes = 0

  constructor (store: Pick<ObjectStore, 'putChunk'>) { this.#store = store }

  /** Hash and store one chunk; returns its reference at once (the write may still run). */
  async put (chunk: Uint8Array): Promise<ChunkRef> {
    const digest = sha256.digest(chunk)
    const p = this.#store.putChunk(digest, chunk)
    p.catch(() => {}) // awaited in order below
    this.#inflight.push(p)
    this.chunks++
    this.bytes += chunk.length
    if (this.#inflight.length >= PUTS_IN_FLIGHT) await this.#inflight.shift()
    return { digest, length: chunk.length }
  }

  /** Wait for every write. */
  async drain (): Promise<void> {
    while (this.#inflight.length > 0) await this.#inflight.shift()
  }
}

/** Writes one byte stream as chunks and returns its {@link StreamRef}. */
export class ChunkedStreamWriter {
  readonly #sink: ChunkSink
  readonly #chunker: Chunker = createChunker(LAYER_PARAMS)
  readonly #refs: ChunkRef[] = []
  #length = 0

  constructor (sink: ChunkSink) { this.#sink = sink }

  /** Bytes written so far. */
  get length (): number { return this.#length }

  async write (bytes: Uint8Array): Promise<void> {
    if (bytes.length === 0) return
    this.#length += bytes.length
    for (const c of this.#chunker.push(bytes)) this.#refs.push(await this.#sink.put(c))
  }

  /** End the stream; long reference lists are themselves written as chunks, one level down per 256 references. */
  async finish (): Promise<StreamRef> {
    for (const c of this.#chunker.finish()) this.#refs.push(await this.#sink.put(c))
    let refs = this.#refs
    let depth = 0
    while (refs.length > STREAM_INLINE_REFS) {
      const level = new ChunkedStreamWriter(this.#sink)
      for (const r of refs) await level.write(encodeCanonical([r.digest, r.length]))
      const inner = await level.#finishFlat()
      refs = inner
      depth++
    }
    return { depth, length: this.#length, chunks: refs }
  }

  async #finishFlat (): Promise<ChunkRef[]> {
    for (const c of this.#chunker.finish()) this.#refs.push(await this.#sink.put(c))
    return this.#refs
  }
}

type ChunkReader = Pick<ObjectStore, 'getChunk'>

async function getChunk (store: ChunkReader, ref: ChunkRef): Promise<Uint8Array> {
  const bytes = await store.getChunk(ref.digest)
  if (bytes.length !== ref.length) throw new IntegrityError(`chunk ${Buffer.from(ref.digest).toString('hex')} has ${bytes.length} bytes, the recipe says ${ref.length}`)
  return bytes
}

/**
 * The depth-0 chunk references of a stream, in order, reading (and
 * verifying) the index chunks of indirect levels.
 */
export async function * streamChunkRefs (store: ChunkReader, stream: StreamRef, signal?: AbortSignal): AsyncGenerator<ChunkRef> {
  if (stream.depth > STREAM_MAX_DEPTH) throw new IntegrityError('stream nested too deeply')
  if (stream.depth === 0) { yield * stream.chunks; return }
  yield * refsBelow(store, stream.chunks, stream.depth, signal)
}

async function * refsBelow (store: ChunkReader, refs: ChunkRef[], depth: number, signal: AbortSignal | undefined): AsyncGenerator<ChunkRef> {
  // refs are chunks of level `depth`; their bytes are the references of level depth-1
  const reader = new CanonicalSequenceReader()
  for (const r of refs) {
    throwIfAborted(signal)
    const below = reader.push(await getChunk(store, r)).map(decodeChunkRef)
    if (depth === 1) yield * below
    else yield * refsBelow(store, below, depth - 1, signal)
  }
  reader.finish()
}

/** Every chunk a stream uses: index chunks of indirect levels, then (or interleaved) its data chunks. */
export async function * streamAllChunks (store: ChunkReader, stream: StreamRef, signal?: AbortSignal): AsyncGenerator<ChunkRef> {
  if (stream.depth === 0) { yield * stream.chunks; return }
  yield * stream.chunks
  yield * allBelow(store, stream.chunks, stream.depth, signal)
}

async function * allBelow (store: ChunkReader, refs: ChunkRef[], depth: number, signal: AbortSignal | undefined): AsyncGenerator<ChunkRef> {
  const reader = new CanonicalSequenceReader()
  for (const r of refs) {
    throwIfAborted(signal)
    const below = reader.push(await getChunk(store, r)).map(decodeChunkRef)
    yield * below
    if (depth > 1) yield * allBelow(store, below, depth - 1, signal)
  }
  reader.finish()
}

/**
 * Sequential reader of a stream's bytes: `read(n)` yields the next `n`
 * bytes as pieces, `skip(n)` passes over them fetching only chunks it must
 * cut into. Chunks are fetched one at a time, each verified.
 */
export class ChunkedStreamReader {
  readonly #store: ChunkReader
  readonly #refs: AsyncGenerator<ChunkRef>
  readonly #signal: AbortSignal | undefined
  /** The current chunk's bytes (undefined when not fetched), its reference and our offset in it. */
  #bytes: Uint8Array | undefined
  #ref: ChunkRef | undefined
  #offset = 0

  constructor (store: ChunkReader, stream: StreamRef, signal?: AbortSignal) {
    this.#store = store
    this.#refs = streamChunkRefs(store, stream, signal)
    this.#signal = signal
  }

  async #current (): Promise<ChunkRef> {
    while (this.#ref === undefined || this.#offset >= this.#ref.length) {
      const next = await this.#refs.next()
      if (next.done === true) throw new IntegrityError('layer recipe: a stream ends before the bytes it must hold')
      this.#ref = next.value
      this.#bytes = undefined
      this.#offset = 0
    }
    return this.#ref
  }

  /** The next `n` bytes, as views into verified chunks. */
  async * read (n: number): AsyncGenerator<Uint8Array> {
    while (n > 0) {
      throwIfAborted(this.#signal)
      const ref = await this.#current()
      this.#bytes ??= await getChunk(this.#store, ref)
      const take = Math.min(n, ref.length - this.#offset)
      yield this.#bytes.subarray(this.#offset, this.#offset + take)
      this.#offset += take
      n -= take
    }
  }

  /** Pass over `n` bytes. */
  async skip (n: number): Promise<void> {
    while (n > 0) {
      const ref = await this.#current()
      const take = Math.min(n, ref.length - this.#offset)
      this.#offset += take
      n -= take
    }
  }

  /** Release the reference walk. */
  async close (): Promise<void> { await this.#refs.return(undefined) }
}

/**
 * A stream read in runs that sit at known positions of an output, of
 * which only some ranges are wanted: each run yields its bytes inside the
 * ranges, and passes over the others fetching only chunks it must cut
 * into. `pos` is the output position; the caller advances it past what
 * it outputs between runs.
 */
export class StreamRuns {
  pos = 0
  #used = 0
  readonly #reader: ChunkedStreamReader
  readonly #length: number
  readonly #wanted: RangeCursor
  readonly #what: string

  constructor (reader: ChunkedStreamReader, length: number, wanted: RangeCursor, what: string) {
    this.#reader = reader
    this.#length = length
    this.#wanted = wanted
    this.#what = what
  }

  /** Stream bytes not yet used. */
  get left (): number { return this.#length - this.#used }

  /** The next `n` bytes of the stream, at the output position, cut to the ranges. */
  async * run (n: number): AsyncGenerator<Uint8Array> {
    if (this.#used + n > this.#length) throw new IntegrityError(`${this.#what}: the layout needs more meta bytes than the meta stream has`)
    this.#used += n
    let done = 0
    for (const [from, to] of this.#wanted.cut(this.pos, n)) {
      await this.#reader.skip(from - done)
      yield * this.#reader.read(to - from)
      done = to
    }
    await this.#reader.skip(n - done)
    this.pos += n
  }
}
