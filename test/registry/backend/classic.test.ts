import { test } from 'node:test'
import assert from 'node:assert/strict'
import { ClassicLevel } from 'classic-level'
import { openStore } from '../../../src/store/open.js'
import { openRegistryStore } from '../../../src/registry/backend/index.js'
import { registryStoreConformance } from './conformance.js'
import { collect, digestOf, json, removeTempDirs, streamOf, tempDir } from './helpers.js'

test.after(removeTempDirs)
registryStoreConformance('classic-level', async () => new ClassicLevel<Uint8Array, Uint8Array>(await tempDir(), { keyEncoding: 'view', valueEncoding: 'view' }) as any)

test('classic-level: registry records and counters survive closing and reopening', async () => {
  const dir = await tempDir()
  const blob = new Uint8Array(Buffer.from('config bytes'.repeat(1000)))
  const doc = json({ a: 1 })
  let store = await openStore(dir)
  let registry = await openRegistryStore(store, { tempDirectory: await tempDir() })
  await registry.blobs.putBlob(streamOf(blob), { digest: digestOf(blob) }, { repository: 'keep/me' })
  await registry.putManifest('keep/me', 'v1', 'application/json', doc)
  const stats = await registry.stats()
  await store.close()
  store = await openStore(dir)
  registry = await openRegistryStore(store)
  assert.ok((await collect(registry.blobs.getBlob(digestOf(blob)))).equals(blob))
  assert.equal((await registry.getManifest('keep/me', 'v1'))?.digest, digestOf(doc))
  assert.deepEqual(await registry.stats(), stats)
  assert.ok(stats.overall.storedBytes < blob.length, 'a compressible blob is stored compressed')
  await store.close()
})
