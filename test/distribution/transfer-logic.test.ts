/**
 * The transfer logic against an in-memory registry double (unit tests):
 * push and pull give the same snapshot; a second version reuses the
 * first's packs; a pull with a base fetches only what the store lacks;
 * a remote read fetches only the chunks it reads and, with a cache, never
 * twice; bad bytes and hostile metadata get their codes and leave the
 * store consistent. The same behaviours against a real docker-registry
 * are in `registry.test.ts`.
 */
import { test } from 'node:test'
import assert from 'node:assert/strict'
import fc from 'fast-check'
import { pullSnapshot } from '../../src/distribution/pull.js'
import { pushSnapshot } from '../../src/distribution/push.js'
import { RemoteSnapshot } from '../../src/distribution/remote-snapshot.js'
import { cutPacks, planPacks, type KnownPack } from '../../src/distribution/pack-layout.js'
import { decodeMetadataBlob, digestKey, encodeMetadata } from '../../src/distribution/metadata.js'
import { encodeCanonical } from '../../src/format/canonical.js'
import { SnapshotReader } from '../../src/exporter/snapshot-reader.js'
import { fsck } from '../../src/maintenance/fsck.js'
import { openMemoryStore } from '../../src/store/open.js'
import { lcgBytes } from '../helpers/fixture.js'
import { MemoryRegistry } from '../helpers/memory-repository.js'
import { commitSpec, type TreeSpec } from '../helpers/memory-snapshot.js'

const codeOf = (err: unknown): unknown => (err as { code?: unknown }).code

/** A tree of ~4 MiB in 40 files, and a second version with one file changed and one added. */
function versions (): { v1: TreeSpec, v2: TreeSpec } {
  const files: TreeSpec = {}
  for (let i = 0; i < 40; i++) files[`f${String(i).padStart(2, '0')}`] = lcgBytes(100_000, 100 + i)
  const v1: TreeSpec = { usr: { lib: files, share: { doc: Buffer.from('docs') } }, etc: { hosts: Buffer.from('127.0.0.1 localhost\n') } }
  const changed: TreeSpec = { ...files, f07: lcgBytes(100_000, 999), extra: lcgBytes(200_000, 1000) }
  const v2: TreeSpec = { usr: { lib: changed, share: { doc: Buffer.from('docs') } }, etc: { hosts: Buffer.from('127.0.0.1 localhost\n') } }
  return { v1, v2 }
}

async function readAll (reader: SnapshotReader, path: string): Promise<Buffer> {
  const parts: Uint8Array[] = []
  for await (const p of reader.readFile(path)) parts.push(p)
  return Buffer.concat(parts)
}

test('push then pull into an empty store gives the same snapshot, and fsck is clean', async () => {
  const { v1 } = versions()
  const source = await openMemoryStore()
  const ids = await commitSpec(source, 'app', v1)
  const registry = new MemoryRegistry()
  const pushed = await pushSnapshot(source, 'app', registry.repository('lib/app', 'v1'))
  assert.equal(pushed.snapshot, ids.snapshot)
  assert.equal(pushed.uploadedPacks, pushed.packs)
  const target = await openMemoryStore()
  const pulled = await pullSnapshot(target, registry.repository('lib/app', 'v1'), { name: 'copy' })
  assert.equal(pulled.kind, 'tessera')
  assert.equal(pulled.snapshot, ids.snapshot)
  assert.equal(pulled.root, ids.root)
  assert.equal(pulled.files, 46)
  const reader = await SnapshotReader.open(target, 'copy')
  assert.deepEqual(await readAll(reader, 'usr/lib/f13'), lcgBytes(100_000, 113))
  const report = await fsck(target)
  assert.equal(report.ok, true, JSON.stringify(report.problems))
  // pulling again fetches nothing
  const again = await pullSnapshot(target, registry.repository('lib/app', 'v1'), { name: 'copy', replace: true })
  assert.equal(again.chunks, 0)
  await source.close()
  await target.close()
})

