/**
 * {@link ObjectStore} on any `abstract-level` database: classic-level
 * (LevelDB) on disk, memory-level in memory. Writes are queued into batches
 * and written in order; counters are updated in the same batch as the
 * objects they count.
 *
 * @module
 */
import type { AbstractLevel, AbstractSublevel } from 'abstract-level'
import { InvalidArgumentError, NotFoundError, RefExistsError, StoreError, UnsupportedError } from '../errors.js'
import { CODEC_RAW, CODEC_ZSTD } from './stored-object.js'
import { digestToString } from '../hash/digest.js'
import { assertRefName, decodeRef, encodeRef, type RefRecord } from '../format/ref.js'
import { decodeCanonical, encodeCanonical } from '../format/canonical.js'
import type { CommitOptions, ObjectStore, PutResult, StoreStats } from './index.js'
import { CompressPool } from './compress-pool.js'
import { BatchedGetter } from './batched-get.js'
import { DigestFilter } from './digest-filter.js'
import { decodeStored, DEFAULT_COMPRESSION_LEVEL, encodeStored, MAX_CHUNK_BYTES } from './stored-object.js'
import { loadZstd, zstdContentSize } from './zstd.js'
import { StoreSession } from './session.js'
import { bytesEqual } from '../hash/digest.js'
import { IntegrityError } from '../errors.js'
import {
  decodeLocation, encodeLocation, FilePackStorage, isDamage, isLocation, isMissingPack, LOCATION_MARKER, memoryPacksOf, PACK_MAGIC, PACK_TARGET_BYTES,
  packFileName, type PackInfo, type PackLease, type PackLocation, type PackStorage, readRecords, RECORD_HEADER_BYTES
} from './pack/index.js'
import { join } from 'node:path'

type Bytes = Uint8Array
type Db = AbstractLevel<any, Bytes, Bytes>
type Sub = AbstractSublevel<Db, any, Bytes, Bytes>

/** Value of the `format` meta key. */
export const STORE_FORMAT = 'tessera-store-1'
/** Largest chunk a read accepts (decompressed); defined beside the decoder so worker threads share it. */
export { MAX_CHUNK_BYTES }
/** Largest tree or snapshot object a read accepts (decompressed). */
export const MAX_TREE_BYTES = 256 * 1024 * 1024
const MAX_CHUNK = MAX_CHUNK_BYTES
const MAX_TREE = MAX_TREE_BYTES

/** The kinds of stored object, and the chunk index keyspace `x`. */
export type ObjectKind = 'chunk' | 'tree' | 'snapshot'

/** The store's counters (docs/FORMAT.md §6), as stored in `m/stats`. */
export interface StoreCounters {
  chunks: number
  chunkBytes: number
  chunkStored: number
  /** Tree objects (snapshots are counted in `snapshots`). */
  trees: number
  /** Uncompressed bytes of trees and snapshots together. */
  treeBytes: number
  /** Stored bytes of trees and snapshots together. */
  treeStored: number
  snapshots: number
}

/** What {@link LevelObjectStore.deleteObjects} removed. */
export interface DeleteResult {
  chunks: number
  trees: number
  snapshots: number
  /** Stored bytes of the deleted objects (what they took in the store before compaction). */
  storedBytes: number
}

/**
 * The uncompressed length a stored object declares (codec byte and zstd
 * frame header), without decompressing; 0 when the header is unreadable.
 */
export function declaredLength (stored: Uint8Array): number {
  if (stored[0] === CODEC_RAW) return stored.length - 1
  if (stored[0] === CODEC_ZSTD) return zstdContentSize(stored.subarray(1)) ?? 0
  return 0
}

/**
 * The stored and decoded lengths of a chunk from its `c` value: a pack
 * location states both; an inline stored object (a store written before
 * packs) is its own stored form. A value that is neither gives zeros.
 */
export function chunkValueLengths (value: Uint8Array): { storedLength: number, length: number } {
  if (value[0] === LOCATION_MARKER) {
    try {
      const loc = decodeLocation(value)
      return { storedLength: loc.storedLength, length: loc.length }
    } catch {
      return { storedLength: 0, length: 0 }
    }
  }
  return { storedLength: value.length, length: declaredLength(value) }
}

/** One chunk as {@link LevelObjectStore.listChunkRecords} gives it. */
export interface ChunkRecord {
  digest: Uint8Array
  /** Its stored form (codec byte + payload), unverified; absent when it could not be read. */
  stored?: Uint8Array
  /** Why it could not be read (`ERR_INTEGRITY`: its pack is missing, or the record there is short or of another chunk). */
  error?: Error
  /** Where it is, when its value is a pack location (absent for inline values of stores written before packs). */
  location?: PackLocation
  /** Stored and decoded lengths as the index states them ({@link chunkValueLengths}). */
  storedLength: number
  length: number
}

/** What {@link LevelObjectStore.reclaimPacks} did. */
export interface PackReclaimResult {
  /** Packs deleted because no chunk in them was live. */
  deleted: number
  /** Packs whose live chunks were moved to the current pack, then deleted. */
  rewritten: number
  /** Chunks moved. */
  chunksMoved: number
  /** Pack bytes freed on disk: the sizes of the packs removed, less the bytes written to move live chunks. */
  bytesFreed: number
}

/**
 * Where one chunk can be read ({@link LevelObjectStore.resolveChunkSources}): its
 * stored form, or a record in a pack through an open descriptor.
 */
export type ChunkSource = { stored: Uint8Array } | { fd: number, location: PackLocation }

/** What the index holds for each of several chunks ({@link LevelObjectStore.lookupChunkIndex}); undefined where absent. */
export type ChunkLookup = Array<{ value: Uint8Array, queued: boolean } | undefined>

/** Options for {@link LevelObjectStore.reclaimPacks}. */
export interface PackReclaimOptions {
  /** Rewrite a pack when at least this fraction of it is dead bytes; default 0.1. Packs with no live chunk are always deleted. */
  deadFraction?: number
  /** Called after each pack deleted or rewritten. */
  onProgress?: (done: PackReclaimResult) => void
}

/** Options for {@link LevelObjectStore}. */
export interface LevelObjectStoreOptions {
  /** zstd level for chunks and trees; 0 stores everything raw. Default 6 (see docs/FORMAT.md §7). */
  compressionLevel?: number
  /** Bytes queued before a batch is written. Default 8 MiB. */
  batchBytes?: number
  /** Worker threads compressing objects; default 0 (on the calling thread). `openStore` uses one per CPU. */
  compressionThreads?: number
  /**
   * Where chunk packs live. Default: `<location>/packs` for a database with
   * a `location` (classic-level), else memory kept with the database
   * object ({@link memoryPacksOf}).
   */
  packs?: PackStorage
  /** A pack is closed (the next batch starts a new one) once it holds this many bytes; default 16 MiB. */
  packTargetBytes?: number
}

type Counters = StoreCounters

/**
 * A queued operation. A chunk record to append to the current pack has
 * `stored` (and its decoded `length`) and gets its `value`, the location,
 * when the batch is written.
 */
