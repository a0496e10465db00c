/**
 * Decompression of layer streams: detection, gzip (multi-member), zstd (the
 * zstd CLI), bombs stopped by maxOutputBytes, corrupt input, and the tar
 * reader on top.
 */
import { test } from 'node:test'
import assert from 'node:assert/strict'
import { spawnSync } from 'node:child_process'
import zlib from 'node:zlib'
import {
  autoDecompress, decompress, detectCompression, readTar, writeTar, type CompressionKind
} from '../../src/tar/index.js'
import { b, collect, key, pseudoRandom } from './helpers.js'
import { chunked, errorCode } from './reader-helpers.js'
import { missingTools } from '../helpers/tools.js'

const skipZstd = missingTools('zstd')
/** Tests of every kind add zstd cases when the zstd command is there. */
const hasZstd = skipZstd === false

function zstd (data: Uint8Array, ...args: string[]): Buffer {
  const r = spawnSync('zstd', ['-q', '-c', ...args], { input: data, maxBuffer: 256 << 20 })
  assert.equal(r.status, 0, r.stderr?.toString())
  return r.stdout
}

const text = Buffer.concat([...pseudoRandom(300_000, 3)])

test('detectCompression reads the magic numbers', () => {
  assert.equal(detectCompression(Uint8Array.from([0x1f, 0x8b, 0x08, 0x00])), 'gzip')
  assert.equal(detectCompression(Uint8Array.from([0x1f, 0x8b])), 'gzip')
  assert.equal(detectCompression(Uint8Array.from([0x28, 0xb5, 0x2f, 0xfd, 0x04])), 'zstd')
  assert.equal(detectCompression(Uint8Array.from([0x28, 0xb5, 0x2f])), 'none')
  assert.equal(detectCompression(Uint8Array.from([0x1f])), 'none')
  assert.equal(detectCompression(b('etc/passwd')), 'none')
  assert.equal(detectCompression(new Uint8Array(0)), 'none')
})

test('gzip: one member, several members, any chunking', async () => {
  const one = zlib.gzipSync(text)
  assert.deepEqual(await collect(decompress(chunked(one, 1000), 'gzip')), text)
  const multi = Buffer.concat([zlib.gzipSync(text.subarray(0, 1000)), zlib.gzipSync(Buffer.alloc(0)), zlib.gzipSync(text.subarray(1000))])
  for (const size of [333, 1 << 20]) assert.deepEqual(await collect(decompress(chunked(multi, size), 'gzip')), text, `chunks of ${size}`)
  const small = Buffer.concat([zlib.gzipSync(text.subarray(0, 3000)), zlib.gzipSync(text.subarray(3000, 5000))])
  assert.deepEqual(await collect(decompress(chunked(small, 1), 'gzip')), text.subarray(0, 5000), 'chunks of 1 byte')
  // zero padding after the last member is ignored, as by gzip -d
  assert.deepEqual(await collect(decompress([one, Buffer.alloc(100)], 'gzip')), text)
})

test('zstd: one frame, several frames, any chunking', { skip: skipZstd }, async () => {
  const one = zstd(text)
  assert.deepEqual(await collect(decompress(chunked(one, 1000), 'zstd')), text)
  const multi = Buffer.concat([zstd(text.subarray(0, 5000)), zstd(text.subarray(5000), '-19')])
  for (const size of [7, 1 << 20]) assert.deepEqual(await collect(decompress(chunked(multi, size), 'zstd')), text, `chunks of ${size}`)
})

test('autoDecompress dispatches on the first bytes, however they are chunked', async () => {
  const small = text.subarray(0, 5000)
  for (const data of [small, text]) {
    const cases: Array<[CompressionKind, Uint8Array]> = [['gzip', zlib.gzipSync(data)], ['none', data]]
    if (hasZstd) cases.push(['zstd', zstd(data)])
    for (const [kind, bytes] of cases) {
      for (const size of data === small ? [1, 3] : [4096]) {
        let seen: CompressionKind | undefined
        const out = await collect(autoDecompress(chunked(bytes, size), { onDetect: (k) => { seen = k } }))
        assert.equal(seen, kind)
        assert.deepEqual(out, data, `${kind} in chunks of ${size}`)
      }
    }
  }
  assert.deepEqual(await collect(autoDecompress([])), Buffer.alloc(0))
  assert.deepEqual(await collect(autoDecompress([b('ab')])), Buffer.from('ab'))
})

