/**
 * Worker threads that write an export's files (file-writer-worker.ts).
 * The main thread walks the snapshot, creates directories and links, and
 * reads chunks from the store in their stored form; the workers decode and
 * verify them and make the filesystem calls. Restoring is then spread over
 * every core instead of being bound by the main thread.
 *
 * @module
 */
import { availableParallelism } from 'node:os'
import { Worker } from 'node:worker_threads'
import { ExportError, IntegrityError, NonCanonicalError, TesseraError } from '../errors.js'
import { printable } from '../format/names.js'
import { batchWeight, type FinalAttrs, type ModeItem, type OwnerItem, type WritePieces, type WriterReply, type WriterRequest } from './file-writer-protocol.js'

/** Stored bytes sent to workers and not yet written, at most. */
const MAX_IN_FLIGHT = 64 * 1024 * 1024
/** Owner or mode items per message. */
const ATTR_BATCH = 512

interface Slot { worker: Worker, inFlight: number, ready: Promise<void> }
interface Waiter { resolve: () => void, reject: (e: Error) => void }

function toError (reply: { error: string, code?: string, path?: Uint8Array }): Error {
  const where = reply.path !== undefined ? `${printable(reply.path)}: ` : ''
  if (reply.code === IntegrityError.code) return new IntegrityError(reply.error)
  if (reply.code === NonCanonicalError.code) return new NonCanonicalError(reply.error)
  if (reply.code?.startsWith('ERR_') === true) return new TesseraError(reply.code, reply.error)
  const cause = Object.assign(new Error(reply.error), reply.code !== undefined ? { code: reply.code } : {})
  return new ExportError(`cannot export ${where}${reply.error}`, { cause })
}

/** A pool of file-writer workers for one export. */
export class FileWriterPool {
  readonly #slots: Slot[] = []
  readonly #waiting = new Map<number, Waiter>()
  readonly #roomWaiters: Array<() => void> = []
  #next = 1
  #inFlight = 0
  #failed: Error | undefined

  private constructor () {}

  /** Start `threads` workers (default: one per CPU). */
  static start (threads = availableParallelism()): FileWriterPool {
    const pool = new FileWriterPool()
    for (let i = 0; i < Math.max(1, threads); i++) pool.#spawn()
    return pool
  }

  #spawn (): void {
    const worker = new Worker(new URL('./file-writer-worker.js', import.meta.url))
    let markReady!: () => void
    const slot: Slot = { worker, inFlight: 0, ready: new Promise<void>((resolve) => { markReady = resolve }) }
    worker.on('message', (msg: WriterReply | { ready: true }) => {
      if ('ready' in msg) { markReady(); return }
      if ('written' in msg && msg.written !== undefined) {
        slot.inFlight -= msg.written
        this.#inFlight -= msg.written
        while (this.#inFlight < MAX_IN_FLIGHT && this.#roomWaiters.length > 0) this.#roomWaiters.shift()!()
        if (!('done' in msg) && !('error' in msg)) return
      }
      const waiter = this.#waiting.get(msg.id)
      if (waiter === undefined) return
      this.#waiting.delete(msg.id)
      if ('error' in msg) waiter.reject(toError(msg))
      else waiter.resolve()
    })
    worker.on('error', (err) => {
      this.#failed = new ExportError(`a file-writer worker failed: ${err.message}`, { cause: err })
      for (const w of this.#waiting.values()) w.reject(this.#failed)
      this.#waiting.clear()
      for (const r of this.#roomWaiters.splice(0)) r()
    })
    this.#slots.push(slot)
  }

  #post (slot: Slot, req: WriterRequest, transfer: ArrayBuffer[] = []): void {
    if (this.#failed !== undefined) throw this.#failed
    slot.worker.postMessage(req, transfer)
  }

  #expect (id: number): Promise<void> {
    return new Promise<void>((resolve, reject) => { this.#waiting.set(id, { resolve, reject }) })
  }

  async #room (): Promise<void> {
    while (this.#inFlight >= MAX_IN_FLIGHT && this.#failed === undefined) {
      await new Promise<void>((resolve) => this.#roomWaiters.push(resolve))
    }
    if (this.#failed !== undefined) throw this.#failed
  }

  #leastBusy (): Slot {
    let slot = this.#slots[0]!
    for (const s of this.#slots) if (s.inFlight < slot.inFlight) slot = s
    return slot
  }

  /**
   * Create the file `path` (O_EXCL, O_NOFOLLOW, mode 0600) and write the
   * pieces `source` yields, in order, then give it `attrs` if set.
   * Resolves once the file is closed.
   */
  async writeFile (path: Uint8Array, source: AsyncIterable<WritePieces>, attrs?: FinalAttrs): Promise<void> {
    const slot = this.#leastBusy()
    await slot.ready
    const id = this.#next++
    const done = this.#expect(id)
    done.catch(() => {}) // awaited below
    // Most files are one batch: they go as one `file` message (open, write,
    // close) instead of three. Reading one batch ahead tells which.
    const batches = source[Symbol.asyncIterator]()
    let current = await batches.next()
    let ahead = current.done === true ? current : await batches.next()
    if (ahead.done === true) {
      const extra = attrs !== undefined ? { attrs } : {}
      if (current.done === true) {
        this.#post(slot, { op: 'file', id, path, ...extra })
      } else {
        await this.#room()
        this.#charge(slot, current.value)
        this.#post(slot, { op: 'file', id, path, ...current.value, ...extra })
      }
      await done
      return
    }
    this.#post(slot, { op: 'open', id, path })
    try {
      while (current.done !== true) {
        await this.#room()
        this.#charge(slot, current.value)
        this.#post(slot, { op: 'write', id, ...current.value })
        current = ahead
        if (current.done !== true) ahead = await batches.next()
      }
      this.#post(slot, { op: 'close', id, ...(attrs !== undefined ? { attrs } : {}) })
    } catch (err) {
      this.#post(slot, { op: 'close', id })
      throw err
    }
    await done
  }

  #charge (slot: Slot, batch: WritePieces): void {
    const size = batchWeight(batch)
    slot.inFlight += size
    this.#inFlight += size
  }


  async #attrs (op: 'owners' | 'modes', items: Array<OwnerItem | ModeItem>): Promise<void> {
    await Promise.all(this.#slots.map(async (s) => await s.ready))
    const all: Array<Promise<void>> = []
    for (let at = 0, n = 0; at < items.length; at += ATTR_BATCH, n++) {
      const id = this.#next++
      all.push(this.#expect(id))
      this.#post(this.#slots[n % this.#slots.length]!, { op, id, items: items.slice(at, at + ATTR_BATCH) } as WriterRequest)
    }
    await Promise.all(all)
  }

  /** lchown each `[path, uid, gid]`. */
  async setOwners (items: OwnerItem[]): Promise<void> { await this.#attrs('owners', items) }

  /** chmod and utimes each `[path, isSymlink, mode, seconds]` (only lutimes for symlinks). */
  async setModes (items: ModeItem[]): Promise<void> { await this.#attrs('modes', items) }

  /** Stop the workers. */
  async close (): Promise<void> {
    await Promise.all(this.#slots.map(async (s) => await s.worker.terminate()))
    this.#slots.length = 0
  }
}
