/**
 * Tessera pack blobs (docs/FORMAT.md §11.3) pushed to the registry store:
 * recognised by their bytes, their records' chunks kept once in the chunk
 * store (the pushed stored object kept whole only where the store holds
 * the chunk in another form), served byte for byte, whole and by range,
 * a range reading only the records it covers; hostile packs kept as
 * opaque whole blobs with the reason, within bounded memory.
 *
 * The packs pushed are real pack files of tessera stores on disk
 * (`packs/00000001.pack`), written by the store, not by the code under test.
 */
import { test } from 'node:test'
import assert from 'node:assert/strict'
import { mkdir, readFile, writeFile } from 'node:fs/promises'
import { join } from 'node:path'
import { MemoryLevel } from 'memory-level'
import { importDirectory } from '../../../src/importer/index.js'
import { openRegistryStore, registryChunkRoots } from '../../../src/registry/backend/index.js'
import { openLevelStore, openStore, type LocalObjectStore } from '../../../src/store/index.js'
import { lcgBytes } from '../../helpers/fixture.js'
import { collect, digestOf, openFixture, removeTempDirs, streamOf, tempDir } from './helpers.js'

test.after(removeTempDirs)

const memory = async (): Promise<MemoryLevel<Uint8Array, Uint8Array>> => new MemoryLevel({ keyEncoding: 'view', valueEncoding: 'view' })

/** Text-like bytes that zstd compresses (so stored forms differ by level). */
function wordy (n: number, seed: number): Buffer {
  const words = ['layer', 'chunk', 'pack', 'record', 'tessera', 'registry', 'digest', 'stored', 'object', 'tree']
  const noise = lcgBytes(n, seed)
  const parts: string[] = []
  let size = 0
  for (let i = 0; size < n; i++) {
    const w = `${words[noise[i % n]! % words.length]!}${noise[(i * 7) % n]!} `
    parts.push(w)
    size += w.length
  }
  return Buffer.from(parts.join('').slice(0, n))
}

/** A small rootfs: incompressible and compressible files, one shared by name. */
async function makeTree (seed: number): Promise<string> {
  const root = await tempDir('tessera-pack-tree-')
  await mkdir(join(root, 'bin'))
  await mkdir(join(root, 'doc'))
  await writeFile(join(root, 'bin', 'tool'), lcgBytes(1_500_000, seed))
  await writeFile(join(root, 'doc', 'manual.txt'), wordy(900_000, seed + 1))
  await writeFile(join(root, 'doc', 'small'), 'tiny')
  return root
}

/** The pack file a store on disk writes when `tree` is imported into it at `compressionLevel`. */
async function packFileOf (tree: string, compressionLevel: number): Promise<Buffer> {
  const dir = await tempDir('tessera-pack-store-')
  const store = await openStore(dir, { compressionLevel })
  await importDirectory(store, tree, { name: 'tree' })
  await store.close()
  const pack = await readFile(join(dir, 'packs', '00000001.pack'))
  assert.equal(pack.subarray(0, 8).toString('latin1'), 'tspack1\n')
  return pack
}

/** The records of a pack file: offset of the stored object, digest, stored length. */
function recordsOf (pack: Buffer): Array<{ at: number, digest: Buffer, storedLength: number }> {
  const out = []
  for (let at = 8; at < pack.length;) {
    const storedLength = pack.readUInt32LE(at + 32)
    out.push({ at: at + 36, digest: pack.subarray(at, at + 32), storedLength })
    at += 36 + storedLength
  }
  return out
}

/** `store` with its `readStoredChunks` answers passed through `edit` (which may count or corrupt them). */
function withStoredReads (store: LocalObjectStore, edit: (digests: readonly Uint8Array[], got: Uint8Array[]) => Uint8Array[]): LocalObjectStore {
  return new Proxy(store, {
    get (target, key) {
      if (key === 'readStoredChunks') return async (digests: readonly Uint8Array[]) => edit(digests, await target.readStoredChunks(digests))
      const v = Reflect.get(target, key, target) as unknown
      return typeof v === 'function' ? v.bind(target) : v
    }
  })
}

