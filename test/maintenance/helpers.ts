/**
 * Helpers for the maintenance tests: source trees, stores on raw
 * memory-level databases (so tests can tamper with stored bytes), and a
 * digest of a snapshot's export.
 */
import { mkdir, writeFile } from 'node:fs/promises'
import { join } from 'node:path'
import { MemoryLevel } from 'memory-level'
import type { AbstractSublevel } from 'abstract-level'
import type { LevelObjectStoreOptions } from '../../src/store/index.js'
import { SnapshotReader } from '../../src/exporter/snapshot-reader.js'
import { exportTar } from '../../src/exporter/tar.js'
import { sha256 } from '../../src/hash/index.js'
import { digestToString } from '../../src/hash/digest.js'
import { lcgBytes } from '../helpers/fixture.js'
import { openLevelStore, type LocalObjectStore } from '../../src/store/index.js'

export type RawDb = MemoryLevel<Uint8Array, Uint8Array>

/** A new memory-level database with the byte encodings the store uses. */
export function memoryDb (): RawDb {
  return new MemoryLevel<Uint8Array, Uint8Array>({ keyEncoding: 'view', valueEncoding: 'view' })
}

/** A store on `db`; small batches so that imports write several. */
export async function openOn (db: RawDb, options: LevelObjectStoreOptions = {}): Promise<LocalObjectStore> {
  return await openLevelStore(db as any, { batchBytes: 256 * 1024, ...options })
}

/** A raw handle on one sublevel of the store's database. */
export function sublevel (db: RawDb, name: 'c' | 'x' | 't' | 's' | 'r' | 'm'): AbstractSublevel<any, any, Uint8Array, Uint8Array> {
  return db.sublevel<Uint8Array, Uint8Array>(name, { keyEncoding: 'view', valueEncoding: 'view' }) as any
}

/**
 * Write a small tree: `files` files of pseudo-random content (seeded), some
 * inline-sized, some chunked, in two directories.
 */
export async function makeTree (dir: string, seed: number, files = 6, size = 300 * 1024): Promise<void> {
  await mkdir(join(dir, 'a', 'b'), { recursive: true })
  for (let i = 0; i < files; i++) {
    const where = i % 2 === 0 ? join(dir, 'a') : join(dir, 'a', 'b')
    await writeFile(join(where, `f${i}.bin`), lcgBytes(size + i * 1000, seed * 100 + i))
  }
  await writeFile(join(dir, 'small.txt'), `seed ${seed}\n`)
}

/** sha256 of the snapshot's tar export: equal digests mean identical exports. */
export async function exportDigest (store: LocalObjectStore, name: string): Promise<string> {
  const reader = await SnapshotReader.open(store, name)
  const h = sha256.create()
  for await (const block of exportTar(reader)) h.update(block)
  return digestToString(h.digest())
}
