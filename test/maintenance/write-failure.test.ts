import { test } from 'node:test'
import assert from 'node:assert/strict'
import { mkdtemp, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { MemoryLevel } from 'memory-level'
import { fsck } from '../../src/maintenance/fsck.js'
import { gc } from '../../src/maintenance/gc.js'
import { importDirectory } from '../../src/importer/directory.js'
import { exportDigest, makeTree } from './helpers.js'
import { openLevelStore, type LocalObjectStore } from '../../src/store/index.js'

/** memory-level whose N-th batch from now fails as a full disk would. */
class FailingLevel extends MemoryLevel<Uint8Array, Uint8Array> {
  failAt = Infinity
  batches = 0
  constructor () { super({ keyEncoding: 'view', valueEncoding: 'view' }) }
  async _batch (operations: unknown, options: unknown): Promise<void> {
    if (++this.batches === this.failAt) {
      const err = new Error('ENOSPC: no space left on device (injected)') as NodeJS.ErrnoException
      err.code = 'ENOSPC'
      throw err
    }
    return await (MemoryLevel.prototype as any)._batch.call(this, operations, options)
  }
}

const root = await mkdtemp(join(tmpdir(), 'tessera-wfail-'))
test.after(async () => { await rm(root, { recursive: true, force: true }) })
await makeTree(join(root, 'a'), 1)
await makeTree(join(root, 'b'), 2, 10)
const opts = { mtime: 'zero' as const, xattrs: false, workers: 0 }
const open = async (db: FailingLevel): Promise<LocalObjectStore> => await openLevelStore(db as any, { batchBytes: 128 * 1024 })

for (const failAt of [1, 2, 3, 5, 8]) {
  test(`a write failing at batch ${failAt} of an import gives ERR_STORE and leaves the store consistent`, async () => {
    const db = new FailingLevel()
    let store = await open(db)
    await importDirectory(store, join(root, 'a'), { ...opts, name: 'a' })
    const a = await exportDigest(store, 'a')
    db.batches = 0
    db.failAt = failAt
    await assert.rejects(importDirectory(store, join(root, 'b'), { ...opts, name: 'b' }), (err: any) => {
      assert.equal(err.code, 'ERR_STORE')
      assert.match(err.message, /ENOSPC: no space left on device/)
      return true
    })
    // The open store refuses further work rather than act on a state the database lacks.
    await assert.rejects(store.putChunk(new Uint8Array(32), new Uint8Array(1)), (err: any) => err.code === 'ERR_STORE' && err.cause?.code === 'ENOSPC')
    await store.close()
    db.failAt = Infinity
    store = await open(db)
    const report = await fsck(store)
    assert.deepEqual(report.problems, [])
    assert.equal(await store.getRef('b'), undefined)
    assert.equal(await exportDigest(store, 'a'), a)
    // Importing again works, and gc reclaims what the failed import left.
    await importDirectory(store, join(root, 'b'), { ...opts, name: 'b' })
    await gc(store)
    assert.equal((await fsck(store)).ok, true)
    await store.close()
  })
}

test('a write failing during gc leaves the store consistent', async () => {
  const db = new FailingLevel()
  let store = await open(db)
  await importDirectory(store, join(root, 'a'), { ...opts, name: 'a' })
  await importDirectory(store, join(root, 'b'), { ...opts, name: 'b' })
  const a = await exportDigest(store, 'a')
  await store.deleteRef('b')
  db.batches = 0
  db.failAt = 1
  await assert.rejects(gc(store), (err: any) => err.code === 'ERR_STORE')
  await store.close()
  db.failAt = Infinity
  store = await open(db)
  assert.deepEqual((await fsck(store)).problems, [])
  assert.equal(await exportDigest(store, 'a'), a)
  assert.ok((await gc(store)).bytesFreed > 0)
  assert.deepEqual((await fsck(store)).problems, [])
  await store.close()
})
