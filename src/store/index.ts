/**
 * The object store contract (docs/FORMAT.md §6).
 *
 * - Objects are addressed by the sha256 of their uncompressed bytes.
 * - `put*` never writes an object that is already present.
 * - `get*` always verifies what it read against its digest and throws
 *   `IntegrityError` (`ERR_INTEGRITY`) on a mismatch, `NotFoundError`
 *   (`ERR_NOT_FOUND`) when the object is absent.
 * - `commitSnapshot` makes a snapshot and its ref visible in one atomic
 *   write, after everything written before it is durable.
 *
 * - While a session (`beginSession()`) is open, every object written,
 *   found present or read is pinned; `gc` keeps pinned objects and all
 *   they reach (docs/FORMAT.md §6.1). Importers hold a session.
 * - Chunks' stored forms live in append-only pack files, LevelDB holding
 *   their locations (docs/FORMAT.md §6, `./pack/`).
 * - A failed batch write makes the open store refuse further work
 *   (`ERR_STORE`, with the cause); reopening it gives the last consistent
 *   state.
 *
 * Consumers take the narrowest capability they need (below): for example
 * a {@link SnapshotSource} for readers, an {@link ObjectWriter} and a
 * {@link SnapshotCommitter} for importers. Optional fast paths are found
 * with type guards (`hasPackAccess(store)`, `hasEncodedChunkWrites(store)`,
 * ...), never by casting to the concrete class; everything the local
 * store can do together is {@link LocalObjectStore}, which `openStore`
 * and `openMemoryStore` return.
 *
 * | capability | what | who takes it |
 * |---|---|---|
 * | {@link SnapshotSource} ({@link ChunkReader}, {@link MetadataReader}, `getRef`) | verified reads | `SnapshotReader`, exporters, `cat`, `ls`, `diff`; a remote reader implements it |
 * | {@link ObjectWriter}, {@link SnapshotCommitter}, {@link ObjectPresence} | writes, commits | importers |
 * | {@link SessionSource} | pins for a running gc | importers, registry pushes |
 * | {@link StoredChunkReader}, {@link ChunkIndexReader}, {@link PackAccess} | stored forms, index lookups, pack descriptors | the directory export's workers |
 * | {@link EncodedChunkWriter}, {@link MeasuredChunkWriter} | chunks compressed elsewhere; bytes written | import workers, the registry, a puller |
 * | {@link RecordStore} | sublevels beside the objects, committed with them | the registry backend |
 * | {@link GcView} | listing, pins and condemnation, deletes, pack reclaim, compaction | `gc` |
 * | {@link FsckView} | raw listings, counters, repairs | `fsck` |
 *
 * The files: `level/` (the local store, one file per concept: see its
 * index), `open.ts` (opening on disk or in memory),
 * `capability-guards.ts` (the type guards), `session.ts`, `stored-object.ts` (the codec byte and zstd
 * frame), `pack/` (pack files), `compress-pool.ts` (compression on worker
 * threads), `batched-get.ts`, `digest-filter.ts`, `zstd*.ts`.
 *
 * @module
 */
import type { AbstractLevel, AbstractSublevel } from 'abstract-level'
import type { RefRecord } from '../format/ref.js'
import type { DigestFilter } from './digest-filter.js'
import type { PackInfo, PackLease, PackLocation } from './pack/index.js'
import type { StoreSession } from './session.js'

/** Figures about a store's contents. */
export interface StoreStats {
  /** Sum of the logical sizes (regular-file bytes) of all refs. */
  logicalBytes: number
  /** Unique chunks stored. */
  chunks: number
  /** Uncompressed bytes of the unique chunks. */
  chunkBytes: number
  /** Bytes the chunks take in the store (after compression). */
  storedBytes: number
  /** Tree and snapshot objects stored. */
  metadataObjects: number
  /** Bytes the tree and snapshot objects take in the store. */
  metadataBytes: number
  /** Snapshot objects stored. */
  snapshotObjects: number
  /** Refs (named snapshots). */
  snapshots: number
  /** logicalBytes / (storedBytes + metadataBytes); 0 for an empty store. */
  dedupRatio: number
}

/** What {@link ObjectStore.putChunk} did. */
export type PutResult = 'stored' | 'present'

