/**
 * Storing file contents on worker threads (see content-worker.ts): the
 * CPU work of an import — reading, chunking, hashing, compressing — runs
 * on every core while the main thread walks the tree and writes the store.
 * Chunks a worker could not prove new come back raw and go through the
 * store's normal dedup check.
 *
 * @module
 */
import { availableParallelism } from 'node:os'
import { Worker } from 'node:worker_threads'
import { UnreadableSourceError } from '../errors.js'
import type { ChunkRef } from '../format/entry.js'
import type { SnapshotParams } from '../format/snapshot.js'
import { printable } from '../format/names.js'
import type { EncodedChunkWriter, ObjectWriter } from '../store/index.js'
import { DEFAULT_COMPRESSION_LEVEL } from '../store/stored-object.js'
import type { ContentChunk, ContentJob, ContentReply } from './content-worker.js'
import type { StoredContent } from '../content/file-content.js'

interface Job {
  chunks: ChunkRef[]
  newChunks: number
  newBytes: number
  puts: Array<Promise<void>>
  batchesSeen: number
  resolve: (v: StoredContent) => void
  reject: (e: unknown) => void
  path: Uint8Array
  onBytes: ((n: number) => void) | undefined
  /** What it adds to its slot's `busy`. */
  weight: number
}

/** A worker and the bytes of the files it has been given and not finished (plus a file's fixed cost). */
interface Slot { worker: Worker, acks: Int32Array, busy: number, ready: Promise<void> }

/** What a file costs a worker beyond its bytes (open, close, messages), in bytes of reading. */
const FILE_COST = 64 * 1024

/** The store operations the pool needs: chunks compressed by the workers, and raw ones. */
export type ContentStore = Pick<ObjectWriter, 'putChunk'> & Pick<EncodedChunkWriter, 'putEncodedChunk' | 'chunkFilter'>

/** File-content workers bound to one store and one set of params. */
export class ContentPool {
  readonly #slots: Slot[] = []
  readonly #jobs = new Map<number, Job>()
  readonly #store: ContentStore
  readonly #params: SnapshotParams
  readonly #level: number
  /** Settles once every worker has the store's chunk filter; jobs wait for it. */
  #filtered: Promise<void> = Promise.resolve()
  #next = 1

  private constructor (store: ContentStore, params: SnapshotParams, level: number) {
    this.#store = store
    this.#params = params
    this.#level = level
  }

  /**
   * Start `threads` workers (default: one per CPU plus one: workers also
   * wait for reads). Returns at once: the workers boot (load wasm, zstd)
   * while the store builds its chunk filter, and jobs given meanwhile wait
   * for both.
   */
  static start (store: ContentStore, params: SnapshotParams, options: { threads?: number, level?: number } = {}): ContentPool {
    const pool = new ContentPool(store, params, options.level ?? DEFAULT_COMPRESSION_LEVEL)
    const threads = Math.max(1, options.threads ?? availableParallelism() + 1)
    for (let i = 0; i < threads; i++) {
      const acks = new Int32Array(new SharedArrayBuffer(4))
      const worker = new Worker(new URL('./content-worker.js', import.meta.url), {
        workerData: { acks: acks.buffer },
        // A worker only streams buffers: a small young generation keeps its heap (and RSS) small.
        resourceLimits: { maxYoungGenerationSizeMb: 8 }
      })
      let markReady!: () => void
      const ready = new Promise<void>((resolve) => { markReady = resolve })
      const slot: Slot = { worker, acks, busy: 0, ready }
      worker.on('message', (msg: ContentReply | { ready: true }) => {
        if ('ready' in msg) { markReady(); return }
        pool.#onReply(slot, msg)
      })
      worker.on('error', (err) => { for (const job of pool.#jobs.values()) job.reject(err); pool.#jobs.clear() })
      pool.#slots.push(slot)
    }
    pool.#filtered = store.chunkFilter().then((filter) => {
      for (const slot of pool.#slots) slot.worker.postMessage({ filter: filter.buffer })
    })
    pool.#filtered.catch(() => {}) // a failure reaches every job
    return pool
  }

  #onReply (slot: Slot, msg: ContentReply): void {
    const job = this.#jobs.get(msg.id)
    if (job === undefined) return
    if ('error' in msg) {
      this.#jobs.delete(msg.id)
      slot.busy -= job.weight
      job.reject(new UnreadableSourceError(`cannot read ${printable(job.path)}${msg.code !== undefined ? ` (${msg.code})` : ''}: ${msg.error}`))
      return
    }
    if ('chunks' in msg) {
      const puts = msg.chunks.map((c) => this.#take(job, c))
      job.batchesSeen++
      // Acknowledge the batch once the store has taken its chunks: a worker
      // runs ahead by a few batches at most, so when the store is slower
      // than reading (LevelDB compacting), memory does not grow.
      const batch = msg.batch
      const ack = (): void => {
        if (this.#jobs.get(msg.id) !== job || Atomics.load(slot.acks, 0) >= batch) return
        Atomics.store(slot.acks, 0, batch)
        Atomics.notify(slot.acks, 0)
      }
      Promise.all(puts).then(ack, ack)
      return
    }
    this.#jobs.delete(msg.id)
    slot.busy -= job.weight
    Atomics.store(slot.acks, 0, 0)
    if (msg.inline !== undefined) {
      job.onBytes?.(msg.size)
      job.resolve({ size: msg.size, content: new Uint8Array(msg.inline), newChunks: 0, newBytes: 0 })
      return
    }
    Promise.all(job.puts).then(
      () => job.resolve({ size: msg.size, content: job.chunks, newChunks: job.newChunks, newBytes: job.newBytes }),
      job.reject
    )
  }

  #take (job: Job, c: ContentChunk): Promise<void> {
    const digest = new Uint8Array(c.digest)
    job.chunks.push({ digest, length: c.length })
    const put = c.stored !== undefined
      ? this.#store.putEncodedChunk(digest, c.length, c.stored)
      : this.#store.putChunk(digest, c.raw!)
    const p = put.then((r) => {
      if (r === 'stored') { job.newChunks++; job.newBytes += c.length }
      job.onBytes?.(c.length)
    })
    p.catch(() => {})
    job.puts.push(p)
    return p
  }

  /**
   * Store the content of the regular file at `path` (bytes), about `size`
   * bytes long: it goes to the worker with the fewest bytes still to do.
   * `onBytes` is called as the store takes each chunk (and once for inline
   * content), so progress follows a big file as it is stored.
   */
  async store (path: Uint8Array, size: number, onBytes?: (n: number) => void): Promise<StoredContent> {
    let slot = this.#slots[0]!
    for (const s of this.#slots) if (s.busy < slot.busy) slot = s
    const weight = size + FILE_COST
    slot.busy += weight
    try {
      await this.#filtered
    } catch (err) {
      slot.busy -= weight
      throw err
    }
    await slot.ready
    const id = this.#next++
    const { min, avg, max, inlineMax } = this.#params
    return await new Promise<StoredContent>((resolve, reject) => {
      this.#jobs.set(id, { chunks: [], newChunks: 0, newBytes: 0, puts: [], batchesSeen: 0, resolve, reject, path, onBytes, weight })
      const job: ContentJob = { id, path, min, avg, max, inlineMax, level: this.#level }
      slot.worker.postMessage(job)
    })
  }

  /** Stop the workers. */
  async close (): Promise<void> {
    await Promise.all(this.#slots.map(async (s) => await s.worker.terminate()))
  }
}
