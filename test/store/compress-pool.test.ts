/**
 * The compression pool settles every job whatever its workers do: a worker
 * that cannot load, or that dies with a job, leaves the work to the calling
 * thread. (Each case has a generous timeout so that a regression fails
 * instead of hanging the suite; nothing is timed.)
 */
import { test } from 'node:test'
import assert from 'node:assert/strict'
import { CompressPool } from '../../src/store/compress-pool.js'
import { decodeStored, encodeStored } from '../../src/store/stored-object.js'
import { loadZstd } from '../../src/store/zstd.js'
import { sha256 } from '../../src/hash/index.js'

await loadZstd()
const HANG_GUARD = { timeout: 120_000 }
const script = (source: string): URL => new URL(`data:text/javascript,${encodeURIComponent(source)}`)
const input = (n: number): Uint8Array => new Uint8Array(Buffer.from(`object ${n} `.repeat(4000)))

async function assertEncodes (pool: CompressPool, count: number): Promise<void> {
  const inputs = Array.from({ length: count }, (_, i) => input(i))
  const stored = await Promise.all(inputs.map(async (b) => await pool.encode(b)))
  for (let i = 0; i < count; i++) {
    assert.ok(Buffer.from(stored[i]!).equals(Buffer.from(encodeStored(inputs[i]!, { level: 3 }))), `object ${i} framed as on the calling thread`)
    assert.ok(Buffer.from(decodeStored(stored[i]!, sha256.digest(inputs[i]!), 'chunk', 1 << 20)).equals(Buffer.from(inputs[i]!)))
  }
}

test('workers that die before they are ready leave the work to the calling thread', HANG_GUARD, async () => {
  const pool = new CompressPool({ level: 3, threads: 2, workerScript: script('throw new Error("this worker cannot load")') })
  try {
    await assertEncodes(pool, 4)
    assert.equal(pool.workers, 0, 'the dead workers were dropped')
  } finally {
    await pool.close()
  }
})

test('a worker that dies with jobs has them done on the calling thread', HANG_GUARD, async () => {
  const dying = script([
    "import { parentPort } from 'node:worker_threads'",
    'parentPort.postMessage({ ready: true })',
    'parentPort.on("message", () => process.exit(3))'
  ].join('\n'))
  const pool = new CompressPool({ level: 3, threads: 2, workerScript: dying })
  try {
    await assertEncodes(pool, 6)
    assert.equal(pool.workers, 0)
  } finally {
    await pool.close()
  }
})

test('live workers frame objects exactly as the calling thread does', HANG_GUARD, async () => {
  const pool = new CompressPool({ level: 3, threads: 2 })
  try {
    await assertEncodes(pool, 6)
    assert.equal(pool.workers, 2)
  } finally {
    await pool.close()
  }
})
