/**
 * Pack files (docs/FORMAT.md §6): crash leftovers, damaged and missing
 * packs, gc reclaiming pack space, old inline values, and reads racing a
 * gc that rewrites packs.
 */
import { test } from 'node:test'
import assert from 'node:assert/strict'
import { appendFile, mkdtemp, open, readdir, rm, stat, unlink } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { openStore } from '../../src/store/open.js'
import type { LevelObjectStoreOptions } from '../../src/store/index.js'
import { fsck } from '../../src/maintenance/fsck.js'
import { gc } from '../../src/maintenance/gc.js'
import { importDirectory } from '../../src/importer/directory.js'
import { SnapshotReader } from '../../src/exporter/snapshot-reader.js'
import { sha256 } from '../../src/hash/index.js'
import { digestToString } from '../../src/hash/digest.js'
import { encodeStored } from '../../src/store/stored-object.js'
import { PACK_MAGIC, decodeLocation, encodeRecordHeader, memoryPacksOf, MemoryPackStorage, packFileName, type PackInfo, type PackStorage, RECORD_HEADER_BYTES } from '../../src/store/pack/index.js'
import { exportDigest, makeTree, memoryDb, type RawDb, sublevel } from '../maintenance/helpers.js'
import { lcgBytes } from '../helpers/fixture.js'
import { openLevelStore, type LocalObjectStore } from '../../src/store/index.js'

const root = await mkdtemp(join(tmpdir(), 'tessera-packs-'))
test.after(async () => { await rm(root, { recursive: true, force: true }) })
const srcA = join(root, 'a')
const srcB = join(root, 'b')
const srcC = join(root, 'c')
await makeTree(srcA, 1)
await makeTree(srcB, 2)
await makeTree(srcC, 3, 4)
const opts = { mtime: 'zero' as const, xattrs: false, workers: 0 }
let dirs = 0
const storeDir = (): string => join(root, `store-${dirs++}`)
const expectCode = (code: string) => (err: any): boolean => { assert.equal(err.code, code, err.message); return true }

/** Pack files of an on-disk store, with their sizes. */
async function packFiles (dir: string): Promise<Array<{ name: string, size: number }>> {
  const names = (await readdir(join(dir, 'packs'))).sort()
  return await Promise.all(names.map(async (name) => ({ name, size: (await stat(join(dir, 'packs', name))).size })))
}
const total = (files: Array<{ size: number }>): number => files.reduce((n, f) => n + f.size, 0)

/** Chunks of a snapshot's files, in file order. */
async function chunksOf (store: LocalObjectStore, name: string): Promise<Uint8Array[]> {
  const reader = await SnapshotReader.open(store, name)
  const out: Uint8Array[] = []
  for await (const { entry } of reader.walk()) if (entry.kind === 'file' && Array.isArray(entry.content)) for (const c of entry.content) out.push(c.digest)
  return out
}

/** The raw `c` value (a location) of a chunk, through the store's own database handle. */
async function locationOf (db: RawDb, digest: Uint8Array): Promise<ReturnType<typeof decodeLocation>> {
  return decodeLocation((await sublevel(db, 'c').get(digest))!)
}

async function assertClean (store: LocalObjectStore): Promise<void> {
  const report = await fsck(store)
  assert.deepEqual(report.problems, [])
}

test('a torn record at the end of a pack (a crash mid-write) is ignored; fsck is clean; the next process writes a new pack', async () => {
  const dir = storeDir()
  let store = await openStore(dir)
  await importDirectory(store, srcA, { ...opts, name: 'a' })
  const a = await exportDigest(store, 'a')
  await store.close()
  const [pack] = await packFiles(dir)
  assert.equal(pack!.name, '00000001.pack')
  // A crash while appending: a record header and half its stored bytes.
  const torn = Buffer.concat([encodeRecordHeader(sha256.digest(Buffer.from('torn')), 1000), Buffer.alloc(500, 7)])
  await appendFile(join(dir, 'packs', pack!.name), torn)
  store = await openStore(dir)
  const report = await fsck(store)
  assert.deepEqual(report.problems, [])
  assert.equal(report.packs.reclaimableBytes, torn.length)
  assert.equal(await exportDigest(store, 'a'), a)
  // This process never appends after the torn bytes: it starts pack 2.
  await importDirectory(store, srcB, { ...opts, name: 'b' })
  assert.deepEqual((await packFiles(dir)).map((f) => f.name), ['00000001.pack', '00000002.pack'])
  assert.equal((await packFiles(dir))[0]!.size, pack!.size + torn.length)
  await assertClean(store)
  await store.close()
  // A pack created by a killed process before its header was written is reclaimable too.
  await (await open(join(dir, 'packs', '00000009.pack'), 'w')).close()
  store = await openStore(dir)
  assert.deepEqual((await fsck(store)).problems, [])
  const result = await gc(store)
  assert.equal(result.packs.deleted, 1, JSON.stringify(result))
  await importDirectory(store, srcC, { ...opts, name: 'c' })
  assert.ok((await packFiles(dir)).some((f) => f.name === '00000010.pack'), 'numbered past every pack that existed')
  await assertClean(store)
  await store.close()
})

