/**
 * Verifying fetched chunks on worker threads: a pull's chunks are decoded
 * and hashed there (the main thread keeps receiving and storing), in
 * batches. A worker that cannot start or dies leaves its batches to be
 * verified on the calling thread, so `verify` always settles.
 *
 * @module
 */
import { availableParallelism } from 'node:os'
import { Worker } from 'node:worker_threads'
import { IntegrityError } from '../errors.js'
import { verifyStoredObject } from './verify-stored.js'

/** One stored object to verify. */
export interface VerifyItem {
  digest: Uint8Array
  length: number
  stored: Uint8Array
}

interface Job { items: VerifyItem[], resolve: () => void, reject: (e: Error) => void }

interface Slot { worker: Worker, busy: number, ready: Promise<boolean>, jobs: Map<number, Job>, dead: boolean }

function verifyHere (items: readonly VerifyItem[]): void {
  for (const item of items) {
    const problem = verifyStoredObject(item.digest, item.length, item.stored)
    if (problem !== undefined) throw new IntegrityError(problem)
  }
}

/** Verifies batches of fetched stored objects on worker threads. */
export class VerifyPool {
  readonly #threads: number
  #slots: Slot[] = []
  #started = false
  #next = 1

  /**
   * `threads` workers (default: one per CPU but one, which the calling
   * thread keeps busy receiving and storing; at least 1, at most 4; 0
   * verifies on the calling thread).
   */
  constructor (threads = Math.max(1, Math.min(4, availableParallelism() - 1))) {
    this.#threads = Math.max(0, threads)
  }

  /**
   * Start the workers now rather than at the first batch: a worker takes a
   * while to load, which a caller can overlap with other work (a pull
   * starts them before it fetches the metadata).
   */
  start (): void {
    if (!this.#started && this.#threads > 0) this.#start()
  }

  #start (): void {
    this.#started = true
    for (let i = 0; i < this.#threads; i++) {
      let worker: Worker
      try {
        worker = new Worker(new URL('./verify-worker.js', import.meta.url))
      } catch {
        continue
      }
      worker.unref()
      let markReady!: (ok: boolean) => void
      const ready = new Promise<boolean>((resolve) => { markReady = resolve })
      const slot: Slot = { worker, busy: 0, ready, jobs: new Map(), dead: false }
      worker.on('message', (msg: { ready?: true, id?: number, failed?: number, error?: string }) => {
        if (msg.ready === true) { markReady(true); return }
        const job = slot.jobs.get(msg.id!)
        if (job === undefined) return
        slot.jobs.delete(msg.id!)
        slot.busy--
        if (slot.jobs.size === 0) worker.unref()
        if (msg.error !== undefined) job.reject(new IntegrityError(msg.error))
        else job.resolve()
      })
      const die = (): void => {
        if (slot.dead) return
        slot.dead = true
        markReady(false)
        this.#slots = this.#slots.filter((s) => s !== slot)
        for (const job of slot.jobs.values()) {
          try { verifyHere(job.items); job.resolve() } catch (err) { job.reject(err as Error) }
        }
        slot.jobs.clear()
      }
      worker.on('error', die)
      worker.on('exit', die)
      this.#slots.push(slot)
    }
  }

  /** Resolves when every item decodes to its length and digest; rejects with `ERR_INTEGRITY` otherwise. */
  async verify (items: VerifyItem[]): Promise<void> {
    if (items.length === 0) return
    if (this.#threads === 0) { verifyHere(items); return }
    if (!this.#started) this.#start()
    for (;;) {
      if (this.#slots.length === 0) { verifyHere(items); return }
      let slot = this.#slots[0]!
      for (const s of this.#slots) if (s.busy < slot.busy) slot = s
      slot.busy++
      if (!await slot.ready || slot.dead) continue
      const id = this.#next++
      const digests = new Uint8Array(32 * items.length)
      items.forEach((item, i) => digests.set(item.digest, 32 * i))
      // Views of shared memory (how the registry client receives parts) go
      // as they are: the worker reads the same bytes, nothing is copied.
      // Others are copied back to back into one transferred buffer.
      let bytes: Uint8Array | Uint8Array[]
      const transfer: ArrayBuffer[] = [digests.buffer]
      if (items.every((item) => item.stored.buffer instanceof SharedArrayBuffer)) {
        bytes = items.map((item) => item.stored)
      } else {
        let total = 0
        for (const item of items) total += item.stored.length
        const packed = new Uint8Array(total)
        let at = 0
        for (const item of items) { packed.set(item.stored, at); at += item.stored.length }
        bytes = packed
        transfer.push(packed.buffer)
      }
      await new Promise<void>((resolve, reject) => {
        slot.jobs.set(id, { items, resolve, reject })
        slot.worker.ref()
        slot.worker.postMessage({ id, bytes, digests, storedLengths: items.map((x) => x.stored.length), lengths: items.map((x) => x.length) }, transfer)
      })
      return
    }
  }

  /** Stop the workers. */
  async close (): Promise<void> {
    const slots = this.#slots
    this.#slots = []
    for (const s of slots) s.dead = true
    await Promise.all(slots.map(async (s) => await s.worker.terminate()))
  }
}