test('a second version uploads only new packs; a pull with the first present fetches only the new chunks', async () => {
  const { v1, v2 } = versions()
  const source = await openMemoryStore()
  await commitSpec(source, 'v1', v1)
  await commitSpec(source, 'v2', v2)
  const registry = new MemoryRegistry()
  const first = registry.repository('lib/app', 'latest')
  await pushSnapshot(source, 'v1', first)
  const firstBytes = first.calls.bytesPut
  const second = registry.repository('lib/app', 'latest')
  const pushed = await pushSnapshot(source, 'v2', second)
  assert.ok(pushed.reusedPacks >= 1)
  // the new packs hold the changed and added files (300 KB of chunks) and what shares a pack with them
  assert.ok(second.calls.bytesPut < firstBytes / 2, `${second.calls.bytesPut} bytes for v2 against ${firstBytes} for v1`)

  const target = await openMemoryStore()
  await pullSnapshot(target, registry.repository('lib/app', 'latest'), { name: 'v2-first', reference: pushed.manifest })
  const t2 = await openMemoryStore()
  // v1 through its own tag-less digest: push it again under a tag to pull it
  await pushSnapshot(source, 'v1', registry.repository('lib/app', 'v1'))
  await pullSnapshot(t2, registry.repository('lib/app', 'v1'), { name: 'v1' })
  const repo = registry.repository('lib/app', 'latest')
  const pulled = await pullSnapshot(t2, repo, { name: 'v2' })
  // only f07 and extra are new: 100000 + 200000 bytes of chunks
  assert.equal(pulled.chunkBytes, 300_000)
  assert.equal(repo.calls.rangesAsked, pulled.chunks)
  assert.equal((await fsck(t2)).ok, true)
  await Promise.all([source.close(), target.close(), t2.close()])
})

test('a remote read fetches the chunks it reads, and with a cache never twice', async () => {
  const { v1 } = versions()
  const source = await openMemoryStore()
  await commitSpec(source, 'app', v1)
  const registry = new MemoryRegistry()
  await pushSnapshot(source, 'app', registry.repository('lib/app', 'v1'))
  const cache = await openMemoryStore()
  const repo = registry.repository('lib/app', 'v1')
  const remote = await RemoteSnapshot.open(repo, { cache })
  const reader = await SnapshotReader.open(remote, remote.snapshotDigest)
  const entry = await reader.statFile('usr/lib/f21')
  const parts: Uint8Array[] = []
  for await (const p of reader.readFile(entry, { offset: 50_000, length: 1000 })) parts.push(p)
  assert.deepEqual(Buffer.concat(parts), lcgBytes(100_000, 121).subarray(50_000, 51_000))
  assert.ok(remote.fetched.chunks >= 1 && remote.fetched.chunks <= 2, `${remote.fetched.chunks} chunks fetched`)
  assert.equal(repo.calls.blobGets, 1, 'the metadata blob, once')
  // again, from a new reader on the same cache: the manifest only
  const repo2 = registry.repository('lib/app', 'v1')
  const remote2 = await RemoteSnapshot.open(repo2, { cache })
  const reader2 = await SnapshotReader.open(remote2, remote2.snapshotDigest)
  for await (const p of reader2.readFile('usr/lib/f21', { offset: 50_000, length: 1000 })) void p
  assert.equal(remote2.fetched.chunks, 0)
  assert.equal(repo2.counters.requests, 1)
  await Promise.all([source.close(), cache.close()])
})