test('a flipped bit in a pack record is caught by reads and by fsck, and --repair drops the chunk', async () => {
  const db = memoryDb()
  const store = await openLevelStore(db as any)
  await importDirectory(store, srcA, { ...opts, name: 'a' })
  await store.flush()
  const chunks = await chunksOf(store, 'a')
  const packs = memoryPacksOf(db)
  // In the stored bytes, in the record's digest, in the record's length.
  for (const [i, where] of [[1, 'stored'], [2, 'digest'], [3, 'length']] as const) {
    const victim = chunks[i]!
    const loc = await locationOf(db, victim)
    const bytes = packs.contents(loc.pack)!
    const at = where === 'stored' ? loc.offset + Math.floor(loc.storedLength / 2) : where === 'digest' ? loc.offset - RECORD_HEADER_BYTES + 5 : loc.offset - 4
    bytes[at]! ^= 0x04
    await assert.rejects(store.getChunk(victim), expectCode('ERR_INTEGRITY'))
    // Stored forms are handed out unverified (the caller decodes them), but the record must be the chunk's.
    if (where !== 'stored') await assert.rejects(store.readStoredChunks([chunks[0]!, victim]), expectCode('ERR_INTEGRITY'))
    const report = await fsck(store)
    assert.deepEqual(report.problems.map((p) => [p.kind, p.object]), [['corrupt', `chunk ${digestToString(victim)}`], ['damaged', 'ref a']], where)
    bytes[at]! ^= 0x04
    assert.equal((await store.getChunk(victim)).length > 0, true)
  }
  const victim = chunks[1]!
  const loc = await locationOf(db, victim)
  packs.contents(loc.pack)![loc.offset]! ^= 0xff
  const repaired = await fsck(store, { repair: true })
  assert.ok(repaired.problems.some((p) => p.kind === 'corrupt' && p.repaired), JSON.stringify(repaired.problems))
  assert.deepEqual((await fsck(store)).problems.map((p) => [p.kind, p.object]), [['missing', `chunk ${digestToString(victim)}`], ['damaged', 'ref a']])
  // Importing the same content again stores it anew (in a new record) and heals the snapshot.
  await importDirectory(store, srcA, { ...opts, name: 'a', replace: true })
  await assertClean(store)
  await store.close()
})

test('a missing pack file is reported by fsck and --repair drops the index entries that point at it', async () => {
  const dir = storeDir()
  let store = await openStore(dir, { packTargetBytes: 64 * 1024, batchBytes: 64 * 1024 })
  await importDirectory(store, srcA, { ...opts, name: 'a' })
  const a = await exportDigest(store, 'a')
  await store.close()
  const files = await packFiles(dir)
  assert.ok(files.length >= 3, `several packs: ${JSON.stringify(files)}`)
  await unlink(join(dir, 'packs', files[1]!.name))
  store = await openStore(dir)
  const chunks = await chunksOf(store, 'a')
  const report = await fsck(store)
  const packProblem = report.problems.find((p) => p.kind === 'pack')
  assert.equal(packProblem?.object, `pack ${files[1]!.name}`)
  const lost = report.problems.filter((p) => p.kind === 'corrupt')
  assert.ok(lost.length > 0 && lost.every((p) => p.code === 'ERR_INTEGRITY' && /is missing/.test(p.message)), JSON.stringify(lost[0]))
  await assert.rejects(exportDigest(store, 'a'), expectCode('ERR_INTEGRITY'))
  const repaired = await fsck(store, { repair: true })
  assert.ok(repaired.problems.filter((p) => p.kind === 'corrupt' || p.kind === 'pack').every((p) => p.repaired))
  const after = await fsck(store)
  assert.deepEqual([...new Set(after.problems.map((p) => p.kind))], ['missing', 'damaged'])
  assert.equal(after.problems.filter((p) => p.kind === 'missing').length, lost.length)
  assert.match(after.problems.find((p) => p.kind === 'damaged')!.message, new RegExp(`lacks ${lost.length} chunks? \\(not in the store\\)`))
  assert.ok(chunks.length > lost.length)
  // Importing the content again brings the chunks back.
  await importDirectory(store, srcA, { ...opts, name: 'a', replace: true })
  await assertClean(store)
  assert.equal(await exportDigest(store, 'a'), a)
  await store.close()
})

