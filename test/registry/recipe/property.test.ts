/** Any byte string decomposes and rebuilds to itself, or is whole; never an exception. Plus the recipe's golden vector. */
import assert from 'node:assert/strict'
import { after, before, describe, test } from 'node:test'
import { gzipSync } from 'node:zlib'
import fc from 'fast-check'
import { encodeUstarHeader } from '../../../src/tar/header.js'
import { encodePaxRecords, encodePaxHeader } from '../../../src/tar/pax.js'
import { lcgBytes } from '../../helpers/fixture.js'
import { writeFile } from 'node:fs/promises'
import { join } from 'node:path'
import { decodeRecipe, decomposeLayer, encodeRecipe, recipeChunks, rebuildLayer } from '../../../src/registry/recipe/index.js'
import { ChunkSink, ChunkedStreamReader, ChunkedStreamWriter } from '../../../src/registry/recipe/chunked-stream.js'
import { collect, decomposeBytes, digestOf, memoryStore, tempDir } from './helpers.js'

let dir: string
let cleanup: () => Promise<void>
before(async () => { ({ dir, cleanup } = await tempDir()) })
after(async () => { await cleanup() })

async function decomposeBytesWith (blob: Uint8Array, store: Awaited<ReturnType<typeof memoryStore>>['store'], signal: AbortSignal, onProgress?: () => void): Promise<unknown> {
  const file = join(dir, 'abort-' + String(Math.random()).slice(2))
  await writeFile(file, blob)
  return await decomposeLayer(file, { digest: digestOf(blob), size: blob.length }, store, { signal, onProgress })
}
const bytes = (s: string): Uint8Array => new TextEncoder().encode(s)
function header (name: string, size: number, typeflag = '0', linkname = ''): Uint8Array {
  return encodeUstarHeader({ name: bytes(name), prefix: new Uint8Array(0), mode: 0o644, uid: 0, gid: 0, size, mtime: 0, typeflag, linkname: bytes(linkname), uname: new Uint8Array(0), gname: new Uint8Array(0), devmajor: 0, devminor: 0 })
}
const pad = (n: number): Uint8Array => new Uint8Array((512 - (n % 512)) % 512)

/** A small valid tar: a PAX header, a chunked file, an inline file, a symlink, the end blocks. */
function tinyTar (): Buffer {
  const content = lcgBytes(100_000, 42)
  const pax = encodePaxRecords([['path', 'dir/a-file-with-a-pax-path']])
  return Buffer.concat([
    encodePaxHeader(bytes('dir/a-file-with-a-pax-path'), pax),
    header('dir/a-file', content.length), content, pad(content.length),
    header('small', 5), bytes('hello'), pad(5),
    header('link', 0, '2', 'small'),
    new Uint8Array(1024)
  ])
}

describe('layer decomposition of arbitrary bytes', () => {
  test('random bytes, mutated and truncated tars: reproduced bit for bit or whole, never an exception', async () => {
    const { store } = await memoryStore()
    const base = tinyTar()
    const gz = gzipSync(base)
    const blob = fc.oneof(
      fc.uint8Array({ maxLength: 3000 }),
      fc.tuple(fc.nat(base.length), fc.array(fc.tuple(fc.nat(base.length - 1), fc.integer({ min: 0, max: 255 })), { maxLength: 4 }))
        .map(([cut, edits]) => { const b = Buffer.from(base); for (const [i, v] of edits) b[i] = v; return b.subarray(0, Math.max(cut, 1)) }),
      fc.tuple(fc.nat(gz.length), fc.nat(gz.length - 1), fc.integer({ min: 0, max: 255 }))
        .map(([cut, i, v]) => { const b = Buffer.from(gz); b[i] = v; return b.subarray(0, Math.max(cut, 2)) }),
      fc.constantFrom(base, gz)
    )
    await fc.assert(fc.asyncProperty(blob, async (b) => {
      const r = await decomposeBytes(dir, b, store)
      if (r.kind === 'whole') return
      const again = await collect(rebuildLayer(r.recipe, store))
      assert.ok(again.equals(Buffer.from(b)))
      assert.equal(decodeRecipe(r.recipe).blobSize, b.length)
    }), { numRuns: 150 })
    await store.close()
  })

  test('a recipe naming another blob digest fails the rebuild with ERR_INTEGRITY', async () => {
    const { store } = await memoryStore()
    const r = await decomposeBytes(dir, tinyTar(), store)
    assert.equal(r.kind, 'reproduced')
    if (r.kind !== 'reproduced') return
    const recipe = decodeRecipe(r.recipe)
    recipe.blobDigest = new Uint8Array(32)
    await assert.rejects(collect(rebuildLayer(encodeRecipe(recipe), store)), (err: any) => err.code === 'ERR_INTEGRITY')
    await assert.rejects(async () => { for await (const _ of rebuildLayer(new Uint8Array([0x93, 3, 1, 0]), store)); }, (err: any) => err.code === 'ERR_NON_CANONICAL')
    await store.close()
  })

  test('an aborted decomposition throws ERR_ABORTED', async () => {
    const { store } = await memoryStore()
    for (const blob of [tinyTar(), gzipSync(tinyTar())]) {
      const controller = new AbortController()
      controller.abort()
      await assert.rejects(decomposeBytesWith(blob, store, controller.signal), (err: any) => err.code === 'ERR_ABORTED')
      const later = new AbortController()
      await assert.rejects(decomposeBytesWith(blob, store, later.signal, () => later.abort()), (err: any) => err.code === 'ERR_ABORTED')
    }
    await store.close()
  })

  test('long streams go one level down into chunks and read back', async () => {
    const { store } = await memoryStore()
    const data = lcgBytes(24 * 1024 * 1024, 3) // ~380 chunks: more than the 256 a root may list
    const sink = new ChunkSink(store)
    const w = new ChunkedStreamWriter(sink)
    for (let i = 0; i < data.length; i += 1 << 20) await w.write(data.subarray(i, i + (1 << 20)))
    const ref = await w.finish()
    await sink.drain()
    assert.equal(ref.depth, 1)
    assert.ok(ref.chunks.length <= 256)
    const r = new ChunkedStreamReader(store, ref)
    await r.skip(5_000_000)
    const got = await collect(r.read(3_000_000))
    assert.ok(got.equals(data.subarray(5_000_000, 8_000_000)))
    await store.close()
  })
})

describe('layer recipe golden vector', () => {
  test('the tiny tar\'s recipe encodes to pinned bytes', async () => {
    const { store } = await memoryStore()
    const tar = tinyTar()
    assert.equal(digestOf(tar), 'sha256:ae19f2a1189700fb03821deda479a3513c86e787ca4fe2cfc7b2e244afbca986')
    const r = await decomposeBytes(dir, tar, store)
    assert.equal(r.kind, 'reproduced')
    if (r.kind !== 'reproduced') return
    assert.equal(digestOf(r.recipe), 'sha256:7940f525bfb4743f213f4a9dd70e8da10f45b626fe3c90aa47b01b442b1b8e33')
    const d = decodeRecipe(r.recipe)
    assert.equal(d.tarSize, 104448)
    assert.equal(d.meta.length, tar.length - 100_000)
    assert.deepEqual(encodeRecipe(d), r.recipe)
    const chunks: string[] = []
    for await (const c of recipeChunks(r.recipe, store)) chunks.push(Buffer.from(c).toString('hex'))
    assert.equal(chunks.length, 3) // meta, layout, the one content chunk
    await store.close()
  })
})
