/**
 * The state every part of the store shares: the database and its
 * keyspaces, the counters, the write queue, the pack appender, the object
 * index, the pins, the compression pool. Each concept's file works on a
 * {@link StoreCore}; `level-store.ts` makes one and delegates to them.
 *
 * @module
 */
import { StoreError } from '../../errors.js'
import type { CompressPool } from '../compress-pool.js'
import type { StoreCounters } from '../index.js'
import type { Db, Keyspaces } from './keyspaces.js'
import type { ObjectIndex } from './object-index.js'
import type { PackAppender } from './pack-appender.js'
import type { Pins } from './pins.js'
import type { FlushMode, WriteQueue } from './write-queue.js'

/** The parts of one open store. */
export interface StoreParts {
  db: Db
  keys: Keyspaces
  /** Mutated in place (the queue writes this object in every batch). */
  counters: StoreCounters
  queue: WriteQueue
  packs: PackAppender
  index: ObjectIndex
  pins: Pins
  pool: CompressPool
  /** zstd level objects are stored with (0: raw). */
  level: number
}

/** One open store's shared state. */
export class StoreCore implements StoreParts {
  readonly db: Db
  readonly keys: Keyspaces
  readonly counters: StoreCounters
  readonly queue: WriteQueue
  readonly packs: PackAppender
  readonly index: ObjectIndex
  readonly pins: Pins
  readonly pool: CompressPool
  readonly level: number
  closed = false

  constructor (parts: StoreParts) {
    this.db = parts.db
    this.keys = parts.keys
    this.counters = parts.counters
    this.queue = parts.queue
    this.packs = parts.packs
    this.index = parts.index
    this.pins = parts.pins
    this.pool = parts.pool
    this.level = parts.level
  }

  /** Throws `ERR_STORE` when the store is closed or unusable after a failed write. */
  assertOpen (): void {
    if (this.closed) throw new StoreError('the store is closed')
    const failed = this.queue.failed
    if (failed !== undefined) throw new StoreError(`the store is unusable after a failed write (${failed.message}); close and reopen it`, { cause: failed })
  }

  /** Write the queued operations as one batch, in order with earlier batches ({@link WriteQueue.flush}). */
  async flush (mode?: FlushMode): Promise<void> {
    this.assertOpen()
    await this.queue.flush(mode)
  }

  /** {@link flush} if enough is queued for a batch. */
  async maybeFlush (): Promise<void> {
    if (this.queue.full) await this.flush()
  }

  /** True when the object of key `k` reads as absent whatever the database holds (condemned, or its delete under way). */
  gone (k: string): boolean { return this.pins.condemned.has(k) || this.queue.deleting.has(k) }
}
