/**
 * The spec suite against the real registry store (`src/registry/backend/`)
 * over memory-level and over classic-level on disk. "Nothing stored" is
 * checked on the whole database: every key and a hash of every value.
 */
import { createHash } from 'node:crypto'
import { mkdtemp, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { ClassicLevel } from 'classic-level'
import { MemoryLevel } from 'memory-level'
import { openRegistryStore } from '../../../src/registry/backend/index.js'
import { specSuite } from './spec-suite.js'
import type { StoreUnderTest } from './helpers.js'
import { openLevelStore, type LocalObjectStore } from '../../../src/store/index.js'

type Db = MemoryLevel<Uint8Array, Uint8Array> | ClassicLevel<Uint8Array, Uint8Array>

async function overDb (db: Db, cleanup: () => Promise<void>): Promise<StoreUnderTest> {
  const tempDirectory = await mkdtemp(join(tmpdir(), 'tessera-spool-'))
  const store = await openLevelStore(db as any, {})
  const registry = await openRegistryStore(store, { tempDirectory })
  return {
    registry,
    dump: async () => {
      await store.flush()
      const entries: string[] = []
      for await (const [k, v] of db.iterator()) entries.push(`${Buffer.from(k).toString('hex')} ${createHash('sha256').update(v).digest('hex')}`)
      return entries
    },
    close: async () => {
      await store.close()
      await rm(tempDirectory, { recursive: true, force: true })
      await cleanup()
    }
  }
}

specSuite('memory-level store', async () => await overDb(new MemoryLevel<Uint8Array, Uint8Array>({ keyEncoding: 'view', valueEncoding: 'view' }), async () => {}))

specSuite('on-disk store', async () => {
  const dir = await mkdtemp(join(tmpdir(), 'tessera-serve-db-'))
  return await overDb(new ClassicLevel<Uint8Array, Uint8Array>(dir, { keyEncoding: 'view', valueEncoding: 'view' }), async () => { await rm(dir, { recursive: true, force: true }) })
})
