/**
 * Opening stores: on disk with classic-level (LevelDB, through the `level`
 * family), or in memory with memory-level.
 *
 * @module
 */
import { mkdir } from 'node:fs/promises'
import { availableParallelism } from 'node:os'
import { ClassicLevel } from 'classic-level'
import { StoreError, StoreLockedError } from '../errors.js'
import { join } from 'node:path'
import type { AbstractLevel } from 'abstract-level'
import type { LocalObjectStore } from './index.js'
import { LevelObjectStore, type LevelObjectStoreOptions } from './level/index.js'
import { FilePackStorage } from './pack/index.js'

/** Options for {@link openStore}. */
export interface OpenStoreOptions extends LevelObjectStoreOptions {}

function isLocked (err: unknown): boolean {
  for (let e: any = err; e != null; e = e.cause) {
    if (e.code === 'LEVEL_LOCKED' || /lock/i.test(String(e.message ?? ''))) return true
  }
  return false
}

/**
 * Open (creating if needed) the store in directory `dir`. Throws
 * {@link StoreLockedError} (`ERR_STORE_LOCKED`) when another process holds it.
 */
export async function openStore (dir: string, options: OpenStoreOptions = {}): Promise<LocalObjectStore> {
  try {
    await mkdir(dir, { recursive: true })
  } catch (err) {
    throw new StoreError(`cannot create store directory ${dir}: ${(err as Error).message}`, { cause: err })
  }
  // Chunks live in pack files (<dir>/packs); LevelDB holds only small
  // values (locations, trees, snapshots, refs): no snappy, LevelDB's
  // defaults otherwise (a 2 MiB write buffer, 2 MiB tables). Bigger tables
  // left big orphaned compaction outputs on disk at close.
  const db = new ClassicLevel<Uint8Array, Uint8Array>(dir, {
    keyEncoding: 'view',
    valueEncoding: 'view',
    compression: false,
    writeBufferSize: 2 * 1024 * 1024
  })
  try {
    return await LevelObjectStore.open(db as any, { compressionThreads: availableParallelism(), batchBytes: 2 * 1024 * 1024, packs: new FilePackStorage(join(dir, 'packs')), ...options })
  } catch (err) {
    await db.close().catch(() => {})
    if (isLocked(err)) throw new StoreLockedError(`the store ${dir} is in use by another process`, { cause: err })
    if (err instanceof Error && 'code' in err && String(err.code).startsWith('ERR_')) throw err
    throw new StoreError(`cannot open store ${dir}: ${(err as Error).message}`, { cause: err })
  }
}

/** A store held in memory only (tests, short-lived use); its packs are in memory too. */
export async function openMemoryStore (options: LevelObjectStoreOptions = {}): Promise<LocalObjectStore> {
  const { MemoryLevel } = await import('memory-level')
  const db = new MemoryLevel<Uint8Array, Uint8Array>({ keyEncoding: 'view', valueEncoding: 'view' })
  return await LevelObjectStore.open(db as any, options)
}

/**
 * The store on an `abstract-level` database of your own (opened or not,
 * with `view` encodings or not: the store makes its sublevels with `view`
 * encodings). Checks or writes the format marker. Packs default to
 * `<location>/packs` for a database with a `location`, else memory kept
 * with the database object (so reopening it finds them).
 */
export async function openLevelStore (db: AbstractLevel<any, any, any>, options: LevelObjectStoreOptions = {}): Promise<LocalObjectStore> {
  return await LevelObjectStore.open(db as any, options)
}
