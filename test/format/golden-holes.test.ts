/**
 * Golden vector G9 of docs/FORMAT.md §8: files with holes (§2.1). The
 * content lists are pinned element by element and the root digest as a
 * whole; the same files give that root from memory, from disk written
 * dense and written sparse, from a GNU tar --sparse archive and from
 * tessera's own sparse tar. A change here is a change of the format.
 */
import { test } from 'node:test'
import assert from 'node:assert/strict'
import { spawnSync } from 'node:child_process'
import fs from 'node:fs'
import { mkdtemp, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { storeContent } from '../../src/content/file-content.js'
import { type ContentRef, isHole } from '../../src/format/entry.js'
import { DEFAULT_SNAPSHOT_PARAMS } from '../../src/format/snapshot.js'
import { encodeTree, TreeBuilder } from '../../src/format/tree.js'
import { digestToString } from '../../src/hash/digest.js'
import { openMemoryStore } from '../../src/store/open.js'
import { importDirectory } from '../../src/importer/directory.js'
import { importLayerFile } from '../../src/importer/layer-file.js'
import { SnapshotReader } from '../../src/exporter/snapshot-reader.js'
import { exportTar } from '../../src/exporter/tar.js'
import { lcgBytes } from '../helpers/fixture.js'
import { requireTool } from '../helpers/tools.js'

/** The G9 files: name, size, and their non-zero ranges `[offset, bytes]` (everything else is zero). */
function g9Files (): Array<{ name: string, size: number, data: Array<[number, Uint8Array]> }> {
  const second = Buffer.from(lcgBytes(65536, 10))
  second.fill(0, 225280 - 200704, 233472 - 200704) // two zero blocks inside data: too short for a hole
  return [
    // data, a 128 KiB hole, data with 8 KiB of zero blocks in it, a hole ending the file in a short block
    { name: 'a', size: 410834, data: [[0, lcgBytes(69632, 9)], [200704, second]] },
    // 64 KiB of zeros: one hole
    { name: 'b', size: 65536, data: [] },
    // one byte less: no hole, zeros chunked as data
    { name: 'c', size: 65535, data: [] },
    // 70000 zeros between 100-byte data: only the aligned 64 KiB inside is a hole
    { name: 'd', size: 70200, data: [[0, lcgBytes(100, 11)], [70100, lcgBytes(100, 12)]] }
  ]
}

function bytesOf (f: ReturnType<typeof g9Files>[number]): Buffer {
  const b = Buffer.alloc(f.size)
  for (const [at, d] of f.data) b.set(d, at)
  return b
}

const shape = (content: Uint8Array | readonly ContentRef[]): string =>
  content instanceof Uint8Array ? 'inline' : content.map((c) => isHole(c) ? `hole ${c.length}` : `${c.length}`).join(' ')

/** The root digest of G9, every file 0644, owner 0:0, mtime 0. */
const G9_ROOT = 'sha256:9f5076d61b51a5d488b5959fd3ff20c7c77498f50b68bfae10be12e2896f4be5'
const G9_SHAPES: Record<string, string> = {
  a: '55508 14124 hole 131072 65536 hole 144594',
  b: 'hole 65536',
  c: '65535',
  d: '4096 hole 65536 568'
}

test('G9: files with holes have pinned content lists and a pinned root', async () => {
  const store = await openMemoryStore()
  const builder = new TreeBuilder({ inlineMax: DEFAULT_SNAPSHOT_PARAMS.inlineMax })
  for (const f of g9Files()) {
    // fed in awkward pieces: the result does not depend on them
    const bytes = bytesOf(f)
    const pieces = [bytes.subarray(0, 1000), bytes.subarray(1000, 70001), bytes.subarray(70001)]
    const stored = await storeContent(pieces, { store, params: DEFAULT_SNAPSHOT_PARAMS })
    assert.equal(shape(stored.content), G9_SHAPES[f.name], f.name)
    builder.add({ kind: 'file', name: Buffer.from(f.name), mode: 0o644, uid: 0, gid: 0, mtimeNs: 0n, xattrs: [], size: f.size, content: stored.content })
  }
  const root = builder.build()
  assert.equal(digestToString(root.digest), G9_ROOT)
  await store.close()
})

/** Write the G9 files under `dir`: zeros written out, or left as holes (seek past them). */
function materialize (dir: string, sparse: boolean): void {
  fs.mkdirSync(dir, { recursive: true })
  for (const f of g9Files()) {
    const p = join(dir, f.name)
    if (!sparse) { fs.writeFileSync(p, bytesOf(f)) } else {
      const fd = fs.openSync(p, 'w')
      for (const [at, d] of f.data) fs.writeSync(fd, d, 0, d.length, at)
      fs.ftruncateSync(fd, f.size)
      fs.closeSync(fd)
    }
    fs.chmodSync(p, 0o644)
  }
}

test('G9: a hole is a bare integer in the content list', () => {
  // the tree of `b` alone: [1, [[b, 1, 0644, 0, 0, 0, [], 65536, [65536]]]]
  const t = encodeTree([{ kind: 'file', name: Buffer.from('b'), mode: 0o644, uid: 0, gid: 0, mtimeNs: 0n, xattrs: [], size: 65536, content: [{ hole: true, length: 65536 }] }])
  assert.equal(Buffer.from(t.bytes).toString('hex'), '92019199c4016201cd01a400000090ce0001000091ce00010000')
  assert.equal(digestToString(t.digest), 'sha256:e5a9a1802c4318372d3373891d809daf444bc44739673af2da8a82d2827b6a0b')
})

test('G9: the same root from disk (dense and sparse), and every file reads back its bytes', async () => {
  const dir = await mkdtemp(join(tmpdir(), 'tessera-g9-'))
  try {
    const store = await openMemoryStore()
    for (const sparse of [false, true]) {
      const src = join(dir, sparse ? 'sparse' : 'dense')
      materialize(src, sparse)
      const r = await importDirectory(store, src, { name: `g9-${String(sparse)}`, mtime: 'zero' })
      assert.equal(r.root, G9_ROOT, sparse ? 'sparse on disk' : 'zeros written out')
      assert.equal(r.holeBytes, 131072 + 144594 + 65536 + 65536)
      const reader = await SnapshotReader.open(store, `g9-${String(sparse)}`)
      for (const f of g9Files()) {
        const parts: Uint8Array[] = []
        for await (const p of reader.readFile(f.name)) parts.push(p)
        assert.ok(Buffer.concat(parts).equals(bytesOf(f)), f.name)
        // a range across a hole edge
        const range: Uint8Array[] = []
        for await (const p of reader.readFile(f.name, { offset: 4000, length: 70000 })) range.push(p)
        assert.ok(Buffer.concat(range).equals(bytesOf(f).subarray(4000, 74000)), `${f.name} range`)
      }
    }
    await store.close()
  } finally {
    await rm(dir, { recursive: true, force: true })
  }
})

test('G9: the same root from a GNU tar --sparse archive and from tessera\'s sparse tar', requireTool('tar'), async () => {
  const dir = await mkdtemp(join(tmpdir(), 'tessera-g9-tar-'))
  try {
    const src = join(dir, 'src')
    materialize(src, true)
    const store = await openMemoryStore()
    for (const format of ['gnu', 'posix']) {
      const archive = join(dir, `${format}.tar`)
      const r = spawnSync('tar', ['-cf', archive, '--sparse', `--format=${format}`, '--owner=0', '--group=0', '--numeric-owner', '-C', src, 'a', 'b', 'c', 'd'])
      assert.equal(r.status, 0, r.stderr.toString())
      const imported = await importLayerFile(store, archive, { name: `t-${format}`, mtime: 'zero' })
      assert.equal(imported.root, G9_ROOT, `tar --format=${format} --sparse`)
    }
    // tessera's export, imported again
    const reader = await SnapshotReader.open(store, 't-gnu')
    const own = join(dir, 'own.tar')
    const parts: Uint8Array[] = []
    for await (const c of exportTar(reader)) parts.push(c)
    fs.writeFileSync(own, Buffer.concat(parts))
    assert.equal((await importLayerFile(store, own, { name: 'own' })).root, G9_ROOT)
    await store.close()
  } finally {
    await rm(dir, { recursive: true, force: true })
  }
})
