import { test } from 'node:test'
import assert from 'node:assert/strict'
import { spawnSync } from 'node:child_process'
import { mkdtemp, readFile, rm, writeFile, mkdir, access } from 'node:fs/promises'
import { hostname, tmpdir } from 'node:os'
import { join } from 'node:path'
import { openMemoryStore } from '../../src/store/open.js'
import { importDirectory } from '../../src/importer/directory.js'
import { SnapshotReader } from '../../src/exporter/snapshot-reader.js'
import { exportOciLayout } from '../../src/oci/export-layout.js'
import { LAYOUT_LOCK_FILE } from '../../src/oci/layout-lock.js'

const work = await mkdtemp(join(tmpdir(), 'tessera-layout-lock-'))
test.after(async () => { await rm(work, { recursive: true, force: true }) })
const src = join(work, 'src')
await mkdir(src)
await writeFile(join(src, 'a.txt'), 'a\n')
const store = await openMemoryStore()
await importDirectory(store, src, { name: 'app', xattrs: false })
const reader = await SnapshotReader.open(store, 'app')
test.after(async () => { await store.close() })
const tags = async (layout: string): Promise<string[]> => JSON.parse(await readFile(join(layout, 'index.json'), 'utf8')).manifests.map((m: any) => m.annotations['org.opencontainers.image.ref.name']).sort()

test('concurrent exports into one layout keep every index entry', async () => {
  const layout = join(work, 'concurrent')
  const names = ['t1', 't2', 't3', 't4', 't5', 't6']
  await Promise.all(names.map(async (tag) => await exportOciLayout(reader, layout, { tag, compression: 'none' })))
  assert.deepEqual(await tags(layout), names)
  await assert.rejects(access(join(layout, LAYOUT_LOCK_FILE)), 'the lock is released')
})

test('a lock left by a process that is gone is broken; a live one times out with ERR_OCI_LAYOUT_LOCKED', async () => {
  const layout = join(work, 'stale')
  await exportOciLayout(reader, layout, { tag: 'first', compression: 'none' })
  const gone = spawnSync(process.execPath, ['-e', 'process.stdout.write(String(process.pid))'], { encoding: 'utf8' })
  await writeFile(join(layout, LAYOUT_LOCK_FILE), JSON.stringify({ host: hostname(), pid: Number(gone.stdout) }))
  await exportOciLayout(reader, layout, { tag: 'second', compression: 'none' })
  assert.deepEqual(await tags(layout), ['first', 'second'])
  await writeFile(join(layout, LAYOUT_LOCK_FILE), JSON.stringify({ host: hostname(), pid: process.pid }))
  await assert.rejects(exportOciLayout(reader, layout, { tag: 'third', compression: 'none', lockTimeoutMs: 100 }), (err: any) => err.code === 'ERR_OCI_LAYOUT_LOCKED')
  assert.deepEqual(await tags(layout), ['first', 'second'], 'the index is untouched')
  await rm(join(layout, LAYOUT_LOCK_FILE))
  await exportOciLayout(reader, layout, { tag: 'third', compression: 'none' })
  assert.deepEqual(await tags(layout), ['first', 'second', 'third'])
})
