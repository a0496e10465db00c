import { test } from 'node:test'
import assert from 'node:assert/strict'
import { chmod, mkdir, mkdtemp, rm, writeFile, symlink, unlink } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { openMemoryStore } from '../../src/store/open.js'
import { importDirectory } from '../../src/importer/directory.js'
import { SnapshotReader } from '../../src/exporter/snapshot-reader.js'
import { diffSnapshots, type DiffItem } from '../../src/exporter/diff.js'

const root = await mkdtemp(join(tmpdir(), 'tessera-diff-'))
test.after(async () => { await rm(root, { recursive: true, force: true }) })

test('diff reports added, removed and modified paths and never reads identical subtrees', async () => {
  const dir = join(root, 'tree')
  for (let i = 0; i < 20; i++) {
    await mkdir(join(dir, 'big', `d${i}`), { recursive: true })
    await writeFile(join(dir, 'big', `d${i}`, 'f'), `file ${i}`)
  }
  await mkdir(join(dir, 'etc'))
  await writeFile(join(dir, 'etc', 'a'), 'a')
  await writeFile(join(dir, 'etc', 'b'), 'b')
  await writeFile(join(dir, 'etc', 'mode'), 'm')
  await mkdir(join(dir, 'old', 'inner'), { recursive: true })
  await writeFile(join(dir, 'old', 'inner', 'x'), 'x')
  await symlink('a', join(dir, 'etc', 'link'))
  const store = await openMemoryStore()
  await importDirectory(store, dir, { name: 'v1', mtime: 'zero' })
  await writeFile(join(dir, 'etc', 'a'), 'changed')
  await unlink(join(dir, 'etc', 'b'))
  await writeFile(join(dir, 'etc', 'c'), 'new')
  await chmod(join(dir, 'etc', 'mode'), 0o600)
  await unlink(join(dir, 'etc', 'link'))
  await symlink('b', join(dir, 'etc', 'link'))
  await rm(join(dir, 'old'), { recursive: true })
  await mkdir(join(dir, 'added', 'deep'), { recursive: true })
  await writeFile(join(dir, 'added', 'deep', 'y'), 'y')
  await importDirectory(store, dir, { name: 'v2', mtime: 'zero' })

  let treeReads = 0
  const counting = new Proxy(store, {
    get (target, prop, receiver) {
      if (prop === 'getTree') return async (d: Uint8Array) => { treeReads++; return await target.getTree(d) }
      const v = Reflect.get(target, prop, receiver)
      return typeof v === 'function' ? v.bind(target) : v
    }
  })
  const a = await SnapshotReader.open(counting, 'v1')
  const b = await SnapshotReader.open(counting, 'v2')
  const items: DiffItem[] = []
  for await (const d of diffSnapshots(a, b)) items.push(d)
  const show = items.map((d) => `${d.change[0]} ${Buffer.from(d.path).toString()}${d.change === 'modified' ? ' ' + d.aspects.join('+') : ''}`)
  assert.deepEqual(show, [
    'a added', 'a added/deep', 'a added/deep/y',
    'm etc/a content',
    'r etc/b',
    'a etc/c',
    'm etc/link link',
    'm etc/mode metadata',
    'r old', 'r old/inner', 'r old/inner/x'
  ])
  // root + etc on each side, plus the added and removed subtrees; the 20
  // unchanged directories under big/ are never read.
  assert.ok(treeReads <= 10, `read ${treeReads} trees`)
  const none: DiffItem[] = []
  for await (const d of diffSnapshots(a, a)) none.push(d)
  assert.deepEqual(none, [])
  await store.close()
})
