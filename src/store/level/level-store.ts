/**
 * The local store: every capability of `../index.ts` ({@link LocalObjectStore})
 * on any `abstract-level` database, classic-level (LevelDB) on disk or
 * memory-level in memory. This class holds one {@link StoreCore} and
 * delegates each method to the file of its concept (see `./index.ts`).
 *
 * @module
 */
import { join } from 'node:path'
import { UnsupportedError } from '../../errors.js'
import type { RefRecord } from '../../format/ref.js'
import { CompressPool } from '../compress-pool.js'
import type { DigestFilter } from '../digest-filter.js'
import type {
  ChunkLookup, ChunkRecord, ChunkSource, CommitOptions, DeleteOptions, DeleteResult, LocalObjectStore, ObjectKind, PackReclaimOptions, PackReclaimResult,
  PutResult, RecordOp, RecordSublevel, StoreCounters, StoreStats
} from '../index.js'
import { FilePackStorage, memoryPacksOf, PACK_TARGET_BYTES, type PackInfo, type PackLease, type PackStorage } from '../pack/index.js'
import type { StoreSession } from '../session.js'
import { DEFAULT_COMPRESSION_LEVEL, encodeStored, MAX_CHUNK_BYTES, MAX_TREE_BYTES } from '../stored-object.js'
import { loadZstd } from '../zstd.js'
import { lookupChunkIndex, readStoredChunks, resolveChunkSources } from './chunk-reads.js'
import { StoreCore } from './core.js'
import { loadCounters } from './counters.js'
import { type Bytes, type Db, Keyspaces } from './keyspaces.js'
import { listChunkRecords, listDigests, listRawRefs, listStored } from './listings.js'
import { ObjectIndex } from './object-index.js'
import { getObject, hasObject, putObject } from './objects.js'
import { PackAppender } from './pack-appender.js'
import { Pins } from './pins.js'
import { commitRecords, recordSublevel } from './records.js'
import { Refs } from './refs.js'
import { reclaimPacks } from './repack.js'
import { deleteRawRef, fixChunkIndex, setCounters } from './repairs.js'
import { compact, deleteObjects } from './sweep.js'
import { WriteQueue } from './write-queue.js'

/** Value of the `format` meta key. */
export const STORE_FORMAT = 'tessera-store-1'

/** Options for the local store. */
export interface LevelObjectStoreOptions {
  /** zstd level for chunks and trees; 0 stores everything raw. Default 5 (see docs/FORMAT.md §7). */
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

/** The local store over an abstract-level database. */
export class LevelObjectStore implements LocalObjectStore {
  readonly #core: StoreCore
  readonly #refs: Refs

  private constructor (core: StoreCore) {
    this.#core = core
    this.#refs = new Refs(core)
  }

  /** Open a store on an abstract-level database (opened or not); checks or writes the format marker. */
  static async open (db: Db, options: LevelObjectStoreOptions = {}): Promise<LevelObjectStore> {
    await loadZstd()
    await db.open()
    const keys = new Keyspaces(db)
    const format = await keys.meta.get(Buffer.from('format'))
    if (format === undefined) {
      await keys.meta.put(Buffer.from('format'), Buffer.from(STORE_FORMAT))
    } else if (Buffer.from(format).toString() !== STORE_FORMAT) {
      throw new UnsupportedError(`store format ${JSON.stringify(Buffer.from(format).toString())} is not ${STORE_FORMAT}`)
    }
    const counters = await loadCounters(keys.meta)
    const location = (db as unknown as { location?: unknown }).location
    const storage = options.packs ?? (typeof location === 'string' ? new FilePackStorage(join(location, 'packs')) : memoryPacksOf(db))
    const packs = new PackAppender(storage, options.packTargetBytes ?? PACK_TARGET_BYTES)
    const level = options.compressionLevel ?? DEFAULT_COMPRESSION_LEVEL
    return new LevelObjectStore(new StoreCore({
      db,
      keys,
      counters,
      packs,
      queue: new WriteQueue(db, keys, counters, packs, options.batchBytes ?? 8 * 1024 * 1024),
      index: new ObjectIndex(keys, counters),
      pins: new Pins(),
      pool: new CompressPool({ level, threads: options.compressionThreads ?? 0 }),
      level
    }))
  }