test('gc deletes packs nothing lives in, rewrites partly dead ones, and frees their disk space', async () => {
  const dir = storeDir()
  const options = { packTargetBytes: 512 * 1024, batchBytes: 128 * 1024 }
  let store = await openStore(dir, options)
  await importDirectory(store, srcA, { ...opts, name: 'a' })
  await importDirectory(store, srcB, { ...opts, name: 'b' })
  await importDirectory(store, srcC, { ...opts, name: 'c' })
  const expected = { a: await exportDigest(store, 'a'), c: await exportDigest(store, 'c') }
  await store.close()
  const before = await packFiles(dir)
  store = await openStore(dir, options)
  await store.deleteRef('b')
  const result = await gc(store)
  assert.ok(result.packs.deleted >= 1, JSON.stringify(result))
  assert.ok(result.packs.rewritten >= 1 && result.packs.chunksMoved > 0, JSON.stringify(result))
  const after = await packFiles(dir)
  // The pack bytes freed are what left the disk, but for the headers of the packs the moved chunks went to.
  const created = after.filter((f) => !before.some((b) => b.name === f.name)).length
  assert.ok(created >= 1)
  assert.equal(total(before) - total(after), result.packs.bytesFreed - created * PACK_MAGIC.length)
  // b's chunks were about a third of the packs.
  assert.ok(result.packs.bytesFreed > 0.8 * result.bytesFreed, `${result.packs.bytesFreed} of ${result.bytesFreed}`)
  assert.equal(await exportDigest(store, 'a'), expected.a)
  assert.equal(await exportDigest(store, 'c'), expected.c)
  const report = await fsck(store)
  assert.deepEqual(report.problems, [])
  assert.ok(report.packs.reclaimableBytes < 0.1 * report.packs.bytes, JSON.stringify(report.packs))
  await store.close()
  store = await openStore(dir)
  assert.equal(await exportDigest(store, 'a'), expected.a)
  assert.equal(await exportDigest(store, 'c'), expected.c)
  // Nothing more to reclaim.
  const again = await gc(store, { repackDeadFraction: 0.5 })
  assert.deepEqual([again.packs.deleted, again.packs.rewritten], [0, 0])
  await assertClean(store)
  await store.close()
})

test('chunk values written before packs (inline stored objects) are still read, checked, counted and collected', async () => {
  const db = memoryDb()
  let store = await openLevelStore(db as any)
  await importDirectory(store, srcA, { ...opts, name: 'a' })
  const a = await exportDigest(store, 'a')
  // Rewrite half of the chunks as an older store held them: the stored form as the value.
  const chunks = await chunksOf(store, 'a')
  const old = chunks.filter((_, i) => i % 2 === 0)
  const storedForms = await store.readStoredChunks(old)
  await store.close()
  await db.open()
  for (const [i, d] of old.entries()) await sublevel(db, 'c').put(d, storedForms[i]!)
  // And one chunk no snapshot uses.
  const loose = lcgBytes(5000, 99)
  const looseDigest = sha256.digest(loose)
  const looseStored = encodeStored(loose)
  await sublevel(db, 'c').put(looseDigest, looseStored)
  await sublevel(db, 'x').put(looseDigest, new Uint8Array(0))
  store = await openLevelStore(db as any)
  const c = store.counters()
  await store.setCounters({ ...c, chunks: c.chunks + 1, chunkBytes: c.chunkBytes + loose.length, chunkStored: c.chunkStored + looseStored.length })
  assert.deepEqual(Buffer.from(await store.getChunk(looseDigest)), loose)
  assert.equal(await store.hasChunk(looseDigest), true)
  assert.equal(await exportDigest(store, 'a'), a)
  await assertClean(store)
  // A damaged inline value is ERR_INTEGRITY, as before.
  const bad = new Uint8Array(looseStored); bad[bad.length - 1]! ^= 1
  await sublevel(db, 'c').put(looseDigest, bad)
  await assert.rejects(store.getChunk(looseDigest), expectCode('ERR_INTEGRITY'))
  await sublevel(db, 'c').put(looseDigest, looseStored)
  // gc deletes the loose one (and, once a is gone, everything) with the counters right.
  const result = await gc(store)
  assert.equal(result.deleted.chunks, 1)
  assert.equal(result.bytesFreed, looseStored.length)
  await assertClean(store)
  await store.deleteRef('a')
  await gc(store)
  await assertClean(store)
  assert.deepEqual(store.counters(), { chunks: 0, chunkBytes: 0, chunkStored: 0, trees: 0, treeBytes: 0, treeStored: 0, snapshots: 0 })
  await store.close()
})

