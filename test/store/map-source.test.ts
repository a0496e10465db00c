/**
 * The reading side over something that is not a LevelDB store: the
 * conformance suite's reading cases, and SnapshotReader, the directory and
 * tar exports and diff over a map-backed source, equal to the same
 * snapshots read from the local store they were copied from.
 */
import { test } from 'node:test'
import assert from 'node:assert/strict'
import { mkdir, mkdtemp, readFile, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { diffSnapshots } from '../../src/exporter/diff.js'
import { exportDirectory } from '../../src/exporter/directory.js'
import { SnapshotReader } from '../../src/exporter/snapshot-reader.js'
import { exportTar } from '../../src/exporter/tar.js'
import { sha256 } from '../../src/hash/index.js'
import { importDirectory } from '../../src/importer/directory.js'
import { openMemoryStore } from '../../src/store/open.js'
import { loadZstd } from '../../src/store/zstd.js'
import { describeTree } from '../helpers/describe-tree.js'
import { FIXTURE, materialize } from '../helpers/fixture.js'
import { storeConformance } from './conformance.js'
import { MapSnapshotSource } from './map-source.js'

storeConformance('map-backed source', {
  open: async (contents) => { await loadZstd(); return MapSnapshotSource.of(contents) },
  close: async () => {},
  corruptPayload: async (source, kind, digest) => { source.corrupt(kind, digest); return source }
})

const root = await mkdtemp(join(tmpdir(), 'tessera-map-source-'))
test.after(async () => { await rm(root, { recursive: true, force: true }) })

async function tarDigest (reader: SnapshotReader): Promise<string> {
  const h = sha256.create()
  for await (const block of exportTar(reader)) h.update(block)
  return Buffer.from(h.digest()).toString('hex')
}

test('readers, exports and diff run over a map-backed source as over the store', async () => {
  const src = join(root, 'src')
  // The fixture without xattrs and device nodes (they need setfattr and root, and are the exporters' business, not the source's).
  await mkdir(src)
  await materialize(src, { order: FIXTURE.filter((n) => n.kind !== 'char' && n.kind !== 'block').map((n) => ({ ...n, xattrs: undefined })) })
  const store = await openMemoryStore()
  try {
    await importDirectory(store, src, { name: 'fixture', xattrs: false })
    const source = await MapSnapshotSource.copyOf(store)
    const fromStore = await SnapshotReader.open(store, 'fixture')
    const fromMap = await SnapshotReader.open(source, 'fixture')
    assert.equal(fromMap.digest, fromStore.digest)
    assert.equal(await tarDigest(fromMap), await tarDigest(fromStore), 'the tar exports are identical')
    const diffs = []
    for await (const d of diffSnapshots(fromStore, fromMap)) diffs.push(d)
    assert.deepEqual(diffs, [])
    // The same export from either (without xattrs and devices, which need tools and root).
    await exportDirectory(fromStore, join(root, 'from-store'), { xattrs: false, devices: false })
    await exportDirectory(fromMap, join(root, 'from-map'), { xattrs: false, devices: false })
    assert.deepEqual(describeTree(join(root, 'from-map')), describeTree(join(root, 'from-store')))
    assert.ok(source.reads.chunk > 0, 'the export read its chunks from the map source')
  } finally {
    await store.close()
  }
})

test('docs/API.md quotes this file\'s conformance call as it is', async () => {
  const repo = fileURLToPath(new URL('../../../', import.meta.url))
  const [api, source] = await Promise.all([readFile(join(repo, 'docs', 'API.md'), 'utf8'), readFile(join(repo, 'test', 'store', 'map-source.test.ts'), 'utf8')])
  const block = /```ts title=test\/store\/map-source\.test\.ts\n([\s\S]*?)\n```/.exec(api)?.[1]
  assert.ok(block !== undefined, 'API.md has the example')
  for (const line of block.split('\n').filter((l) => l.trim() !== '')) assert.ok(source.split('\n').includes(line), `not in map-source.test.ts: ${line}`)
})