/** Options for committing a snapshot under a ref. */
export interface CommitOptions {
  /** Replace an existing ref of the same name instead of failing with `ERR_REF_EXISTS`. */
  replace?: boolean
}

// ---------------------------------------------------------------------------
// Capabilities. Every folder outside `src/store/` depends on the narrowest
// of these it needs, never on the concrete store class. The reading side
// (`ChunkReader`, `MetadataReader`, `RefReader`, together `SnapshotSource`)
// is what a remote reader (chunks fetched from a registry) or a mounted
// filesystem implements too: `SnapshotReader`, the exporters, `cat`, `ls`
// and `diff` run over any `SnapshotSource` unchanged.
// ---------------------------------------------------------------------------

/** Reading chunks by digest. */
export interface ChunkReader {
  /**
   * The chunk's bytes, verified against `digest` after decompression
   * (`ERR_INTEGRITY` on a mismatch, `ERR_NOT_FOUND` when absent).
   */
  getChunk (digest: Uint8Array): Promise<Uint8Array>
}

/** Reading encoded tree and snapshot objects by digest (the caller decodes them). */
export interface MetadataReader {
  /** An encoded tree, verified against `digest`. */
  getTree (digest: Uint8Array): Promise<Uint8Array>
  /** An encoded snapshot, verified against `digest`. */
  getSnapshot (digest: Uint8Array): Promise<Uint8Array>
}

/** Reading refs (snapshot names). */
export interface RefReader {
  /** The ref record, or undefined. */
  getRef (name: string): Promise<RefRecord | undefined>
  /** All refs in name order. */
  listRefs (): AsyncIterable<[string, RefRecord]>
}

/** Everything needed to read snapshots: what {@link SnapshotReader} and the exporters take. */
export interface SnapshotSource extends ChunkReader, MetadataReader, Pick<RefReader, 'getRef'> {}

/** Whether objects are present, without reading them. */
export interface ObjectPresence {
  /** True if the chunk is stored (or queued for storing). */
  hasChunk (digest: Uint8Array): Promise<boolean>
  /** True if the tree is stored (or queued). */
  hasTree (digest: Uint8Array): Promise<boolean>
}

/** Writing chunks and trees; both are no-ops when the object is present. */
export interface ObjectWriter {
  /** Store a chunk under its digest unless present. The caller vouches that `digest` is the sha256 of `bytes`. */
  putChunk (digest: Uint8Array, bytes: Uint8Array): Promise<PutResult>
  /** Store an encoded tree under its digest unless present. */
  putTree (digest: Uint8Array, bytes: Uint8Array): Promise<PutResult>
  /** Write everything queued so far. */
  flush (): Promise<void>
}

/** Committing a snapshot under a name, atomically, after everything queued before it. */
export interface SnapshotCommitter {
  /**
   * Write the snapshot object (unless present) and point `name` at it, in one
   * atomic batch after flushing everything queued before.
   */
  commitSnapshot (name: string, snapshot: { digest: Uint8Array, bytes: Uint8Array }, record: Omit<RefRecord, 'snapshot'>, options?: CommitOptions): Promise<void>
  /** Write everything queued so far. */
  flush (): Promise<void>
}

/** Removing refs (the objects stay until `gc`). */
export interface RefWriter {
  /** Remove a ref; false if it did not exist. */
  deleteRef (name: string): Promise<boolean>
}

/** Figures about the store. */
export interface StatsSource {
  stats (): Promise<StoreStats>
}

/** A content-addressed store of chunks, trees, snapshots and refs: every basic capability together. */
export interface ObjectStore extends SnapshotSource, RefReader, ObjectPresence, ObjectWriter, SnapshotCommitter, RefWriter, StatsSource {
  /** Flush and release the store. */
  close (): Promise<void>
}

// ---------------------------------------------------------------------------
// Sessions.
// ---------------------------------------------------------------------------

/** A store that can open sessions (docs/FORMAT.md §6.1). */
export interface SessionSource {
  /**
   * Open a session: until it is ended, every object written, found present
   * or read through this store (by anyone) is pinned, and `gc` keeps it and
   * everything it reaches. End it when the objects it touched are
   * referenced (or abandoned).
   */
  beginSession (): StoreSession
}

