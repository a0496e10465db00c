/**
 * Pack files: where the stored forms of chunks live (docs/FORMAT.md §6).
 *
 * The store appends chunk records to packs and keeps, in LevelDB, the
 * location of each. Everything the store needs from the place packs live
 * in is the small {@link PackStorage} contract below, with two
 * implementations: files in `<store>/packs/` ({@link FilePackStorage}) and
 * memory ({@link MemoryPackStorage}, for memory-level stores).
 *
 * The contract:
 * - packs are numbered from 1; `create` makes a new pack holding only the
 *   magic header and fails if that number exists;
 * - `write` puts bytes at an offset of a pack (the store only ever writes
 *   at the end of the pack it created, in order, one write at a time) and
 *   resolves once the bytes are in the file (in the page cache: a killed
 *   process loses nothing written); `sync` makes them durable;
 * - `read` returns the bytes at an offset, fewer when the pack ends
 *   sooner, and rejects with `NotFoundError` (`ERR_NOT_FOUND`) when the
 *   pack does not exist; reads may run concurrently with each other and
 *   with writes and deletes, and a read of a pack deleted after it was
 *   last opened may still succeed;
 * - `delete` removes a pack (a no-op when absent); `close` releases what
 *   the storage holds open (memory packs survive it, so a memory-level
 *   database can be reopened with its packs).
 *
 * Other errors (`EIO`, `ENOSPC`) are rejected as they come; the store
 * turns them into `StoreError` (`ERR_STORE`).
 *
 * @module
 */

/** A pack and its size in bytes. */
export interface PackInfo {
  pack: number
  size: number
}

/** Where pack files live; see the module documentation for the contract. */
export interface PackStorage {
  /** For messages: where the packs are. */
  readonly description: string
  /** Every pack with its size, in number order. */
  list (): Promise<PackInfo[]>
  /** Create pack `pack` holding only the magic header; rejects if it exists. */
  create (pack: number): Promise<void>
  /** Write `bytes` at `offset` of `pack`. */
  write (pack: number, offset: number, bytes: Uint8Array): Promise<void>
  /**
   * Optional: {@link write} of several pieces back to back, without joining
   * them first (a vectored write). Without it, the store joins them and
   * calls `write`.
   */
  writePieces? (pack: number, offset: number, pieces: readonly Uint8Array[]): Promise<void>
  /** Up to `length` bytes at `offset` of `pack` (fewer at its end); `NotFoundError` if it does not exist. */
  read (pack: number, offset: number, length: number): Promise<Uint8Array>
  /** Make what was written to `pack` durable. */
  sync (pack: number): Promise<void>
  /** Remove `pack` (no-op if absent). */
  delete (pack: number): Promise<void>
  /** Release open files. */
  close (): Promise<void>
  /**
   * Optional: a {@link PackLease} handing out file descriptors that other
   * threads of this process can read with `pread` (file packs only).
   */
  lease? (): PackLease
}

/**
 * File descriptors of packs, each kept open until {@link PackLease.close}:
 * worker threads share the process's descriptors, so they can read pack
 * records themselves. A descriptor stays valid (and reads the bytes the
 * pack had) even if gc deletes the pack meanwhile: pack bytes never change
 * once written.
 */
export interface PackLease {
  /**
   * An open read-only descriptor of `pack`, or undefined when the lease
   * holds as many descriptors as it may (the caller then reads the record
   * itself); `NotFoundError` if the pack does not exist.
   */
  fd (pack: number): Promise<number | undefined>
  /** Close every descriptor handed out. */
  close (): Promise<void>
}

export { FilePackStorage } from './file-storage.js'
export { MemoryPackStorage, memoryPacksOf } from './memory-storage.js'
export { readRecords, isMissingPack, isDamage, type RecordRequest } from './read.js'
export {
  PACK_MAGIC, RECORD_HEADER_BYTES, LOCATION_MARKER, LOCATION_BYTES, PACK_TARGET_BYTES, MAX_PACK_NUMBER, type PackLocation,
  packFileName, parsePackFileName, encodeRecordHeader, encodeLocation, decodeLocation, isLocation, checkRecord
} from './format.js'