test('wrong bytes in a pack are ERR_INTEGRITY, nothing is committed and the store stays consistent', async () => {
  const { v1 } = versions()
  const source = await openMemoryStore()
  await commitSpec(source, 'app', v1)
  const registry = new MemoryRegistry()
  const pushed = await pushSnapshot(source, 'app', registry.repository('lib/app', 'v1'))
  const manifest = JSON.parse(Buffer.from(registry.manifests.get(pushed.manifest)!.bytes).toString()) as { layers: Array<{ digest: string }> }
  const pack = registry.blobs.get(manifest.layers[1]!.digest)!
  const damaged = new Uint8Array(pack)
  damaged[pack.length - 10]! ^= 0xff
  registry.blobs.set(manifest.layers[1]!.digest, damaged)
  const target = await openMemoryStore()
  await assert.rejects(pullSnapshot(target, registry.repository('lib/app', 'v1'), { name: 'app' }), (err) => codeOf(err) === 'ERR_INTEGRITY')
  assert.equal(await target.getRef('app'), undefined)
  assert.equal((await fsck(target)).ok, true)
  await Promise.all([source.close(), target.close()])
})

test('hostile metadata blobs are refused with their codes', async () => {
  const { v1 } = versions()
  const source = await openMemoryStore()
  await commitSpec(source, 'app', v1)
  const registry = new MemoryRegistry()
  const pushed = await pushSnapshot(source, 'app', registry.repository('lib/app', 'v1'), { compressionLevel: 0 })
  const manifest = JSON.parse(Buffer.from(registry.manifests.get(pushed.manifest)!.bytes).toString()) as { layers: Array<{ digest: string }> }
  const good = decodeMetadataBlob(registry.blobs.get(manifest.layers[0]!.digest)!)
  const trees = [...good.trees.values()]
  const rebuild = (packs: typeof good.packs, treeList = trees): Uint8Array => encodeMetadata({ snapshot: good.snapshot.bytes, trees: treeList, packs }, 0)
  const p0 = good.packs[0]!
  const cases: Array<[string, Uint8Array, string]> = [
    ['a record past the end of its pack', rebuild([{ ...p0, offsets: [...p0.offsets.slice(0, -1), p0.size - 10] }, ...good.packs.slice(1)]), 'ERR_NON_CANONICAL'],
    ['overlapping records', rebuild([{ ...p0, offsets: p0.offsets.map((o, i) => i === 1 ? o - 40 : o) }, ...good.packs.slice(1)]), 'ERR_NON_CANONICAL'],
    ['a stored length bigger than the raw chunk', rebuild([{ ...p0, storedLengths: p0.storedLengths.map((l, i) => i === 0 ? p0.lengths[0]! + 2 : l) }, ...good.packs.slice(1)]), 'ERR_NON_CANONICAL'],
    ['a missing tree', rebuild(good.packs, trees.slice(1)), 'ERR_NON_CANONICAL'],
    ['a chunk missing from the table', rebuild([{ ...p0, chunks: p0.chunks.subarray(32), offsets: p0.offsets.slice(1), storedLengths: p0.storedLengths.slice(1), lengths: p0.lengths.slice(1) }, ...good.packs.slice(1)]), 'ERR_NON_CANONICAL'],
    ['a huge declared count', new Uint8Array([0x00, 0x95, 0x04, 0x01, 0xc4, 0x00, 0xdd, 0xff, 0xff, 0xff, 0xff, 0x90]), 'ERR_NON_CANONICAL'],
    ['a non-canonical integer', new Uint8Array([0x00, ...encodeCanonical([4, 1]).subarray(0, 1), 0xcc, 0x04, 0x01]), 'ERR_NON_CANONICAL'],
    ['a zstd frame declaring 4 GiB', new Uint8Array([0x01, 0x28, 0xb5, 0x2f, 0xfd, 0xa0, 0xff, 0xff, 0xff, 0xff, 0x00, 0x00, 0x00]), 'ERR_LIMIT_EXCEEDED'],
    ['an unknown codec', new Uint8Array([0x07, 0x90]), 'ERR_NON_CANONICAL']
  ]
  for (const [what, blob, code] of cases) {
    assert.throws(() => decodeMetadataBlob(blob, { maxBytes: 1 << 30 }), (err) => codeOf(err) === code, what)
  }
  assert.throws(() => decodeMetadataBlob(registry.blobs.get(manifest.layers[0]!.digest)!, { maxBytes: 100 }), (err) => codeOf(err) === 'ERR_LIMIT_EXCEEDED')
  await source.close()
})