// ---------------------------------------------------------------------------
// Export fast paths: chunks read on worker threads. A reader without them
// reads through `getChunk`.
// ---------------------------------------------------------------------------

/**
 * What the index holds for each of several chunks
 * ({@link ChunkIndexReader.lookupChunkIndex}), undefined where absent: the
 * stored form of a chunk still queued (`queued`), else its index value.
 * Opaque to callers: pass it back to {@link PackAccess.resolveChunkSources}.
 */
export type ChunkLookup = Array<{ value: Uint8Array, queued: boolean } | undefined>

/**
 * Where one chunk can be read ({@link PackAccess.resolveChunkSources}): its
 * stored form, or a record in a pack through an open descriptor (check it
 * with `checkRecord` and decode it with `decodeStored`).
 */
export type ChunkSource = { stored: Uint8Array } | { fd: number, location: PackLocation }

/** Reading chunks' stored forms, to decode (and verify) them elsewhere. */
export interface StoredChunkReader {
  /**
   * The stored forms (§6: codec byte and payload) of several chunks, in
   * order, NOT yet decoded or verified: the caller decodes them with
   * `decodeStored`, which verifies. `ERR_NOT_FOUND` if any is absent.
   */
  readStoredChunks (digests: readonly Uint8Array[]): Promise<Uint8Array[]>
}

/** The first stage of a worker read: the index lookup, which can be started early. */
export interface ChunkIndexReader {
  /**
   * What the index says of each digest, without opening packs. Lookups
   * asked for in one turn of the event loop share one database read.
   */
  lookupChunkIndex (digests: readonly Uint8Array[]): Promise<ChunkLookup>
}

/** Pack descriptors for readers on other threads, and where each chunk is in them. */
export interface PackAccess extends ChunkIndexReader {
  /** A lease of pack file descriptors, when packs are files (undefined otherwise). Close it when done. */
  leasePacks (): PackLease | undefined
  /**
   * Where to read several chunks, in order: a descriptor (from `lease`) and
   * location for chunks in packs, the stored form for the rest. `lookup`,
   * when given, is {@link ChunkIndexReader.lookupChunkIndex} of the same
   * digests. `ERR_NOT_FOUND` if any chunk is absent.
   */
  resolveChunkSources (digests: readonly Uint8Array[], lease: PackLease, lookup?: Promise<ChunkLookup>): Promise<ChunkSource[]>
}

// ---------------------------------------------------------------------------
// Import fast paths: chunks compressed (and proven new) elsewhere.
// ---------------------------------------------------------------------------

/** Storing chunks already in their stored form (import workers; a puller storing verified stored forms). */
export interface EncodedChunkWriter {
  /** The zstd level the store writes with (0: raw): what a worker encodes at. */
  readonly compressionLevel: number
  /** A Bloom filter of the chunk digests stored (shared memory: workers skip compressing chunks it may have). */
  chunkFilter (): Promise<DigestFilter>
  /**
   * Store a chunk already in its stored form (`encodeStored`). The caller
   * vouches that it decodes to `length` bytes hashing to `digest`; reads
   * verify it as always. A no-op when the chunk is present.
   */
  putEncodedChunk (digest: Uint8Array, length: number, stored: Uint8Array): Promise<PutResult>
}

/** Writing chunks and learning what each write cost. */
export interface MeasuredChunkWriter {
  /** {@link ObjectWriter.putChunk}, also saying how many bytes the chunk takes in the store when this call stored it (0 when present). */
  putChunkMeasured (digest: Uint8Array, bytes: Uint8Array): Promise<{ result: PutResult, storedBytes: number }>
}

// ---------------------------------------------------------------------------
// Records kept beside the objects (the registry's).
// ---------------------------------------------------------------------------

/** A keyspace of records in the store's database. */
export type RecordSublevel = AbstractSublevel<AbstractLevel<any, Uint8Array, Uint8Array>, any, Uint8Array, Uint8Array>

/** One put or delete of a record. */
export interface RecordOp {
  type: 'put' | 'del'
  sublevel: RecordSublevel
  key: Uint8Array
  value?: Uint8Array
}