/** A PackStorage passing calls to another, where tests can hold the next read or fail writes. */
class WrappedPacks implements PackStorage {
  readonly description = 'wrapped memory'
  /** When set, the next read waits for this promise first. */
  holdNextRead: Promise<void> | undefined
  /** Reads that were held. */
  held = 0
  /** Write number (from now) that fails with ENOSPC. */
  failWriteAt = Infinity
  writes = 0
  constructor (readonly inner: PackStorage) {}
  async list (): Promise<PackInfo[]> { return await this.inner.list() }
  async create (pack: number): Promise<void> { await this.inner.create(pack) }
  async write (pack: number, offset: number, bytes: Uint8Array): Promise<void> {
    if (++this.writes === this.failWriteAt) {
      // Half the bytes reach the pack, as a full disk leaves them.
      await this.inner.write(pack, offset, bytes.subarray(0, bytes.length >> 1))
      throw Object.assign(new Error('ENOSPC: no space left on device, write (injected)'), { code: 'ENOSPC' })
    }
    await this.inner.write(pack, offset, bytes)
  }
  async read (pack: number, offset: number, length: number): Promise<Uint8Array> {
    const hold = this.holdNextRead
    if (hold !== undefined) { this.holdNextRead = undefined; this.held++; await hold }
    return await this.inner.read(pack, offset, length)
  }
  async sync (pack: number): Promise<void> { await this.inner.sync(pack) }
  async delete (pack: number): Promise<void> { await this.inner.delete(pack) }
  async close (): Promise<void> { await this.inner.close() }
}

test('a read that looked up a location before gc rewrote and deleted its pack still succeeds', async () => {
  const db = memoryDb()
  const packs = new WrappedPacks(new MemoryPackStorage())
  const options: LevelObjectStoreOptions = { packs, batchBytes: 64 * 1024 }
  let store = await openLevelStore(db as any, options)
  await importDirectory(store, srcA, { ...opts, name: 'a' })
  await importDirectory(store, srcB, { ...opts, name: 'b' })
  const a = await exportDigest(store, 'a')
  await store.close()
  // A new process: the pack holding a and b is not the one it appends to.
  store = await openLevelStore(db as any, options)
  const chunks = await chunksOf(store, 'a')
  await store.deleteRef('b')
  for (const read of [
    async () => Buffer.from(await store.getChunk(chunks[0]!)),
    async () => Buffer.concat(await store.readStoredChunks(chunks.slice(0, 5)))
  ]) {
    const packBefore = (await locationOf(db, chunks[0]!)).pack
    let release!: () => void
    packs.holdNextRead = new Promise((resolve) => { release = resolve })
    const reading = read()
    // The read has its location and waits in the pack read; gc moves the chunk and deletes the pack.
    while (packs.held === 0) await new Promise((resolve) => setImmediate(resolve))
    packs.held = 0
    const result = await gc(store, { repackDeadFraction: 0 })
    assert.equal(result.packs.rewritten, 1, JSON.stringify(result))
    assert.notEqual((await locationOf(db, chunks[0]!)).pack, packBefore)
    assert.deepEqual((await packs.list()).map((p) => p.pack).includes(packBefore), false)
    release()
    assert.ok((await reading).length > 0)
    await store.close()
    store = await openLevelStore(db as any, options)
  }
  assert.equal(await exportDigest(store, 'a'), a)
  await assertClean(store)
  await store.close()
})

