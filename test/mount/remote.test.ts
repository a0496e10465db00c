/**
 * Mounting a tessera image that stays in a registry: a real docker-registry
 * started here, a counting proxy in front of it (the bytes and requests are
 * counted by the proxy, not by tessera), a `RemoteSnapshot` with a local
 * store as its cache under the mount.
 *
 * - Mounting fetches the manifest and the metadata only; reading one file
 *   fetches its chunks and nothing of the other files.
 * - Mounted again over the same cache, the same reads fetch no blob.
 * - A registry that returns wrong bytes for a chunk gives EIO for the read
 *   that needs it (and a log line), never wrong data, and nothing wrong is
 *   kept in the cache.
 * - `tessera mount docker://… DIR` does the same from the command line,
 *   creating its store; with `--prefetch` it fetches the rest in the
 *   background, after which reads fetch nothing; SIGTERM unmounts (exit 0).
 */
import { test } from 'node:test'
import assert from 'node:assert/strict'
import { mkdtemp, mkdir, readFile, rm, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { lcgBytes } from '../helpers/fixture.js'
import { startRegistry } from '../helpers/registry.js'
import { startCountingProxy } from '../helpers/counting-proxy.js'
import { skipUnless } from '../helpers/tools.js'
import { openMemoryStore } from '../../src/store/open.js'
import { importDirectory } from '../../src/importer/directory.js'
import { SnapshotReader } from '../../src/exporter/snapshot-reader.js'
import type { ChunkRef } from '../../src/format/entry.js'
import { openRepository } from '../../src/distribution/client/index.js'
import { pushSnapshot, RemoteSnapshot } from '../../src/distribution/index.js'
import { mountSnapshot } from '../../src/mount/index.js'
import { cleanMountsAfter, cliMount, skipMount, trackMount } from './helpers.js'

cleanMountsAfter()
const skip = skipMount !== false ? skipMount : skipUnless(['docker-registry'])
const root = await mkdtemp(join(tmpdir(), 'tessera-mount-remote-'))
test.after(async () => { await rm(root, { recursive: true, force: true }) })

// Incompressible contents of different seeds: no chunk is shared between files.
const FILES: Record<string, Buffer> = {
  'big.bin': lcgBytes(6 * 1024 * 1024 + 123, 21),
  'other.bin': Buffer.from(lcgBytes(2 * 1024 * 1024 + 7, 22).map((v, i) => v ^ (i & 0x7f))),
  'small.txt': Buffer.from('read me\n')
}

test('a remote snapshot mounted over a registry', { skip }, async (t) => {
  const src = join(root, 'src')
  await mkdir(src)
  for (const [name, bytes] of Object.entries(FILES)) await writeFile(join(src, name), bytes)
  const origin = await openMemoryStore()
  await importDirectory(origin, src, { name: 'files' })

  const registry = await startRegistry()
  t.after(async () => { await registry.stop() })
  const proxy = await startCountingProxy(registry.url)
  t.after(async () => { await proxy.close() })
  await pushSnapshot(origin, 'files', openRepository(`docker://${registry.host}/lib/files:v1`, { tlsVerify: false }))

  const originReader = await SnapshotReader.open(origin, 'files')
  const chunksOf = async (name: string): Promise<readonly ChunkRef[]> => (await originReader.statFile(name)).content as readonly ChunkRef[]
  const bigChunks = await chunksOf('big.bin')
  const otherChunks = await chunksOf('other.bin')

  const cache = await openMemoryStore()
  const reference = `docker://${proxy.host}/lib/files:v1`
  const mountRemote = async (name: string): Promise<{ dir: string, logs: string[], done: () => Promise<void> }> => {
    const remote = await RemoteSnapshot.open(openRepository(reference, { tlsVerify: false }), { cache })
    const dir = trackMount(join(root, name))
    await mkdir(dir)
    const logs: string[] = []
    const handle = await mountSnapshot(await SnapshotReader.open(remote, remote.reference), dir, { onLog: (l) => logs.push(l) })
    return { dir, logs, done: async () => { await handle.unmount(); await handle.closed } }
  }

  await t.test('mounting fetches the manifest and the metadata; reading a file fetches its chunks only', async () => {
    proxy.reset()
    const m = await mountRemote('mnt1')
    try {
      const atMount = proxy.counts()
      const blobGets = proxy.ofRoute('GET blob')
      assert.equal(blobGets.length, 1, 'one blob fetched to mount: the metadata')
      assert.ok(atMount.bytesOut < 64 * 1024, `the metadata is small (${atMount.bytesOut} bytes in all)`)

      proxy.reset()
      assert.ok((await readFile(join(m.dir, 'other.bin'))).equals(FILES['other.bin']!))
      const read = proxy.counts()
      const size = FILES['other.bin']!.length
      assert.ok(read.bytesOut >= size, `the file's chunks were fetched (${read.bytesOut} bytes for ${size})`)
      assert.ok(read.bytesOut < size + 64 * 1024, `and little else (${read.bytesOut} bytes for ${size}; big.bin is ${FILES['big.bin']!.length})`)
      for (const c of otherChunks) assert.ok(await cache.hasChunk(c.digest), 'a fetched chunk is kept in the cache')
      for (const c of bigChunks) assert.equal(await cache.hasChunk(c.digest), false, 'no chunk of an unread file is fetched')
      assert.equal((await readFile(join(m.dir, 'small.txt'), 'utf8')), 'read me\n')
      assert.deepEqual(m.logs, [])
    } finally {
      await m.done()
    }
  })

  await t.test('mounted again over the same cache, the same read fetches no blob', async () => {
    proxy.reset()
    const m = await mountRemote('mnt2')
    try {
      assert.ok((await readFile(join(m.dir, 'other.bin'))).equals(FILES['other.bin']!))
      assert.deepEqual(proxy.ofRoute('GET blob'), [], 'neither the metadata nor a chunk is fetched again')
      assert.ok(proxy.counts().requests <= 3, `the manifest only (${proxy.counts().requests} requests)`)
    } finally {
      await m.done()
    }
  })

  await t.test('a chunk the registry corrupts gives EIO for that read, and is not kept', async () => {
    proxy.rule = (req) => req.method === 'GET' && req.route === 'GET blob' && req.headers.range !== undefined ? { flipByteAt: 200 } : undefined
    const m = await mountRemote('mnt3')
    try {
      await assert.rejects(readFile(join(m.dir, 'big.bin')), (err: NodeJS.ErrnoException) => err.code === 'EIO')
      assert.ok(m.logs.some((l) => l.includes('ERR_INTEGRITY')), `logged: ${m.logs.join(' | ')}`)
      for (const c of bigChunks) {
        if (await cache.hasChunk(c.digest)) assert.ok((await cache.getChunk(c.digest)).length === c.length, 'what is kept verifies')
      }
      // Chunks already cached are still read.
      assert.ok((await readFile(join(m.dir, 'other.bin'))).equals(FILES['other.bin']!))
    } finally {
      proxy.rule = undefined
      await m.done()
    }
  })

  await t.test('tessera mount docker://… from the command line, with --prefetch', async () => {
    proxy.reset()
    const store = join(root, 'cli-store')
    const dir = join(root, 'mnt-cli')
    await mkdir(dir)
    const m = await cliMount(store, reference, dir, ['--tls-verify=false', '--prefetch'])
    try {
      assert.equal(m.ready.dir, dir)
      assert.match(m.ready.snapshot, /^sha256:[0-9a-f]{64}$/)
      assert.ok((await readFile(join(dir, 'small.txt'), 'utf8')) === 'read me\n')
      // The prefetch fetches every chunk once: wait (bounded) until the proxy has relayed them all.
      const total = FILES['big.bin']!.length + FILES['other.bin']!.length
      const deadline = Date.now() + 60_000
      while (proxy.counts().bytesOut < total && Date.now() < deadline) await new Promise((resolve) => setTimeout(resolve, 50))
      assert.ok(proxy.counts().bytesOut >= total, `prefetched (${proxy.counts().bytesOut} of ${total} bytes)`)
      assert.ok(proxy.counts().bytesOut < total + 128 * 1024, `each chunk once (${proxy.counts().bytesOut} bytes for ${total})`)
      const chunkGets = proxy.ofRoute('GET blob').length
      assert.ok((await readFile(join(dir, 'big.bin'))).equals(FILES['big.bin']!))
      assert.ok((await readFile(join(dir, 'other.bin'))).equals(FILES['other.bin']!))
      assert.equal(proxy.ofRoute('GET blob').length, chunkGets, 'after the prefetch, reads fetch nothing')
    } finally {
      m.child.kill('SIGTERM')
    }
    assert.deepEqual(await m.exited, { code: 0, signal: null }, m.stderr())
  })
})
