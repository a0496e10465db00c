/**
 * The write queue: operations wait in memory and go to the database in
 * ordered batches, each with the counters (so they always match what was
 * written), chunk records first appended to the current pack. What is
 * queued is visible at once (`pending`); deletes being written make their
 * objects absent (`deleting`); objects being compressed are `inflight`.
 *
 * A batch that fails to write makes the queue refuse everything after it
 * (`ERR_STORE`): what is in memory no longer matches the database, and a
 * reopened store is the last consistent state.
 *
 * @module
 */
import { StoreError } from '../../errors.js'
import type { StoreCounters } from '../index.js'
import { countersPut } from './counters.js'
import { type Bytes, type Db, type Keyspaces, keyOf, type Sub } from './keyspaces.js'
import type { PackAppender, PackRecord } from './pack-appender.js'

/**
 * A queued operation. A chunk record to append to the current pack has
 * `stored` (and its decoded `length`) and gets its `value`, the location,
 * when the batch is written.
 */
export interface Op { type: 'put' | 'del', sublevel: Sub, key: Bytes, value?: Bytes, stored?: Bytes, length?: number }

/** How a flush makes its batch durable. */
export interface FlushMode {
  /** First make every pack written so far durable (before a batch that commits a ref: a ref that survives a power loss reaches only chunks that did). */
  syncPacks?: boolean
  /** Also write the batch with LevelDB's `sync` (before gc deletes a pack); implies `syncPacks`. */
  sync?: boolean
}

const EMPTY = new Uint8Array(0)

/** Operations waiting for the next batch, and the batches being written, in order. */
export class WriteQueue {
  /** Objects queued but not yet written: key (tag + latin1 digest) → stored form. */
  readonly pending = new Map<string, Bytes>()
  /** Objects being compressed: key → promise settled once they are queued. */
  readonly inflight = new Map<string, Promise<void>>()
  /** Keys whose delete is queued or being written: absent unless queued again. */
  readonly deleting = new Set<string>()
  readonly #db: Db
  readonly #keys: Keyspaces
  readonly #counters: StoreCounters
  readonly #packs: PackAppender
  readonly #batchLimit: number
  #ops: Op[] = []
  #opsBytes = 0
  #writing: Promise<void> = Promise.resolve()
  /** Set after a batch failed to write. */
  #failed: Error | undefined

  constructor (db: Db, keys: Keyspaces, counters: StoreCounters, packs: PackAppender, batchLimit: number) {
    this.#db = db
    this.#keys = keys
    this.#counters = counters
    this.#packs = packs
    this.#batchLimit = batchLimit
  }

  /** The error of the batch that failed, if one did. */
  get failed (): Error | undefined { return this.#failed }

  /** Queue an object's put (a chunk: its record for the pack, and its index key). */
  queueObject (sublevel: Sub, tag: string, digest: Bytes, stored: Bytes, length: number): void {
    this.pending.set(tag + keyOf(digest), stored)
    if (sublevel === this.#keys.chunks) {
      // Appended to the current pack when the batch is written; the batch holds its location.
      this.#ops.push({ type: 'put', sublevel, key: digest, stored, length })
      this.#ops.push({ type: 'put', sublevel: this.#keys.chunkIndex, key: digest, value: EMPTY })
    } else {
      this.#ops.push({ type: 'put', sublevel, key: digest, value: stored })
    }
    this.#opsBytes += stored.length + 32
  }

  /** Queue an operation; `bytes` counts towards the batch size. */
  push (op: Op, bytes = 0): void {
    this.#ops.push(op)
    this.#opsBytes += bytes
  }

  /** True when enough is queued for a batch. */
  get full (): boolean { return this.#opsBytes >= this.#batchLimit || this.#ops.length >= 4096 }

  /** Write the queued operations (and counters) as one batch, in order with earlier batches. */
  async flush (mode: FlushMode = {}): Promise<void> {
    while (this.inflight.size > 0) await Promise.all(this.inflight.values())
    // A sync flush writes a batch (the counters) even with nothing queued, so that it syncs.
    if (this.#ops.length === 0 && mode.sync !== true) { await this.#writing; return }
    const ops = this.#ops
    ops.push(countersPut(this.#keys.meta, this.#counters))
    this.#ops = []
    this.#opsBytes = 0
    const previous = this.#writing
    const write = (async () => {
      await previous
      if (this.#failed !== undefined) throw new StoreError(`writing to the store failed earlier: ${this.#failed.message}`, { cause: this.#failed })
      try {
        // Chunk records go to the pack first: an index entry never points
        // at bytes not yet written; a crash leaves at most unindexed bytes.
        const records = ops.filter((op) => op.stored !== undefined)
        if (records.length > 0) await this.#packs.append(records as PackRecord[])
        if (mode.syncPacks === true || mode.sync === true) await this.#packs.syncWritten()
        const batch = ops.map((op) => op.type === 'put' ? { type: 'put', sublevel: op.sublevel, key: op.key, value: op.value } : { type: 'del', sublevel: op.sublevel, key: op.key })
        await this.#db.batch(batch as any, mode.sync === true ? { sync: true } as any : undefined)
      } catch (err) {
        // What is in memory (queued objects, counters) no longer matches
        // the database: refuse everything until the store is reopened.
        this.#failed = err as Error
        throw new StoreError(`writing to the store failed: ${(err as Error).message}`, { cause: err })
      }
      for (const op of ops) {
        const tag = this.#keys.tagOf(op.sublevel)
        if (tag === undefined) continue
        const k = tag + keyOf(op.key)
        if (op.type === 'put') { if (this.pending.get(k) === (op.stored ?? op.value)) this.pending.delete(k) } else this.deleting.delete(k)
      }
    })()
    this.#writing = write.catch(() => {})
    await write
  }
}
