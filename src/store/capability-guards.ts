/**
 * Type guards for the optional capabilities of `./index.ts`: code that can
 * use a fast path when a store offers it asks with one of these, never by
 * casting to the concrete store class. Each checks that the methods exist
 * (a remote reader or a test double may offer any subset).
 *
 * @module
 */
import type { EncodedChunkWriter, PackAccess, RecordStore, SessionSource, StoredChunkReader } from './index.js'

const hasMethods = (store: unknown, names: readonly string[]): boolean =>
  typeof store === 'object' && store !== null && names.every((n) => typeof (store as Record<string, unknown>)[n] === 'function')

/** True when `store` opens sessions ({@link SessionSource}). */
export function hasSessions<T> (store: T): store is T & SessionSource {
  return hasMethods(store, ['beginSession'])
}

/** True when `store` gives chunks' stored forms ({@link StoredChunkReader}). */
export function hasStoredChunkReads<T> (store: T): store is T & StoredChunkReader {
  return hasMethods(store, ['readStoredChunks'])
}

/** True when `store` leases pack descriptors and says where chunks are in them ({@link PackAccess}). */
export function hasPackAccess<T> (store: T): store is T & PackAccess {
  return hasMethods(store, ['leasePacks', 'resolveChunkSources', 'lookupChunkIndex'])
}

/** True when `store` takes chunks in their stored form ({@link EncodedChunkWriter}). */
export function hasEncodedChunkWrites<T> (store: T): store is T & EncodedChunkWriter {
  return hasMethods(store, ['putEncodedChunk', 'chunkFilter']) && typeof (store as { compressionLevel?: unknown }).compressionLevel === 'number'
}

/** True when `store` keeps record sublevels beside its objects ({@link RecordStore}). */
export function hasRecords<T> (store: T): store is T & RecordStore {
  return hasMethods(store, ['recordSublevel', 'commitRecords'])
}
