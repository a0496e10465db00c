import { test } from 'node:test'
import assert from 'node:assert/strict'
import { mkdtemp, rm, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { gc } from '../../src/maintenance/gc.js'
import { fsck } from '../../src/maintenance/fsck.js'
import { registerRootProvider } from '../../src/maintenance/roots.js'
import { importDirectory } from '../../src/importer/directory.js'
import { digestToBytes, digestToString } from '../../src/hash/digest.js'
import { importLayerFile } from '../../src/importer/layer-file.js'
import { SnapshotReader } from '../../src/exporter/snapshot-reader.js'
import { writeTar } from '../../src/tar/index.js'
import { exportDigest, makeTree, memoryDb, openOn, sublevel } from './helpers.js'
import { type LocalObjectStore } from '../../src/store/index.js'

const root = await mkdtemp(join(tmpdir(), 'tessera-gc-'))
test.after(async () => { await rm(root, { recursive: true, force: true }) })
const srcA = join(root, 'a')
const srcB = join(root, 'b')
await makeTree(srcA, 1)
await makeTree(srcB, 2)
const opts = { mtime: 'zero' as const, xattrs: false, workers: 0 }

async function twoSnapshots (): Promise<{ store: LocalObjectStore, a: string, b: string }> {
  const store = await openOn(memoryDb())
  await importDirectory(store, srcA, { ...opts, name: 'a' })
  await importDirectory(store, srcB, { ...opts, name: 'b' })
  return { store, a: await exportDigest(store, 'a'), b: await exportDigest(store, 'b') }
}

async function assertClean (store: LocalObjectStore): Promise<void> {
  const report = await fsck(store)
  assert.deepEqual(report.problems, [])
  assert.equal(report.ok, true)
}

test('gc keeps everything a ref reaches and frees nothing when nothing is unreferenced', async () => {
  const { store, a, b } = await twoSnapshots()
  const before = await store.stats()
  const result = await gc(store)
  assert.equal(result.bytesFreed, 0)
  assert.deepEqual(result.deleted, { chunks: 0, trees: 0, snapshots: 0 })
  assert.deepEqual(await store.stats(), before)
  assert.equal(await exportDigest(store, 'a'), a)
  assert.equal(await exportDigest(store, 'b'), b)
  await assertClean(store)
  await store.close()
})

test('rm then gc deletes what only the removed ref reached, keeps the counters right', async () => {
  const { store, b } = await twoSnapshots()
  const before = await store.stats()
  assert.equal(await store.deleteRef('a'), true)
  assert.equal(await store.deleteRef('a'), false)
  const result = await gc(store)
  assert.ok(result.deleted.chunks > 0 && result.deleted.trees > 0 && result.deleted.snapshots === 1, JSON.stringify(result))
  const after = await store.stats()
  assert.equal(after.chunks, before.chunks - result.deleted.chunks)
  assert.equal(after.storedBytes + after.metadataBytes, before.storedBytes + before.metadataBytes - result.bytesFreed)
  assert.equal(await exportDigest(store, 'b'), b)
  await assertClean(store)
  const unreferenced = (await fsck(store)).unreferenced
  assert.deepEqual(unreferenced, { chunks: 0, trees: 0, snapshots: 0 })
  assert.equal((await gc(store)).bytesFreed, 0)
  // A chunk that was deleted can be stored again (the Bloom filter only gives false positives).
  await importDirectory(store, srcA, { ...opts, name: 'a2' })
  await assertClean(store)
  await store.close()
})

test('gc keeps the roots of registered and passed root providers', async () => {
  const { store, a } = await twoSnapshots()
  const snapshot = (await store.getRef('a'))!.snapshot
  const digest = digestToString(snapshot)
  await store.deleteRef('a')
  const kept = await gc(store, { extraRoots: [{ name: 'test', roots: () => [{ kind: 'snapshot', digest }] }] })
  assert.equal(kept.bytesFreed, 0)
  const unregister = registerRootProvider({ name: 'registered', async * roots () { yield { kind: 'snapshot', digest } } })
  try {
    assert.equal((await gc(store)).bytesFreed, 0)
  } finally {
    unregister()
  }
  // The snapshot is still readable by digest, with the same export.
  await store.commitSnapshot('a', { digest: snapshot, bytes: await store.getSnapshot(snapshot) }, { createdNs: 1n, files: 0, logicalBytes: 0 })
  assert.equal(await exportDigest(store, 'a'), a)
  await store.deleteRef('a')
  assert.ok((await gc(store)).bytesFreed > 0)
  await store.close()
})

/**
 * A store view whose commitSnapshot first runs `before` (a whole gc): the
 * import has written or found present every object, and not committed yet.
 */
function pausingBeforeCommit (store: LocalObjectStore, before: () => Promise<void>, withSessions = true): LocalObjectStore {
  return new Proxy(store, {
    get (target, prop) {
      if (prop === 'commitSnapshot') return async (...args: Parameters<LocalObjectStore['commitSnapshot']>) => { await before(); return await target.commitSnapshot(...args) }
      if (prop === 'beginSession' && !withSessions) return undefined
      const v = Reflect.get(target, prop, target)
      return typeof v === 'function' ? v.bind(target) : v
    }
  })
}

test('an import that reuses unreferenced objects keeps them through a gc run before it commits', async () => {
  const { store, a } = await twoSnapshots()
  await store.deleteRef('a')
  // Importing the same tree again: every chunk and tree is found present
  // (dedup, nothing is written); a whole gc runs before the commit.
  let deleted = -1
  const view = pausingBeforeCommit(store, async () => { deleted = (await gc(store)).deleted.chunks })
  const result = await importDirectory(view, srcA, { ...opts, name: 'a-again' })
  assert.equal(result.newChunks, 0, 'everything was found present')
  assert.equal(deleted, 0, 'gc deleted none of the chunks the import reuses')
  assert.equal(await exportDigest(store, 'a-again'), a)
  await assertClean(store)
  await store.close()
})

test('without a session the same interleaving loses data (the test can fail)', async () => {
  const { store } = await twoSnapshots()
  await store.deleteRef('a')
  const view = pausingBeforeCommit(store, async () => { await gc(store) }, false)
  await importDirectory(view, srcA, { ...opts, name: 'a-again' })
  const report = await fsck(store)
  assert.ok(report.problems.some((p) => p.kind === 'missing' || p.kind === 'dangling-ref'), JSON.stringify(report.problems.slice(0, 2)))
  await store.close()
})

test('an import run entirely while gc is between listing and marking is kept', async () => {
  const { store, a } = await twoSnapshots()
  await store.deleteRef('a')
  const result = await gc(store, {
    afterList: async () => {
      await importDirectory(store, srcA, { ...opts, name: 'a-during' })
    }
  })
  // The same tree gives the same snapshot object: nothing of a is garbage any more.
  assert.deepEqual(result.deleted, { chunks: 0, trees: 0, snapshots: 0 })
  assert.equal(await exportDigest(store, 'a-during'), a)
  await assertClean(store)
  await store.close()
})

test('condemned objects read as absent and are rescued by a write before the sweep', async () => {
  const { store, a } = await twoSnapshots()
  const snapshot = (await store.getRef('a'))!.snapshot
  await store.deleteRef('a')
  const result = await gc(store, {
    beforeSweep: async () => {
      // Decided garbage: reads fail as if already deleted.
      await assert.rejects(store.getSnapshot(snapshot), (err: any) => err.code === 'ERR_NOT_FOUND')
      assert.equal(await store.hasTree(digestToBytes('sha256:' + '0'.repeat(64))), false)
      // An import of the same tree writes (rescues) every object it needs.
      await importDirectory(store, srcA, { ...opts, name: 'a-rescued' })
    }
  })
  assert.equal(result.deleted.chunks, 0)
  assert.equal(await exportDigest(store, 'a-rescued'), a)
  await assertClean(store)
  await store.close()
})

test('gc refuses to run when a reachable tree is missing, and deletes nothing', async () => {
  const db = memoryDb()
  const store = await openOn(db)
  await importDirectory(store, srcA, { ...opts, name: 'a' })
  await importDirectory(store, srcB, { ...opts, name: 'b' })
  await store.deleteRef('b')
  await store.flush()
  const trees = sublevel(db, 't')
  const before = await store.stats()
  const reader = await import('../../src/exporter/snapshot-reader.js')
  const rootTree = digestToBytes((await reader.SnapshotReader.open(store, 'a')).root)
  await trees.del(rootTree)
  await assert.rejects(gc(store), (err: any) => err.code === 'ERR_STORE_INCONSISTENT')
  assert.deepEqual((await store.stats()).chunks, before.chunks)
  await store.close()
})

test('a layer imported on a base snapshot (by digest, its name removed) keeps the base content through a gc before commit', async () => {
  const { store, a } = await twoSnapshots()
  const baseDigest = digestToString((await store.getRef('a'))!.snapshot)
  await store.deleteRef('a')
  const parts: Uint8Array[] = []
  for await (const piece of writeTar([{ path: Buffer.from('new.txt'), type: 'file', mode: 0o644, uid: 0, gid: 0, mtimeNs: 0n, size: 4, content: [Buffer.from('new\n')] }])) parts.push(piece)
  const layer = join(root, 'layer.tar')
  await writeFile(layer, Buffer.concat(parts))
  // The import reads the base's trees; the chunks of its files are never
  // touched, only referenced: the pinned base snapshot must keep them.
  let deleted = -1
  const view = pausingBeforeCommit(store, async () => { deleted = (await gc(store)).deleted.chunks })
  await importLayerFile(view, layer, { name: 'a+new', base: baseDigest, mtime: 'zero' })
  assert.equal(deleted, 0)
  await assertClean(store)
  const reader = await SnapshotReader.open(store, 'a+new')
  assert.equal(Buffer.concat(await collectAll(reader.readFile('new.txt'))).toString(), 'new\n')
  for await (const { entry } of reader.walk()) if (entry.kind === 'file') await collectAll(reader.readFile(entry))
  assert.notEqual(await exportDigest(store, 'a+new'), a)
  await store.close()
})

test('imports, removals and gcs run concurrently in one process leave a consistent store (seeded)', async () => {
  const store = await openOn(memoryDb())
  const sources = [srcA, srcB]
  const expected = [] as string[]
  for (const [i, s] of sources.entries()) { await importDirectory(store, s, { ...opts, name: `seed${i}` }); expected.push(await exportDigest(store, `seed${i}`)) }
  let x = 7
  const next = (n: number): number => { x = (x * 1103515245 + 12345) % 2 ** 31; return x % n }
  let counter = 0
  for (let round = 0; round < 6; round++) {
    const names: string[] = []
    for await (const [name] of store.listRefs()) names.push(name)
    const work: Array<Promise<unknown>> = []
    for (let j = 0; j < 3; j++) {
      const s = next(2)
      work.push(importDirectory(store, sources[s]!, { ...opts, name: `r${s}-${counter++}` }))
    }
    if (names.length > 0) work.push(store.deleteRef(names[next(names.length)]!))
    work.push(gc(store, { compact: false }), gc(store, { compact: false }))
    await Promise.all(work)
    await assertClean(store)
    for await (const [name] of store.listRefs()) {
      const s = Number(name.slice(name.startsWith('seed') ? 4 : 1, name.startsWith('seed') ? 5 : name.indexOf('-')))
      assert.equal(await exportDigest(store, name), expected[s], `${name} after round ${round}`)
    }
  }
  await store.close()
})

async function collectAll (source: AsyncIterable<Uint8Array>): Promise<Uint8Array[]> {
  const out: Uint8Array[] = []
  for await (const piece of source) out.push(piece)
  return out
}
