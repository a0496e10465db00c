/**
 * Progress follows the bytes as they are stored or written, not only the
 * entries: one big file (or a walk that finishes long before the content)
 * must not freeze the figures at `N files, 0 B`.
 */
import { test } from 'node:test'
import assert from 'node:assert/strict'
import { mkdtemp, mkdir, rm, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { importDirectory } from '../../src/importer/directory.js'
import { importLayerFile } from '../../src/importer/layer-file.js'
import { exportDirectory } from '../../src/exporter/directory.js'
import { exportTar } from '../../src/exporter/tar.js'
import { SnapshotReader } from '../../src/exporter/snapshot-reader.js'
import { writeTar } from '../../src/tar/index.js'
import { openMemoryStore } from '../../src/store/open.js'
import { lcgBytes } from '../helpers/fixture.js'

const root = await mkdtemp(join(tmpdir(), 'tessera-progress-'))
test.after(async () => { await rm(root, { recursive: true, force: true }) })

/** One file of 12 MiB (several worker batches, about 200 chunks) and a small one. */
const big = lcgBytes(12 * 1024 * 1024, 5)
const src = join(root, 'src')
await mkdir(src)
await writeFile(join(src, 'big.bin'), big)
await writeFile(join(src, 'small.txt'), 'small\n')
const total = big.length + 6

/** Check a sequence of reported byte counts: never decreasing, some strictly inside the big file, ending at `end`. */
function assertFollowsBytes (reported: number[], end: number, what: string): void {
  assert.ok(reported.length > 0, `${what}: progress was reported`)
  for (let i = 1; i < reported.length; i++) assert.ok(reported[i]! >= reported[i - 1]!, `${what}: bytes never go down`)
  assert.equal(reported[reported.length - 1], end, `${what}: the last report has every byte`)
  const inside = reported.filter((b) => b > 6 && b < big.length)
  assert.ok(inside.length >= 3, `${what}: bytes are reported while the big file is stored (${inside.length} reports inside it)`)
}

for (const workers of [2, 0]) {
  test(`importDirectory reports bytes as they are stored (${workers} workers)`, async () => {
    const store = await openMemoryStore()
    const reported: number[] = []
    const r = await importDirectory(store, src, { name: 'p', xattrs: false, workers, onProgress: (p) => reported.push(p.bytes) })
    assert.equal(r.logicalBytes, total)
    assertFollowsBytes(reported, total, `import with ${workers} workers`)
    await store.close()
  })
}

test('importLayerFile reports bytes as a big file of the layer is stored', async () => {
  const layer = join(root, 'layer.tar')
  const parts: Uint8Array[] = []
  for await (const p of writeTar([
    { path: Buffer.from('big.bin'), type: 'file', mode: 0o644, uid: 0, gid: 0, mtimeNs: 0n, size: big.length, content: big }
  ])) parts.push(p)
  await writeFile(layer, Buffer.concat(parts))
  const store = await openMemoryStore()
  const reported: number[] = []
  await importLayerFile(store, layer, { name: 'l', onProgress: (p) => { if (p.phase === 'store') reported.push(p.bytes) } })
  assertFollowsBytes(reported, big.length, 'layer import')
  await store.close()
})

test('exportDirectory and exportTar report bytes as they go', async () => {
  const store = await openMemoryStore()
  await importDirectory(store, src, { name: 'p', xattrs: false })
  const reader = await SnapshotReader.open(store, 'p')
  const dirBytes: number[] = []
  await exportDirectory(reader, join(root, 'out'), { onProgress: (p) => dirBytes.push(p.bytes) })
  assertFollowsBytes(dirBytes, total, 'directory export')
  const tarBytes: number[] = []
  for await (const piece of exportTar(reader, { onProgress: (p) => tarBytes.push(p.bytes) })) assert.ok(piece.length > 0)
  assertFollowsBytes(tarBytes, total, 'tar export')
  await store.close()
})