/** A store whose `readStoredChunks` calls are counted. */
function counting (store: LocalObjectStore): { store: LocalObjectStore, read: () => number, reset: () => void } {
  let read = 0
  const proxy = withStoredReads(store, (digests, got) => { read += digests.length; return got })
  return { store: proxy, read: () => read, reset: () => { read = 0 } }
}

test('a pack pushed after the same files were stored adds no chunk, and is served byte for byte', async () => {
  const tree = await makeTree(5)
  const pack = await packFileOf(tree, 5)
  const records = recordsOf(pack)
  assert.ok(records.length > 20, `${records.length} records`)
  const f = await openFixture(memory)
  try {
    await importDirectory(f.store, tree, { name: 'local' })
    const before = await f.store.stats()
    const digest = digestOf(pack)
    const info = await f.registry.blobs.putBlob(streamOf(pack, 100_000), { digest, size: pack.length }, { repository: 'lib/app' })
    assert.deepEqual(info, { digest, size: pack.length, storage: 'pack' })
    const after = await f.store.stats()
    assert.equal(after.chunks - before.chunks <= 2, true, `only the recipe's own streams are new chunks: ${after.chunks - before.chunks}`)
    assert.ok(after.storedBytes - before.storedBytes < pack.length / 100, `stored bytes grow by ${after.storedBytes - before.storedBytes} for a ${pack.length}-byte pack`)
    const record = (await f.registry.blobs.record(digest))!
    assert.equal(record.body.storage, 'pack')
    assert.ok(record.storedBytes < pack.length / 100, `the blob is charged ${record.storedBytes}`)
    assert.ok((await collect(f.registry.blobs.getBlob(digest))).equals(pack), 'whole, byte for byte')
    const cuts = [[0, 8], [0, 44], [7, 9], [records[3]!.at - 36, records[3]!.at + 5], [records[10]!.at + 1, records[12]!.at + 3], [pack.length - 10, pack.length], [100_000, 700_000]] as const
    for (const [start, end] of cuts) {
      assert.ok((await collect(f.registry.blobs.getBlob(digest, { range: { start, end } }))).equals(pack.subarray(start, end)), `range [${start}, ${end})`)
    }
    const roots = new Set<string>()
    for await (const d of registryChunkRoots(f.store)) roots.add(Buffer.from(d).toString('hex'))
    for (const r of records) assert.ok(roots.has(r.digest.toString('hex')), 'every record\'s chunk is a gc root')
    const stats = await f.registry.stats()
    assert.equal(stats.overall.reproducedBlobs, 1)
    assert.equal(stats.overall.wholeBlobs, 0)
  } finally {
    await f.close()
  }
})

test('a pack pushed to an empty store stores its records as pushed, once', async () => {
  const tree = await makeTree(6)
  const pack = await packFileOf(tree, 5)
  const records = recordsOf(pack)
  const f = await openFixture(memory)
  try {
    const digest = digestOf(pack)
    await f.registry.blobs.putBlob(streamOf(pack), { digest, size: pack.length })
    const stats = await f.store.stats()
    const storedInRecords = records.reduce((n, r) => n + r.storedLength, 0)
    assert.ok(stats.chunks >= records.length && stats.chunks <= records.length + 2, `${stats.chunks} chunks for ${records.length} records`)
    assert.ok(stats.storedBytes >= storedInRecords && stats.storedBytes < storedInRecords + pack.length / 100, `${stats.storedBytes} stored for ${storedInRecords} in the records`)
    assert.ok((await collect(f.registry.blobs.getBlob(digest))).equals(pack))
    // The files imported afterwards find every chunk present.
    const before = await f.store.stats()
    await importDirectory(f.store, tree, { name: 'local' })
    const after = await f.store.stats()
    assert.equal(after.chunks, before.chunks)
    assert.equal(after.chunkBytes, before.chunkBytes)
  } finally {
    await f.close()
  }
})

