/**
 * gc and fsck know the registry's records: chunks of blobs pushed through
 * the registry store are kept by gc and counted as reached by fsck, and are
 * reclaimed once the blob is deleted.
 */
import { test } from 'node:test'
import assert from 'node:assert/strict'
import { createHash } from 'node:crypto'
import { gc } from '../../src/maintenance/gc.js'
import { fsck } from '../../src/maintenance/fsck.js'
import { openRegistryStore } from '../../src/registry/index.js'
import { lcgBytes } from '../helpers/fixture.js'
import { memoryDb, openOn } from './helpers.js'

async function * once (bytes: Uint8Array): AsyncIterable<Uint8Array> { yield bytes }

test('registry blobs keep their chunks through gc and are reached for fsck; deleting the blob frees them', async () => {
  const store = await openOn(memoryDb())
  const registry = await openRegistryStore(store)
  const blob = lcgBytes(700_000, 42)
  const digest = 'sha256:' + createHash('sha256').update(blob).digest('hex')
  await registry.blobs.putBlob(once(blob), { digest, size: blob.length }, { repository: 'lib/x' })
  const before = store.counters()
  assert.ok(before.chunks > 1, 'the blob was cut into chunks')

  const kept = await gc(store)
  assert.equal(kept.deleted.chunks, 0, 'gc deleted chunks a registry blob needs')
  const report = await fsck(store)
  assert.equal(report.ok, true, JSON.stringify(report.problems))
  assert.equal(report.unreferenced.chunks, 0)
  const back: Buffer[] = []
  for await (const piece of registry.blobs.getBlob(digest)) back.push(Buffer.from(piece))
  assert.ok(Buffer.concat(back).equals(Buffer.from(blob)))

  assert.equal(await registry.blobs.deleteBlob(digest), true)
  const freed = await gc(store)
  assert.equal(freed.deleted.chunks, before.chunks)
  assert.equal(store.counters().chunks, 0)
  await store.close()
})
