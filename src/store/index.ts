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
 * {@link SnapshotCommitter} for importers.
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

export {
  LevelObjectStore, type LevelObjectStoreOptions, type ObjectKind, type StoreCounters, type DeleteResult, declaredLength, chunkValueLengths,
  type ChunkRecord, type PackReclaimOptions, type PackReclaimResult, MAX_CHUNK_BYTES, MAX_TREE_BYTES
} from './level-store.js'
export { type PackStorage, type PackLease, type PackInfo, type PackLocation, FilePackStorage, MemoryPackStorage, memoryPacksOf } from './pack/index.js'
export { StoreSession, type SessionSource, withStoreSession } from './session.js'
export { openStore, openMemoryStore, type OpenStoreOptions } from './open.js'
export { encodeStored, decodeStored, CODEC_RAW, CODEC_ZSTD, DEFAULT_COMPRESSION_LEVEL } from './stored-object.js'
