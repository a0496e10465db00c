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
import { decodeLocation, memoryPacksOf } from '../../src/store/pack/index.js'
import { memoryDb, openOn, sublevel } from './helpers.js'

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

test('a corrupt chunk of a registry blob makes fsck report the blobs damaged, and --repair does not make them whole', async () => {
  const db = memoryDb()
  const store = await openOn(db)
  const registry = await openRegistryStore(store)
  const blob = lcgBytes(300_000, 43)
  const digest = 'sha256:' + createHash('sha256').update(blob).digest('hex')
  await registry.blobs.putBlob(once(blob), { digest, size: blob.length }, { repository: 'lib/y' })
  await store.flush()
  const [, value] = (await sublevel(db, 'c').iterator({ limit: 1 }).all())[0]!
  const loc = decodeLocation(value)
  memoryPacksOf(db).contents(loc.pack)![loc.offset]! ^= 0xff
  const damaged = (r: Awaited<ReturnType<typeof fsck>>): string[] => r.problems.filter((p) => p.kind === 'damaged' && !p.repaired).map((p) => `${p.object}: ${p.message}`)
  assert.deepEqual(damaged(await fsck(store)), ['registry blobs: it keeps 1 chunk that is corrupt: storing the same content again heals it'])
  const repaired = await fsck(store, { repair: true })
  assert.equal(repaired.ok, false)
  assert.deepEqual(damaged(repaired), ['registry blobs: it keeps 1 chunk that was corrupt (dropped by this repair): storing the same content again heals it'])
  const after = await fsck(store)
  assert.equal(after.ok, false)
  assert.deepEqual(after.problems.map((p) => p.kind), ['missing'])
  assert.match(after.problems[0]!.message, /kept by registry blobs but not in the store/)
  await store.close()
})