  /** The zstd level objects are stored with (0: raw). */
  get compressionLevel (): number { return this.#core.level }

  // --- chunks --------------------------------------------------------------

  async hasChunk (digest: Bytes): Promise<boolean> { return await hasObject(this.#core, this.#core.keys.chunks, 'c', digest) }

  async putChunk (digest: Bytes, bytes: Bytes): Promise<PutResult> {
    return await putObject(this.#core, this.#core.keys.chunks, 'c', digest, bytes.length, async () => await this.#core.pool.encode(bytes))
  }

  async putChunkMeasured (digest: Bytes, bytes: Bytes): Promise<{ result: PutResult, storedBytes: number }> {
    let storedBytes = 0
    const result = await putObject(this.#core, this.#core.keys.chunks, 'c', digest, bytes.length, async () => {
      const stored = await this.#core.pool.encode(bytes)
      storedBytes = stored.length
      return stored
    })
    return { result, storedBytes }
  }

  async putEncodedChunk (digest: Bytes, length: number, stored: Bytes): Promise<PutResult> {
    return await putObject(this.#core, this.#core.keys.chunks, 'c', digest, length, async () => stored)
  }

  async chunkFilter (): Promise<DigestFilter> { return await this.#core.index.filterOf(this.#core.keys.chunks, 'c') }

  async getChunk (digest: Bytes): Promise<Bytes> { return await getObject(this.#core, this.#core.keys.chunks, 'c', digest, 'chunk', MAX_CHUNK_BYTES) }

  async readStoredChunks (digests: readonly Bytes[]): Promise<Bytes[]> { return await readStoredChunks(this.#core, digests) }

  async lookupChunkIndex (digests: readonly Bytes[]): Promise<ChunkLookup> { return await lookupChunkIndex(this.#core, digests) }

  leasePacks (): PackLease | undefined { return this.#core.packs.lease() }

  async resolveChunkSources (digests: readonly Bytes[], lease: PackLease, lookup?: Promise<ChunkLookup>): Promise<ChunkSource[]> {
    return await resolveChunkSources(this.#core, digests, lease, lookup)
  }

  // --- trees and snapshots -------------------------------------------------

  async hasTree (digest: Bytes): Promise<boolean> { return await hasObject(this.#core, this.#core.keys.trees, 't', digest) }

  async putTree (digest: Bytes, bytes: Bytes): Promise<PutResult> {
    // Trees are compressed here: they are small, and sending one to the
    // pool would start its workers for nothing during an import whose
    // chunks the content workers compress.
    return await putObject(this.#core, this.#core.keys.trees, 't', digest, bytes.length, async () => encodeStored(bytes, { level: this.#core.level }))
  }

  async getTree (digest: Bytes): Promise<Bytes> { return await getObject(this.#core, this.#core.keys.trees, 't', digest, 'tree', MAX_TREE_BYTES) }

  async getSnapshot (digest: Bytes): Promise<Bytes> { return await getObject(this.#core, this.#core.keys.snapshots, 's', digest, 'snapshot', MAX_TREE_BYTES) }

  // --- refs ----------------------------------------------------------------

  async commitSnapshot (name: string, snapshot: { digest: Bytes, bytes: Bytes }, record: Omit<RefRecord, 'snapshot'>, options: CommitOptions = {}): Promise<void> {
    await this.#refs.commitSnapshot(name, snapshot, record, options)
  }

  async getRef (name: string): Promise<RefRecord | undefined> { return await this.#refs.get(name) }

  listRefs (): AsyncIterable<[string, RefRecord]> { return this.#refs.list() }

  async deleteRef (name: string): Promise<boolean> { return await this.#refs.delete(name) }

  // --- the store as a whole ------------------------------------------------

  async flush (): Promise<void> { await this.#core.flush() }

  async stats (): Promise<StoreStats> {
    let logicalBytes = 0
    let snapshots = 0
    for await (const [, ref] of this.listRefs()) {
      logicalBytes += ref.logicalBytes
      snapshots++
    }
    const c = this.#core.counters
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

  async close (): Promise<void> {
    const core = this.#core
    if (core.closed) return
    try {
      if (core.queue.failed === undefined) await core.flush()
    } finally {
      core.closed = true
      await core.pool.close()
      try {
        await core.packs.close()
      } finally {
        await core.db.close()
      }
    }
  }

  // --- sessions and gc's commit point ---------------------------------------

  beginSession (): StoreSession {
    this.#core.assertOpen()
    return this.#core.pins.begin()
  }

  get touchSeq (): number { return this.#core.pins.touchSeq }

  pinnedSince (seq: number): Array<{ kind: ObjectKind, digest: Uint8Array }> { return this.#core.pins.pinnedSince(seq) }

  condemn (seq: number, candidates: Iterable<{ kind: ObjectKind, key: string }>, settled: (kind: ObjectKind, key: string) => boolean): boolean {
    this.#core.assertOpen()
    return this.#core.pins.condemn(seq, candidates, settled)
  }

  pardon (): void { this.#core.pins.pardon() }

  condemned (): Array<{ kind: ObjectKind, digest: Uint8Array }> { return this.#core.pins.condemnedObjects() }

  // --- maintenance -----------------------------------------------------------

  async deleteObjects (objects: Iterable<{ kind: ObjectKind, digest: Uint8Array }>, options: DeleteOptions = {}): Promise<DeleteResult> {
    return await deleteObjects(this.#core, objects, options)
  }

  async reclaimPacks (options: PackReclaimOptions = {}): Promise<PackReclaimResult> { return await reclaimPacks(this.#core, options) }

  async compact (): Promise<void> { await compact(this.#core) }

  listDigests (kind: ObjectKind | 'chunk-index'): AsyncIterable<Uint8Array> { return listDigests(this.#core, kind) }

  listStored (kind: ObjectKind): AsyncIterable<[Uint8Array, Uint8Array]> { return listStored(this.#core, kind) }

  listChunkRecords (): AsyncIterable<ChunkRecord> { return listChunkRecords(this.#core) }

  listRawRefs (): AsyncIterable<[string, Uint8Array]> { return listRawRefs(this.#core) }

  async listPacks (): Promise<PackInfo[]> {
    this.#core.assertOpen()
    return await this.#core.packs.list()
  }

  get packsDescription (): string { return this.#core.packs.description }

  counters (): StoreCounters { return { ...this.#core.counters } }

  async setCounters (counters: StoreCounters): Promise<void> { await setCounters(this.#core, counters) }

  async deleteRawRef (name: string): Promise<void> { await deleteRawRef(this.#core, name) }

  async fixChunkIndex (add: Iterable<Uint8Array>, del: Iterable<Uint8Array>): Promise<void> { await fixChunkIndex(this.#core, add, del) }

  // --- records -----------------------------------------------------------------

  recordSublevel (name: string): RecordSublevel { return recordSublevel(this.#core, name) }

  async commitRecords (records: RecordOp[]): Promise<void> { await commitRecords(this.#core, records) }
}
