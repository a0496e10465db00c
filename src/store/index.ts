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
 * Consumers take the narrowest view they need, for example
 * `Pick<ObjectStore, 'getChunk' | 'getTree'>` for readers.
 *
 * @module
 */
import type { RefRecord } from '../format/ref.js'

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

/** A content-addressed store of chunks, trees, snapshots and refs. */
export interface ObjectStore {
  /** True if the chunk is stored (or queued for storing). */
  hasChunk (digest: Uint8Array): Promise<boolean>
  /** Store a chunk under its digest unless present. The caller vouches that `digest` is the sha256 of `bytes`. */
  putChunk (digest: Uint8Array, bytes: Uint8Array): Promise<PutResult>
  /** Read and verify a chunk. */
  getChunk (digest: Uint8Array): Promise<Uint8Array>
  /** True if the tree is stored (or queued). */
  hasTree (digest: Uint8Array): Promise<boolean>
  /** Store an encoded tree under its digest unless present. */
  putTree (digest: Uint8Array, bytes: Uint8Array): Promise<PutResult>
  /** Read and verify an encoded tree (the caller decodes it). */
  getTree (digest: Uint8Array): Promise<Uint8Array>
  /** Read and verify an encoded snapshot. */
  getSnapshot (digest: Uint8Array): Promise<Uint8Array>
  /** Write everything queued so far. */
  flush (): Promise<void>
  /**
   * Write the snapshot object (unless present) and point `name` at it, in one
   * atomic batch after flushing everything queued before.
   */
  commitSnapshot (name: string, snapshot: { digest: Uint8Array, bytes: Uint8Array }, record: Omit<RefRecord, 'snapshot'>, options?: CommitOptions): Promise<void>
  /** The ref record, or undefined. */
  getRef (name: string): Promise<RefRecord | undefined>
  /** All refs in name order. */
  listRefs (): AsyncIterable<[string, RefRecord]>
  /** Remove a ref; false if it did not exist. Objects stay until `gc`. */
  deleteRef (name: string): Promise<boolean>
  /** Current figures. */
  stats (): Promise<StoreStats>
  /** Flush and release the store. */
  close (): Promise<void>
}

export {
  LevelObjectStore, type LevelObjectStoreOptions, type ObjectKind, type StoreCounters, type DeleteResult, declaredLength, chunkValueLengths,
  type ChunkRecord, type PackReclaimOptions, type PackReclaimResult, MAX_CHUNK_BYTES, MAX_TREE_BYTES
} from './level-store.js'
export { type PackStorage, type PackLease, type PackInfo, type PackLocation, FilePackStorage, MemoryPackStorage, memoryPacksOf } from './pack/index.js'
export { StoreSession, type SessionSource, withStoreSession } from './session.js'
export { openStore, openMemoryStore, type OpenStoreOptions } from './open.js'
export { encodeStored, decodeStored, CODEC_RAW, CODEC_ZSTD, DEFAULT_COMPRESSION_LEVEL } from './stored-object.js'