test('gc rewriting packs while imports write and exports read in the same process leaves a consistent store', async () => {
  const db = memoryDb()
  const options: LevelObjectStoreOptions = { batchBytes: 64 * 1024, packTargetBytes: 128 * 1024 }
  let store = await openLevelStore(db as any, options)
  const sources = [srcA, srcB, srcC]
  const expected: string[] = []
  for (const [i, s] of sources.entries()) { await importDirectory(store, s, { ...opts, name: `s${i}-0` }); expected.push(await exportDigest(store, `s${i}-0`)) }
  let x = 11
  const next = (n: number): number => { x = (x * 1103515245 + 12345) % 2 ** 31; return x % n }
  let counter = 1
  let rewritten = 0
  for (let round = 0; round < 5; round++) {
    let names: string[] = []
    for await (const [name] of store.listRefs()) names.push(name)
    if (names.length > 1) {
      const victim = names[next(names.length)]!
      await store.deleteRef(victim)
      names = names.filter((n) => n !== victim)
    }
    const work: Array<Promise<unknown>> = []
    const result = await gc(store, {
      compact: false,
      repackDeadFraction: 0,
      beforeRepack: () => {
        // Started as the repack starts, and run along with it.
        const s = next(3)
        work.push(importDirectory(store, sources[s]!, { ...opts, name: `s${s}-${counter++}` }))
        for (const name of names.slice(0, 2)) work.push(exportDigest(store, name).then((d) => { assert.equal(d, expected[Number(name[1])], `${name} read during the repack`) }))
      }
    })
    rewritten += result.packs.rewritten
    await Promise.all(work)
    await assertClean(store)
    for await (const [name] of store.listRefs()) assert.equal(await exportDigest(store, name), expected[Number(name[1])], `${name} after round ${round}`)
    if (round === 2) { await store.close(); store = await openLevelStore(db as any, options) }
  }
  assert.ok(rewritten > 0, 'packs were rewritten')
  await store.close()
})

test('a pack write failing (disk full) gives ERR_STORE, the store refuses work, and reopening it is consistent', async () => {
  for (const failAt of [1, 2, 4]) {
    const db = memoryDb()
    const packs = new WrappedPacks(new MemoryPackStorage())
    let store = await openLevelStore(db as any, { packs, batchBytes: 128 * 1024 })
    await importDirectory(store, srcA, { ...opts, name: 'a' })
    const a = await exportDigest(store, 'a')
    packs.writes = 0
    packs.failWriteAt = failAt
    await assert.rejects(importDirectory(store, srcB, { ...opts, name: 'b' }), (err: any) => {
      assert.equal(err.code, 'ERR_STORE')
      assert.match(err.message, /ENOSPC/)
      return true
    })
    await assert.rejects(store.putChunk(new Uint8Array(32), new Uint8Array(1)), (err: any) => err.code === 'ERR_STORE' && err.cause?.code === 'ENOSPC')
    await store.close()
    packs.failWriteAt = Infinity
    store = await openLevelStore(db as any, { packs })
    const report = await fsck(store)
    assert.deepEqual(report.problems, [], `fail at ${failAt}`)
    assert.equal(await store.getRef('b'), undefined)
    assert.equal(await exportDigest(store, 'a'), a)
    await importDirectory(store, srcB, { ...opts, name: 'b' })
    await gc(store)
    await assertClean(store)
    await store.close()
  }
})

test('packs are numbered past every existing one and named by packFileName', async () => {
  const dir = storeDir()
  let store = await openStore(dir)
  await importDirectory(store, srcA, { ...opts, name: 'a' })
  await store.close()
  store = await openStore(dir)
  await importDirectory(store, srcB, { ...opts, name: 'b' })
  await store.close()
  assert.deepEqual((await packFiles(dir)).map((f) => f.name), [packFileName(1), packFileName(2)])
})

test('resolveChunkSources finishes from an earlier lookupChunkIndex, and refuses a lookup of other digests with ERR_INVALID_ARGUMENT', async () => {
  const store = await openStore(join(root, 'lookup-store'))
  const bytes = [lcgBytes(5000, 1), lcgBytes(6000, 2)]
  const digests = bytes.map((b) => sha256.digest(b))
  for (let i = 0; i < bytes.length; i++) await store.putChunk(digests[i]!, bytes[i]!)
  await store.flush()
  const lease = store.leasePacks()!
  try {
    const early = store.lookupChunkIndex(digests)
    const located = await store.resolveChunkSources(digests, lease, early)
    assert.deepEqual(located.map((c) => 'fd' in c ? c.location.length : -1), [5000, 6000])
    await assert.rejects(store.resolveChunkSources(digests, lease, store.lookupChunkIndex(digests.slice(0, 1))), (err: unknown) => {
      assert.equal((err as { code?: string }).code, 'ERR_INVALID_ARGUMENT')
      return true
    })
  } finally {
    await lease.close()
    await store.close()
  }
})