interface Op { type: 'put' | 'del', sublevel: Sub, key: Bytes, value?: Bytes, stored?: Bytes, length?: number }

const enc = { keyEncoding: 'view', valueEncoding: 'view' } as const
const EMPTY = new Uint8Array(0)
const keyOf = (digest: Bytes): string => Buffer.from(digest.buffer, digest.byteOffset, digest.byteLength).toString('latin1')

/** The BatchedGetter of `keyspace` in `cache`, made with `getMany` the first time. */
function batchedFor<V> (cache: Map<Sub, BatchedGetter<Bytes, V>>, keyspace: Sub, getMany: (keys: Bytes[]) => Promise<Array<V | undefined>>): BatchedGetter<Bytes, V> {
  let batched = cache.get(keyspace)
  if (batched === undefined) {
    batched = new BatchedGetter<Bytes, V>({ getMany })
    cache.set(keyspace, batched)
  }
  return batched
}

/** An object store over an abstract-level database. */
export class LevelObjectStore implements ObjectStore {
  readonly #db: Db
  readonly #chunks: Sub
  readonly #trees: Sub
  readonly #snapshots: Sub
  readonly #refs: Sub
  readonly #meta: Sub
  /** Chunk digests with empty values: a small keyspace to build the Bloom filter from. */
  readonly #chunkIndex: Sub
  readonly #level: number
  readonly #batchLimit: number
  #counters: Counters = { chunks: 0, chunkBytes: 0, chunkStored: 0, trees: 0, treeBytes: 0, treeStored: 0, snapshots: 0 }
  /** Objects queued but not yet written: key (latin1 of sublevel+digest) → stored value. */
  readonly #pending = new Map<string, Bytes>()
  /** Objects being compressed: key → promise settled once they are queued. */
  readonly #inflight = new Map<string, Promise<void>>()
  readonly #pool: CompressPool
  /** Per sublevel, a Bloom filter of the keys present, built on first write. */
  readonly #filters = new Map<Sub, Promise<DigestFilter>>()
  #ops: Op[] = []
  #opsBytes = 0
  #writing: Promise<void> = Promise.resolve()
  #closed = false
  /** Set after a batch failed to write: the in-memory state no longer matches the database. */
  #failed: Error | undefined
  /** Open sessions (import or gc) and the sequence number each started at. */
  readonly #sessions = new Set<StoreSession>()
  #touchSeq = 0
  /** While a session is open: key → sequence number of its last touch (put, found present, read). */
  readonly #pins = new Map<string, number>()
  /** Keys a gc has decided to delete: logically absent, still in the database. */
  readonly #condemned = new Set<string>()
  /** Keys whose delete is queued or being written: absent unless queued again. */
  readonly #deleting = new Set<string>()
  readonly #packs: PackStorage
  /** The pack this store appends to, and its size. */
  #current: { pack: number, size: number } | undefined
  /** Lowest pack this store may still append to (set before a pack is created): gc leaves it and newer ones alone. */
  #appendFloor: number | undefined
  /** Highest pack number this store has seen: numbers are not reused while it is open. */
  #highestPack = 0
  /** Packs written to since they were last synced. */
  readonly #unsynced = new Set<number>()
  readonly #packTarget: number
  /** Per sublevel, point reads coalesced into getMany calls. */
  readonly #getters = new Map<Sub, BatchedGetter<Bytes, Bytes>>()
  /** Per keyspace, existence checks coalesced into hasMany calls. */
  readonly #checkers = new Map<Sub, BatchedGetter<Bytes, boolean>>()
  /** Snapshot objects being committed: key → settles when that commit is done. */
  readonly #committing = new Map<string, Promise<void>>()

  private constructor (db: Db, options: LevelObjectStoreOptions) {
    this.#db = db
    const location = (db as unknown as { location?: unknown }).location
    this.#packs = options.packs ?? (typeof location === 'string' ? new FilePackStorage(join(location, 'packs')) : memoryPacksOf(db))
    this.#chunks = db.sublevel<Bytes, Bytes>('c', enc) as unknown as Sub
    this.#trees = db.sublevel<Bytes, Bytes>('t', enc) as unknown as Sub
    this.#snapshots = db.sublevel<Bytes, Bytes>('s', enc) as unknown as Sub
    this.#refs = db.sublevel<Bytes, Bytes>('r', enc) as unknown as Sub
    this.#meta = db.sublevel<Bytes, Bytes>('m', enc) as unknown as Sub
    this.#chunkIndex = db.sublevel<Bytes, Bytes>('x', enc) as unknown as Sub
    this.#packTarget = options.packTargetBytes ?? PACK_TARGET_BYTES
    this.#level = options.compressionLevel ?? DEFAULT_COMPRESSION_LEVEL
    this.#batchLimit = options.batchBytes ?? 8 * 1024 * 1024
    this.#pool = new CompressPool({ level: this.#level, threads: options.compressionThreads ?? 0 })
  }

  /** The zstd level objects are stored with (0: raw). */
  get compressionLevel (): number { return this.#level }

  /** Open a store on an abstract-level database (opened or not); checks or writes the format marker. */
  static async open (db: Db, options: LevelObjectStoreOptions = {}): Promise<LevelObjectStore> {
    await loadZstd()
    await db.open()
    const store = new LevelObjectStore(db, options)
    await store.#init()
    return store
  }

  async #init (): Promise<void> {
    const format = await this.#meta.get(Buffer.from('format'))
    if (format === undefined) {
      await this.#meta.put(Buffer.from('format'), Buffer.from(STORE_FORMAT))
    } else if (Buffer.from(format).toString() !== STORE_FORMAT) {
      throw new UnsupportedError(`store format ${JSON.stringify(Buffer.from(format).toString())} is not ${STORE_FORMAT}`)
    }
    const raw = await this.#meta.get(Buffer.from('stats'))
    if (raw !== undefined) {
      const v = decodeCanonical(raw)
      if (!Array.isArray(v) || v.length !== 7) throw new StoreError('store counters are malformed')
      const n = v.map((x) => Number(x))
      this.#counters = { chunks: n[0]!, chunkBytes: n[1]!, chunkStored: n[2]!, trees: n[3]!, treeBytes: n[4]!, treeStored: n[5]!, snapshots: n[6]! }
    }
  }

