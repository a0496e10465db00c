/**
 * The mount's chunk cache on its own (no FUSE needed): one fetch per chunk
 * however many readers want it, at most `maxInFlight` fetches at once, a
 * byte bound that holds, failures not cached.
 */
import { test } from 'node:test'
import assert from 'node:assert/strict'
import { createHash } from 'node:crypto'
import { IntegrityError } from '../../src/errors.js'
import { ChunkCache } from '../../src/mount/chunk-cache.js'
import type { SnapshotSource } from '../../src/store/index.js'

const chunk = (i: number, n = 1000): Uint8Array => Buffer.alloc(n, i)
const digestOf = (b: Uint8Array): Uint8Array => createHash('sha256').update(b).digest()

/** A source of chunks 0…count-1 that records its calls and how many run at once; chunk `bad` fails. */
function source (count: number, options: { bad?: number } = {}): SnapshotSource & { calls: number, running: number, maxRunning: number, release: () => void } {
  const byKey = new Map<string, Uint8Array>()
  for (let i = 0; i < count; i++) { const c = chunk(i); byKey.set(Buffer.from(digestOf(c)).toString('hex'), c) }
  let gate: Promise<void> = new Promise(() => {})
  let open = (): void => {}
  gate = new Promise((resolve) => { open = resolve })
  const s = {
    calls: 0,
    running: 0,
    maxRunning: 0,
    release: () => { open() },
    getChunk: async (d: Uint8Array) => {
      s.calls++
      s.running++
      s.maxRunning = Math.max(s.maxRunning, s.running)
      try {
        await gate
        const c = byKey.get(Buffer.from(d).toString('hex'))!
        if (options.bad !== undefined && c[0] === options.bad) throw new IntegrityError('chunk does not match its digest')
        return c
      } finally { s.running-- }
    },
    getTree: async () => { throw new Error('no trees') },
    getSnapshot: async () => { throw new Error('no snapshots') },
    getRef: async () => undefined
  }
  return s
}

test('readers of one chunk share one fetch, and fetches are bounded', async () => {
  const s = source(20)
  const cache = new ChunkCache(s, { maxInFlight: 3 })
  const reads = [...Array.from({ length: 20 }, (_, i) => digestOf(chunk(i))), ...Array.from({ length: 20 }, (_, i) => digestOf(chunk(i)))]
    .map(async (d) => await cache.getChunk(d))
  await new Promise((resolve) => setImmediate(resolve))
  assert.equal(s.maxRunning, 3)
  s.release()
  const got = await Promise.all(reads)
  for (let i = 0; i < 40; i++) assert.deepEqual(got[i], chunk(i % 20))
  assert.equal(s.calls, 20)
  assert.ok(s.maxRunning <= 3)
  assert.deepEqual({ ...cache.stats, bytes: undefined }, { hits: 20, fetches: 20, failures: 0, bytes: undefined })
  // Warm: no more fetches.
  await cache.getChunk(digestOf(chunk(7)))
  assert.equal(s.calls, 20)
})

test('the cache keeps at most maxBytes, dropping the least recently used', async () => {
  const s = source(10)
  s.release()
  const cache = new ChunkCache(s, { maxBytes: 3500 })
  for (let i = 0; i < 10; i++) await cache.getChunk(digestOf(chunk(i)))
  assert.equal(cache.stats.bytes, 3000)
  await cache.getChunk(digestOf(chunk(7))) // 7, 8, 9 are kept
  assert.equal(s.calls, 10)
  await cache.getChunk(digestOf(chunk(0)))
  assert.equal(s.calls, 11)
  assert.ok(cache.stats.bytes <= 3500)
})

test('a failed fetch is not cached: the next read tries again', async () => {
  const s = source(3, { bad: 1 })
  s.release()
  const cache = new ChunkCache(s)
  await assert.rejects(cache.getChunk(digestOf(chunk(1))), { code: 'ERR_INTEGRITY' })
  await assert.rejects(cache.getChunk(digestOf(chunk(1))), { code: 'ERR_INTEGRITY' })
  assert.equal(s.calls, 2)
  assert.equal(cache.stats.failures, 2)
  assert.equal(cache.stats.bytes, 0)
})

test('read-ahead queues behind reads, and a read of a chunk warmed but not yet fetched costs one fetch', async () => {
  const s = source(4)
  const order: number[] = []
  const inner = s.getChunk
  s.getChunk = async (d: Uint8Array) => { const c = await inner(d); order.push(c[0]!); return c }
  const cache = new ChunkCache(s, { maxInFlight: 1 })
  const d = (i: number): Uint8Array => digestOf(chunk(i))
  cache.warm(d(0)) // takes the only slot
  cache.warm(d(1))
  cache.warm(d(2))
  const read2 = cache.getChunk(d(2)) // goes before the queued read-ahead of 1
  const read3 = cache.getChunk(d(3))
  s.release()
  assert.deepEqual(await read2, chunk(2))
  assert.deepEqual(await read3, chunk(3))
  await cache.getChunk(d(1))
  assert.deepEqual(order.slice(0, 3), [0, 2, 3])
  assert.equal(s.calls, 4, 'each chunk fetched once')
})
