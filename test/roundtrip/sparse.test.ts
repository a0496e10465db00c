/**
 * Sparse files end to end (docs/FORMAT.md §2.1, issue 15): a 5 KiB tar
 * declaring a 56 GiB file imports as holes, not as chunked zeros; a 1 GiB
 * sparse file made by GNU tar comes back sparse from `export dir:` and,
 * through `export tar:`, from GNU tar's own extraction. Allocated blocks
 * are measured with stat(2), not by tessera.
 */
import { test } from 'node:test'
import assert from 'node:assert/strict'
import { spawnSync } from 'node:child_process'
import fs from 'node:fs'
import { mkdtemp, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { openMemoryStore } from '../../src/store/open.js'
import { importLayerFile } from '../../src/importer/layer-file.js'
import { importDirectory } from '../../src/importer/directory.js'
import { exportDirectory } from '../../src/exporter/directory.js'
import { exportTar } from '../../src/exporter/tar.js'
import { SnapshotReader } from '../../src/exporter/snapshot-reader.js'
import { contentCounts } from '../../src/format/entry.js'
import { writeTar } from '../../src/tar/index.js'
import { requireTool } from '../helpers/tools.js'
import { GO_TESTDATA, testdataSkip } from '../tar/go-oracle.js'

const root = await mkdtemp(join(tmpdir(), 'tessera-sparse-'))
test.after(async () => { await rm(root, { recursive: true, force: true }) })

/** Bytes the filesystem allocated for a file (st_blocks, in 512-byte units, read with stat(1)). */
function allocated (path: string): number {
  const r = spawnSync('stat', ['-c', '%b %B', path], { encoding: 'utf8' })
  const [blocks, unit] = r.stdout.trim().split(' ').map(Number)
  return (blocks ?? 0) * (unit ?? 512)
}

async function writeFile (path: string, stream: AsyncIterable<Uint8Array>): Promise<void> {
  const fd = fs.openSync(path, 'w')
  for await (const c of stream) fs.writeSync(fd, c)
  fs.closeSync(fd)
}

/**
 * The file of Go's gnu-sparse-big.tar and pax-sparse-big.tar: 6e10 bytes
 * (56 GiB), holes everywhere but 100 bytes of `0123456789` before each
 * multiple of 1e10.
 */
const BIG = 6e10
const BIG_DATA = Array.from({ length: 6 }, (_, k) => ({ offset: (k + 1) * 1e10 - 100, size: 100 }))

async function checkBig (archive: string, name: string, label: string): Promise<void> {
  const store = await openMemoryStore()
  // within the default limits (64 GiB per file), without chunking a zero
  const r = await importLayerFile(store, archive, { name: 'big' })
  assert.equal(r.logicalBytes, BIG, label)
  assert.ok(r.holeBytes > BIG - 6 * 8192, `${label}: ${r.holeBytes} bytes of holes`)
  assert.ok(r.newBytes < 64 * 1024, `${label}: ${r.newBytes} bytes stored`)
  const reader = await SnapshotReader.open(store, 'big')
  const entry = await reader.statFile(name)
  assert.equal(contentCounts(entry.content).holes, 6, label)
  for (const { offset } of BIG_DATA) {
    const parts: Uint8Array[] = []
    for await (const p of reader.readFile(entry, { offset: offset - 4, length: 108 })) parts.push(p)
    assert.equal(Buffer.concat(parts).toString('latin1'), `\0\0\0\0${'0123456789'.repeat(10)}\0\0\0\0`.slice(0, Math.min(108, BIG - offset + 4)), `${label} at ${offset}`)
  }
  // export dir: a 56 GiB file that takes a few blocks
  const out = join(root, `${label}-out`)
  await exportDirectory(reader, out)
  assert.equal(fs.statSync(join(out, name)).size, BIG)
  assert.ok(allocated(join(out, name)) < 1 << 20, `${label}: ${allocated(join(out, name))} bytes allocated`)
  fs.rmSync(out, { recursive: true })
  // export tar: a sparse entry of a few KiB, which reads back as the same root
  const tar = join(root, `${label}-export.tar`)
  await writeFile(tar, exportTar(reader))
  assert.ok(fs.statSync(tar).size < 64 * 1024, `${label}: the exported tar is ${fs.statSync(tar).size} bytes`)
  assert.equal((await importLayerFile(store, tar, { name: 'again' })).root, r.root)
  await store.close()
}

test('gnu-sparse-big.tar, pax-sparse-big.tar: 5 KiB declaring 56 GiB import as holes, and export sparse', { skip: testdataSkip() }, async () => {
  await checkBig(join(GO_TESTDATA, 'gnu-sparse-big.tar'), 'gnu-sparse', 'gnu-sparse-big')
  await checkBig(join(GO_TESTDATA, 'pax-sparse-big.tar'), 'pax-sparse', 'pax-sparse-big')
})

test('a sparse tar declaring 56 GiB (the shape of pax-sparse-big.tar, written by tessera) imports as holes', async () => {
  const archive = join(root, 'written-big.tar')
  const data = Buffer.from('0123456789'.repeat(10 * 6))
  await writeFile(archive, writeTar([{ path: Buffer.from('pax-sparse'), type: 'file', mode: 0o644, uid: 0, gid: 0, mtimeNs: 0n, size: BIG, sparse: BIG_DATA, content: data }]))
  assert.ok(fs.statSync(archive).size < 8192)
  await checkBig(archive, 'pax-sparse', 'written-big')
})

test('a 1 GiB sparse file made by GNU tar round-trips sparse through export dir: and export tar: | tar -x', requireTool('tar'), async () => {
  const src = join(root, 'src')
  fs.mkdirSync(src)
  const file = join(src, 'disk.img')
  const size = 2 ** 30
  const fd = fs.openSync(file, 'w')
  for (const [at, text] of [[0, 'boot'], [123_456_789, 'middle'], [size - 5, 'end\n']] as const) fs.writeSync(fd, Buffer.from(text), 0, text.length, at)
  fs.ftruncateSync(fd, size)
  fs.closeSync(fd)
  assert.ok(allocated(file) < 1 << 20)
  const store = await openMemoryStore()
  for (const format of ['gnu', 'posix']) {
    const archive = join(root, `disk-${format}.tar`)
    const made = spawnSync('tar', ['-cf', archive, '--sparse', `--format=${format}`, '-C', src, 'disk.img'])
    assert.equal(made.status, 0, made.stderr.toString())
    const r = await importLayerFile(store, archive, { name: `disk-${format}` })
    assert.ok(r.holeBytes > size - 4 * 4096, `${format}: ${r.holeBytes} bytes of holes`)
    assert.ok(r.newBytes < 64 * 1024)
  }
  const reader = await SnapshotReader.open(store, 'disk-posix')
  // export dir: sparse on disk, same bytes
  const out = join(root, 'out')
  await exportDirectory(reader, out)
  assert.ok(allocated(join(out, 'disk.img')) < 1 << 20, `export dir: ${allocated(join(out, 'disk.img'))} bytes allocated`)
  assert.equal(spawnSync('cmp', [file, join(out, 'disk.img')]).status, 0)
  // export tar: GNU tar extracts it sparse
  const tar = join(root, 'export.tar')
  await writeFile(tar, exportTar(reader))
  assert.ok(fs.statSync(tar).size < 64 * 1024, `the exported tar is ${fs.statSync(tar).size} bytes`)
  const extracted = join(root, 'extracted')
  fs.mkdirSync(extracted)
  const x = spawnSync('tar', ['-xf', tar, '-C', extracted])
  assert.equal(x.status, 0, x.stderr.toString())
  assert.ok(allocated(join(extracted, 'disk.img')) < 1 << 20, `tar -x: ${allocated(join(extracted, 'disk.img'))} bytes allocated`)
  assert.equal(spawnSync('cmp', [file, join(extracted, 'disk.img')]).status, 0)
  // the dense export, for readers without sparse support, holds the same bytes
  const dense = join(root, 'dense.tar')
  await writeFile(dense, exportTar(reader, { sparse: false }))
  assert.ok(fs.statSync(dense).size > size)
  assert.equal((await importLayerFile(store, dense, { name: 'dense' })).root, reader.root)
  // and the directory, read back (without SEEK_HOLE: every zero read), gives the same root
  // (times aside: export dir: restores them to the microsecond, GNU tar's PAX kept nanoseconds)
  const zeroed = await importLayerFile(store, join(root, 'disk-posix.tar'), { name: 'zeroed', mtime: 'zero' })
  assert.equal((await importDirectory(store, out, { name: 'from-dir', mtime: 'zero' })).root, zeroed.root)
  await store.close()
})
