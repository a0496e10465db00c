/**
 * A failed export leaves nothing behind: no partial tar, no half-written
 * directory, no empty layout. The failure is real: a chunk of the last
 * file the export writes is damaged in its pack file, so the export has
 * written other entries (and blobs) before it meets the damage.
 */
import { test } from 'node:test'
import assert from 'node:assert/strict'
import { mkdir, mkdtemp, open, readdir, readFile, rm, stat, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { ClassicLevel } from 'classic-level'
import { openStore } from '../../src/store/open.js'
import { importDirectory } from '../../src/importer/directory.js'
import { SnapshotReader } from '../../src/exporter/snapshot-reader.js'
import { exportDirectory } from '../../src/exporter/directory.js'
import { decodeLocation, packFileName } from '../../src/store/pack/index.js'
import { lcgBytes } from '../helpers/fixture.js'
import { runTessera } from '../helpers/cli.js'

const root = await mkdtemp(join(tmpdir(), 'tessera-failed-export-'))
test.after(async () => { await rm(root, { recursive: true, force: true }) })
const store = join(root, 'store')
const run = (...args: string[]): ReturnType<typeof runTessera> => runTessera(args, { store })

// Many small files and directories (written first), and a big file whose
// last chunk is damaged (the export meets it last: its chunks come after
// everything else in the walk's order and the writers').
const src = join(root, 'src')
for (let d = 0; d < 5; d++) {
  await mkdir(join(src, `d${d}`, 'inner'), { recursive: true })
  for (let i = 0; i < 20; i++) await writeFile(join(src, `d${d}`, 'inner', `f${i}`), lcgBytes(3000 + i, d * 100 + i))
}
await writeFile(join(src, 'zz-big.bin'), lcgBytes(3_000_000, 9))
{
  const s = await openStore(store)
  await importDirectory(s, src, { name: 'good', xattrs: false })
  await importDirectory(s, src, { name: 'bad', xattrs: false })
  await s.close()
}
// Export an intact image into a layout before damaging anything: an
// existing layout must come out of a failed export unchanged.
const layout = join(root, 'layout')
assert.equal(run('export', 'good', `oci:${layout}:first`, '--compression', 'none').code, 0)

/** Flip one byte inside the stored record of the last chunk of zz-big.bin. */
async function damageLastChunk (): Promise<void> {
  const s = await openStore(store)
  const entry = await (await SnapshotReader.open(s, 'bad')).statFile('zz-big.bin')
  await s.close()
  assert.ok(Array.isArray(entry.content) && entry.content.length > 2, 'the big file has several chunks')
  const last = entry.content[entry.content.length - 1]!
  assert.ok('digest' in last)
  const db = new ClassicLevel<Uint8Array, Uint8Array>(store, { keyEncoding: 'view', valueEncoding: 'view' })
  const value = await db.sublevel<Uint8Array, Uint8Array>('c', { keyEncoding: 'view', valueEncoding: 'view' }).get(last.digest)
  await db.close()
  const location = decodeLocation(value!)
  const fh = await open(join(store, 'packs', packFileName(location.pack)), 'r+')
  const at = location.offset + Math.floor(location.storedLength / 2)
  const one = Buffer.alloc(1)
  await fh.read(one, 0, 1, at)
  one[0]! ^= 0x10
  await fh.write(one, 0, 1, at)
  await fh.close()
}
await damageLastChunk()

/** Every path below `dir`, recursively, sorted. */
async function tree (dir: string): Promise<string[]> {
  return (await readdir(dir, { recursive: true })).sort()
}

const failsWithIntegrity = (r: ReturnType<typeof runTessera>, what: string): void => {
  assert.equal(r.code, 1, `${what}: ${r.stderr}`)
  assert.match(r.stderr, /^tessera: ERR_INTEGRITY: /, what)
  assert.equal(r.stderr.trimEnd().split('\n').length, 1, `${what}: one line: ${r.stderr}`)
}

test('the export meets the damage late: tar:- has written most of the stream when it fails', () => {
  const r = run('export', 'bad', 'tar:-')
  failsWithIntegrity(r, 'tar:-')
  assert.ok(r.stdout.length > 300_000, `the tar stream got far before it met the damage (${r.stdout.length} bytes)`)
})

test('a failed export to tar:FILE leaves no file and no temporary file', async () => {
  const dir = join(root, 'tar-out')
  await mkdir(dir)
  failsWithIntegrity(run('export', 'bad', `tar:${join(dir, 'x.tar')}`), 'tar')
  assert.deepEqual(await readdir(dir), [])
})

test('a failed export to dir: removes the directories it made, parents included', async () => {
  const parent = join(root, 'dir-out')
  await mkdir(parent)
  failsWithIntegrity(run('export', 'bad', `dir:${join(parent, 'new', 'deeper', 'out')}`), 'dir')
  assert.deepEqual(await readdir(parent), [], 'nothing is left of new/deeper/out')
})

test('a failed export to an empty dir: leaves it empty, with its mode', async () => {
  const target = join(root, 'empty-target')
  await mkdir(target, { mode: 0o751 })
  const before = await stat(target)
  failsWithIntegrity(run('export', 'bad', `dir:${target}`), 'dir')
  assert.deepEqual(await readdir(target), [])
  assert.equal((await stat(target)).mode & 0o7777, before.mode & 0o7777)
})

test('the library\'s exportDirectory takes back what it wrote too', async () => {
  const target = join(root, 'library-out')
  const s = await openStore(store, { create: false })
  try {
    const reader = await SnapshotReader.open(s, 'bad')
    const seen: number[] = []
    await assert.rejects(exportDirectory(reader, target, { owners: false, onProgress: (p) => seen.push(p.files) }), { code: 'ERR_INTEGRITY' })
    assert.ok(seen.some((n) => n > 50), 'entries were written before the failure')
  } finally {
    await s.close()
  }
  await assert.rejects(stat(target), { code: 'ENOENT' })
})

test('a failed export to a new oci: layout removes the layout', async () => {
  const parent = join(root, 'oci-out')
  await mkdir(parent)
  failsWithIntegrity(run('export', 'bad', `oci:${join(parent, 'made', 'layout')}`), 'oci new')
  assert.deepEqual(await readdir(parent), [])
  const empty = join(root, 'oci-empty')
  await mkdir(empty)
  failsWithIntegrity(run('export', 'bad', `oci:${empty}`), 'oci empty dir')
  assert.deepEqual(await readdir(empty), [])
})

test('a failed export into an existing layout leaves its index and blobs as they were', async () => {
  const before = await tree(layout)
  const index = await readFile(join(layout, 'index.json'))
  failsWithIntegrity(run('export', 'bad', `oci:${layout}:second`, '--compression', 'none'), 'oci existing')
  assert.deepEqual(await tree(layout), before)
  assert.ok((await readFile(join(layout, 'index.json'))).equals(index))
})
