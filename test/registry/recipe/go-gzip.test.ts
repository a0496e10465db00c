/**
 * Layers written by Go's standard `compress/gzip` (docker's `pkg/archive`):
 * the port in `src/compression/go-compress-flate/` recreates them.
 *
 * Golden vectors: the sha256 values are of the whole gzip files the Go
 * oracle `scripts/gzip-oracle` (Go 1.19.8's compress/gzip) wrote for these
 * inputs, e.g. `gzip-oracle -level 6 < text.bin | sha256sum`; the inputs
 * were written from the same expressions as here.
 */
import assert from 'node:assert/strict'
import { createHash } from 'node:crypto'
import { gunzipSync } from 'node:zlib'
import { after, before, describe, test } from 'node:test'
import fc from 'fast-check'
import { lcgBytes } from '../../helpers/fixture.js'
import { decodeRecipe } from '../../../src/registry/recipe/index.js'
import { GO_FLATE_IMPLEMENTATION, StdFlateCompressor } from '../../../src/compression/go-compress-flate/index.js'
import { crc32, gzipTrailer } from '../../../src/compression/gzip.js'
import { assertReproduced, decomposeBytes, memoryStore, tarFiles, tarOf, tempDir } from './helpers.js'

let dir: string
let cleanup: () => Promise<void>
before(async () => { ({ dir, cleanup } = await tempDir()) })
after(async () => { await cleanup() })

/** A whole gzip file as Go's `gzip.NewWriterLevel(w, level)` writes it, made by the port, input written in `step`-byte pieces. */
function goGzip (data: Uint8Array, level: number, step = 100_000): Buffer {
  const out: Uint8Array[] = [Buffer.from([0x1f, 0x8b, 8, 0, 0, 0, 0, 0, level === 9 ? 2 : 0, 255])]
  const c = new StdFlateCompressor(level)
  for (let i = 0; i < data.length; i += step) {
    c.write(data.subarray(i, i + step))
    out.push(c.take().slice())
  }
  c.close()
  out.push(c.take().slice(), gzipTrailer(crc32(data), data.length))
  return Buffer.concat(out)
}

const sha = (b: Uint8Array): string => createHash('sha256').update(b).digest('hex')
const text = Buffer.from(Array.from({ length: 40000 }, (_, i) => `line ${i} of a text file ${i % 17}\n`).join(''))
const mixed = Buffer.concat([text.subarray(0, 300000), lcgBytes(200000, 3), Buffer.alloc(100000, 0x41), text.subarray(300000, 700000)])
const INPUTS: Record<string, Buffer> = { empty: Buffer.alloc(0), lcg: lcgBytes(600000, 11), text, zeros: Buffer.alloc(262144), mixed }
const LEVELS = [6, 9, 2, 4]
const DIGESTS: Record<string, string[]> = {
  empty: ['30e6fa98fb48c2b132824d1ac5e2243c0be9e9082ff32598d34d7687ca7f6c7f', '10c2221846da8b4250e556aa520c86d6674614d7c5874d8b9cb7f26d62835036', '30e6fa98fb48c2b132824d1ac5e2243c0be9e9082ff32598d34d7687ca7f6c7f', '30e6fa98fb48c2b132824d1ac5e2243c0be9e9082ff32598d34d7687ca7f6c7f'],
  lcg: ['a429ac51cd9eb28f35aaa3871d8082c117d84d0ec58d58b47d1b01653389db29', '10ed4d117972ab18c0c4581afe6170c3e7ef700da47e2f65be8ec09b90d0a5ed', 'a429ac51cd9eb28f35aaa3871d8082c117d84d0ec58d58b47d1b01653389db29', 'a429ac51cd9eb28f35aaa3871d8082c117d84d0ec58d58b47d1b01653389db29'],
  text: ['9f2e40eacb58807904285870c9c9ff3aa1ff9a4139746bf91967cd611dc93ec4', '225299736ea40b1abda3f2add02a8422c718fcd8050a27070c52c1d43c0df0c1', '65156c497c450a52cf585538c8ca0e7356ed1a372625fbac4068d6bb53242975', '7af2c8fd8182e62c9fc1c650a8689f017aaecfa607702b92b29801cd80cca18a'],
  zeros: ['f037d40f3c483ec9f093156087abcf42a0dfd40acd4027a5e65ff71e16d6cdaf', '6e0416b2b65fba1e8d036056d304fa83b4d22165c185282a97ddf88108e4a8dc', '9cfc5214d429588abfaecdc26f6b9dc14613f5cd027c14a8826948347e33133d', 'f037d40f3c483ec9f093156087abcf42a0dfd40acd4027a5e65ff71e16d6cdaf'],
  mixed: ['4046057adbe0cba419fbe0d91948b61d27f6f0f9bb1da71c6f2c9a2d4debdf19', 'd85337aed6d4c3a8dd21a50abb64c2e9b2103d25b1048546ddc353b248bf1b14', '82e4575fdb31d2a7276d5473938526691c36ac484261f5e68217d6304aa298e3', '36982963276d7a639b0125b6959c5e5f0c49b8a4315d2b5fb0f9eb1453de1473']
}

describe('Go compress/flate port golden vectors (from the Go oracle)', () => {
  for (const [name, data] of Object.entries(INPUTS)) {
    test(`${name} (${data.length} bytes) at levels ${LEVELS.join(', ')}`, () => {
      LEVELS.forEach((level, i) => {
        const gz = goGzip(data, level)
        assert.equal(sha(gz), DIGESTS[name]![i], `level ${level}`)
        assert.ok(gunzipSync(gz).equals(data))
        assert.equal(sha(goGzip(data, level, 4099)), DIGESTS[name]![i], `level ${level}, other write sizes`)
      })
    })
  }

  test('an empty stream is one empty final stored block; level 1 is refused', () => {
    assert.equal(goGzip(new Uint8Array(0), 6).subarray(10, -8).toString('hex'), '010000ffff')
    assert.throws(() => new StdFlateCompressor(1), (err: any) => err.code === 'ERR_UNSUPPORTED')
  })
})


describe('Go compress/gzip layers round trip', () => {
  test('random tars gzipped by the port at levels 6 and 9 decompose and rebuild bit for bit', async () => {
    const { store } = await memoryStore()
    const files = tarFiles(300_000)
    await fc.assert(fc.asyncProperty(files, fc.constantFrom(6, 9), async (fs, level) => {
      const tar = tarOf(fs)
      const gz = goGzip(tar, level, 65_000)
      assert.ok(gunzipSync(gz).equals(tar), 'the port\'s output inflates to its input')
      const r = await decomposeBytes(dir, gz, store)
      assert.equal(r.kind, 'reproduced', r.kind === 'whole' ? r.reason : '')
      if (r.kind !== 'reproduced') return
      const c = decodeRecipe(r.recipe).compression
      assert.deepEqual(c.kind === 'gzip-blocks' ? c.deflate : undefined, { implementation: GO_FLATE_IMPLEMENTATION, level, blockSize: 0 })
    }), { numRuns: 20 })
    await store.close()
  })

  test('a Go-gzipped layer rebuilds whole and in ranges', async () => {
    const { store } = await memoryStore()
    const gz = goGzip(tarOf([['a', lcgBytes(300_000, 9)], ['b', text]]), 6)
    await assertReproduced(dir, gz, store, 'tar+gzip')
    await store.close()
  })
})
