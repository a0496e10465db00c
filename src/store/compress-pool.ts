/**
 * A pool of worker threads that frame objects for storage (zstd is the
 * most expensive step of an import, and zstd-codec runs on one thread).
 * Jobs go to the least busy live worker.
 *
 * A worker that fails (it cannot start, dies before it is ready, or dies
 * with jobs) is dropped: its jobs, and every later one when no worker is
 * left, are compressed on the calling thread instead. So `encode` always
 * settles: with the stored form, or with the error compressing it gave.
 *
 * @module
 */
import { availableParallelism } from 'node:os'
import { Worker } from 'node:worker_threads'
import { StoreError } from '../errors.js'
import { encodeStored } from './stored-object.js'

/** Objects smaller than this are compressed on the calling thread. */
const WORKER_MIN_BYTES = 16 * 1024

interface Job { bytes: Uint8Array, resolve: (v: Uint8Array) => void, reject: (e: Error) => void }

interface Slot {
  worker: Worker
  busy: number
  /** Resolves true once the worker is ready, false if it died first. */
  ready: Promise<boolean>
  /** Jobs sent to this worker and not answered yet. */
  jobs: Map<number, Job>
  dead: boolean
}

/** Options for {@link CompressPool}. */
export interface CompressPoolOptions {
  /** Worker threads; default: the number of CPUs. 0 compresses on the calling thread. */
  threads?: number
  /** zstd level (0 stores raw). */
  level: number
  /** @internal The workers' script (default `compress-worker.js`); tests give one that fails. */
  workerScript?: URL
}

/** Frames objects for storage on worker threads. */
export class CompressPool {
  readonly #level: number
  readonly #threads: number
  readonly #script: URL
  #slots: Slot[] = []
  #started = false
  #next = 1
  #closed = false

  constructor (options: CompressPoolOptions) {
    this.#level = options.level
    this.#threads = options.level === 0 ? 0 : Math.max(0, options.threads ?? availableParallelism())
    this.#script = options.workerScript ?? new URL('./compress-worker.js', import.meta.url)
  }

  /** Live workers (for tests and messages). */
  get workers (): number { return this.#slots.length }

  /** Start the workers: lazily, on the first object big enough to need them. */
  #start (): void {
    this.#started = true
    for (let i = 0; i < this.#threads; i++) {
      let worker: Worker
      try {
        worker = new Worker(this.#script)
      } catch {
        continue // cannot start one here: what it would have done runs on the calling thread
      }
      worker.unref()
      let markReady!: (ok: boolean) => void
      const ready = new Promise<boolean>((resolve) => { markReady = resolve })
      const slot: Slot = { worker, busy: 0, ready, jobs: new Map(), dead: false }
      worker.on('message', (msg: { ready?: true, id?: number, stored?: Uint8Array, error?: string }) => {
        if (msg.ready === true) { markReady(true); return }
        const job = slot.jobs.get(msg.id!)
        if (job === undefined) return
        slot.jobs.delete(msg.id!)
        slot.busy--
        if (slot.jobs.size === 0) worker.unref()
        if (msg.error !== undefined) job.reject(new StoreError(`compression failed: ${msg.error}`))
        else job.resolve(new Uint8Array(msg.stored!.buffer, msg.stored!.byteOffset, msg.stored!.byteLength))
      })
      const die = (): void => {
        if (slot.dead) return
        slot.dead = true
        markReady(false)
        this.#slots = this.#slots.filter((s) => s !== slot)
        // Its jobs are done here instead: the caller still holds their bytes.
        for (const job of slot.jobs.values()) this.#encodeHere(job.bytes).then(job.resolve, job.reject)
        slot.jobs.clear()
      }
      worker.on('error', die)
      worker.on('exit', die)
      this.#slots.push(slot)
    }
  }

  async #encodeHere (bytes: Uint8Array): Promise<Uint8Array> {
    return encodeStored(bytes, { level: this.#level })
  }

  /**
   * The stored form of `bytes` (docs/FORMAT.md §6). `bytes` is copied for
   * the worker; the caller keeps it and must not change it until this
   * settles (a worker that dies leaves it to be compressed here).
   */
  async encode (bytes: Uint8Array): Promise<Uint8Array> {
    // Small objects cost less to compress here than to send to a worker.
    if (this.#threads === 0 || bytes.length < WORKER_MIN_BYTES) return await this.#encodeHere(bytes)
    if (this.#closed) throw new StoreError('the compression pool is closed')
    if (!this.#started) this.#start()
    for (;;) {
      if (this.#slots.length === 0) return await this.#encodeHere(bytes)
      let slot = this.#slots[0]!
      for (const s of this.#slots) if (s.busy < slot.busy) slot = s
      slot.busy++
      if (!await slot.ready) continue // it died before it was ready: try another
      if (slot.dead) continue
      const id = this.#next++
      const copy = bytes.slice()
      return await new Promise<Uint8Array>((resolve, reject) => {
        slot.jobs.set(id, { bytes, resolve, reject })
        // Referenced while it has jobs: an idle pool must not keep the
        // process alive, but a caller waiting for a job must.
        slot.worker.ref()
        slot.worker.postMessage({ id, bytes: copy, level: this.#level }, [copy.buffer as ArrayBuffer])
      })
    }
  }

  /** Stop the workers. */
  async close (): Promise<void> {
    this.#closed = true
    const slots = this.#slots
    this.#slots = []
    for (const s of slots) {
      s.dead = true // their exit is expected: nothing falls back
      for (const job of s.jobs.values()) job.reject(new StoreError('the compression pool was closed with this object unfinished'))
      s.jobs.clear()
    }
    await Promise.all(slots.map(async (s) => await s.worker.terminate()))
  }
}
