// Range parts arrive in shared memory (the verify workers read them without
// a copy); what a remote read hands out must still be bytes of its own.
import { test } from 'node:test'
import assert from 'node:assert/strict'
import { verifyFetched } from '../../src/distribution/chunk-fetcher.js'
import { VerifyPool } from '../../src/distribution/verify-pool.js'
import { sha256 } from '../../src/hash/index.js'
import { encodeStored } from '../../src/store/stored-object.js'
import { loadZstd } from '../../src/store/zstd.js'
import { lcgBytes } from '../helpers/fixture.js'

function shared (bytes: Uint8Array): Uint8Array {
  const out = new Uint8Array(new SharedArrayBuffer(bytes.length + 10)).subarray(5, 5 + bytes.length)
  out.set(bytes)
  return out
}

test('a raw record in shared memory decodes to a copy that TextDecoder accepts', async () => {
  await loadZstd()
  const text = Buffer.from('plain text, stored raw because it is short')
  const stored = encodeStored(text, { level: 0 })
  const view = shared(stored)
  const chunk = verifyFetched(sha256.digest(text), { pack: 0, offset: 0, storedLength: stored.length, length: text.length }, view)
  assert.equal(chunk.bytes.buffer instanceof SharedArrayBuffer, false)
  assert.equal(new TextDecoder().decode(chunk.bytes), text.toString())
})

test('the verify pool checks shared-memory records on its worker, good and bad', async () => {
  await loadZstd()
  const pool = new VerifyPool(1)
  try {
    const items = [0, 1, 2].map((i) => {
      const bytes = lcgBytes(50_000 + i, 40 + i)
      bytes.fill(7, 0, 20_000) // compressible: a zstd record
      return { digest: sha256.digest(bytes), length: bytes.length, stored: shared(encodeStored(bytes)) }
    })
    await pool.verify(items)
    const bad = items.map((x) => ({ ...x, stored: shared(x.stored) }))
    bad[1]!.stored[bad[1]!.stored.length - 1]! ^= 1
    await assert.rejects(pool.verify(bad), (err: Error & { code?: string }) => err.code === 'ERR_INTEGRITY')
  } finally {
    await pool.close()
  }
})
