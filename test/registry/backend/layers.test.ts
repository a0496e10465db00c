/**
 * Layer blobs through the registry store: decomposed into chunks plus a
 * recipe when they can be rebuilt bit for bit, kept whole otherwise;
 * served verified; their chunks all reachable from the gc roots.
 */
import { test } from 'node:test'
import assert from 'node:assert/strict'
import { execFile } from 'node:child_process'
import { randomBytes } from 'node:crypto'
import { mkdir, readFile, writeFile } from 'node:fs/promises'
import { join } from 'node:path'
import { promisify } from 'node:util'
import { gzipSync } from 'node:zlib'
import { ClassicLevel } from 'classic-level'
import { MemoryLevel } from 'memory-level'
import { registryChunkRoots } from '../../../src/registry/backend/index.js'
import { code, collect, digestOf, openFixture, removeTempDirs, streamOf, tempDir, type DbFactory } from './helpers.js'
import { requireTool } from '../../helpers/tools.js'

test.after(removeTempDirs)

/** A tar of a small rootfs made by GNU tar, deterministic but for the random file contents. */
async function makeTar (shared: Buffer, own: Buffer): Promise<Buffer> {
  const root = await tempDir('tessera-rootfs-')
  await mkdir(join(root, 'bin'))
  await mkdir(join(root, 'etc'))
  await writeFile(join(root, 'bin', 'shared'), shared)
  await writeFile(join(root, 'bin', 'own'), own)
  await writeFile(join(root, 'etc', 'conf'), 'line of configuration\n'.repeat(3000))
  const out = join(await tempDir('tessera-tar-'), 'layer.tar')
  await promisify(execFile)('tar', ['--sort=name', '--owner=0', '--group=0', '--numeric-owner', '--mtime=@0', '-C', root, '-cf', out, '.'])
  return await readFile(out)
}

const rawKey = (sublevel: string, key: Uint8Array): Buffer => Buffer.concat([Buffer.from(`!${sublevel}!`), key])

