/**
 * Opening stores: on disk with classic-level (LevelDB, through the `level`
 * family), or in memory with memory-level.
 *
 * @module
 */
import { stat } from 'node:fs/promises'
import { availableParallelism } from 'node:os'
import { ClassicLevel } from 'classic-level'
import { StoreError, StoreLockedError, StoreNotFoundError } from '../errors.js'
import { join } from 'node:path'
import type { AbstractLevel } from 'abstract-level'
import type { LocalObjectStore } from './index.js'
import { LevelObjectStore, type LevelObjectStoreOptions } from './level/index.js'
import { FilePackStorage } from './pack/index.js'
import { makeDirectories } from '../platform/remove-tree.js'

/** Options for {@link openStore}. */
export interface OpenStoreOptions extends LevelObjectStoreOptions {
  /**
   * Create the store (and its directory, parents too) when it does not
   * exist (default true). With false, a missing directory, or one that
   * holds no store, is {@link StoreNotFoundError} (`ERR_STORE_NOT_FOUND`):
   * what only reads should never leave a new store behind.
   */
  create?: boolean
}

/** The errors LevelDB wraps, outermost first. */
function causes (err: unknown): any[] {
  const chain: any[] = []
  for (let e: any = err; e != null && chain.length < 16; e = e.cause) chain.push(e)
  return chain
}

/** LevelDB's own lock error (`IO error: lock DIR/LOCK: already held by process`), not any error naming the LOCK file. */
function isLocked (err: unknown): boolean {
  return causes(err).some((e) => e.code === 'LEVEL_LOCKED' || /^IO error: lock /.test(String(e.message ?? '')))
}

/** LevelDB's refusal to create a database with `createIfMissing: false`. */
function isMissing (err: unknown): boolean {
  return causes(err).some((e) => /does not exist \(create_if_missing is false\)/.test(String(e.message ?? '')))
}

/** The innermost message: LevelDB's outer errors only say `Database failed to open`. */
function reason (err: unknown): string {
  const chain = causes(err)
  return String(chain[chain.length - 1]?.message ?? err)
}

/**
 * Open the store in directory `dir`, creating it unless `options.create`
 * is false. Throws {@link StoreLockedError} (`ERR_STORE_LOCKED`) when
 * another process holds it, {@link StoreNotFoundError}
 * (`ERR_STORE_NOT_FOUND`) when it does not exist and may not be created,
 * {@link StoreError} (`ERR_STORE`, with LevelDB's reason) otherwise.
 */
export async function openStore (dir: string, options: OpenStoreOptions = {}): Promise<LocalObjectStore> {
  const { create = true, ...storeOptions } = options
  if (create) {
    let made: unknown
    try {
      made = await makeDirectories(dir)
    } catch (err) {
      throw new StoreError(`cannot create store directory ${dir}: ${(err as Error).message}`, { cause: err })
    }
    if (made === undefined && !(await stat(dir)).isDirectory()) throw new StoreError(`cannot create a store at ${dir}: it exists and is not a directory`)
  } else {
    // LevelDB would create the directory and its LOCK and LOG files before
    // finding no CURRENT file: look first, so a refused open leaves nothing.
    const st = await stat(join(dir, 'CURRENT')).catch((err: NodeJS.ErrnoException) => {
      if (err.code === 'ENOENT' || err.code === 'ENOTDIR') throw new StoreNotFoundError(`no store at ${dir}${err.code === 'ENOENT' ? '' : ': it is not a directory'}`, { cause: err })
      throw new StoreError(`cannot open store ${dir}: ${err.message}`, { cause: err })
    })
    if (!st.isFile()) throw new StoreNotFoundError(`no store at ${dir}`)
  }
  // Chunks live in pack files (<dir>/packs); LevelDB holds only small
  // values (locations, trees, snapshots, refs): no snappy, LevelDB's
  // defaults otherwise (a 2 MiB write buffer, 2 MiB tables). Bigger tables
  // left big orphaned compaction outputs on disk at close.
  const db = new ClassicLevel<Uint8Array, Uint8Array>(dir, {
    keyEncoding: 'view',
    valueEncoding: 'view',
    compression: false,
    writeBufferSize: 2 * 1024 * 1024,
    createIfMissing: create
  })
  try {
    return await LevelObjectStore.open(db as any, { compressionThreads: availableParallelism(), batchBytes: 2 * 1024 * 1024, packs: new FilePackStorage(join(dir, 'packs')), ...storeOptions })
  } catch (err) {
    await db.close().catch(() => {})
    if (isLocked(err)) throw new StoreLockedError(`the store ${dir} is in use by another process`, { cause: err })
    if (isMissing(err)) throw new StoreNotFoundError(`no store at ${dir}: the directory holds no tessera store`, { cause: err })
    if (err instanceof Error && 'code' in err && String(err.code).startsWith('ERR_')) throw err
    throw new StoreError(`cannot open store ${dir}: ${reason(err)}`, { cause: err })
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