  #countersOp (): Op {
    const c = this.#counters
    return {
      type: 'put',
      sublevel: this.#meta,
      key: Buffer.from('stats'),
      value: encodeCanonical([c.chunks, c.chunkBytes, c.chunkStored, c.trees, c.treeBytes, c.treeStored, c.snapshots])
    }
  }

  #assertOpen (): void {
    if (this.#closed) throw new StoreError('the store is closed')
    if (this.#failed !== undefined) throw new StoreError(`the store is unusable after a failed write (${this.#failed.message}); close and reopen it`, { cause: this.#failed })
  }

  #sublevelOf (tag: string): Sub {
    return tag === 'c' ? this.#chunks : tag === 't' ? this.#trees : this.#snapshots
  }

  /** Record that `key` is in use by a live session (only while one is open). */
  #touch (k: string): void {
    if (this.#sessions.size > 0) this.#pins.set(k, ++this.#touchSeq)
  }

  /**
   * Open a session: until it is ended, every object written, found present
   * or read through this store (by anyone) is pinned, and `gc` keeps it and
   * everything it reaches. Importers hold one for the whole import; `gc`
   * holds one too, so that whatever is touched while it runs is kept.
   */
  beginSession (): StoreSession {
    this.#assertOpen()
    const session = new StoreSession(this.#touchSeq, (s) => this.#endSession(s))
    this.#sessions.add(session)
    return session
  }

  #endSession (session: StoreSession): void {
    if (!this.#sessions.delete(session)) return
    if (this.#sessions.size === 0) { this.#pins.clear(); return }
    let oldest = Infinity
    for (const s of this.#sessions) oldest = Math.min(oldest, s.startSeq)
    // A pin is needed while a session that was open when it was made is open.
    for (const [k, seq] of this.#pins) if (seq <= oldest) this.#pins.delete(k)
  }

  /** The current touch sequence number (see {@link pinnedSince}). */
  get touchSeq (): number { return this.#touchSeq }

  /** Objects pinned by live sessions with a touch after `seq`. */
  pinnedSince (seq: number): Array<{ kind: ObjectKind, digest: Uint8Array }> {
    const out: Array<{ kind: ObjectKind, digest: Uint8Array }> = []
    for (const [k, s] of this.#pins) {
      if (s > seq) out.push({ kind: tagKind(k[0]!), digest: keyDigest(k) })
    }
    return out
  }

  /**
   * The gc's commit point, synchronous: if every object pinned after `seq`
   * is `settled` (its closure already marked), condemn every candidate not
   * pinned, and return true; otherwise change nothing and return false (the
   * caller marks from the new pins and tries again). Condemned objects read
   * as absent at once; writing one again rescues it.
   */
  condemn (seq: number, candidates: Iterable<{ kind: ObjectKind, key: string }>, settled: (kind: ObjectKind, key: string) => boolean): boolean {
    this.#assertOpen()
    for (const [k, s] of this.#pins) {
      if (s > seq && !settled(tagKind(k[0]!), k.slice(1))) return false
    }
    for (const { kind, key } of candidates) {
      const k = kindTag(kind) + key
      if (!this.#pins.has(k)) this.#condemned.add(k)
    }
    return true
  }

  /** Forget every condemnation not yet carried out (a gc that stopped early). */
  pardon (): void { this.#condemned.clear() }

  /** Digests still condemned (to be deleted by {@link deleteCondemned}). */
  condemned (): Array<{ kind: ObjectKind, digest: Uint8Array }> {
    return [...this.#condemned].map((k) => ({ kind: tagKind(k[0]!), digest: keyDigest(k) }))
  }

  /**
   * Delete objects, with the counters, in the store's ordered batches.
   * With `onlyCondemned`, objects rescued since they were condemned are
   * skipped. Bytes are the stored sizes, read just before the delete (for
   * chunks, from their locations: the pack space is reclaimed by
   * {@link reclaimPacks}).
   */
  async deleteObjects (objects: Iterable<{ kind: ObjectKind, digest: Uint8Array }>, options: { onlyCondemned?: boolean, onProgress?: (deleted: DeleteResult) => void } = {}): Promise<DeleteResult> {
    this.#assertOpen()
    const result: DeleteResult = { chunks: 0, trees: 0, snapshots: 0, storedBytes: 0 }
    let group: Array<{ kind: ObjectKind, digest: Uint8Array }> = []
    const run = async (): Promise<void> => {
      const values = await Promise.all(group.map(async (o) => await this.#sublevelOf(kindTag(o.kind)).get(o.digest)))
      // From here to the queueing, synchronous: no put can slip in between.
      for (let i = 0; i < group.length; i++) {
        const { kind, digest } = group[i]!
        const stored = values[i]
        const k = kindTag(kind) + keyOf(digest)
        if (options.onlyCondemned === true && !this.#condemned.has(k)) continue
        this.#condemned.delete(k)
        if (stored === undefined || this.#pending.has(k) || this.#deleting.has(k)) continue
        this.#deleting.add(k)
        const sublevel = this.#sublevelOf(kindTag(kind))
        this.#ops.push({ type: 'del', sublevel, key: digest })
        if (kind === 'chunk') this.#ops.push({ type: 'del', sublevel: this.#chunkIndex, key: digest })
        const c = this.#counters
        // A chunk's lengths come from its location (its record stays in its pack until gc reclaims the pack).
        const { storedLength, length } = kind === 'chunk' ? chunkValueLengths(stored) : { storedLength: stored.length, length: declaredLength(stored) }
        if (kind === 'chunk') { c.chunks--; c.chunkBytes -= length; c.chunkStored -= storedLength; result.chunks++ } else if (kind === 'tree') { c.trees--; c.treeBytes -= length; c.treeStored -= storedLength; result.trees++ } else { c.snapshots--; c.treeBytes -= length; c.treeStored -= storedLength; result.snapshots++ }
        result.storedBytes += storedLength
      }
      group = []
      await this.flush()
      options.onProgress?.({ ...result })
    }
    for (const o of objects) {
      group.push(o)
      if (group.length >= 1024) await run()
    }
    if (group.length > 0) await run()
    return result
  }

  /** Every digest of a kind, in key order (key-only scan). `chunk-index` lists the `x` keyspace. */
  async * listDigests (kind: ObjectKind | 'chunk-index'): AsyncIterable<Uint8Array> {
    this.#assertOpen()
    const sub = kind === 'chunk-index' ? this.#chunkIndex : this.#sublevelOf(kindTag(kind))
    for await (const key of sub.keys()) yield key
  }

  /**
   * Every object of a kind with its stored form (codec byte + payload),
   * unverified. Chunks are read from their packs; one that cannot be read
   * throws (fsck uses {@link listChunkRecords}, which reports it instead).
   */
  async * listStored (kind: ObjectKind): AsyncIterable<[Uint8Array, Uint8Array]> {
    this.#assertOpen()
    if (kind === 'chunk') {
      for await (const r of this.listChunkRecords()) {
        if (r.error !== undefined) throw r.error
        yield [r.digest, r.stored!]
      }
      return
    }
    for await (const entry of this.#sublevelOf(kindTag(kind)).iterator()) yield entry
  }

  /**
   * Every chunk in the index, in key order, with its stored form read from
   * its pack (unverified beyond the record's digest and lengths) or the
   * error reading it gave. Reads are grouped, so that records near each
   * other in a pack are read together.
   */
  async * listChunkRecords (): AsyncIterable<ChunkRecord> {
    this.#assertOpen()
    let group: Array<[Bytes, Bytes]> = []
    const resolve = async (): Promise<ChunkRecord[]> => {
      const out: ChunkRecord[] = []
      const requests: Array<{ digest: Bytes, location: PackLocation, at: number }> = []
      for (const [digest, value] of group) {
        const record: ChunkRecord = { digest, ...chunkValueLengths(value) }
        out.push(record)
        if (!isLocation(value)) { record.stored = value; continue }
        try {
          record.location = decodeLocation(value, `chunk ${digestToString(digest)}`)
          requests.push({ digest, location: record.location, at: out.length - 1 })
        } catch (err) {
          record.error = err as Error
        }
      }
      const results = await readRecords(this.#packs, requests)
      for (let j = 0; j < requests.length; j++) {
        const { at, location } = requests[j]!
        const record = out[at]!
        const r = results[j]!
        const what = `chunk ${digestToString(record.digest)}`
        if (r instanceof Error) {
          const err = this.#readError(r, what, location)
          if (err instanceof StoreError) throw err
          record.error = err
          continue
        }
        try {
          checkLength(r, location, what)
          record.stored = r
        } catch (err) {
          record.error = err as Error
        }
      }
      group = []
      return out
    }
    for await (const entry of this.#chunks.iterator()) {
      group.push(entry)
      if (group.length >= 256) yield * await resolve()
    }
    if (group.length > 0) yield * await resolve()
  }

  /** Every pack file with its size (fsck; `ERR_STORE` when the packs cannot be listed). */
  async listPacks (): Promise<PackInfo[]> {
    this.#assertOpen()
    try {
      const packs = await this.#packs.list()
      for (const p of packs) this.#highestPack = Math.max(this.#highestPack, p.pack)
      return packs
    } catch (err) {
      throw new StoreError(`cannot list the packs in ${this.#packs.description}: ${(err as Error).message}`, { cause: err })
    }
  }

  /** Where the packs are (for messages). */
  get packsDescription (): string { return this.#packs.description }

  /**
   * Reclaim pack space after chunks were deleted (gc's last step): every
   * pack, except the one this store appends to and newer ones, with no
   * chunk the index points at is deleted; one whose dead bytes reach
   * `deadFraction` of it has its live records appended to the current pack
   * (their new locations go in the ordered batches, written with `sync`)
   * and is then deleted. A live record that cannot be read (damaged) stays
   * where it is, and so does its pack. Readers that looked up an old
   * location still read it: an open pack stays readable once deleted, and
   * a pack found missing is looked up again.
   */
  async reclaimPacks (options: PackReclaimOptions = {}): Promise<PackReclaimResult> {
    this.#assertOpen()
    const threshold = options.deadFraction ?? 0.1
    const result: PackReclaimResult = { deleted: 0, rewritten: 0, chunksMoved: 0, bytesFreed: 0 }
    await this.flush()
    const packs = await this.listPacks()
    // Read after listing: a pack created meanwhile is numbered from the floor up.
    const floor = this.#appendFloor ?? Infinity
    const usage = new Map<number, { size: number, live: number, records: number }>()
    for (const p of packs) if (p.pack < floor) usage.set(p.pack, { size: p.size, live: 0, records: 0 })
    if (usage.size === 0) return result
    const scan = async function * (chunks: Sub): AsyncIterable<[Bytes, PackLocation]> {
      for await (const [digest, value] of chunks.iterator()) {
        if (!isLocation(value)) continue
        try { yield [digest, decodeLocation(value)] } catch {}
      }
    }
    for await (const [, loc] of scan(this.#chunks)) {
      const u = usage.get(loc.pack)
      if (u !== undefined) { u.live += RECORD_HEADER_BYTES + loc.storedLength; u.records++ }
    }
    const rewrite = new Map<number, Array<{ digest: Bytes, location: PackLocation }>>()
    for (const [pack, u] of usage) {
      if (u.records === 0) {
        await this.#deletePack(pack)
        result.deleted++
        result.bytesFreed += u.size
        options.onProgress?.({ ...result })
      } else if ((u.size - PACK_MAGIC.length - u.live) / u.size >= threshold) {
        rewrite.set(pack, [])
      }
    }
    if (rewrite.size === 0) return result
    for await (const [digest, location] of scan(this.#chunks)) rewrite.get(location.pack)?.push({ digest, location })
    for (const [pack, entries] of rewrite) {
      entries.sort((a, b) => a.location.offset - b.location.offset)
      let intact = true
      for (let i = 0; i < entries.length; i += 512) {
        const slice = entries.slice(i, i + 512)
        const records = await readRecords(this.#packs, slice)
        const values = await this.#chunks.getMany(slice.map((e) => e.digest))
        // From here to the queueing, synchronous: move only what still lives at the location read.
        for (let j = 0; j < slice.length; j++) {
          const { digest, location } = slice[j]!
          const stored = records[j]!
          const value = values[j]
          const k = 'c' + keyOf(digest)
          if (value === undefined || this.#deleting.has(k) || this.#condemned.has(k) || this.#pending.has(k) || !bytesEqual(value, encodeLocation(location))) continue
          if (stored instanceof Error) {
            if (!isDamage(stored)) throw this.#readError(stored, `chunk ${digestToString(digest)}`, location)
            intact = false
            continue
          }
          this.#ops.push({ type: 'put', sublevel: this.#chunks, key: digest, stored, length: location.length })
          this.#opsBytes += stored.length + 32
          result.chunksMoved++
          result.bytesFreed -= RECORD_HEADER_BYTES + stored.length
        }
        await this.#maybeFlush()
      }
      // The new locations are durable before the pack goes.
      await this.#flush({ sync: true })
      if (intact) {
        await this.#deletePack(pack)
        result.bytesFreed += usage.get(pack)!.size
        result.rewritten++
      }
      options.onProgress?.({ ...result })
    }
    return result
  }

  async #deletePack (pack: number): Promise<void> {
    try {
      await this.#packs.delete(pack)
    } catch (err) {
      throw new StoreError(`cannot delete ${packFileName(pack)} from ${this.#packs.description}: ${(err as Error).message}`, { cause: err })
    }
  }

  /** Every ref with its raw record bytes (not decoded: fsck reports bad ones). */
  async * listRawRefs (): AsyncIterable<[string, Uint8Array]> {
    this.#assertOpen()
    for await (const [key, value] of this.#refs.iterator()) yield [Buffer.from(key).toString('utf8'), value]
  }

  /** Delete a ref whatever its record holds (fsck --repair). */
  async deleteRawRef (name: string): Promise<void> {
    this.#assertOpen()
    await this.flush()
    await this.#refs.del(Buffer.from(name, 'utf8'))
  }

  /** Add (or, with `del`, remove) chunk index keys, in the ordered batches (fsck --repair). */
  async fixChunkIndex (add: Iterable<Uint8Array>, del: Iterable<Uint8Array>): Promise<void> {
    this.#assertOpen()
    for (const d of add) this.#ops.push({ type: 'put', sublevel: this.#chunkIndex, key: d, value: EMPTY })
    for (const d of del) this.#ops.push({ type: 'del', sublevel: this.#chunkIndex, key: d })
    await this.flush()
  }

  /** The counters as the store keeps them. */
  counters (): StoreCounters { return { ...this.#counters } }

  /** Replace the counters with recounted ones (fsck --repair), written at once. */
  async setCounters (counters: StoreCounters): Promise<void> {
    this.#assertOpen()
    await this.flush()
    this.#counters = { ...counters }
    this.#ops.push(this.#countersOp())
    await this.flush()
  }

  /** Compact the database so deleted objects free disk space (a no-op where unsupported). */
  async compact (): Promise<void> {
    this.#assertOpen()
    await this.flush()
    const db = this.#db as unknown as { compactRange?: (start: Bytes, end: Bytes) => Promise<void> }
    if (typeof db.compactRange === 'function') await db.compactRange(new Uint8Array([0]), new Uint8Array([0xff, 0xff, 0xff, 0xff]))
  }

  #queue (sublevel: Sub, tag: string, digest: Bytes, stored: Bytes, length: number): void {
    this.#pending.set(tag + keyOf(digest), stored)
    if (sublevel === this.#chunks) {
      // Appended to the current pack when the batch is written; the batch holds its location.
      this.#ops.push({ type: 'put', sublevel, key: digest, stored, length })
      this.#ops.push({ type: 'put', sublevel: this.#chunkIndex, key: digest, value: EMPTY })
    } else {
      this.#ops.push({ type: 'put', sublevel, key: digest, value: stored })
    }
    this.#opsBytes += stored.length + 32
  }

  async #maybeFlush (): Promise<void> {
    if (this.#opsBytes >= this.#batchLimit || this.#ops.length >= 4096) await this.flush()
  }

  /** Write the queued operations (and counters) as one batch, in order with earlier batches. */
  async flush (): Promise<void> { await this.#flush() }

  /**
   * {@link flush}, where `syncPacks` first makes every pack written so far
   * durable (before a batch that commits a ref: a ref that survives a power
   * loss reaches only chunks that did), and `sync` also writes the batch
   * with LevelDB's `sync` (before a pack is deleted by gc).
   */
  async #flush (mode: { syncPacks?: boolean, sync?: boolean } = {}): Promise<void> {
    this.#assertOpen()
    while (this.#inflight.size > 0) await Promise.all(this.#inflight.values())
    // A sync flush writes a batch (the counters) even with nothing queued, so that it syncs.
    if (this.#ops.length === 0 && mode.sync !== true) { await this.#writing; return }
    const ops = this.#ops
    ops.push(this.#countersOp())
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
        if (records.length > 0) await this.#appendRecords(records)
        if (mode.syncPacks === true || mode.sync === true) {
          for (const pack of [...this.#unsynced]) { await this.#packs.sync(pack); this.#unsynced.delete(pack) }
        }
        const batch = ops.map((op) => op.type === 'put' ? { type: 'put', sublevel: op.sublevel, key: op.key, value: op.value } : { type: 'del', sublevel: op.sublevel, key: op.key })
        await this.#db.batch(batch as any, mode.sync === true ? { sync: true } as any : undefined)
      } catch (err) {
        // What is in memory (queued objects, counters) no longer matches
        // the database: refuse everything until the store is reopened.
        this.#failed = err as Error
        throw new StoreError(`writing to the store failed: ${(err as Error).message}`, { cause: err })
      }
      for (const op of ops) {
        const tag = op.sublevel === this.#chunks ? 'c' : op.sublevel === this.#trees ? 't' : op.sublevel === this.#snapshots ? 's' : undefined
        if (tag === undefined) continue
        const k = tag + keyOf(op.key)
        if (op.type === 'put') { if (this.#pending.get(k) === (op.stored ?? op.value)) this.#pending.delete(k) } else this.#deleting.delete(k)
      }
    })()
    this.#writing = write.catch(() => {})
    await write
  }

  /**
   * Append chunk records to the current pack, one write per pack (a new
   * pack when there is none yet or it reached the target size), and set
   * each op's value to the record's location.
   */
  async #appendRecords (records: Op[]): Promise<void> {
    let i = 0
    while (i < records.length) {
      if (this.#current === undefined || this.#current.size >= this.#packTarget) await this.#newPack()
      const current = this.#current!
      // The records that fit before the pack reaches its target size (at least one).
      let total = 0
      let j = i
      while (j < records.length && (j === i || current.size + total < this.#packTarget)) total += RECORD_HEADER_BYTES + records[j++]!.stored!.length
      const buffer = Buffer.allocUnsafe(total)
      let at = 0
      for (const op of records.slice(i, j)) {
        const stored = op.stored!
        buffer.set(op.key, at)
        buffer.writeUInt32LE(stored.length, at + 32)
        buffer.set(stored, at + RECORD_HEADER_BYTES)
        op.value = encodeLocation({ pack: current.pack, offset: current.size + at + RECORD_HEADER_BYTES, storedLength: stored.length, length: op.length! })
        at += RECORD_HEADER_BYTES + stored.length
      }
      await this.#packs.write(current.pack, current.size, buffer)
      current.size += total
      this.#unsynced.add(current.pack)
      i = j
    }
  }

  /**
   * Start a new pack, numbered one past the highest that exists: never
   * append to a pack an earlier process may have left torn.
   */
  async #newPack (): Promise<void> {
    let next = Math.max(this.#highestPack, ...(await this.#packs.list()).map((p) => p.pack)) + 1
    for (let attempt = 0; ; attempt++) {
      this.#appendFloor = next
      try {
        await this.#packs.create(next)
        break
      } catch (err) {
        if ((err as NodeJS.ErrnoException).code !== 'EEXIST' || attempt > 100) throw err
        next++
      }
    }
    this.#current = { pack: next, size: PACK_MAGIC.length }
    this.#highestPack = Math.max(this.#highestPack, next)
  }

  /**
   * The stored form of a chunk from its `c` value: the value itself when it
   * is an inline stored object (stores written before packs), else the
   * record its location names, checked (digest, lengths). A pack found
   * missing is looked up again once: a gc may have moved the chunk and
   * deleted the pack since `value` was read.
   */
  async #resolveChunk (digest: Bytes, value: Bytes, retry = true): Promise<Bytes> {
    if (!isLocation(value)) return value
    const what = `chunk ${digestToString(digest)}`
    const location = decodeLocation(value, what)
    const [result] = await readRecords(this.#packs, [{ digest, location }], what)
    if (result instanceof Error) {
      if (retry && isMissingPack(result)) {
        const again = await this.#chunks.get(digest)
        if (again !== undefined && !bytesEqual(again, value)) return await this.#resolveChunk(digest, again, false)
      }
      throw this.#readError(result, what, location)
    }
    checkLength(result!, location, what)
    return result!
  }

  /** The error for a record that could not be read: damage is `ERR_INTEGRITY`, I/O failures `ERR_STORE`. */
  #readError (err: Error, what: string, location: PackLocation): Error {
    if (err instanceof IntegrityError) return err
    if (isMissingPack(err)) return new IntegrityError(`${what}: its pack ${packFileName(location.pack)} is missing from ${this.#packs.description}`, { cause: err })
    return new StoreError(`${what}: reading ${packFileName(location.pack)} failed: ${err.message}`, { cause: err })
  }

  async #has (sublevel: Sub, tag: string, digest: Bytes): Promise<boolean> {
    const k = tag + keyOf(digest)
    if (this.#pending.has(k) || this.#inflight.has(k)) { this.#touch(k); return true }
    if (this.#condemned.has(k) || this.#deleting.has(k)) return false
    const found = await this.#exists(sublevel, digest)
    // Checked again after the await: a gc may have condemned it meanwhile.
    if (!found || this.#condemned.has(k) || this.#deleting.has(k)) return this.#pending.has(k)
    this.#touch(k)
    return true
  }

  /**
   * Store `bytes` under `digest` unless present: compressed (possibly on a
   * worker), then queued for the next batch. Concurrent puts of one digest
   * store it once.
   */
  async #put (sublevel: Sub, tag: 'c' | 't', digest: Bytes, length: number, encode: () => Promise<Bytes>): Promise<PutResult> {
    this.#assertOpen()
    const k = tag + keyOf(digest)
    this.#touch(k)
    if (this.#pending.has(k) || this.#inflight.has(k)) return 'present'
    // Condemned by a running gc but not deleted yet: rescued by this write.
    if (this.#condemned.delete(k)) return 'present'
    let settle!: () => void
    const done = new Promise<void>((resolve) => { settle = resolve })
    this.#inflight.set(k, done)
    try {
      const filter = await this.#filterOf(sublevel, tag)
      if (!this.#deleting.has(k) && filter.mayHave(digest) && await this.#exists(sublevel, digest)) {
        if (this.#condemned.delete(k) || !this.#deleting.has(k)) return 'present'
      }
      filter.add(digest)
      const stored = await encode()
      this.#queue(sublevel, tag, digest, stored, length)
      const c = this.#counters
      if (tag === 'c') { c.chunks++; c.chunkBytes += length; c.chunkStored += stored.length } else { c.trees++; c.treeBytes += length; c.treeStored += stored.length }
    } finally {
      this.#inflight.delete(k)
      settle()
    }
    await this.#maybeFlush()
    return 'stored'
  }

  async #get (sublevel: Sub, tag: string, digest: Bytes, what: string, max: number): Promise<Bytes> {
    this.#assertOpen()
    if (digest.length !== 32) throw new NotFoundError(`${what}: a digest has 32 bytes`)
    const k = tag + keyOf(digest)
    await this.#inflight.get(k)
    let stored = this.#pending.get(k)
    if (stored === undefined && !this.#condemned.has(k) && !this.#deleting.has(k)) {
      stored = (await this.#getterOf(sublevel).getMany([digest]))[0]
      if (this.#condemned.has(k) || this.#deleting.has(k)) stored = this.#pending.get(k)
      else if (stored !== undefined && sublevel === this.#chunks) stored = await this.#resolveChunk(digest, stored)
    }
    if (stored === undefined) throw new NotFoundError(`${what} ${digestToString(digest)} is not in the store`)
    const bytes = decodeStored(stored, digest, what, max)
    this.#touch(k)
    return bytes
  }

  #getterOf (sublevel: Sub): BatchedGetter<Bytes, Bytes> {
    return batchedFor(this.#getters, sublevel, async (keys) => await sublevel.getMany(keys))
  }

  /**
   * Whether the database holds `digest` in `sublevel` (not looking at the
   * queue). Checks of one keyspace are coalesced into hasMany calls: a
   * dedup-heavy import makes thousands.
   */
  async #exists (sublevel: Sub, digest: Bytes): Promise<boolean> {
    const keyspace = this.#keyspaceOf(sublevel)
    const checker = batchedFor(this.#checkers, keyspace, async (keys) => await keyspace.hasMany(keys))
    return (await checker.getMany([digest]))[0] === true
  }

  /** Where existence is checked: chunks in their small index keyspace (reading `c` would page in values). */
  #keyspaceOf (sublevel: Sub): Sub { return sublevel === this.#chunks ? this.#chunkIndex : sublevel }

  /**
   * The Bloom filter of a sublevel's keys, built once per open store from a
   * key-only scan (about a second per million objects), the first time
   * something is written there.
   */
  async #filterOf (sublevel: Sub, tag: string): Promise<DigestFilter> {
    let f = this.#filters.get(sublevel)
    if (f === undefined) {
      const expected = tag === 'c' ? this.#counters.chunks : this.#counters.trees
      f = (async () => {
        const filter = new DigestFilter(expected * 2 + 100_000)
        // Chunk keys come from the index keyspace: scanning the chunks
        // themselves would read (and map into memory) every stored byte.
        // Keys in batches (nextv): one promise per 16384 keys rather than
        // per key (15k keys: 26 ms, against 40 ms in batches of 1024).
        const keys = this.#keyspaceOf(sublevel).keys()
        try {
          for (let batch = await keys.nextv(16384); batch.length > 0; batch = await keys.nextv(16384)) for (const key of batch) filter.add(key)
        } finally {
          await keys.close()
        }
        return filter
      })()
      this.#filters.set(sublevel, f)
    }
    return await f
  }

  async hasChunk (digest: Bytes): Promise<boolean> { return await this.#has(this.#chunks, 'c', digest) }

  async putChunk (digest: Bytes, bytes: Bytes): Promise<PutResult> {
    return await this.#put(this.#chunks, 'c', digest, bytes.length, async () => await this.#pool.encode(bytes))
  }

  /**
   * Store a chunk already in its stored form (framed, maybe compressed, by
   * a worker). The caller vouches that it decodes to `length` bytes hashing
   * to `digest`; reads verify it as always.
   */
  async putEncodedChunk (digest: Bytes, length: number, stored: Bytes): Promise<PutResult> {
    return await this.#put(this.#chunks, 'c', digest, length, async () => stored)
  }

  /** The Bloom filter of stored chunk digests (shared memory, for workers that pre-compress only new chunks). */
  async chunkFilter (): Promise<DigestFilter> { return await this.#filterOf(this.#chunks, 'c') }

  async getChunk (digest: Bytes): Promise<Bytes> { return await this.#get(this.#chunks, 'c', digest, 'chunk', MAX_CHUNK) }

  /**
   * The stored forms (§6: codec byte and payload) of several chunks, in
   * order, NOT yet decoded or verified: for readers that decode them
   * elsewhere with `decodeStored` (the directory export does it on worker
   * threads). One LevelDB `getMany` for those not queued. `NotFoundError`
   * if any chunk is absent.
   */
  async readStoredChunks (digests: readonly Bytes[]): Promise<Bytes[]> {
    const found = await this.#lookupChunkIndex(digests)
    const out = found.map((f) => f?.value)
    const located: number[] = []
    for (let i = 0; i < found.length; i++) if (found[i] !== undefined && !found[i]!.queued && isLocation(found[i]!.value)) located.push(i)
    if (located.length > 0) await this.#resolveMany(digests, out, located)
    return this.#allFound(digests, out)
  }

  /**
   * What the store holds for each digest, without reading packs: the
   * stored form of a chunk still queued (`queued`), else its `c` value (a
   * pack location, or an inline stored form written before packs);
   * undefined when absent. Queued chunks come from memory, the rest from
   * one LevelDB `getMany`, checked again after it against a running gc.
   */
  async #lookupChunkIndex (digests: readonly Bytes[]): Promise<ChunkLookup> {
    this.#assertOpen()
    const out = new Array<{ value: Bytes, queued: boolean } | undefined>(digests.length)
    const keys = digests.map((d) => 'c' + keyOf(d))
    const gone = (k: string): boolean => this.#condemned.has(k) || this.#deleting.has(k)
    const missing: number[] = []
    for (let i = 0; i < digests.length; i++) {
      const k = keys[i]!
      await this.#inflight.get(k)
      const queued = this.#pending.get(k)
      if (queued !== undefined) out[i] = { value: queued, queued: true }
      else if (!gone(k)) missing.push(i)
    }
    if (missing.length === 0) return out
    const values = await this.#getterOf(this.#chunks).getMany(missing.map((i) => digests[i]!))
    // Checked again after the await, as in #get: a gc may have condemned some meanwhile.
    for (let j = 0; j < missing.length; j++) {
      const i = missing[j]!
      const queued = this.#pending.get(keys[i]!)
      const value = gone(keys[i]!) ? queued : values[j]
      if (value !== undefined) out[i] = { value: queued ?? value, queued: queued !== undefined }
    }
    return out
  }

  /** `found` as it is when every entry is set (and each touched); `NotFoundError` naming the first that is not. */
  #allFound<T> (digests: readonly Bytes[], found: Array<T | undefined>): T[] {
    for (let i = 0; i < digests.length; i++) {
      if (found[i] === undefined) throw new NotFoundError(`chunk ${digestToString(digests[i]!)} is not in the store`)
      this.#touch('c' + keyOf(digests[i]!))
    }
    return found as T[]
  }

  /**
   * The first step of {@link resolveChunkSources}, which can be taken earlier:
   * what the index says of each digest (queued, inline or a pack
   * location), without opening packs. Lookups asked for in one turn of
   * the event loop share one LevelDB read. Pass the result to
   * `resolveChunkSources` with the same digests.
   */
  async lookupChunkIndex (digests: readonly Bytes[]): Promise<ChunkLookup> { return await this.#lookupChunkIndex(digests) }

  /**
   * A lease of pack file descriptors for {@link resolveChunkSources}, when packs
   * are files (undefined for memory packs). Close it when done.
   */
  leasePacks (): PackLease | undefined { return this.#packs.lease?.() }

  /**
   * Where to read several chunks, in order, without reading them here: a
   * pack descriptor (from `lease`) and location for chunks in packs, the
   * stored form itself for chunks still queued or stored inline. For
   * readers on other threads (the directory export's workers), which read
   * the record, check it ({@link checkRecord}) and decode it. `NotFoundError`
   * if any chunk is absent.
   */
  async resolveChunkSources (digests: readonly Bytes[], lease: PackLease, lookup?: Promise<ChunkLookup>): Promise<ChunkSource[]> {
    const found = await (lookup ?? this.#lookupChunkIndex(digests))
    if (found.length !== digests.length) throw new InvalidArgumentError('resolveChunkSources: the lookup is not of these digests')
    const out = new Array<ChunkSource | undefined>(digests.length)
    // Chunks whose pack disappeared between the lookup and the open (a gc
    // rewrote it), or that the lease has no descriptor left for: read
    // here (which looks them up again).
    const again: number[] = []
    for (let i = 0; i < found.length; i++) {
      const f = found[i]
      if (f === undefined) continue
      if (f.queued || !isLocation(f.value)) { out[i] = { stored: f.value }; continue }
      const location = decodeLocation(f.value, `chunk ${digestToString(digests[i]!)}`)
      try {
        const fd = await lease.fd(location.pack)
        if (fd !== undefined) out[i] = { fd, location }
        else again.push(i) // the lease is full: read the record here
      } catch (err) {
        if (!isMissingPack(err)) throw new StoreError(`cannot open ${packFileName(location.pack)} in ${this.#packs.description}: ${(err as Error).message}`, { cause: err })
        again.push(i)
      }
    }
    if (again.length > 0) {
      const stored = await this.readStoredChunks(again.map((i) => digests[i]!))
      for (let j = 0; j < again.length; j++) out[again[j]!] = { stored: stored[j]! }
    }
    return this.#allFound(digests, out)
  }

  /**
   * Replace the location values `values[i]` (for `i` in `which`) by the
   * stored forms they name, read together ({@link readRecords}); those
   * whose pack is missing are looked up again once, as in #resolveChunk.
   */
  async #resolveMany (digests: readonly Bytes[], values: Array<Bytes | undefined>, which: number[], retry = true): Promise<void> {
    const locations = which.map((i) => decodeLocation(values[i]!, `chunk ${digestToString(digests[i]!)}`))
    const results = await readRecords(this.#packs, which.map((i, j) => ({ digest: digests[i]!, location: locations[j]! })))
    const again: number[] = []
    for (let j = 0; j < which.length; j++) {
      const i = which[j]!
      const r = results[j]!
      const what = `chunk ${digestToString(digests[i]!)}`
      if (r instanceof Error) {
        if (retry && isMissingPack(r)) { again.push(i); continue }
        throw this.#readError(r, what, locations[j]!)
      }
      checkLength(r, locations[j]!, what)
      values[i] = r
    }
    if (again.length > 0) {
      const fresh = await this.#chunks.getMany(again.map((i) => digests[i]!))
      const moved: number[] = []
      for (let j = 0; j < again.length; j++) {
        const i = again[j]!
        const value = fresh[j]
        if (value === undefined) throw new NotFoundError(`chunk ${digestToString(digests[i]!)} is not in the store`)
        if (!isLocation(value)) { values[i] = value; continue }
        if (bytesEqual(value, values[i]!)) {
          // Not moved: its pack is gone.
          throw this.#readError(new NotFoundError(`pack ${decodeLocation(value).pack} does not exist`), `chunk ${digestToString(digests[i]!)}`, decodeLocation(value))
        }
        values[i] = value
        moved.push(i)
      }
      if (moved.length > 0) await this.#resolveMany(digests, values, moved, false)
    }
  }

  async hasTree (digest: Bytes): Promise<boolean> { return await this.#has(this.#trees, 't', digest) }

  async putTree (digest: Bytes, bytes: Bytes): Promise<PutResult> {
    // Trees are compressed here: they are small, and sending one to the
    // pool would start its workers for nothing during an import whose
    // chunks the content workers compress.
    return await this.#put(this.#trees, 't', digest, bytes.length, async () => encodeStored(bytes, { level: this.#level }))
  }

  async getTree (digest: Bytes): Promise<Bytes> { return await this.#get(this.#trees, 't', digest, 'tree', MAX_TREE) }

  async getSnapshot (digest: Bytes): Promise<Bytes> { return await this.#get(this.#snapshots, 's', digest, 'snapshot', MAX_TREE) }

  async commitSnapshot (name: string, snapshot: { digest: Bytes, bytes: Bytes }, record: Omit<RefRecord, 'snapshot'>, options: CommitOptions = {}): Promise<void> {
    this.#assertOpen()
    assertRefName(name)
    const k = 's' + keyOf(snapshot.digest)
    this.#touch(k)
    await this.flush()
    const refKey = Buffer.from(name, 'utf8')
    if (options.replace !== true && await this.#refs.has(refKey)) {
      throw new RefExistsError(`a snapshot named ${JSON.stringify(name)} already exists`)
    }
    // One commit of a snapshot object at a time: a commit that found it
    // absent must not decide after another commit of the same object has
    // written it (its answer would be stale, and the object counted twice).
    for (let other = this.#committing.get(k); other !== undefined; other = this.#committing.get(k)) await other
    let settle!: () => void
    this.#committing.set(k, new Promise<void>((resolve) => { settle = resolve }))
    try {
      await this.#commitSnapshotObject(k, name, refKey, snapshot, record)
    } finally {
      this.#committing.delete(k)
      settle()
    }
  }

  async #commitSnapshotObject (k: string, name: string, refKey: Buffer, snapshot: { digest: Bytes, bytes: Bytes }, record: Omit<RefRecord, 'snapshot'>): Promise<void> {
    let present = this.#pending.has(k)
    if (!present && !this.#condemned.delete(k) && !this.#deleting.has(k)) {
      present = await this.#snapshots.has(snapshot.digest)
      // A gc may have condemned it (rescued here) or queued its delete meanwhile.
      if (present && !this.#condemned.delete(k) && this.#deleting.has(k)) present = this.#pending.has(k)
    } else if (!present) {
      present = !this.#deleting.has(k)
    }
    this.#assertOpen()
    // Queued together and flushed: the snapshot, its ref and the counters
    // land in one batch, after (or with) every object queued before.
    if (!present && !this.#pending.has(k)) {
      const stored = encodeStored(snapshot.bytes, { level: 0 })
      this.#pending.set(k, stored)
      this.#ops.push({ type: 'put', sublevel: this.#snapshots, key: snapshot.digest, value: stored })
      this.#counters.snapshots++
      this.#counters.treeBytes += snapshot.bytes.length
      this.#counters.treeStored += stored.length
    }
    this.#ops.push({ type: 'put', sublevel: this.#refs, key: refKey, value: encodeRef({ snapshot: snapshot.digest, ...record }) })
    try {
      await this.#flush({ syncPacks: true })
    } catch (err) {
      throw new StoreError(`committing snapshot ${JSON.stringify(name)} failed: ${(err as Error).message}`, { cause: err })
    }
  }

  async getRef (name: string): Promise<RefRecord | undefined> {
    this.#assertOpen()
    assertRefName(name)
    const raw = await this.#refs.get(Buffer.from(name, 'utf8'))
    return raw === undefined ? undefined : decodeRef(raw)
  }

  async * listRefs (): AsyncIterable<[string, RefRecord]> {
    this.#assertOpen()
    for await (const [key, value] of this.#refs.iterator()) {
      yield [Buffer.from(key).toString('utf8'), decodeRef(value)]
    }
  }

  async deleteRef (name: string): Promise<boolean> {
    this.#assertOpen()
    assertRefName(name)
    const key = Buffer.from(name, 'utf8')
    await this.flush()
    if (!await this.#refs.has(key)) return false
    this.#ops.push({ type: 'del', sublevel: this.#refs, key })
    await this.flush()
    return true
  }

  async stats (): Promise<StoreStats> {
    let logicalBytes = 0
    let snapshots = 0
    for await (const [, ref] of this.listRefs()) {
      logicalBytes += ref.logicalBytes
      snapshots++
    }
    const c = this.#counters
    const total = c.chunkStored + c.treeStored
    return {
      logicalBytes,
      chunks: c.chunks,
      chunkBytes: c.chunkBytes,
      storedBytes: c.chunkStored,
      metadataObjects: c.trees + c.snapshots,
      metadataBytes: c.treeStored,
      snapshotObjects: c.snapshots,
      snapshots,
      dedupRatio: total === 0 ? 0 : logicalBytes / total
    }
  }

  /**
   * A sublevel of this store's database for records kept beside the objects
   * (the registry records of docs/FORMAT.md, "Registry records"). Names of
   * the store's own sublevels (`c x t s r m`) are refused.
   */
  recordSublevel (name: string): AbstractSublevel<Db, any, Bytes, Bytes> {
    if (/^[cxtsrm]$/.test(name)) throw new StoreError(`sublevel ${JSON.stringify(name)} belongs to the object store`)
    return this.#db.sublevel<Bytes, Bytes>(name, enc) as unknown as Sub
  }

  /**
   * Write every object queued so far, the counters and `records` (puts and
   * deletes in sublevels from {@link recordSublevel}) in one atomic batch,
   * in order with earlier batches.
   */
  async commitRecords (records: Array<{ type: 'put' | 'del', sublevel: AbstractSublevel<Db, any, Bytes, Bytes>, key: Bytes, value?: Bytes }>): Promise<void> {
    this.#assertOpen()
    for (const op of records) this.#ops.push(op as Op)
    await this.#flush({ syncPacks: true })
  }

  /** {@link putChunk}, also saying how many bytes the chunk takes in the store when this call stored it (0 when present). */
  async putChunkMeasured (digest: Bytes, bytes: Bytes): Promise<{ result: PutResult, storedBytes: number }> {
    let storedBytes = 0
    const result = await this.#put(this.#chunks, 'c', digest, bytes.length, async () => {
      const stored = await this.#pool.encode(bytes)
      storedBytes = stored.length
      return stored
    })
    return { result, storedBytes }
  }

  async close (): Promise<void> {
    if (this.#closed) return
    try {
      if (this.#failed === undefined) await this.flush()
    } finally {
      this.#closed = true
      await this.#pool.close()
      try {
        await this.#packs.close()
      } finally {
        await this.#db.close()
      }
    }
  }
}

const TAGS: Record<ObjectKind, 'c' | 't' | 's'> = { chunk: 'c', tree: 't', snapshot: 's' }
function kindTag (kind: ObjectKind): 'c' | 't' | 's' { return TAGS[kind] }
function tagKind (tag: string): ObjectKind { return tag === 'c' ? 'chunk' : tag === 't' ? 'tree' : 'snapshot' }
function keyDigest (k: string): Uint8Array { return new Uint8Array(Buffer.from(k.slice(1), 'latin1')) }

/** A record read for a location must declare the chunk length the location states. */
function checkLength (stored: Uint8Array, location: PackLocation, what: string): void {
  const declared = declaredLength(stored)
  if (declared !== location.length) throw new IntegrityError(`${what} (${packFileName(location.pack)} at ${location.offset - RECORD_HEADER_BYTES}): the record holds ${declared} bytes, the index says ${location.length}`)
}