/** Keyspaces of records committed in the same ordered batches as the objects. */
export interface RecordStore {
  /**
   * A sublevel for records kept beside the objects (the registry records of
   * docs/FORMAT.md, "Registry records"). The store's own names (`c x t s r m`)
   * are refused (`ERR_STORE`).
   */
  recordSublevel (name: string): RecordSublevel
  /**
   * Write every object queued so far, the counters and `records` in one
   * atomic batch, in order with earlier batches; packs written so far are
   * made durable first.
   */
  commitRecords (records: RecordOp[]): Promise<void>
}

// ---------------------------------------------------------------------------
// Maintenance views.
// ---------------------------------------------------------------------------

/** The kinds of stored object. */
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

/** What {@link ObjectDeleter.deleteObjects} removed. */
export interface DeleteResult {
  chunks: number
  trees: number
  snapshots: number
  /** Stored bytes of the deleted objects (what they took in the store before compaction). */
  storedBytes: number
}

/** Options for {@link ObjectDeleter.deleteObjects}. */
export interface DeleteOptions {
  /** Skip objects not condemned (rescued since they were condemned). */
  onlyCondemned?: boolean
  /** Checked between groups of deletes: an abort leaves every group written so far, with its counters. */
  signal?: AbortSignal
  /** Called after each group of deletes is written. */
  onProgress?: (deleted: DeleteResult) => void
}

/** What {@link PackReclaimer.reclaimPacks} did. */
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

/** Options for {@link PackReclaimer.reclaimPacks}. */
export interface PackReclaimOptions {
  /** Rewrite a pack when at least this fraction of it is dead bytes; default 0.1. Packs with no live chunk are always deleted. */
  deadFraction?: number
  /**
   * Checked before each pack is deleted or rewritten: an abort leaves every
   * pack either as it was or fully moved (its new locations durable before
   * it is deleted).
   */
  signal?: AbortSignal
  /** Called after each pack deleted or rewritten. */
  onProgress?: (done: PackReclaimResult) => void
}

/** One chunk as {@link RawObjectLister.listChunkRecords} gives it. */
export interface ChunkRecord {
  digest: Uint8Array
  /** Its stored form (codec byte + payload), unverified; absent when it could not be read. */
  stored?: Uint8Array
  /** Why it could not be read (`ERR_INTEGRITY`: its pack is missing, or the record there is short or of another chunk). */
  error?: Error
  /** Where it is, when its value is a pack location (absent for inline values of stores written before packs). */
  location?: PackLocation
  /** Stored and decoded lengths as the index states them. */
  storedLength: number
  length: number
}

/** Listing every digest of a kind. */
export interface ObjectLister {
  /** Every digest of a kind, in key order (key-only scan). `chunk-index` lists the chunk index keyspace. */
  listDigests (kind: ObjectKind | 'chunk-index'): AsyncIterable<Uint8Array>
}

/** What a running gc learns from live sessions, and its commit point (docs/FORMAT.md §6.1). */
export interface GcPins {
  /** The current touch sequence number (see {@link pinnedSince}). */
  readonly touchSeq: number
  /** Objects pinned by live sessions with a touch after `seq`. */
  pinnedSince (seq: number): Array<{ kind: ObjectKind, digest: Uint8Array }>
  /**
   * The gc's commit point, synchronous: if every object pinned after `seq`
   * is `settled` (its closure already marked), condemn every candidate
   * (`key`: the digest as latin1) not pinned, and return true; otherwise
   * change nothing and return false. Condemned objects read as absent at
   * once; writing one again rescues it.
   */
  condemn (seq: number, candidates: Iterable<{ kind: ObjectKind, key: string }>, settled: (kind: ObjectKind, key: string) => boolean): boolean
  /** Forget every condemnation not yet carried out (a gc that stopped early). */
  pardon (): void
  /** Digests still condemned (to be deleted with `deleteObjects(…, { onlyCondemned: true })`). */
  condemned (): Array<{ kind: ObjectKind, digest: Uint8Array }>
}

