/**
 * The conformance harness of the local store on any abstract-level
 * database: objects are written through the store itself, and damage is
 * done from outside where it lives (a chunk's record in its pack, a tree's
 * value in `t`), with the store closed and opened again on it.
 */
import { join } from 'node:path'
import type { AbstractLevel } from 'abstract-level'
import { FilePackStorage, MemoryPackStorage, openLevelStore, type LocalObjectStore, type PackStorage } from '../../src/store/index.js'
import { decodeLocation } from '../../src/store/pack/index.js'
import { CODEC_RAW } from '../../src/store/stored-object.js'
import { writeContents, type StoreHarness, type Supports } from './conformance.js'

export type DbFactory = () => Promise<AbstractLevel<any, Uint8Array, Uint8Array>>
type Db = AbstractLevel<any, Uint8Array, Uint8Array>

const enc = { keyEncoding: 'view', valueEncoding: 'view' } as const

/** Everything the local store supports. */
export const LOCAL_STORE_SUPPORTS: Supports = { writes: true, sessions: true, packs: true, encodedChunks: true, records: true }

/** A harness opening the local store on databases made by `factory`. */
export function levelStoreHarness (factory: DbFactory): StoreHarness<LocalObjectStore> {
  const opened = new Map<LocalObjectStore, { db: Db, packs: PackStorage }>()
  /** Packs where a file database keeps them (a fresh storage, with no cached reads), else in memory. */
  const packsFor = (db: Db, memory?: PackStorage): PackStorage => {
    const location = (db as { location?: unknown }).location
    return typeof location === 'string' ? new FilePackStorage(join(location, 'packs')) : memory ?? new MemoryPackStorage()
  }
  const openOn = async (db: Db, packs: PackStorage, options: { batchBytes?: number } = {}): Promise<LocalObjectStore> => {
    const store = await openLevelStore(db, { ...options, packs })
    opened.set(store, { db, packs })
    return store
  }
  const close = async (store: LocalObjectStore): Promise<void> => {
    opened.delete(store)
    await store.close()
  }
  return {
    async open (contents, options) {
      const db = await factory()
      const store = await openOn(db, packsFor(db), options)
      await writeContents(store, contents)
      return store
    },
    close,
    async corruptPayload (store, kind, digest) {
      const { db, packs } = opened.get(store)!
      await close(store)
      await db.open()
      if (kind === 'tree') {
        const trees = db.sublevel<Uint8Array, Uint8Array>('t', enc)
        const stored = new Uint8Array((await trees.get(digest))!)
        if (stored[0] !== CODEC_RAW) throw new Error('the tree to damage must be stored raw')
        stored[stored.length - 1]! ^= 0x01
        await trees.put(digest, stored)
      } else {
        // Flip the last payload byte of the chunk's record, leaving the
        // record header (digest, length) and the index entry as they are.
        const value = await db.sublevel<Uint8Array, Uint8Array>('c', enc).get(digest)
        const location = decodeLocation(value!)
        const damaging = packsFor(db, packs)
        const payload = await damaging.read(location.pack, location.offset, location.storedLength)
        if (payload[0] !== CODEC_RAW) throw new Error('the chunk to damage must be stored raw')
        const damaged = new Uint8Array(payload)
        damaged[damaged.length - 1]! ^= 0x01
        await damaging.write(location.pack, location.offset, damaged)
        await damaging.close()
      }
      return await openOn(db, packsFor(db, packs))
    }
  }
}