function layerSuite (label: string, factory: DbFactory): void {
  test(`${label}: tar and tar+gzip layers are reproduced from chunks, byte for byte`, requireTool('tar'), async () => {
    const f = await openFixture(factory)
    try {
      const shared = randomBytes(300_000)
      const tar = await makeTar(shared, randomBytes(50_000))
      const tgz = gzipSync(tar)
      const other = gzipSync(await makeTar(shared, randomBytes(50_000)), { level: 9 })
      const multi = Buffer.concat([gzipSync(tar.subarray(0, 100_000)), gzipSync(tar.subarray(100_000))])
      for (const [blob, storage] of [[tar, 'reproduced'], [tgz, 'reproduced'], [other, 'reproduced'], [multi, 'whole']] as const) {
        const info = await f.registry.blobs.putBlob(streamOf(blob, 65536), { digest: digestOf(blob), size: blob.length }, { repository: 'lib/img' })
        assert.deepEqual(info, { digest: digestOf(blob), size: blob.length, storage })
        assert.ok((await collect(f.registry.blobs.getBlob(digestOf(blob)))).equals(blob))
        const cuts = [[0, 10], [511, 513], [1000, 200_000], [blob.length - 7, blob.length]] as const
        for (const [start, end] of cuts) {
          assert.ok((await collect(f.registry.blobs.getBlob(digestOf(blob), { range: { start, end } }))).equals(blob.subarray(start, end)), `range [${start}, ${end})`)
        }
        const ranges = cuts.map(([start, end]) => ({ start, end }))
        assert.ok((await collect(f.registry.blobs.getBlobRanges(digestOf(blob), ranges))).equals(Buffer.concat(ranges.map((r) => blob.subarray(r.start, r.end)))), `${storage}: several ranges at once`)
      }
      const { overall, repositories } = await f.registry.stats()
      assert.deepEqual({ ...overall, storedBytes: 0 }, { pushedBytes: tar.length + tgz.length + other.length + multi.length, storedBytes: 0, reproducedBlobs: 3, wholeBlobs: 1, wholeLayers: 1 })
      assert.deepEqual(repositories['lib/img'], overall)
      const tgzRecord = (await f.registry.blobs.record(digestOf(tgz)))!
      assert.ok(tgzRecord.storedBytes < tgz.length / 10, `the gzip of a stored tar adds little: ${tgzRecord.storedBytes}`)
      const otherRecord = (await f.registry.blobs.record(digestOf(other)))!
      assert.ok(otherRecord.storedBytes < other.length / 2, `a layer sharing a file stores less: ${otherRecord.storedBytes} of ${other.length}`)
      const multiRecord = (await f.registry.blobs.record(digestOf(multi)))!
      assert.equal(multiRecord.isLayer, true)
      assert.ok(multiRecord.body.storage === 'whole' && multiRecord.body.reason.length > 0)
    } finally { await f.close() }
  })

  test(`${label}: the gc roots hold every chunk the blobs need`, requireTool('tar'), async () => {
    const f = await openFixture(factory)
    try {
      const tar = await makeTar(randomBytes(200_000), randomBytes(20_000))
      const blobs = [tar, gzipSync(tar), randomBytes(100_000)]
      for (const b of blobs) await f.registry.blobs.putBlob(streamOf(b), { digest: digestOf(b) })
      // Chunks no blob needs: a blob deleted, and a chunk of nothing.
      const dropped = randomBytes(150_000)
      await f.registry.blobs.putBlob(streamOf(dropped), { digest: digestOf(dropped) })
      await f.registry.blobs.deleteBlob(digestOf(dropped))
      await f.store.flush()
      const roots = new Set<string>()
      for await (const d of registryChunkRoots(f.store)) roots.add(Buffer.from(d).toString('hex'))
      // Collect as gc would: every chunk not a root goes.
      let removed = 0
      for await (const key of f.db.keys({ gte: Buffer.from('!c!'), lt: Buffer.from('!c"') })) {
        const digest = Buffer.from(key).subarray(3)
        if (roots.has(digest.toString('hex'))) continue
        await f.db.del(key)
        await f.db.del(rawKey('x', digest))
        removed++
      }
      assert.ok(removed > 0, 'the deleted blob\'s chunks were not roots')
      for (const b of blobs) assert.ok((await collect(f.registry.blobs.getBlob(digestOf(b)))).equals(b))
    } finally { await f.close() }
  })

  test(`${label}: a reproduced layer with a corrupted or missing chunk is ERR_INTEGRITY`, requireTool('tar'), async () => {
    const f = await openFixture(factory)
    try {
      const tar = await makeTar(randomBytes(200_000), randomBytes(20_000))
      const tgz = gzipSync(tar)
      await f.registry.blobs.putBlob(streamOf(tgz), { digest: digestOf(tgz) })
      await f.store.flush()
      const roots: Buffer[] = []
      for await (const d of registryChunkRoots(f.store)) roots.push(Buffer.from(d))
      // The largest chunk holds file content: replace it with other bytes.
      let victim = roots[0]!
      let victimSize = 0
      for (const d of roots) {
        const size = (await f.db.get(rawKey('c', d)))!.length
        if (size > victimSize) { victim = d; victimSize = size }
      }
      const original = (await f.db.get(rawKey('c', victim)))!
      const bad = Buffer.from(original)
      bad[bad.length - 1] = bad[bad.length - 1]! ^ 0xff
      await f.db.put(rawKey('c', victim), bad)
      await assert.rejects(collect(f.registry.blobs.getBlob(digestOf(tgz))), code('ERR_INTEGRITY'))
      await assert.rejects(collect(f.registry.blobs.getBlob(digestOf(tgz), { range: { start: tgz.length - 10, end: tgz.length } })), code('ERR_INTEGRITY'))
      await f.db.del(rawKey('c', victim))
      await assert.rejects(collect(f.registry.blobs.getBlob(digestOf(tgz))), code('ERR_INTEGRITY'))
      await f.db.put(rawKey('c', victim), original)
      assert.ok((await collect(f.registry.blobs.getBlob(digestOf(tgz)))).equals(tgz))
    } finally { await f.close() }
  })
}

layerSuite('memory-level', async () => new MemoryLevel<Uint8Array, Uint8Array>({ keyEncoding: 'view', valueEncoding: 'view' }) as any)
layerSuite('classic-level', async () => new ClassicLevel<Uint8Array, Uint8Array>(await tempDir(), { keyEncoding: 'view', valueEncoding: 'view' }) as any)
