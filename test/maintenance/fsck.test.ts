import { test } from 'node:test'
import assert from 'node:assert/strict'
import { mkdtemp, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import fc from 'fast-check'
import { fsck } from '../../src/maintenance/fsck.js'
import { importDirectory } from '../../src/importer/directory.js'
import { digestToString } from '../../src/hash/digest.js'
import { encodeCanonical } from '../../src/format/canonical.js'
import { decodeLocation, memoryPacksOf, RECORD_HEADER_BYTES } from '../../src/store/pack/index.js'
import { exportDigest, makeTree, memoryDb, openOn, type RawDb, sublevel } from './helpers.js'

const root = await mkdtemp(join(tmpdir(), 'tessera-fsck-'))
test.after(async () => { await rm(root, { recursive: true, force: true }) })
const src = join(root, 'a')
await makeTree(src, 7, 4, 200 * 1024)
const opts = { mtime: 'zero' as const, xattrs: false, workers: 0 }

async function populated (): Promise<{ db: RawDb, digest: string }> {
  const db = memoryDb()
  const store = await openOn(db)
  await importDirectory(store, src, { ...opts, name: 'a' })
  const digest = await exportDigest(store, 'a')
  await store.close()
  await db.open()
  return { db, digest }
}

/** Every stored object of the database: sublevel name and key. */
async function storedObjects (db: RawDb): Promise<Array<{ level: 'c' | 't' | 's', key: Uint8Array }>> {
  const out: Array<{ level: 'c' | 't' | 's', key: Uint8Array }> = []
  for (const level of ['c', 't', 's'] as const) for (const key of await sublevel(db, level).keys().all()) out.push({ level, key })
  return out
}

test('a clean store has no problems; unreferenced objects are counted, not reported', async () => {
  const { db } = await populated()
  const store = await openOn(db)
  let report = await fsck(store)
  assert.deepEqual(report.problems, [])
  assert.equal(report.ok, true)
  assert.ok(report.objects.chunks > 4 && report.objects.trees === 3 && report.objects.snapshots === 1 && report.objects.refs === 1, JSON.stringify(report.objects))
  await store.deleteRef('a')
  report = await fsck(store)
  assert.equal(report.ok, true)
  assert.deepEqual(report.unreferenced, { chunks: report.objects.chunks, trees: 3, snapshots: 1 })
  await store.close()
})

test('fsck detects a flipped bit in any stored chunk, tree or snapshot object', async () => {
  const { db } = await populated()
  const objects = await storedObjects(db)
  await fc.assert(fc.asyncProperty(fc.nat(objects.length - 1), fc.nat(), async (which, bit) => {
    const { level, key } = objects[which]!
    const sub = sublevel(db, level)
    const original = (await sub.get(key))!
    const flipped = new Uint8Array(original)
    const at = bit % (flipped.length * 8)
    flipped[at >> 3]! ^= 1 << (at & 7)
    await sub.put(key, flipped)
    const store = await openOn(db)
    let report
    try {
      report = await fsck(store)
    } finally {
      await store.close()
      await db.open()
      await sublevel(db, level).put(key, original)
    }
    const kind = level === 'c' ? 'chunk' : level === 't' ? 'tree' : 'snapshot'
    const object = `${kind} ${digestToString(key)}`
    assert.ok(report.problems.some((p) => p.object === object && (p.kind === 'corrupt' || p.kind === 'non-canonical')), `${object} byte ${at >> 3}: ${JSON.stringify(report.problems)}`)
    assert.equal(report.ok, false)
  }), { numRuns: 40, seed: 6 })
})

test('fsck detects a flipped bit anywhere in the pack record of any chunk', async () => {
  const { db } = await populated()
  const chunks = await sublevel(db, 'c').iterator().all()
  const packs = memoryPacksOf(db)
  await fc.assert(fc.asyncProperty(fc.nat(chunks.length - 1), fc.nat(), async (which, bit) => {
    const [key, value] = chunks[which]!
    const loc = decodeLocation(value)
    const start = loc.offset - RECORD_HEADER_BYTES
    const at = start * 8 + bit % ((RECORD_HEADER_BYTES + loc.storedLength) * 8)
    const bytes = packs.contents(loc.pack)!
    bytes[at >> 3]! ^= 1 << (at & 7)
    const store = await openOn(db)
    let report
    try {
      report = await fsck(store)
    } finally {
      bytes[at >> 3]! ^= 1 << (at & 7)
      await store.close()
      await db.open()
    }
    assert.deepEqual(report.problems.map((p) => [p.kind, p.object]), [['corrupt', `chunk ${digestToString(key)}`], ['damaged', 'ref a']], `record byte ${(at >> 3) - start}`)
  }), { numRuns: 40, seed: 7 })
})

test('--repair drops the corrupt object and nothing intact; re-importing heals the snapshot', async () => {
  const { db, digest } = await populated()
  const chunks = await sublevel(db, 'c').keys().all()
  const victim = chunks[1]!
  const value = (await sublevel(db, 'c').get(victim))!
  const bad = new Uint8Array(value)
  bad[bad.length - 1]! ^= 0x40
  await sublevel(db, 'c').put(victim, bad)
  let store = await openOn(db)
  const report = await fsck(store, { repair: true })
  assert.ok(report.problems.some((p) => p.kind === 'corrupt' && p.repaired && p.object === `chunk ${digestToString(victim)}`))
  assert.deepEqual(await sublevel(db, 'c').keys().all(), chunks.filter((k) => k !== victim))
  assert.notEqual(await store.getRef('a'), undefined, 'the ref is kept: only one chunk is lost')
  const again = await fsck(store)
  assert.deepEqual(again.problems.map((p) => [p.kind, p.object]), [['missing', `chunk ${digestToString(victim)}`], ['damaged', 'ref a']])
  await importDirectory(store, src, { ...opts, name: 'a', replace: true })
  assert.equal((await fsck(store)).ok, true)
  assert.equal(await exportDigest(store, 'a'), digest)
  await store.close()
  store = await openOn(db)
  assert.equal((await fsck(store)).ok, true)
  await store.close()
})

test('--repair that drops a chunk names every damaged snapshot, and fsck stays not ok until they are whole', async () => {
  const other = join(root, 'other')
  await makeTree(other, 9, 3, 150 * 1024)
  // The chunks `other` uses, from a store of its own.
  const alone = memoryDb()
  let store = await openOn(alone)
  await importDirectory(store, other, { ...opts, name: 'other' })
  await store.close()
  await alone.open()
  const ofOther = new Set((await sublevel(alone, 'c').keys().all()).map((k) => digestToString(k)))
  await alone.close()

  const db = memoryDb()
  store = await openOn(db)
  await importDirectory(store, src, { ...opts, name: 'a' })
  await importDirectory(store, src, { ...opts, name: 'a-again' })
  await importDirectory(store, other, { ...opts, name: 'other' })
  const snapA = digestToString((await store.getRef('a'))!.snapshot)
  await store.close()
  await db.open()
  // Flip the last payload byte of a chunk only `a` (and `a-again`) use.
  const [victim, value] = (await sublevel(db, 'c').iterator().all()).find(([k]) => !ofOther.has(digestToString(k)))!
  const loc = decodeLocation(value)
  memoryPacksOf(db).contents(loc.pack)![loc.offset + loc.storedLength - 1]! ^= 0x01

  store = await openOn(db)
  const damaged = (r: Awaited<ReturnType<typeof fsck>>): Array<[string, boolean]> =>
    r.problems.filter((p) => p.kind === 'damaged').map((p) => [p.object, p.repaired])
  const found = await fsck(store)
  assert.deepEqual(damaged(found), [['ref a', false], ['ref a-again', false]], 'a corrupt chunk damages the snapshots that reach it')
  const repaired = await fsck(store, { repair: true })
  assert.ok(repaired.problems.some((p) => p.kind === 'corrupt' && p.repaired && p.object === `chunk ${digestToString(victim)}`))
  assert.deepEqual(damaged(repaired), [['ref a', false], ['ref a-again', false]], 'dropping the chunk does not make the snapshots whole')
  const message = repaired.problems.find((p) => p.object === 'ref a')!.message
  assert.ok(message.includes(snapA) && /1 chunk \(corrupt, dropped by this repair\)/.test(message), message)
  assert.equal(repaired.ok, false, 'a repair that leaves damaged snapshots is not ok')
  const again = await fsck(store)
  assert.deepEqual(again.problems.map((p) => [p.kind, p.object]), [['missing', `chunk ${digestToString(victim)}`], ['damaged', 'ref a'], ['damaged', 'ref a-again']])
  assert.match(again.problems[1]!.message, /lacks 1 chunk \(not in the store\)/)
  assert.equal(again.ok, false)
  assert.equal((await fsck(store, { repair: true })).ok, false, 'a second repair cannot heal them either')
  await importDirectory(store, src, { ...opts, name: 'a', replace: true })
  const healed = await fsck(store)
  assert.deepEqual(healed.problems, [])
  assert.equal(healed.ok, true)
  await store.close()
})

test('dangling and undecodable refs are reported and dropped by --repair', async () => {
  const { db } = await populated()
  const refs = sublevel(db, 'r')
  await refs.put(Buffer.from('gone'), encodeCanonical([new Uint8Array(32), 1n, 0, 0]))
  await refs.put(Buffer.from('garbled'), new Uint8Array([0xc1]))
  const store = await openOn(db)
  const report = await fsck(store)
  assert.deepEqual(report.problems.map((p) => [p.kind, p.object]).sort(), [['bad-ref', 'ref garbled'], ['dangling-ref', 'ref gone']])
  const repaired = await fsck(store, { repair: true })
  assert.equal(repaired.ok, true)
  assert.deepEqual((await fsck(store)).problems, [])
  assert.notEqual(await store.getRef('a'), undefined)
  await store.close()
})

test('a missing chunk, a broken chunk index and wrong counters are reported; the index and counters are rebuilt', async () => {
  const { db } = await populated()
  const chunks = await sublevel(db, 'c').keys().all()
  await sublevel(db, 'x').del(chunks[0]!)
  await sublevel(db, 'x').put(new Uint8Array(32).fill(7), new Uint8Array(0))
  await sublevel(db, 'c').del(chunks[2]!)
  await sublevel(db, 'x').del(chunks[2]!)
  const store = await openOn(db)
  const report = await fsck(store, { repair: true })
  const kinds = report.problems.map((p) => p.kind).sort()
  assert.deepEqual(kinds, ['counters', 'damaged', 'index', 'missing'])
  assert.equal(report.problems.find((p) => p.kind === 'missing')!.object, `chunk ${digestToString(chunks[2]!)}`)
  assert.equal(report.ok, false, 'a missing chunk cannot be repaired')
  const again = await fsck(store)
  assert.deepEqual(again.problems.map((p) => p.kind), ['missing', 'damaged'])
  assert.deepEqual((await sublevel(db, 'x').keys().all()).length, chunks.length - 1)
  await store.close()
})