test('maxOutputBytes stops a decompression bomb early', async () => {
  const zeros = Buffer.alloc(64 << 20)
  const bombs: Array<[CompressionKind, Uint8Array]> = [['gzip', zlib.gzipSync(zeros, { level: 9 })], ['none', zeros]]
  if (hasZstd) bombs.push(['zstd', zstd(zeros, '-19')])
  for (const [kind, bomb] of bombs) {
    assert.ok(kind === 'none' || bomb.length < 200_000, `${kind} bomb is small`)
    const start = Date.now()
    await assert.rejects(collect(autoDecompress([bomb], { maxOutputBytes: 1 << 20 })), (err: unknown) => {
      assert.equal((err as { code?: string }).code, 'ERR_DECOMPRESSION_LIMIT', String(err))
      assert.equal((err as { limit?: number }).limit, 1 << 20)
      return true
    })
    assert.ok(Date.now() - start < 5000)
    // exactly at the limit is fine
    assert.equal((await collect(decompress([zlib.gzipSync(Buffer.alloc(1000))], 'gzip', { maxOutputBytes: 1000 }))).length, 1000)
  }
})

test('corrupt or truncated gzip is ERR_DECOMPRESS', async () => {
  const good = zlib.gzipSync(text)
  const flipped = Buffer.from(good)
  flipped[good.length - 6] = (flipped[good.length - 6] ?? 0) ^ 0xff // CRC
  const inData = Buffer.from(good)
  inData[100] = (inData[100] ?? 0) ^ 0xff
  for (const bad of [flipped, inData, good.subarray(0, good.length - 10), Buffer.concat([good, b('garbage')]), Buffer.from([0x1f, 0x8b])]) {
    assert.equal(await errorCode(collect(decompress([bad], 'gzip'))), 'ERR_DECOMPRESS')
  }
  assert.match(await collect(decompress([good.subarray(0, 50)], 'gzip')).then(() => '', (e: Error) => e.message), /truncated/)
})

test('corrupt or truncated zstd is ERR_DECOMPRESS with zstd\'s message; no zstd command is ERR_UNSUPPORTED', { skip: skipZstd }, async () => {
  const good = zstd(text)
  const corrupt = Buffer.from(good)
  for (let i = 20; i < 60; i++) corrupt[i] = 0xaa
  for (const bad of [corrupt, good.subarray(0, good.length - 10), Buffer.concat([good, b('garbage')])]) {
    await assert.rejects(collect(decompress([bad], 'zstd')), (err: unknown) => {
      assert.equal((err as { code?: string }).code, 'ERR_DECOMPRESS', String(err))
      assert.match((err as Error).message, /zstd/)
      return true
    })
  }
  assert.equal(await errorCode(collect(decompress([good], 'zstd', { zstdCommand: '/nonexistent/zstd' }))), 'ERR_UNSUPPORTED')
})

test('source errors come through unchanged; early stops and aborts end the work', async () => {
  const boom = new Error('source failed')
  async function * failing (bytes: Uint8Array): AsyncGenerator<Uint8Array> { yield bytes.subarray(0, 1000); throw boom }
  const kinds: Array<[CompressionKind, Uint8Array]> = [['gzip', zlib.gzipSync(text)], ['none', text]]
  if (hasZstd) kinds.push(['zstd', zstd(text)])
  for (const [kind, bytes] of kinds) {
    await assert.rejects(collect(decompress(failing(bytes), kind)), (err) => err === boom, kind)
    // stop after the first chunk: the source is closed, nothing hangs
    let closed = false
    async function * source (): AsyncGenerator<Uint8Array> { try { yield * chunked(bytes, 4096) } finally { closed = true } }
    for await (const chunk of decompress(source(), kind)) { assert.ok(chunk.length > 0); break }
    assert.ok(closed, `${kind}: source closed`)
    const ac = new AbortController()
    ac.abort()
    assert.equal(await errorCode(collect(decompress([bytes], kind, { signal: ac.signal }))), 'ERR_ABORTED')
    const later = new AbortController()
    const stream = decompress(chunked(bytes, 512), kind, { signal: later.signal })
    await stream.next()
    later.abort()
    assert.equal(await errorCode(collect(stream)), 'ERR_ABORTED', kind)
  }
})

test('a compressed layer reads back through autoDecompress and readTar', async () => {
  const entries = [
    { path: b('dir'), type: 'directory' as const, mode: 0o755, uid: 0, gid: 0, mtimeNs: 0n },
    { path: b('dir/file'), type: 'file' as const, mode: 0o644, uid: 0, gid: 0, mtimeNs: 0n, size: text.length, content: text }
  ]
  const tar = await collect(writeTar(entries))
  const layers = [zlib.gzipSync(tar), ...(hasZstd ? [zstd(tar)] : []), tar]
  for (const layer of layers) {
    const got: Array<[string, number]> = []
    for await (const e of readTar(autoDecompress(chunked(layer, 10_000), { maxOutputBytes: 10 << 20 }))) {
      got.push([key(e.path), (await collect(e.content)).length])
    }
    assert.deepEqual(got, [['dir', 0], ['dir/file', text.length]])
  }
})
