/**
 * The store conformance suite: every ObjectStore implementation runs it
 * (as abstract-level's test suite does for its databases).
 */
import { test } from 'node:test'
import assert from 'node:assert/strict'
import { randomBytes } from 'node:crypto'
import type { AbstractLevel } from 'abstract-level'
import { sha256 } from '../../src/hash/index.js'
import { openLevelStore, type LocalObjectStore } from '../../src/store/index.js'

export type DbFactory = () => Promise<AbstractLevel<any, Uint8Array, Uint8Array>>

const assertBytes = (a: Uint8Array, b: Uint8Array): void => { assert.ok(Buffer.from(a).equals(Buffer.from(b)), `bytes differ: ${Buffer.from(a).toString('hex').slice(0, 40)} vs ${Buffer.from(b).toString('hex').slice(0, 40)}`) }
const expectCode = (code: string) => (err: unknown): boolean => { assert.equal((err as { code?: string }).code, code); return true }
const snap = (n: number): { digest: Uint8Array, bytes: Uint8Array } => {
  const bytes = new Uint8Array([0x92, 0x02, n])
  return { digest: sha256.digest(bytes), bytes }
}
const record = { createdNs: 1n, files: 3, logicalBytes: 100 }

/** Run the suite against databases made by `factory`. */
export function storeConformance (label: string, factory: DbFactory): void {
  test(`${label}: a chunk round trips, is stored once, and compresses when it helps`, async () => {
    const store = await openLevelStore(await factory())
    const text = new Uint8Array(Buffer.from('tessera '.repeat(5000)))
    const d = sha256.digest(text)
    assert.equal(await store.hasChunk(d), false)
    assert.equal(await store.putChunk(d, text), 'stored')
    assert.equal(await store.putChunk(d, text), 'present')
    assert.equal(await store.hasChunk(d), true)
    assertBytes(await store.getChunk(d), text)
    await store.flush()
    assert.equal(await store.putChunk(d, text), 'present')
    assertBytes(await store.getChunk(d), text)
    const random = randomBytes(10000)
    const r = sha256.digest(random)
    await store.putChunk(r, random)
    await store.flush()
    const s = await store.stats()
    assert.equal(s.chunks, 2)
    assert.equal(s.chunkBytes, text.length + random.length)
    assert.ok(s.storedBytes < text.length / 10 + random.length + 2, `compressible chunk stored small: ${s.storedBytes}`)
    assertBytes(await store.getChunk(r), random)
    await store.close()
  })

  test(`${label}: a missing object is ERR_NOT_FOUND`, async () => {
    const store = await openLevelStore(await factory())
    await assert.rejects(store.getChunk(new Uint8Array(32)), expectCode('ERR_NOT_FOUND'))
    await assert.rejects(store.getTree(new Uint8Array(32)), expectCode('ERR_NOT_FOUND'))
    await assert.rejects(store.getSnapshot(new Uint8Array(32)), expectCode('ERR_NOT_FOUND'))
    await store.close()
  })

  test(`${label}: corrupted chunks and trees are detected on read with ERR_INTEGRITY`, async () => {
    const db = await factory()
    const store = await openLevelStore(db)
    const bytes = new Uint8Array(Buffer.from('hello hello hello hello hello hello hello hello hello hello hello hello'))
    const d = sha256.digest(bytes)
    await store.putChunk(d, bytes)
    await store.putTree(d, bytes)
    await store.flush()
    const chunks = db.sublevel<Uint8Array, Uint8Array>('c', { keyEncoding: 'view', valueEncoding: 'view' })
    const trees = db.sublevel<Uint8Array, Uint8Array>('t', { keyEncoding: 'view', valueEncoding: 'view' })
    for (const sub of [chunks, trees]) {
      const stored = new Uint8Array((await sub.get(d))!)
      const flipped = new Uint8Array(stored); flipped[flipped.length - 1]! ^= 0x01
      await sub.put(d, flipped)
      await assert.rejects(sub === chunks ? store.getChunk(d) : store.getTree(d), expectCode('ERR_INTEGRITY'))
      const badCodec = new Uint8Array(stored); badCodec[0] = 7
      await sub.put(d, badCodec)
      await assert.rejects(sub === chunks ? store.getChunk(d) : store.getTree(d), expectCode('ERR_INTEGRITY'))
    }
    await store.close()
  })

  test(`${label}: many writes across batches read back`, async () => {
    const store = await openLevelStore(await factory(), { batchBytes: 64 * 1024 })
    const items = Array.from({ length: 300 }, (_, i) => new Uint8Array(randomBytes(1000 + i)))
    await Promise.all(items.map(async (b) => await store.putChunk(sha256.digest(b), b)))
    for (const b of items) assertBytes(await store.getChunk(sha256.digest(b)), b)
    await store.flush()
    for (const b of items) assertBytes(await store.getChunk(sha256.digest(b)), b)
    assert.equal((await store.stats()).chunks, 300)
    await store.close()
  })

  test(`${label}: refs are committed atomically, refuse overwrite unless replaced, list and delete`, async () => {
    const store = await openLevelStore(await factory())
    await store.commitSnapshot('b', snap(1), record)
    await store.commitSnapshot('a/x:1', snap(2), record)
    await assert.rejects(store.commitSnapshot('b', snap(3), record), expectCode('ERR_REF_EXISTS'))
    assertBytes((await store.getRef("b"))!.snapshot, snap(1).digest)
    await store.commitSnapshot('b', snap(3), record, { replace: true })
    assertBytes((await store.getRef("b"))!.snapshot, snap(3).digest)
    assertBytes(await store.getSnapshot(snap(3).digest), snap(3).bytes)
    const names: string[] = []
    for await (const [name] of store.listRefs()) names.push(name)
    assert.deepEqual(names, ['a/x:1', 'b'])
    assert.equal(await store.deleteRef('b'), true)
    assert.equal(await store.deleteRef('b'), false)
    assert.equal(await store.getRef('b'), undefined)
    for (const bad of ['', '-x', '.x', '/x', 'a b', 'a//b', 'x/', 'é']) {
      await assert.rejects(store.commitSnapshot(bad, snap(1), record), expectCode('ERR_INVALID_REF_NAME'), bad)
    }
    const s = await store.stats()
    assert.equal(s.snapshots, 1)
    assert.equal(s.snapshotObjects, 3)
    await store.close()
  })

  test(`${label}: a closed store refuses work`, async () => {
    const store = await openLevelStore(await factory())
    await store.close()
    await assert.rejects(store.getChunk(new Uint8Array(32)), expectCode('ERR_STORE'))
  })
}
