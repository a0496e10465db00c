/**
 * A pool of worker threads that frame objects for storage (zstd is the
 * most expensive step of an import, and zstd-codec runs on one thread).
 * Falls back to compressing on the calling thread when workers cannot be
 * started. Jobs go to the least busy worker.
 *
 * @module
 */
import { availableParallelism } from 'node:os'
import { Worker } from 'node:worker_threads'
import { StoreError } from '../errors.js'
import { encodeStored } from './stored-object.js'

/** Objects smaller than this are compressed on the calling thread. */
const WORKER_MIN_BYTES = 16 * 1024

interface Pending { resolve: (v: Uint8Array) => void, reject: (e: Error) => void }

interface Slot { worker: Worker, busy: number, ready: Promise<void> }

/** Options for {@link CompressPool}. */
export interface CompressPoolOptions {
  /** Worker threads; default: the number of CPUs. 0 compresses on the calling thread. */
  threads?: number
  /** zstd level (0 stores raw). */
  level: number
}

/** Frames objects for storage on worker threads. */
export class CompressPool {
  readonly #level: number
  readonly #threads: number
  readonly #slots: Slot[] = []
  readonly #pending = new Map<number, Pending>()
  #next = 1
  #closed = false

  constructor (options: CompressPoolOptions) {
    this.#level = options.level
    this.#threads = options.level === 0 ? 0 : Math.max(0, options.threads ?? availableParallelism())
  }

  /** Start the workers: lazily, on the first object big enough to need them. */
  #start (): void {
    for (let i = 0; i < this.#threads; i++) {
      const worker = new Worker(new URL('./compress-worker.js', import.meta.url))
      worker.unref()
      let markReady!: () => void
      const ready = new Promise<void>((resolve) => { markReady = resolve })
      const slot: Slot = { worker, busy: 0, ready }
      worker.on('message', (msg: { ready?: true, id?: number, stored?: Uint8Array, error?: string }) => {
        if (msg.ready === true) { markReady(); return }
        const job = this.#pending.get(msg.id!)
        if (job === undefined) return
        this.#pending.delete(msg.id!)
        slot.busy--
        if (msg.error !== undefined) job.reject(new StoreError(`compression failed: ${msg.error}`))
        else job.resolve(new Uint8Array(msg.stored!.buffer, msg.stored!.byteOffset, msg.stored!.byteLength))
      })
      worker.on('error', (err) => {
        for (const [id, job] of this.#pending) { job.reject(new StoreError(`compression worker failed: ${err.message}`, { cause: err })); this.#pending.delete(id) }
      })
      this.#slots.push(slot)
    }
  }

  /** The stored form of `bytes` (docs/FORMAT.md §6). `bytes` is copied; the caller keeps it. */
  async encode (bytes: Uint8Array): Promise<Uint8Array> {
    // Small objects cost less to compress here than to send to a worker.
    if (this.#threads === 0 || bytes.length < WORKER_MIN_BYTES) return encodeStored(bytes, { level: this.#level })
    if (this.#closed) throw new StoreError('the compression pool is closed')
    if (this.#slots.length === 0) this.#start()
    let slot = this.#slots[0]!
    for (const s of this.#slots) if (s.busy < slot.busy) slot = s
    slot.busy++
    await slot.ready
    const id = this.#next++
    const copy = bytes.slice()
    return await new Promise<Uint8Array>((resolve, reject) => {
      this.#pending.set(id, { resolve, reject })
      slot.worker.postMessage({ id, bytes: copy, level: this.#level }, [copy.buffer as ArrayBuffer])
    })
  }

  /** Stop the workers. */
  async close (): Promise<void> {
    this.#closed = true
    await Promise.all(this.#slots.map(async (s) => await s.worker.terminate()))
    this.#slots.length = 0
  }
}
