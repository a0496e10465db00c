/**
 * Reading through a mount: random ranges equal the source (a fast-check
 * property, through the page cache and with O_DIRECT, which hands the
 * filesystem the reader's own offsets), concurrent readers, a warm file
 * read again without going back to the store, and a corrupted chunk that
 * gives EIO for the reads that need it and never other bytes.
 */
import { test } from 'node:test'
import assert from 'node:assert/strict'
import { createHash } from 'node:crypto'
import { constants, readFileSync } from 'node:fs'
import { mkdtemp, mkdir, open, readdir, readFile, rm, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import fc from 'fast-check'
import { lcgBytes } from '../helpers/fixture.js'
import { openMemoryStore, openStore } from '../../src/store/open.js'
import { importDirectory } from '../../src/importer/directory.js'
import { SnapshotReader } from '../../src/exporter/snapshot-reader.js'
import type { SnapshotSource } from '../../src/store/index.js'
import type { ChunkRef } from '../../src/format/entry.js'
import { mountSnapshot } from '../../src/mount/index.js'
import { cleanMountsAfter, run, skipMount, trackMount } from './helpers.js'

cleanMountsAfter()
const root = await mkdtemp(join(tmpdir(), 'tessera-mount-read-'))
test.after(async () => { await rm(root, { recursive: true, force: true }) })

const FILES: Record<string, Buffer> = {
  'big.bin': lcgBytes(5 * 1024 * 1024 + 777, 11),
  // Not a run of big.bin's bytes (lcgBytes with another seed can be one, and would share its chunks).
  'medium.bin': Buffer.from(lcgBytes(300_000, 12).map((v, i) => v ^ (i & 0xff))),
  'small.txt': Buffer.from('inline content\n'),
  'zeros.bin': Buffer.alloc(1024 * 1024 + 3)
}

async function source (name: string): Promise<string> {
  const src = join(root, name)
  await mkdir(src)
  for (const [file, bytes] of Object.entries(FILES)) await writeFile(join(src, file), bytes)
  return src
}

/** A store view that counts the chunk reads reaching the store. */
function counting (store: SnapshotSource): SnapshotSource & { chunkReads: number } {
  const view = {
    chunkReads: 0,
    getChunk: async (d: Uint8Array) => { view.chunkReads++; return await store.getChunk(d) },
    getTree: async (d: Uint8Array) => await store.getTree(d),
    getSnapshot: async (d: Uint8Array) => await store.getSnapshot(d),
    getRef: async (name: string) => await store.getRef(name)
  }
  return view
}

async function readRange (path: string, offset: number, length: number, direct: boolean): Promise<Buffer> {
  const fh = await open(path, constants.O_RDONLY | (direct ? constants.O_DIRECT : 0))
  try {
    const buf = Buffer.alloc(length)
    let done = 0
    while (done < length) {
      const { bytesRead } = await fh.read(buf, done, length - done, offset + done)
      if (bytesRead === 0) break
      done += bytesRead
    }
    return buf.subarray(0, done)
  } finally {
    await fh.close()
  }
}

test('reads through a mount', { skip: skipMount }, async (t) => {
  const src = await source('src')
  const store = await openMemoryStore()
  await importDirectory(store, src, { name: 'files' })
  const view = counting(store)
  const mnt = trackMount(join(root, 'mnt'))
  await mkdir(mnt)
  const logs: string[] = []
  const handle = await mountSnapshot(await SnapshotReader.open(view, 'files'), mnt, { onLog: (l) => logs.push(l) })
  t.after(async () => { await handle.unmount(); await handle.closed })

  await t.test('each chunk of a file read cold is fetched once; read again after its pages are dropped, none is', async () => {
    const entry = await (await SnapshotReader.open(store, 'files')).statFile('big.bin')
    const distinct = new Set((entry.content as readonly ChunkRef[]).map((c) => Buffer.from(c.digest).toString('hex'))).size
    const before = view.chunkReads
    assert.ok((await readFile(join(mnt, 'big.bin'))).equals(FILES['big.bin']!))
    assert.equal(view.chunkReads - before, distinct)
    // Drop the kernel's pages of the file: the next read reaches the filesystem again.
    await run('python3', ['-c', 'import os, sys; fd = os.open(sys.argv[1], os.O_RDONLY); os.posix_fadvise(fd, 0, 0, os.POSIX_FADV_DONTNEED)', join(mnt, 'big.bin')])
    const hits = handle.cacheStats().hits
    const direct = await readRange(join(mnt, 'big.bin'), 0, FILES['big.bin']!.length, true)
    assert.ok(direct.equals(FILES['big.bin']!))
    assert.ok(handle.cacheStats().hits - hits >= distinct, 'the second read reached the filesystem')
    assert.equal(view.chunkReads - before, distinct, 'a warm file is read from the mount\'s chunk cache')
  })

  await t.test('a read that does not follow the previous one fetches only the chunks it covers', async () => {
    const entry = await (await SnapshotReader.open(store, 'files')).statFile('medium.bin')
    const chunks = entry.content as readonly ChunkRef[]
    assert.ok(chunks.length >= 3)
    // A page inside the second chunk (the kernel may widen a read to whole pages; chunks are at least 16 KiB).
    const offset = Math.ceil(chunks[0]!.length / 4096) * 4096 + 4096
    const before = view.chunkReads
    const got = await readRange(join(mnt, 'medium.bin'), offset, 100, true)
    assert.ok(got.equals(FILES['medium.bin']!.subarray(offset, offset + 100)))
    assert.equal(view.chunkReads - before, 1, 'one chunk, no read-ahead')
  })

  await t.test('any range of any file equals the source (property)', async () => {
    const names = Object.keys(FILES)
    await fc.assert(fc.asyncProperty(
      fc.constantFrom(...names), fc.double({ min: 0, max: 1.05, noNaN: true }), fc.integer({ min: 0, max: 400_000 }), fc.boolean(),
      async (name, at, length, direct) => {
        const bytes = FILES[name]!
        const offset = Math.floor(at * bytes.length)
        const got = await readRange(join(mnt, name), offset, length, direct)
        assert.ok(got.equals(bytes.subarray(offset, offset + length)), `${name} at ${offset}, ${length} bytes${direct ? ', O_DIRECT' : ''}`)
      }), { numRuns: 150 })
  })

  await t.test('concurrent readers all get the right bytes', async () => {
    const sha = (b: Buffer): string => createHash('sha256').update(b).digest('hex')
    // Processes reading whole files through the page cache, and ranges read directly, all at once.
    const readers = [
      ...['big.bin', 'big.bin', 'medium.bin', 'zeros.bin', 'big.bin', 'medium.bin'].map(async (name) => {
        const { stdout } = await run('sha256sum', [join(mnt, name)])
        assert.equal(stdout.split(' ')[0], sha(FILES[name]!), name)
      }),
      ...Array.from({ length: 16 }, async (_, i) => {
        const offset = i * 300_001
        const got = await readRange(join(mnt, 'big.bin'), offset, 200_000, true)
        assert.ok(got.equals(FILES['big.bin']!.subarray(offset, offset + 200_000)), `range ${i}`)
      })
    ]
    await Promise.all(readers)
  })

  assert.deepEqual(logs, [])
})

test('a chunk that fails verification gives EIO for the reads that need it, never other bytes', { skip: skipMount }, async (t) => {
  const src = await source('corrupt-src')
  const storeDir = join(root, 'corrupt-store')
  let store = await openStore(storeDir, { compressionLevel: 0 })
  await importDirectory(store, src, { name: 'files' })
  const entry = await (await SnapshotReader.open(store, 'files')).statFile('big.bin')
  const chunks = entry.content as readonly ChunkRef[]
  await store.close()
  // Flip one byte in the middle of the second chunk of big.bin, in its pack file (chunks are stored raw).
  const start = chunks[0]!.length
  const needle = FILES['big.bin']!.subarray(start + 1000, start + 1064)
  let flipped = false
  for (const name of await readdir(join(storeDir, 'packs'))) {
    const path = join(storeDir, 'packs', name)
    const pack = readFileSync(path)
    const at = pack.indexOf(needle)
    if (at < 0) continue
    pack[at + 10]! ^= 0xff
    await writeFile(path, pack)
    flipped = true
  }
  assert.ok(flipped, 'found the chunk in a pack')
  store = await openStore(storeDir)
  t.after(async () => { await store.close() })
  const mnt = trackMount(join(root, 'corrupt-mnt'))
  await mkdir(mnt)
  const logs: string[] = []
  const handle = await mountSnapshot(await SnapshotReader.open(store, 'files'), mnt, { onLog: (l) => logs.push(l), readAheadBytes: 0 })
  t.after(async () => { await handle.unmount(); await handle.closed })

  const file = join(mnt, 'big.bin')
  await assert.rejects(readRange(file, start + 500, 4096, true), { code: 'EIO' })
  assert.ok((await readRange(file, 0, 4096, true)).equals(FILES['big.bin']!.subarray(0, 4096)), 'the chunk before reads fine')
  const after = start + chunks[1]!.length
  assert.ok((await readRange(file, after, 4096, true)).equals(FILES['big.bin']!.subarray(after, after + 4096)), 'the chunk after reads fine')
  await assert.rejects(run('cat', [file]), /Input\/output error/)
  // Every 64 KiB step either fails or is right.
  let failures = 0
  for (let offset = 0; offset < FILES['big.bin']!.length; offset += 65536) {
    try {
      const got = await readRange(file, offset, 65536, true)
      assert.ok(got.equals(FILES['big.bin']!.subarray(offset, offset + 65536)), `bytes at ${offset}`)
    } catch (err) {
      assert.equal((err as NodeJS.ErrnoException).code, 'EIO')
      failures++
    }
  }
  assert.ok(failures >= 1 && failures <= 5, `${failures} steps failed`)
  assert.ok(logs.length >= 1)
  for (const line of logs) assert.match(line, /^read of "big\.bin" failed \(EIO\): ERR_INTEGRITY: /)
  // The other files are unaffected.
  assert.ok((await readFile(join(mnt, 'medium.bin'))).equals(FILES['medium.bin']!))
})

test('--prefetch reads every chunk of the snapshot through the reader, then says so', { skip: skipMount }, async (t) => {
  const src = await source('prefetch-src')
  const store = await openMemoryStore()
  await importDirectory(store, src, { name: 'files' })
  const reader = await SnapshotReader.open(store, 'files')
  const all = new Set<string>()
  for await (const { entry } of reader.walk()) {
    if (entry.kind === 'file' && !(entry.content instanceof Uint8Array)) for (const c of entry.content) if (!('hole' in c)) all.add(Buffer.from(c.digest).toString('hex'))
  }
  const fetched = new Set<string>()
  const view: SnapshotSource = {
    getChunk: async (d) => { fetched.add(Buffer.from(d).toString('hex')); return await store.getChunk(d) },
    getTree: async (d) => await store.getTree(d),
    getSnapshot: async (d) => await store.getSnapshot(d),
    getRef: async (name) => await store.getRef(name)
  }
  const mnt = trackMount(join(root, 'prefetch-mnt'))
  await mkdir(mnt)
  const progress: number[] = []
  const handle = await mountSnapshot(await SnapshotReader.open(view, 'files'), mnt, { prefetch: true, onProgress: (p) => progress.push(p.bytes) })
  t.after(async () => { await handle.unmount(); await handle.closed })
  await handle.prefetched
  assert.deepEqual([...fetched].sort(), [...all].sort())
  const chunked = Object.values(FILES).filter((b) => b.length > 64).reduce((n, b) => n + b.length, 0)
  assert.equal(progress.at(-1), chunked)
})
