/**
 * A bounded cache of decoded, verified chunks in front of a
 * {@link SnapshotSource}, so that a warm file is read from memory rather
 * than with a store round trip per read (the kernel's reads are 128 KiB
 * to 1 MiB and do not line up with chunks: each chunk is asked for by
 * about two reads). Concurrent requests for one chunk share one fetch, and
 * at most `maxInFlight` fetches run at once, reads before read-ahead
 * (`warm`) when they queue. A fetch that fails (a chunk
 * that does not verify, a lost connection) is not cached: the next read
 * tries again.
 *
 * @module
 */
import type { RefRecord } from '../format/ref.js'
import { Limiter } from '../util/limiter.js'
import type { SnapshotSource } from '../store/index.js'

/** Default bytes of decoded chunks kept. */
export const DEFAULT_CACHE_BYTES = 64 * 1024 * 1024
/** Default chunk fetches running at once. */
export const DEFAULT_MAX_IN_FLIGHT = 16

/** Options for {@link ChunkCache}. */
export interface ChunkCacheOptions {
  /** Bytes of decoded chunks kept (least recently used go first). Default {@link DEFAULT_CACHE_BYTES}. */
  maxBytes?: number
  /** Chunk fetches running at once. Default {@link DEFAULT_MAX_IN_FLIGHT}. */
  maxInFlight?: number
}

/** Counters of a {@link ChunkCache}. */
export interface ChunkCacheStats {
  /** Chunks served from memory (or from a fetch already running). */
  hits: number
  /** Chunks fetched from the source. */
  fetches: number
  /** Fetches that failed. */
  failures: number
  /** Decoded bytes held now. */
  bytes: number
}

/** A fetch on its way, at a priority; `started` once it holds a slot of the limiter. */
interface InFlight { started: boolean, priority: number, promise: Promise<Uint8Array> }

/** Limiter priorities: a read someone waits for goes before read-ahead. */
const READ = 1
const READ_AHEAD = 0

const key = (d: Uint8Array): string => Buffer.from(d.buffer, d.byteOffset, d.byteLength).toString('latin1')

/** A {@link SnapshotSource} that keeps recently read chunks in memory. */
export class ChunkCache implements SnapshotSource {
  readonly #source: SnapshotSource
  readonly #maxBytes: number
  readonly #limiter: Limiter
  readonly #chunks = new Map<string, Uint8Array>()
  readonly #inFlight = new Map<string, InFlight>()
  readonly #stats: ChunkCacheStats = { hits: 0, fetches: 0, failures: 0, bytes: 0 }

  constructor (source: SnapshotSource, options: ChunkCacheOptions = {}) {
    this.#source = source
    this.#maxBytes = options.maxBytes ?? DEFAULT_CACHE_BYTES
    if (!Number.isSafeInteger(this.#maxBytes) || this.#maxBytes < 0) throw new RangeError(`maxBytes must be a non-negative integer, got ${this.#maxBytes}`)
    this.#limiter = new Limiter(options.maxInFlight ?? DEFAULT_MAX_IN_FLIGHT)
  }

  get stats (): ChunkCacheStats { return { ...this.#stats } }

  async getChunk (digest: Uint8Array): Promise<Uint8Array> { return await this.#get(digest, READ) }

  /**
   * Start fetching a chunk that will probably be read soon, behind every
   * read waiting for a slot; nothing happens if it is held or on its way.
   * A failure is not reported here: the read that needs the chunk fetches
   * it again and fails itself.
   */
  warm (digest: Uint8Array): void {
    const k = key(digest)
    if (this.#chunks.has(k) || this.#inFlight.has(k)) return
    this.#get(digest, READ_AHEAD).catch(() => {})
  }

  async #get (digest: Uint8Array, priority: number): Promise<Uint8Array> {
    const k = key(digest)
    const hit = this.#chunks.get(k)
    if (hit !== undefined) {
      this.#chunks.delete(k)
      this.#chunks.set(k, hit)
      this.#stats.hits++
      return hit
    }
    const running = this.#inFlight.get(k)
    // Join a fetch that runs or queues at this priority or above; a read
    // does not wait behind a read-ahead that still queues for a slot.
    if (running !== undefined && (running.started || running.priority >= priority)) { this.#stats.hits++; return await running.promise }
    const fetch: InFlight = { started: false, priority, promise: Promise.resolve(new Uint8Array(0)) }
    fetch.promise = (async () => {
      const got = await this.#limiter.run(async (): Promise<Uint8Array | InFlight> => {
        fetch.started = true
        const held = this.#chunks.get(k)
        if (held !== undefined) return held
        // A read superseded this read-ahead while it queued: join that
        // fetch, after giving the slot back (it may be waiting for one).
        const other = this.#inFlight.get(k)
        if (other !== undefined && other !== fetch) return other
        this.#stats.fetches++
        try {
          const bytes = await this.#source.getChunk(digest)
          this.#keep(k, bytes)
          return bytes
        } catch (err) {
          this.#stats.failures++
          throw err
        }
      }, priority)
      return got instanceof Uint8Array ? got : await got.promise
    })()
    this.#inFlight.set(k, fetch)
    try {
      return await fetch.promise
    } finally {
      if (this.#inFlight.get(k) === fetch) this.#inFlight.delete(k)
    }
  }

  async getTree (digest: Uint8Array): Promise<Uint8Array> { return await this.#source.getTree(digest) }
  async getSnapshot (digest: Uint8Array): Promise<Uint8Array> { return await this.#source.getSnapshot(digest) }
  async getRef (name: string): Promise<RefRecord | undefined> { return await this.#source.getRef(name) }

  #keep (k: string, bytes: Uint8Array): void {
    if (bytes.length > this.#maxBytes || this.#chunks.has(k)) return
    this.#chunks.set(k, bytes)
    this.#stats.bytes += bytes.length
    for (const [old, b] of this.#chunks) {
      if (this.#stats.bytes <= this.#maxBytes) break
      this.#chunks.delete(old)
      this.#stats.bytes -= b.length
    }
  }
}