/** Deleting objects with their counters. */
export interface ObjectDeleter {
  /**
   * Delete objects, with the counters, in the store's ordered batches.
   * Bytes are the stored sizes (for chunks, from their locations: the pack
   * space is reclaimed by {@link PackReclaimer.reclaimPacks}).
   */
  deleteObjects (objects: Iterable<{ kind: ObjectKind, digest: Uint8Array }>, options?: DeleteOptions): Promise<DeleteResult>
}

/** Reclaiming pack space after chunks were deleted. */
export interface PackReclaimer {
  /**
   * Delete every pack (but the one being appended to and newer ones) no
   * chunk lives in, and rewrite those with at least `deadFraction` dead
   * bytes. A damaged live record stays where it is, and so does its pack.
   */
  reclaimPacks (options?: PackReclaimOptions): Promise<PackReclaimResult>
}

/** Returning freed space to the filesystem. */
export interface Compactor {
  /** Compact the database so deleted objects free disk space (a no-op where unsupported). */
  compact (): Promise<void>
}

/** Everything `gc` needs of a store. */
export interface GcView extends SessionSource, ChunkReader, MetadataReader, RefReader, ObjectLister, GcPins, ObjectDeleter, PackReclaimer, Compactor {
  /** Write everything queued so far. */
  flush (): Promise<void>
}

/** Raw listings: stored forms as they are, unverified (fsck verifies and reports them). */
export interface RawObjectLister extends ObjectLister {
  /** Every object of a kind with its stored form. A chunk that cannot be read throws (use {@link listChunkRecords}). */
  listStored (kind: ObjectKind): AsyncIterable<[Uint8Array, Uint8Array]>
  /** Every chunk in the index, in key order, with its stored form read from its pack or the error reading it gave. */
  listChunkRecords (): AsyncIterable<ChunkRecord>
  /** Every ref with its raw record bytes (not decoded). */
  listRawRefs (): AsyncIterable<[string, Uint8Array]>
}

/** The pack files themselves. */
export interface PackLister {
  /** Every pack file with its size (`ERR_STORE` when they cannot be listed). */
  listPacks (): Promise<PackInfo[]>
  /** Where the packs are (for messages). */
  readonly packsDescription: string
}

/** The counters, to check and rebuild. */
export interface CounterAccess {
  /** The counters as the store keeps them. */
  counters (): StoreCounters
  /** Replace the counters with recounted ones, written at once. */
  setCounters (counters: StoreCounters): Promise<void>
}

/** Repairs of derived or undecodable data. */
export interface StoreRepairs extends ObjectDeleter {
  /** Delete a ref whatever its record holds. */
  deleteRawRef (name: string): Promise<void>
  /** Add (and remove) chunk index keys, in the ordered batches. */
  fixChunkIndex (add: Iterable<Uint8Array>, del: Iterable<Uint8Array>): Promise<void>
}

/** Everything `fsck` needs of a store. */
export interface FsckView extends ChunkReader, MetadataReader, RefReader, RawObjectLister, PackLister, CounterAccess, StoreRepairs {
  /** Write everything queued so far. */
  flush (): Promise<void>
}

/**
 * Everything the local store (on disk or in memory) can do: what
 * `openStore` and `openMemoryStore` return. Code outside `src/store/`
 * takes one of the capabilities above instead, except where it opens a
 * store and hands it on.
 */
export interface LocalObjectStore extends ObjectStore, SessionSource, StoredChunkReader, PackAccess, EncodedChunkWriter, MeasuredChunkWriter, RecordStore, GcView, FsckView {}

export { type LevelObjectStoreOptions, chunkValueLengths } from './level/index.js'
export { hasEncodedChunkWrites, hasPackAccess, hasRecords, hasSessions, hasStoredChunkReads } from './capability-guards.js'
export { DigestFilter } from './digest-filter.js'
export { type PackStorage, type PackLease, type PackInfo, type PackLocation, FilePackStorage, MemoryPackStorage, memoryPacksOf } from './pack/index.js'
export { StoreSession, withStoreSession } from './session.js'
export { openStore, openMemoryStore, openLevelStore, type OpenStoreOptions } from './open.js'
export { encodeStored, decodeStored, declaredLength, CODEC_RAW, CODEC_ZSTD, DEFAULT_COMPRESSION_LEVEL, MAX_CHUNK_BYTES, MAX_TREE_BYTES } from './stored-object.js'
