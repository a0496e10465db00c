/**
 * The two zstd backends (native zstd-napi, portable zstd-codec) are
 * interchangeable: each decodes the other's frames to the same bytes, both
 * honour the size limit before allocating, and both reject corrupt frames
 * with ERR_INTEGRITY through the store's decoder.
 */
import { test } from 'node:test'
import assert from 'node:assert/strict'
import { spawnSync } from 'node:child_process'
import { createRequire } from 'node:module'
import fc from 'fast-check'
import { loadNativeZstd } from '../../src/store/zstd-native.js'
import { loadPortableZstd } from '../../src/store/zstd-portable.js'
import { zstdFrameContentSize } from '../../src/store/zstd-frame.js'
import { loadZstd, zstdDecompress } from '../../src/store/zstd.js'
import type { ZstdBackend } from '../../src/store/zstd-backend.js'

const require = createRequire(import.meta.url)
const native = loadNativeZstd()
const portable = await loadPortableZstd()

/** Text-like bytes that compress: words drawn from a small vocabulary. */
const compressible = fc.array(fc.constantFrom('tessera ', 'chunk ', 'tree ', '\n', 'usr/lib/', '0123'), { maxLength: 4000 })
  .map((words) => new TextEncoder().encode(words.join('')))
const anyBytes = fc.oneof(compressible, fc.uint8Array({ minLength: 1, maxLength: 70000 }))

test('the native backend is installed and loads (CI builds it from source)', () => {
  assert.ok(native !== undefined, 'zstd-napi did not load: run `npm ci` with install scripts allowed for zstd-napi')
  assert.match(native.name, /^zstd-napi/)
})

test('each backend decodes the frames of the other to the same bytes, at every level used', () => {
  assert.ok(native !== undefined)
  const pairs: Array<[ZstdBackend, ZstdBackend]> = [[native, portable], [portable, native], [native, native], [portable, portable]]
  fc.assert(fc.property(anyBytes.filter((b) => b.length > 0), fc.constantFrom(1, 3, 4, 6, 9), (bytes, level) => {
    for (const [writer, reader] of pairs) {
      const frame = writer.compress(bytes, level)
      assert.equal(zstdFrameContentSize(frame), bytes.length, `${writer.name} declares the content size`)
      assert.deepEqual(Buffer.from(reader.decompress(frame, bytes.length)), Buffer.from(bytes), `${writer.name} -> ${reader.name}`)
    }
  }), { numRuns: 60 })
})

test('with headroom, each backend leaves the leading bytes to the caller and returns a frame of its own each call', () => {
  assert.ok(native !== undefined)
  for (const backend of [native, portable]) {
    fc.assert(fc.property(fc.array(anyBytes.filter((b) => b.length > 0), { minLength: 1, maxLength: 4 }), fc.integer({ min: 0, max: 9 }), (inputs, headroom) => {
      // Several calls first, then every result checked: a result must not
      // be a view of a buffer that a later call overwrites.
      const outs = inputs.map((bytes) => backend.compress(bytes, 5, headroom))
      outs.forEach((out, i) => {
        const bytes = inputs[i]!
        const frame = out.subarray(headroom)
        assert.deepEqual(Buffer.from(frame), Buffer.from(backend.compress(bytes, 5)), `${backend.name}: the same frame as without headroom`)
        assert.deepEqual(Buffer.from(native.decompress(frame, bytes.length)), Buffer.from(bytes))
      })
    }), { numRuns: 30 })
  }
  // An object bigger than the native backend's reused buffer (4 MiB; a
  // large tree) gets a buffer of its own and still round-trips.
  const big = new Uint8Array(6 * 1024 * 1024).map((_, i) => (i * 7919) >>> 13)
  const out = native.compress(big, 3, 1)
  assert.deepEqual(Buffer.from(native.decompress(out.subarray(1), big.length)), Buffer.from(big))
  assert.deepEqual(Buffer.from(native.compress(new Uint8Array(100), 3, 1).subarray(1)), Buffer.from(native.compress(new Uint8Array(100), 3)))
})

test('the frame header parser agrees with libzstd on every frame and on garbage', () => {
  const binding = require('zstd-napi/binding') as { getFrameContentSize (b: Uint8Array): number | null }
  fc.assert(fc.property(anyBytes, fc.constantFrom(1, 3, 19), (bytes, level) => {
    const frame = (native ?? portable).compress(bytes, level)
    assert.equal(zstdFrameContentSize(frame), binding.getFrameContentSize(frame))
  }), { numRuns: 80 })
  fc.assert(fc.property(fc.uint8Array({ maxLength: 20 }), (junk) => {
    const ours = zstdFrameContentSize(junk)
    if (ours !== undefined) {
      // Only a real frame header (magic first) may yield a size.
      assert.equal(Buffer.from(junk.subarray(0, 4)).readUInt32LE(0), 0xfd2fb528)
    }
  }), { numRuns: 300 })
})

test('a frame claiming more than the limit is refused before decoding; corrupt frames are ERR_INTEGRITY', async () => {
  await loadZstd()
  const bytes = new TextEncoder().encode('x'.repeat(100000))
  const frame = (native ?? portable).compress(bytes, 3)
  assert.throws(() => zstdDecompress(frame, 1000), (e: any) => e.code === 'ERR_INTEGRITY' && /more than the limit/.test(e.message))
  const flipped = frame.slice()
  flipped[flipped.length - 3]! ^= 0xff
  for (const b of [native, portable]) {
    if (b === undefined) continue
    assert.throws(() => b.decompress(flipped, bytes.length))
  }
  assert.throws(() => zstdDecompress(flipped, 1 << 20), (e: any) => e.code === 'ERR_INTEGRITY')
  assert.throws(() => zstdDecompress(new Uint8Array([1, 2, 3, 4, 5, 6, 7]), 1 << 20), (e: any) => e.code === 'ERR_INTEGRITY')
})

test('TESSERA_ZSTD=portable selects the portable backend', () => {
  const script = `import('${new URL('../../src/store/zstd.js', import.meta.url).href}').then(async (m) => { const b = await m.loadZstd(); process.stdout.write(b.name) })`
  const forced = spawnSync(process.execPath, ['-e', script], { env: { ...process.env, TESSERA_ZSTD: 'portable' }, encoding: 'utf8' })
  assert.equal(forced.stdout, portable.name)
  const auto = spawnSync(process.execPath, ['-e', script], { env: { ...process.env, TESSERA_ZSTD: '' }, encoding: 'utf8' })
  assert.equal(auto.stdout, native?.name)
})