test('pack boundaries: doubling the size exponent keeps a subset of the boundaries', () => {
  fc.assert(fc.property(fc.array(fc.tuple(fc.uint8Array({ minLength: 32, maxLength: 32 }), fc.integer({ min: 1, max: 1 << 22 })), { maxLength: 300 }), fc.integer({ min: 16, max: 26 }), (list, bits) => {
    const chunks = list.map(([digest, length]) => ({ digest, length }))
    const ends = (packs: Array<Array<{ digest: Uint8Array }>>): Set<number> => {
      const out = new Set<number>()
      let at = 0
      for (const p of packs) { at += p.length; out.add(at) }
      return out
    }
    const fine = ends(cutPacks(chunks, bits))
    const coarse = cutPacks(chunks, bits + 1)
    let bytes = 0
    let at = 0
    for (const p of coarse) {
      at += p.length
      bytes = p.reduce((n, c) => n + (c as { length: number }).length, 0)
      // a coarse boundary is a fine one unless the coarse pack hit its size bound
      if (at < chunks.length) assert.ok(fine.has(at) || bytes >= 2 ** (bits + 3), `boundary ${at}`)
    }
  }))
})

test('the plan stays within the pack bound, dropping the sparsest reused packs', () => {
  const chunk = (i: number): { digest: Uint8Array, length: number } => ({ digest: new Uint8Array(32).fill(i % 256).map((x, j) => j === 1 ? i >> 8 : x), length: 1000 })
  const chunks = Array.from({ length: 400 }, (_, i) => chunk(i))
  // 300 known packs, one chunk each (the first 300 chunks), pack i holding i+1 stored bytes
  const known: KnownPack[] = chunks.slice(0, 300).map((c, i) => ({
    digest: new Uint8Array(32).fill(200).map((x, j) => j === 0 ? i % 256 : j === 1 ? i >> 8 : x),
    size: 10_000,
    records: new Map([[digestKey(c.digest), { offset: 44, storedLength: i + 1, length: 1000 }]]),
    source: 0
  }))
  const plan = planPacks(chunks, known, { maxPacks: 250 })
  assert.ok(plan.reused.length + plan.fresh.length <= 250)
  assert.equal(plan.reused.length, 125)
  // the kept ones are those with the most bytes taken
  assert.deepEqual(plan.reused.map((r) => r.taken[0]!.storedLength).sort((a, b) => a - b)[0], 176)
  const listed = plan.reused.flatMap((r) => r.taken.map((t) => digestKey(t.digest))).concat(plan.fresh.flat().map((c) => digestKey(c.digest)))
  assert.equal(new Set(listed).size, 400)
})

test('packs of another repository named by reuse are mounted, not uploaded', async () => {
  const { v1, v2 } = versions()
  const source = await openMemoryStore()
  await commitSpec(source, 'v1', v1)
  await commitSpec(source, 'v2', v2)
  const registry = new MemoryRegistry()
  const base = registry.repository('lib/base', 'v1')
  await pushSnapshot(source, 'v1', base)
  const app = registry.repository('lib/app', 'v2')
  const pushed = await pushSnapshot(source, 'v2', app, { reuse: [{ repository: registry.repository('lib/base'), reference: 'v1' }] })
  assert.ok(pushed.mountedPacks >= 1 && pushed.reusedPacks === 0, JSON.stringify(pushed))
  assert.equal(pushed.packs, pushed.mountedPacks + pushed.uploadedPacks + pushed.presentPacks, JSON.stringify(pushed))
  // only the new chunks went up: the changed and added files
  assert.ok(app.calls.bytesPut < 400_000, `${app.calls.bytesPut} bytes uploaded`)
  const target = await openMemoryStore()
  const pulled = await pullSnapshot(target, registry.repository('lib/app', 'v2'), { name: 'v2' })
  assert.equal(pulled.snapshot, pushed.snapshot)
  await Promise.all([source.close(), target.close()])
})
