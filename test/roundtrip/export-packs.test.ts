/**
 * With pack files on disk, the directory export's workers read chunk
 * records themselves through descriptors the main thread leases
 * (`LocalObjectStore.resolveChunkSources`). They check each record against the
 * index as the main thread's reads do: the tree comes out equal to the
 * source, and a damaged, truncated or misplaced record fails the export
 * with ERR_INTEGRITY.
 */
import { test } from 'node:test'
import assert from 'node:assert/strict'
import { mkdtemp, mkdir, open, rm, truncate, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { lcgBytes } from '../helpers/fixture.js'
import { describeTree } from '../helpers/describe-tree.js'
import { requireTool } from '../helpers/tools.js'
import { openStore } from '../../src/store/open.js'
import { ClassicLevel } from 'classic-level'
import { importDirectory } from '../../src/importer/directory.js'
import { exportDirectory } from '../../src/exporter/directory.js'
import { SnapshotReader } from '../../src/exporter/snapshot-reader.js'
import { decodeLocation, encodeLocation, packFileName, RECORD_HEADER_BYTES } from '../../src/store/pack/index.js'
import { type LocalObjectStore } from '../../src/store/index.js'

const root = await mkdtemp(join(tmpdir(), 'tessera-exp-'))
test.after(async () => { await rm(root, { recursive: true, force: true }) })
const expectCode = (code: string) => (err: unknown): boolean => { assert.equal((err as { code?: string }).code, code); return true }

let n = 0
/** A fresh store directory holding one snapshot of a tree with a multi-chunk file. */
async function setup (): Promise<{ dir: string, src: string }> {
  const base = join(root, `case-${n++}`)
  const src = join(base, 'src')
  await mkdir(join(src, 'sub'), { recursive: true })
  await writeFile(join(src, 'big.bin'), lcgBytes(1_500_000, 7))
  for (let i = 0; i < 30; i++) await writeFile(join(src, 'sub', `f${i}`), lcgBytes(1000 + i * 997, i))
  await writeFile(join(src, 'tiny'), 'hi')
  const dir = join(base, 'store')
  const store = await openStore(dir)
  await importDirectory(store, src, { name: 'snap' })
  await store.close()
  return { dir, src }
}

/** The `c` sublevel (chunk index: digest to pack location) of a closed store, opened directly. */
interface Index { get: (key: Uint8Array) => Promise<Uint8Array | undefined>, put: (key: Uint8Array, value: Uint8Array) => Promise<void> }
async function withIndex<T> (dir: string, fn: (c: Index) => Promise<T>): Promise<T> {
  const db = new ClassicLevel<Uint8Array, Uint8Array>(dir, { keyEncoding: 'view', valueEncoding: 'view' })
  try {
    return await fn(db.sublevel<Uint8Array, Uint8Array>('c', { keyEncoding: 'view', valueEncoding: 'view' }) as unknown as Index)
  } finally {
    await db.close()
  }
}

/** Digest and pack location of chunk `index` of big.bin. */
async function locationOf (dir: string, index: number): Promise<{ digest: Uint8Array, location: ReturnType<typeof decodeLocation> }> {
  const store = await openStore(dir)
  const entry = await (await SnapshotReader.open(store, 'snap')).statFile('big.bin')
  await store.close()
  assert.ok(Array.isArray(entry.content) && entry.content.length > index)
  const digest = entry.content[index]!.digest
  const value = await withIndex(dir, async (c) => await c.get(digest))
  return { digest, location: decodeLocation(value!) }
}

test('the workers read pack records themselves and the export equals the source', requireTool('python3'), async () => {
  const { dir, src } = await setup()
  const store = await openStore(dir)
  let located = 0
  const locate = store.resolveChunkSources.bind(store)
  store.resolveChunkSources = async (digests, lease) => { located += digests.length; return await locate(digests, lease) }
  await exportDirectory(await SnapshotReader.open(store, 'snap'), join(dir, '..', 'out'), { owners: false })
  assert.deepEqual(describeTree(join(dir, '..', 'out')), describeTree(src))
  assert.ok(located > 3, 'the export located chunks for the workers to read')
  await store.close()
})

test('a flipped bit in a pack record read by a worker fails the export with ERR_INTEGRITY', async () => {
  const { dir } = await setup()
  const { location } = await locationOf(dir, 2)
  const fh = await open(join(dir, 'packs', packFileName(location.pack)), 'r+')
  const at = location.offset + location.storedLength - 1
  const one = Buffer.alloc(1)
  await fh.read(one, 0, 1, at)
  one[0]! ^= 0x04
  await fh.write(one, 0, 1, at)
  await fh.close()
  const store = await openStore(dir)
  await assert.rejects(exportDirectory(await SnapshotReader.open(store, 'snap'), join(dir, '..', 'out'), { owners: false }), expectCode('ERR_INTEGRITY'))
  await store.close()
})

test('a location naming another chunk\'s record, or a pack cut short, fails the export with ERR_INTEGRITY', async () => {
  const { dir } = await setup()
  const a = await locationOf(dir, 1)
  const b = await locationOf(dir, 2)
  // Point chunk 2 at chunk 1's record: a valid record, of another digest.
  await withIndex(dir, async (c) => { await c.put(b.digest, encodeLocation({ ...a.location, length: b.location.length })) })
  let store = await openStore(dir)
  await assert.rejects(exportDirectory(await SnapshotReader.open(store, 'snap'), join(dir, '..', 'out-a'), { owners: false }), expectCode('ERR_INTEGRITY'))
  await store.close()
  await withIndex(dir, async (c) => { await c.put(b.digest, encodeLocation(b.location)) })
  // Cut the pack inside chunk 2's record.
  await truncate(join(dir, 'packs', packFileName(b.location.pack)), b.location.offset - RECORD_HEADER_BYTES + 10)
  store = await openStore(dir)
  await assert.rejects(exportDirectory(await SnapshotReader.open(store, 'snap'), join(dir, '..', 'out-b'), { owners: false }), expectCode('ERR_INTEGRITY'))
  await store.close()
})

test('an export over more packs than a lease may hold reads the rest on the main thread and is still equal', requireTool('python3'), async () => {
  const base = join(root, 'many-packs')
  const src = join(base, 'src')
  await mkdir(src, { recursive: true })
  for (let i = 0; i < 400; i++) await writeFile(join(src, `f${String(i).padStart(3, '0')}`), lcgBytes(6000 + i, 1000 + i))
  const dir = join(base, 'store')
  // Tiny packs of one record each (6 KiB of noise does not compress), so the export touches ~400.
  let store = await openStore(dir, { packTargetBytes: 8192 })
  await importDirectory(store, src, { name: 'snap', xattrs: false })
  await store.close()
  store = await openStore(dir)
  const fds = new Set<number>()
  let stored = 0
  const locate = store.resolveChunkSources.bind(store)
  store.resolveChunkSources = async (digests, lease) => {
    const sources = await locate(digests, lease)
    for (const s of sources) { if ('fd' in s) fds.add(s.fd); else stored++ }
    return sources
  }
  await exportDirectory(await SnapshotReader.open(store, 'snap'), join(base, 'out'), { owners: false })
  await store.close()
  assert.deepEqual(describeTree(join(base, 'out')), describeTree(src))
  assert.ok(fds.size > 0 && fds.size <= 128, `${fds.size} descriptors leased`)
  assert.ok(stored > 0, 'chunks beyond the lease were read on the main thread')
})
