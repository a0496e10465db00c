import { test } from 'node:test'
import assert from 'node:assert/strict'
import { mkdtemp, mkdir, rm, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { FIXTURE, materialize, lcgBytes } from '../helpers/fixture.js'
import { describeTree } from '../helpers/describe-tree.js'
import { skipUnless } from '../helpers/tools.js'
import { openMemoryStore } from '../../src/store/open.js'
import { importDirectory } from '../../src/importer/directory.js'
import { exportDirectory } from '../../src/exporter/directory.js'
import { SnapshotReader } from '../../src/exporter/snapshot-reader.js'
import { type LocalObjectStore } from '../../src/store/index.js'

const root = await mkdtemp(join(tmpdir(), 'tessera-rt-'))
test.after(async () => { await rm(root, { recursive: true, force: true }) })
const isRoot = process.getuid?.() === 0
// The fixture has xattrs (setfattr makes them, the importer reads them with getfattr); python3 describes trees.
const needs = ['setfattr', 'getfattr', 'python3'] as const
const expectCode = (code: string) => (err: unknown): boolean => { assert.equal((err as { code?: string }).code, code); return true }

async function fresh (name: string, order?: typeof FIXTURE, mtimeSec?: number): Promise<string> {
  const dir = join(root, name)
  await mkdir(dir)
  await materialize(dir, { ...(order !== undefined ? { order } : {}), ...(mtimeSec !== undefined ? { mtimeSec } : {}) })
  return dir
}

test('a directory with every kind of inode comes back identical in content and metadata', { skip: skipUnless([...needs], !isRoot && 'needs root for owners and device nodes') }, async () => {
  const src = await fresh('src')
  const store = await openMemoryStore()
  const result = await importDirectory(store, src, { name: 'fixture' })
  assert.match(result.snapshot, /^sha256:[0-9a-f]{64}$/)
  assert.equal(result.files, FIXTURE.length)
  const out = join(root, 'out')
  const warnings: string[] = []
  await exportDirectory(await SnapshotReader.open(store, 'fixture'), out, { devices: true, onWarning: (w) => warnings.push(w) })
  assert.deepEqual(warnings, [])
  const expected = describeTree(src)
  const actual = describeTree(out)
  assert.deepEqual(actual, expected)
  // Spot checks that the comparison covers what it should.
  const hex = (s: string): string => Buffer.from(s, 'latin1').toString('hex')
  assert.equal(expected[hex('usr/bin/tool')]!.mode, '0o4755')
  assert.equal(expected[hex('etc/another passwd link')]!.link_group, expected[hex('etc/passwd')]!.link_group)
  assert.deepEqual(expected[hex('dev/null')]!.rdev, [1, 3])
  assert.ok((expected[hex('usr/bin/big.bin')]!.xattrs as unknown[]).length === 2)
  assert.ok(hex('names/latin1-\xff\xfe') in actual)
  await store.close()
})

test('without the devices option, device nodes are skipped with a warning and the rest is exported', { skip: skipUnless([...needs], !isRoot && 'needs root') }, async () => {
  const src = await fresh('src-nodev')
  const store = await openMemoryStore()
  await importDirectory(store, src, { name: 'x' })
  const warnings: string[] = []
  const out = join(root, 'out-nodev')
  await exportDirectory(await SnapshotReader.open(store, 'x'), out, { onWarning: (w) => warnings.push(w) })
  assert.equal(warnings.length, 2)
  const actual = describeTree(out)
  assert.equal(Object.keys(actual).length, Object.keys(describeTree(src)).length - 2)
  await store.close()
})

test('the same tree made in another order, in another directory, gives the same root digest', { skip: skipUnless([...needs], !isRoot && 'needs root') }, async () => {
  const a = await fresh('order-a')
  const shuffled = [...FIXTURE].reverse()
  const b = await fresh('order-b-elsewhere', shuffled)
  const store = await openMemoryStore()
  const ra = await importDirectory(store, a, { name: 'a' })
  const rb = await importDirectory(store, b, { name: 'b' })
  assert.equal(ra.root, rb.root)
  assert.equal(ra.snapshot, rb.snapshot)
  // Other mtimes: different digest when kept, identical with mtime 'zero'.
  const c = await fresh('order-c', shuffled, 1_600_000_000)
  const rc = await importDirectory(store, c, { name: 'c' })
  assert.notEqual(rc.root, ra.root)
  const za = await importDirectory(store, a, { name: 'za', mtime: 'zero' })
  const zc = await importDirectory(store, c, { name: 'zc', mtime: 'zero' })
  assert.equal(za.root, zc.root)
  const ea = await importDirectory(store, a, { name: 'ea', mtime: 1234 })
  const ec = await importDirectory(store, c, { name: 'ec', mtime: 1234 })
  assert.equal(ea.root, ec.root)
  assert.notEqual(ea.root, za.root)
  await store.close()
})

async function storedAfter (store: LocalObjectStore): Promise<number> { return (await store.stats()).storedBytes }

test('a file with a few bytes inserted near its start costs only a few new chunks', async () => {
  const dir = join(root, 'dedup')
  await mkdir(join(dir, 'v1'), { recursive: true })
  await mkdir(join(dir, 'v2'), { recursive: true })
  const data = lcgBytes(16 * 1024 * 1024, 99)
  await writeFile(join(dir, 'v1', 'big'), data)
  await writeFile(join(dir, 'v2', 'big'), Buffer.concat([data.subarray(0, 1000), Buffer.from('INSERTED'), data.subarray(1000)]))
  const store = await openMemoryStore({ compressionLevel: 0 })
  await importDirectory(store, join(dir, 'v1'), { name: 'v1' })
  const before = await storedAfter(store)
  const r2 = await importDirectory(store, join(dir, 'v2'), { name: 'v2' })
  const growth = (await storedAfter(store)) - before
  assert.ok(before > 16 * 1024 * 1024, 'first import stored the file')
  assert.ok(r2.newChunks >= 1 && r2.newChunks <= 3, `new chunks: ${r2.newChunks}`)
  assert.ok(growth < 3 * 256 * 1024, `growth ${growth} bytes`)
  await store.close()
})

test('a byte range of a file reads only the chunks that cover it', async () => {
  const dir = join(root, 'range')
  await mkdir(dir)
  const data = lcgBytes(8 * 1024 * 1024, 5)
  await writeFile(join(dir, 'f'), data)
  await writeFile(join(dir, 'tiny'), 'tiny')
  const store = await openMemoryStore()
  await importDirectory(store, dir, { name: 'r' })
  let fetched = 0
  const counting = new Proxy(store, {
    get (target, prop, receiver) {
      if (prop === 'getChunk') return async (d: Uint8Array) => { fetched++; return await target.getChunk(d) }
      const v = Reflect.get(target, prop, receiver)
      return typeof v === 'function' ? v.bind(target) : v
    }
  })
  const reader = await SnapshotReader.open(counting, 'r')
  const read = async (path: string, offset?: number, length?: number): Promise<Buffer> => {
    const parts: Uint8Array[] = []
    for await (const p of reader.readFile(path, { ...(offset !== undefined ? { offset } : {}), ...(length !== undefined ? { length } : {}) })) parts.push(p)
    return Buffer.concat(parts)
  }
  const entry = await reader.statFile('f')
  assert.ok(Array.isArray(entry.content) && entry.content.length > 10)
  fetched = 0
  const off = 5 * 1024 * 1024 + 17
  assert.deepEqual(await read('f', off, 4096), data.subarray(off, off + 4096))
  assert.ok(fetched >= 1 && fetched <= 2, `fetched ${fetched} chunks for a 4 KiB range`)
  assert.deepEqual(await read('f'), data)
  assert.deepEqual(await read('f', data.length - 10, 100), data.subarray(data.length - 10))
  assert.deepEqual(await read('f', data.length), Buffer.alloc(0))
  assert.deepEqual(await read('tiny', 1, 2), Buffer.from('in'))
  await assert.rejects(read('f', data.length + 1), expectCode('ERR_INVALID_RANGE'))
  await assert.rejects(read('nope'), expectCode('ERR_NOT_FOUND'))
  await assert.rejects(read(''), expectCode('ERR_WRONG_KIND'))
  await assert.rejects(read('../f'), expectCode('ERR_INVALID_PATH'))
  await store.close()
})

test('export refuses a non-empty target; import refuses a file as source', async () => {
  const store = await openMemoryStore()
  const dir = join(root, 'busy')
  await mkdir(join(dir, 'src'), { recursive: true })
  await writeFile(join(dir, 'src', 'a'), 'a')
  await importDirectory(store, join(dir, 'src'), { name: 'busy' })
  await assert.rejects(exportDirectory(await SnapshotReader.open(store, 'busy'), join(dir, 'src')), expectCode('ERR_TARGET_NOT_EMPTY'))
  await assert.rejects(importDirectory(store, join(dir, 'src', 'a'), { name: 'y' }), expectCode('ERR_INVALID_ARGUMENT'))
  await assert.rejects(importDirectory(store, join(dir, 'missing'), { name: 'y' }), expectCode('ERR_UNREADABLE_SOURCE'))
  await assert.rejects(importDirectory(store, join(dir, 'src'), { name: 'busy' }), expectCode('ERR_REF_EXISTS'))
  await assert.rejects(SnapshotReader.open(store, 'nothing'), expectCode('ERR_NOT_FOUND'))
  await store.close()
})
