/**
 * The registry records' sublevels in an object store's database,
 * and transactions over them: reads, then puts, deletes and counter changes
 * committed in one atomic batch (with every chunk queued before it). All
 * transactions of a store run one at a time, so a read-modify-write inside
 * one is atomic; a transaction that throws writes nothing.
 *
 * @module
 */
import { bytesEqual } from '../../hash/digest.js'
import type { ChunkReader, MeasuredChunkWriter, ObjectWriter, RecordOp, RecordStore, RecordSublevel as StoreRecordSublevel } from '../../store/index.js'
import { Mutex } from './mutex.js'
import { decodeCounters, encodeCounters, prefixEnd, SUBLEVELS, zeroCounters, type RegistryCounters } from './records.js'

/** A sublevel of registry records. */
export type RecordSublevel = StoreRecordSublevel

type Op = RecordOp

/**
 * What the registry needs of the object store: its record sublevels, and
 * chunks written (measured) and read. Sessions are used when the store
 * has them (`withStoreSession`).
 */
export type RegistryBackingStore = RecordStore & ChunkReader & MeasuredChunkWriter & Pick<ObjectWriter, 'flush'>

const hex = (b: Uint8Array): string => Buffer.from(b.buffer, b.byteOffset, b.byteLength).toString('hex')

/** Writes collected by a transaction. */
export class Transaction {
  readonly ops: Op[] = []
  readonly #counters = new Map<string, { key: Uint8Array, value: RegistryCounters, before: RegistryCounters }>()
  readonly #stats: RecordSublevel

  constructor (stats: RecordSublevel) { this.#stats = stats }

  put (sublevel: RecordSublevel, key: Uint8Array, value: Uint8Array): void { this.ops.push({ type: 'put', sublevel, key, value }) }

  del (sublevel: RecordSublevel, key: Uint8Array): void { this.ops.push({ type: 'del', sublevel, key }) }

  /** Add `delta` (negative to subtract; results stop at 0) to the counters stored under `key`. */
  async count (key: Uint8Array, delta: Partial<RegistryCounters>): Promise<void> {
    const k = hex(key)
    let entry = this.#counters.get(k)
    if (entry === undefined) {
      const raw = await this.#stats.get(key)
      const value = raw === undefined ? zeroCounters() : decodeCounters(raw)
      entry = { key, value, before: { ...value } }
      this.#counters.set(k, entry)
    }
    for (const [name, n] of Object.entries(delta) as Array<[keyof RegistryCounters, number]>) {
      entry.value[name] = Math.max(0, entry.value[name] + n)
    }
  }

  /** Every op, with the changed counters last. */
  finish (): Op[] {
    const ops = [...this.ops]
    for (const { key, value, before } of this.#counters.values()) {
      const bytes = encodeCounters(value)
      if (!bytesEqual(bytes, encodeCounters(before))) ops.push({ type: 'put', sublevel: this.#stats, key, value: bytes })
    }
    return ops
  }
}

/** The registry's sublevels and its transaction lock. */
export class RegistryDatabase {
  readonly store: RegistryBackingStore
  readonly blobs: RecordSublevel
  readonly blobLinks: RecordSublevel
  readonly blobLinksByDigest: RecordSublevel
  readonly manifests: RecordSublevel
  readonly manifestLinks: RecordSublevel
  readonly manifestLinksByDigest: RecordSublevel
  readonly tags: RecordSublevel
  readonly referrers: RecordSublevel
  readonly stats: RecordSublevel
  readonly offers: RecordSublevel
  readonly #lock = new Mutex()

  constructor (store: RegistryBackingStore) {
    this.store = store
    this.blobs = store.recordSublevel(SUBLEVELS.blobs)
    this.blobLinks = store.recordSublevel(SUBLEVELS.blobLinks)
    this.blobLinksByDigest = store.recordSublevel(SUBLEVELS.blobLinksByDigest)
    this.manifests = store.recordSublevel(SUBLEVELS.manifests)
    this.manifestLinks = store.recordSublevel(SUBLEVELS.manifestLinks)
    this.manifestLinksByDigest = store.recordSublevel(SUBLEVELS.manifestLinksByDigest)
    this.tags = store.recordSublevel(SUBLEVELS.tags)
    this.referrers = store.recordSublevel(SUBLEVELS.referrers)
    this.stats = store.recordSublevel(SUBLEVELS.stats)
    this.offers = store.recordSublevel(SUBLEVELS.offers)
  }

  /**
   * Run `body` alone (no other transaction of this database runs
   * meanwhile), then commit what it collected in one atomic batch. Nothing
   * is written if `body` throws.
   */
  async transaction<T> (body: (tx: Transaction) => Promise<T>): Promise<T> {
    return await this.#lock.run(async () => {
      const tx = new Transaction(this.stats)
      const result = await body(tx)
      const ops = tx.finish()
      if (ops.length > 0) await this.store.commitRecords(ops)
      return result
    })
  }

  /** Keys of `sublevel` starting with `prefix`, in order, optionally after `after` and at most `limit`. */
  async * keysWithPrefix (sublevel: RecordSublevel, prefix: Uint8Array, options: { after?: Uint8Array, limit?: number } = {}): AsyncIterable<Uint8Array> {
    const range: Record<string, unknown> = { lt: prefixEnd(prefix) }
    if (options.after !== undefined) range.gt = options.after
    else range.gte = prefix
    if (options.limit !== undefined) range.limit = options.limit
    for await (const key of sublevel.keys(range as any)) yield key as Uint8Array
  }

  /** True if some key of `sublevel` starts with `prefix`. */
  async hasPrefix (sublevel: RecordSublevel, prefix: Uint8Array): Promise<boolean> {
    for await (const key of this.keysWithPrefix(sublevel, prefix, { limit: 1 })) { void key; return true }
    return false
  }
}