test('records whose stored form differs from the store\'s are kept as pushed; the blob is still byte for byte', async () => {
  const tree = await makeTree(7)
  const raw = await packFileOf(tree, 0) // every record raw; the registry's store compresses
  const f = await openFixture(memory)
  try {
    await importDirectory(f.store, tree, { name: 'local' })
    const before = await f.store.stats()
    const digest = digestOf(raw)
    assert.equal((await f.registry.blobs.putBlob(streamOf(raw), { digest, size: raw.length })).storage, 'pack')
    const after = await f.store.stats()
    assert.equal(after.chunkBytes - before.chunkBytes < raw.length * 1.1, true)
    assert.ok(after.chunkBytes - before.chunkBytes > 900_000, 'the compressible records are kept as pushed (raw)')
    assert.ok((await collect(f.registry.blobs.getBlob(digest))).equals(raw))
    for (const [start, end] of [[0, 100], [500_000, 1_200_000], [raw.length - 1, raw.length]] as const) {
      assert.ok((await collect(f.registry.blobs.getBlob(digest, { range: { start, end } }))).equals(raw.subarray(start, end)))
    }
  } finally {
    await f.close()
  }
})

test('a range read reads the stored objects of the records it covers, no others', async () => {
  const tree = await makeTree(8)
  const pack = await packFileOf(tree, 5)
  const records = recordsOf(pack)
  const db = await memory()
  const base = await openLevelStore(db)
  const { store, read, reset } = counting(base)
  const registry = await openRegistryStore(store, { tempDirectory: await tempDir('tessera-spool-') })
  try {
    const digest = digestOf(pack)
    await registry.blobs.putBlob(streamOf(pack), { digest, size: pack.length })
    for (const [first, last] of [[0, 0], [5, 6], [records.length - 1, records.length - 1], [3, 9]] as const) {
      reset()
      const start = records[first]!.at + 1
      const end = records[last]!.at + records[last]!.storedLength - 1
      assert.ok((await collect(registry.blobs.getBlob(digest, { range: { start, end } }))).equals(pack.subarray(start, end)))
      assert.equal(read(), last - first + 1, `records ${first}…${last}`)
    }
    reset()
    await collect(registry.blobs.getBlob(digest, { range: { start: records[4]!.at - 30, end: records[4]!.at - 2 } }))
    assert.equal(read(), 0, 'a range inside a record header reads no stored object')
    // Several ranges in one pass: the records they cover, each once.
    reset()
    const ranges = [[1, 1], [4, 6], [6, 6], [records.length - 2, records.length - 2]].map(([a, b]) => ({ start: records[a!]!.at - 3, end: records[b!]!.at + 7 }))
    ranges[2] = { start: records[6]!.at + 20, end: records[6]!.at + 30 }
    const got = await collect(registry.blobs.getBlobRanges(digest, ranges))
    assert.ok(got.equals(Buffer.concat(ranges.map((r) => pack.subarray(r.start, r.end)))))
    assert.equal(read(), 1 + 3 + 1, 'records 1, 4 to 6 and the one before last')
    await assert.rejects(collect(registry.blobs.getBlobRanges(digest, [{ start: 10, end: 20 }, { start: 15, end: 30 }])), (err: Error & { code?: string }) => err.code === 'ERR_INVALID_RANGE')
  } finally {
    await base.close()
  }
})

