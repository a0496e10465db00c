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
import { LevelObjectStore, type LevelObjectStoreOptions } from './level-store.js'

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
export async function openStore (dir: string, options: OpenStoreOptions = {}): Promise<LevelObjectStore> {
  try {
    await mkdir(dir, { recursive: true })
  } catch (err) {
    throw new StoreError(`cannot create store directory ${dir}: ${(err as Error).message}`, { cause: err })
  }
  // LevelDB tuned for values that are already compressed and written once:
  // - no snappy (stored objects are zstd frames or incompressible);
  // - 32 MiB table files and an 8 MiB memtable: with LevelDB's 2 MiB
  //   defaults every stored byte was rewritten by many small compactions,
  //   which cost more CPU than compressing it (measured: 3.1 s -> 1.4 s of
  //   CPU to write 234 MB of 24 KiB values; bench/ shows the ingest).
  // The memtable also bounds the write-ahead log left at close (replayed
  // into a table at the next open).
  const db = new ClassicLevel<Uint8Array, Uint8Array>(dir, {
    keyEncoding: 'view',
    valueEncoding: 'view',
    compression: false,
    writeBufferSize: 8 * 1024 * 1024,
    maxFileSize: 32 * 1024 * 1024
  })
  try {
    return await LevelObjectStore.open(db as any, { compressionThreads: availableParallelism(), batchBytes: 2 * 1024 * 1024, ...options })
  } catch (err) {
    await db.close().catch(() => {})
    if (isLocked(err)) throw new StoreLockedError(`the store ${dir} is in use by another process`, { cause: err })
    if (err instanceof Error && 'code' in err && String(err.code).startsWith('ERR_')) throw err
    throw new StoreError(`cannot open store ${dir}: ${(err as Error).message}`, { cause: err })
  }
}

/** A store held in memory only (tests, short-lived use). */
export async function openMemoryStore (options: LevelObjectStoreOptions = {}): Promise<LevelObjectStore> {
  const { MemoryLevel } = await import('memory-level')
  const db = new MemoryLevel<Uint8Array, Uint8Array>({ keyEncoding: 'view', valueEncoding: 'view' })
  return await LevelObjectStore.open(db as any, options)
}
