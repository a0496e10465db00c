import { test } from 'node:test'
import assert from 'node:assert/strict'
import fc from 'fast-check'
import { Limiter } from '../../src/util/limiter.js'

test('Limiter: refuses a limit that is not a positive integer', () => {
  for (const bad of [0, -1, 1.5, Number.NaN]) assert.throws(() => new Limiter(bad), RangeError)
})

test('Limiter: never runs more than limit tasks, and waiting tasks start highest priority first, FIFO among equals (property)', async () => {
  await fc.assert(fc.asyncProperty(
    fc.integer({ min: 1, max: 4 }),
    fc.array(fc.integer({ min: 0, max: 3 }), { minLength: 1, maxLength: 40 }),
    async (limit, priorities) => {
      const limiter = new Limiter(limit)
      let running = 0
      let most = 0
      const started: number[] = []
      const releases: Array<() => void> = []
      const tasks = priorities.map(async (priority, i) => await limiter.run(async () => {
        started.push(i)
        running++
        most = Math.max(most, running)
        await new Promise<void>((resolve) => releases.push(resolve))
        running--
      }, priority))
      // Let the first `limit` start, then queue is complete: release one at a time.
      for (let done = 0; done < priorities.length; done++) {
        while (releases.length === 0) await new Promise((resolve) => setImmediate(resolve))
        releases.shift()!()
        await new Promise((resolve) => setImmediate(resolve))
      }
      await Promise.all(tasks)
      assert.ok(most <= limit)
      assert.equal(limiter.waiting, 0)
      // The first `limit` tasks start at once (in order); the rest by priority, then arrival.
      const head = priorities.slice(0, limit).map((_, i) => i)
      const rest = priorities.map((p, i) => ({ p, i })).slice(limit).sort((a, b) => b.p - a.p || a.i - b.i).map((x) => x.i)
      assert.deepEqual(started, [...head, ...rest])
    }
  ), { numRuns: 100 })
})