test('a corrupted record in the store is an integrity error, never wrong bytes', async () => {
  const tree = await makeTree(9)
  const pack = await packFileOf(tree, 5)
  const records = recordsOf(pack)
  const db = await memory()
  const base = await openLevelStore(db)
  const digest = digestOf(pack)
  const victim = records[2]!
  let corrupt = false
  const proxy = withStoredReads(base, (digests, got) => got.map((stored, i) => {
    if (!corrupt || !Buffer.from(digests[i]!).equals(victim.digest)) return stored
    const bad = new Uint8Array(stored)
    bad[bad.length - 1]! ^= 1
    return bad
  }))
  const registry = await openRegistryStore(proxy, { tempDirectory: await tempDir('tessera-spool-') })
  try {
    await registry.blobs.putBlob(streamOf(pack), { digest, size: pack.length })
    corrupt = true
    await assert.rejects(collect(registry.blobs.getBlob(digest)), (err: Error & { code?: string }) => err.code === 'ERR_INTEGRITY')
    await assert.rejects(collect(registry.blobs.getBlob(digest, { range: { start: victim.at, end: victim.at + 10 } })), (err: Error & { code?: string }) => err.code === 'ERR_INTEGRITY')
  } finally {
    await base.close()
  }
})

/** A pack of hand-made records: `[digest, stored]` pairs (digest defaulting to the stored raw payload's). */
function handPack (records: Array<{ digest?: Buffer, stored: Buffer, declared?: number }>): Buffer {
  const parts: Buffer[] = [Buffer.from('tspack1\n', 'latin1')]
  for (const r of records) {
    const header = Buffer.alloc(36)
    ;(r.digest ?? Buffer.from(digestOf(r.stored.subarray(1)).slice(7), 'hex')).copy(header)
    header.writeUInt32LE(r.declared ?? r.stored.length, 32)
    parts.push(header, r.stored)
  }
  return Buffer.concat(parts)
}

const rawStored = (bytes: Buffer): Buffer => Buffer.concat([Buffer.from([0]), bytes])

test('hostile packs are kept as opaque whole blobs, with the reason, and served as pushed', async () => {
  const good = rawStored(lcgBytes(5000, 1))
  const zstdBomb = Buffer.concat([Buffer.from([1]), Buffer.from([0x28, 0xb5, 0x2f, 0xfd, 0xe0]), Buffer.from([0, 0, 0, 0, 0, 1, 0, 0]), Buffer.alloc(20)])
  const cases: Array<[string, Buffer, RegExp]> = [
    ['a record whose bytes do not hash to its digest', handPack([{ stored: good }, { digest: Buffer.alloc(32, 7), stored: good }]), /record 1 \(at byte 5045\).*corrupt/],
    ['a truncated record', handPack([{ stored: good }]).subarray(0, 3000), /record 0 \(at byte 8\) declares 5001 stored bytes, the blob has 2956 left/],
    ['a cut record header', Buffer.concat([handPack([{ stored: good }]), Buffer.alloc(20)]), /record 1 .* is cut short/],
    ['a huge declared length', handPack([{ stored: good }, { stored: good, declared: 0xfffffff0 }]), /declares a stored object of 4294967280 bytes/],
    ['a zstd frame declaring a terabyte', handPack([{ digest: Buffer.alloc(32, 1), stored: zstdBomb }]), /declares a chunk of 1099511627776 bytes/],
    ['an unknown codec', handPack([{ digest: Buffer.alloc(32, 1), stored: Buffer.from([9, 1, 2, 3]) }]), /unknown codec byte 9/],
    ['a pack header alone', Buffer.from('tspack1\n', 'latin1'), /no record/]
  ]
  const f = await openFixture(memory)
  try {
    for (const [label, blob, reason] of cases) {
      const digest = digestOf(blob)
      const info = await f.registry.blobs.putBlob(streamOf(blob), { digest, size: blob.length })
      assert.equal(info.storage, 'whole', label)
      const record = (await f.registry.blobs.record(digest))!
      assert.ok(record.body.storage === 'whole' && reason.test(record.body.reason), `${label}: ${record.body.storage === 'whole' ? record.body.reason : ''}`)
      assert.ok((await collect(f.registry.blobs.getBlob(digest))).equals(blob), `${label}: served as pushed`)
    }
    const stats = await f.registry.stats()
    assert.equal(stats.overall.wholeBlobs, cases.length)
    assert.equal(stats.overall.wholeLayers, 0)
  } finally {
    await f.close()
  }
})
