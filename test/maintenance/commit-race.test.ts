import { test } from 'node:test'
import assert from 'node:assert/strict'
import { mkdtemp, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { fsck } from '../../src/maintenance/fsck.js'
import { importDirectory } from '../../src/importer/directory.js'
import { makeTree, memoryDb, openOn } from './helpers.js'

const root = await mkdtemp(join(tmpdir(), 'tessera-commit-race-'))
test.after(async () => { await rm(root, { recursive: true, force: true }) })
const src = join(root, 'src')
await makeTree(src, 3)
const opts = { mtime: 'zero' as const, xattrs: false, workers: 0 }
const SNAPSHOT_PREFIX = Buffer.from('!s!')

test('two commits of one snapshot object count it once, even when one decides on a stale "absent"', async () => {
  const db = memoryDb()
  const store = await openOn(db)
  // The first existence check of a snapshot object returns its (correct)
  // answer only after the other import has committed the same object:
  // the answer is stale by then.
  const raw = db as unknown as { _has: (key: Uint8Array, options: unknown) => Promise<boolean> }
  const has = raw._has.bind(db)
  let held = false
  let release!: () => void
  const gate = new Promise<void>((resolve) => { release = resolve })
  raw._has = async (key, options) => {
    const found = await has(key, options)
    if (!held && Buffer.from(key).subarray(0, 3).equals(SNAPSHOT_PREFIX)) { held = true; await gate }
    return found
  }
  const first = importDirectory(store, src, { ...opts, name: 'first' })
  while (!held) await new Promise((resolve) => setImmediate(resolve))
  const second = importDirectory(store, src, { ...opts, name: 'second' })
  // Without a guard the second commit finishes meanwhile; with one it waits for the first.
  await Promise.race([second, new Promise((resolve) => setTimeout(resolve, 300))])
  release()
  const [a, b] = await Promise.all([first, second])
  assert.equal(a.snapshot, b.snapshot)
  const report = await fsck(store)
  assert.deepEqual(report.problems, [])
  assert.equal((await store.stats()).snapshotObjects, 1)
  await store.close()
})
