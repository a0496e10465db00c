/**
 * The directory export decodes and verifies chunks on worker threads: a
 * corrupted chunk still fails the export with ERR_INTEGRITY, a missing one
 * with ERR_NOT_FOUND, and a store that only offers verified reads (no
 * `readStoredChunks`) exports the same tree as the LevelDB store.
 */
import { test } from 'node:test'
import assert from 'node:assert/strict'
import { mkdtemp, mkdir, rm, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { MemoryLevel } from 'memory-level'
import { lcgBytes } from '../helpers/fixture.js'
import { describeTree } from '../helpers/describe-tree.js'
import { requireTool } from '../helpers/tools.js'
import { importDirectory } from '../../src/importer/directory.js'
import { exportDirectory } from '../../src/exporter/directory.js'
import { SnapshotReader, type ReaderStore } from '../../src/exporter/snapshot-reader.js'
import { sha256 } from '../../src/hash/index.js'
import { openLevelStore, type LocalObjectStore } from '../../src/store/index.js'

const root = await mkdtemp(join(tmpdir(), 'tessera-exw-'))
test.after(async () => { await rm(root, { recursive: true, force: true }) })
const expectCode = (code: string) => (err: unknown): boolean => { assert.equal((err as { code?: string }).code, code); return true }

/** A source tree with a multi-chunk file, small files and an inline one. */
async function source (): Promise<string> {
  const dir = join(root, 'src')
  await mkdir(join(dir, 'sub'), { recursive: true })
  const big = lcgBytes(1_500_000, 7)
  await writeFile(join(dir, 'big.bin'), big)
  for (let i = 0; i < 40; i++) await writeFile(join(dir, 'sub', `f${i}`), lcgBytes(1000 + i * 997, i))
  await writeFile(join(dir, 'tiny'), 'hi')
  return dir
}

async function setup (): Promise<{ db: MemoryLevel<Uint8Array, Uint8Array>, store: LocalObjectStore, src: string, big: Uint8Array }> {
  const src = await source()
  const db = new MemoryLevel<Uint8Array, Uint8Array>({ keyEncoding: 'view', valueEncoding: 'view' })
  const store = await openLevelStore(db as any)
  await importDirectory(store, src, { name: 'snap' })
  return { db, store, src, big: lcgBytes(1_500_000, 7) }
}

test('exports through the workers equal the source, and equal a verified-reads-only store', requireTool('python3'), async () => {
  const { store, src } = await setup()
  const a = join(root, 'out-a')
  await exportDirectory(await SnapshotReader.open(store, 'snap'), a, { owners: false })
  assert.deepEqual(describeTree(a), describeTree(src))
  const narrow: ReaderStore = {
    getChunk: store.getChunk.bind(store),
    getTree: store.getTree.bind(store),
    getSnapshot: store.getSnapshot.bind(store),
    getRef: store.getRef.bind(store)
  }
  const b = join(root, 'out-b')
  await exportDirectory(await SnapshotReader.open(narrow, 'snap'), b, { owners: false, threads: 1 })
  assert.deepEqual(describeTree(b), describeTree(src))
  await store.close()
})

test('a flipped bit in a chunk fails the export with ERR_INTEGRITY; a missing chunk with ERR_NOT_FOUND', async () => {
  const { db, store } = await setup()
  const reader = await SnapshotReader.open(store, 'snap')
  const entry = await reader.statFile('big.bin')
  assert.ok(Array.isArray(entry.content) && entry.content.length > 3)
  const victim = entry.content[2]!.digest
  const chunks = db.sublevel<Uint8Array, Uint8Array>('c', { keyEncoding: 'view', valueEncoding: 'view' })
  const stored = new Uint8Array((await chunks.get(victim))!)
  const flipped = stored.slice()
  flipped[flipped.length - 1]! ^= 0x10
  await chunks.put(victim, flipped)
  await assert.rejects(exportDirectory(reader, join(root, 'out-c'), { owners: false }), expectCode('ERR_INTEGRITY'))
  await chunks.del(victim)
  await assert.rejects(exportDirectory(reader, join(root, 'out-d'), { owners: false }), expectCode('ERR_NOT_FOUND'))
  // A chunk stored under the wrong digest (valid frame, other bytes) is caught too.
  const other = new Uint8Array(entry.content[2]!.length).fill(1)
  await chunks.put(victim, new Uint8Array([0, ...other]))
  assert.notDeepEqual(sha256.digest(other), victim)
  await assert.rejects(exportDirectory(reader, join(root, 'out-e'), { owners: false }), expectCode('ERR_INTEGRITY'))
  await store.close()
})
