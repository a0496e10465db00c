import { test } from 'node:test'
import assert from 'node:assert/strict'
import fc from 'fast-check'
import { BatchedGetter } from '../../src/store/batched-get.js'

/** A keyspace that records each getMany call; values are `v<key>`, absent for negative keys. */
function source (delayMs = 0): { calls: number[][], getMany: (keys: number[]) => Promise<Array<string | undefined>> } {
  const calls: number[][] = []
  return {
    calls,
    getMany: async (keys) => {
      calls.push([...keys])
      if (delayMs > 0) await new Promise((resolve) => setTimeout(resolve, delayMs))
      return keys.map((k) => k < 0 ? undefined : `v${k}`)
    }
  }
}

test('BatchedGetter: requests of one turn share one getMany, each gets its own values in order', async () => {
  const src = source()
  const getter = new BatchedGetter(src)
  const [a, b, c] = await Promise.all([getter.getMany([1, 2]), getter.getMany([3]), getter.getMany([-1, 4])])
  assert.deepEqual(a, ['v1', 'v2'])
  assert.deepEqual(b, ['v3'])
  assert.deepEqual(c, [undefined, 'v4'])
  assert.deepEqual(src.calls, [[1, 2, 3, -1, 4]])
})

test('BatchedGetter: while maxInFlight calls run, new requests wait and then go out together', async () => {
  const src = source(20)
  const getter = new BatchedGetter(src, { maxInFlight: 1 })
  const first = getter.getMany([1])
  await new Promise((resolve) => setImmediate(resolve)) // the first call is under way
  const later = [getter.getMany([2]), getter.getMany([3]), getter.getMany([4])]
  assert.deepEqual(await first, ['v1'])
  assert.deepEqual(await Promise.all(later), [['v2'], ['v3'], ['v4']])
  assert.deepEqual(src.calls, [[1], [2, 3, 4]])
})

test('BatchedGetter: batches hold whole requests up to maxBatch keys; a bigger request goes alone', async () => {
  const src = source()
  const getter = new BatchedGetter(src, { maxBatch: 3, maxInFlight: 8 })
  const results = await Promise.all([getter.getMany([1, 2]), getter.getMany([3, 4]), getter.getMany([5, 6, 7, 8]), getter.getMany([9])])
  assert.deepEqual(results, [['v1', 'v2'], ['v3', 'v4'], ['v5', 'v6', 'v7', 'v8'], ['v9']])
  assert.deepEqual(src.calls, [[1, 2], [3, 4], [5, 6, 7, 8], [9]])
})

test('BatchedGetter: a failed getMany rejects the requests it carried, and later ones still work', async () => {
  let fail = true
  const getter = new BatchedGetter<number, string>({
    getMany: async (keys) => {
      if (fail) { fail = false; throw new Error('disk on fire') }
      return keys.map((k) => `v${k}`)
    }
  })
  const results = await Promise.allSettled([getter.getMany([1]), getter.getMany([2])])
  assert.deepEqual(results.map((r) => r.status), ['rejected', 'rejected'])
  assert.match(String((results[0] as PromiseRejectedResult).reason), /disk on fire/)
  assert.deepEqual(await getter.getMany([3]), ['v3'])
  assert.deepEqual(await getter.getMany([]), [])
})

test('BatchedGetter: any interleaving of requests returns what each asked for (property)', async () => {
  await fc.assert(fc.asyncProperty(
    fc.array(fc.record({ keys: fc.array(fc.integer({ min: -5, max: 50 }), { maxLength: 6 }), waitTurn: fc.boolean() }), { maxLength: 30 }),
    fc.integer({ min: 1, max: 3 }),
    fc.integer({ min: 1, max: 8 }),
    async (requests, maxInFlight, maxBatch) => {
      const src = source(1)
      const getter = new BatchedGetter(src, { maxInFlight, maxBatch })
      const pending: Array<Promise<Array<string | undefined>>> = []
      for (const r of requests) {
        if (r.waitTurn) await new Promise((resolve) => setImmediate(resolve))
        pending.push(getter.getMany(r.keys))
      }
      const results = await Promise.all(pending)
      for (let i = 0; i < requests.length; i++) assert.deepEqual(results[i], requests[i]!.keys.map((k) => k < 0 ? undefined : `v${k}`))
      // Every key asked for went out exactly once, in order.
      assert.deepEqual(src.calls.flat(), requests.flatMap((r) => r.keys))
      for (const call of src.calls) assert.ok(call.length <= maxBatch || requests.some((r) => r.keys.length === call.length))
    }
  ), { numRuns: 100 })
})
