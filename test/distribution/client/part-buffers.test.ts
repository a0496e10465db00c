/**
 * The recycled part buffers of ranged answers: a buffer given back is the
 * next one taken, parts bigger than a slot get their own, and buffers the
 * pool did not hand out (or got back already) are not taken in.
 */
import { test } from 'node:test'
import assert from 'node:assert/strict'
import { PART_SLOT_BYTES, PartBuffers } from '../../../src/distribution/client/part-buffers.js'

test('a part buffer given back is reused; big parts and foreign buffers are not pooled', () => {
  const pool = new PartBuffers()
  const a = pool.take(1000)
  assert.equal(a.length, 1000)
  assert.ok(a.buffer instanceof SharedArrayBuffer)
  const b = pool.take(PART_SLOT_BYTES)
  assert.notEqual(a.buffer, b.buffer, 'two parts taken at once never share a buffer')
  pool.give(a.buffer)
  const c = pool.take(10)
  assert.equal(c.buffer, a.buffer, 'the buffer given back is taken again')
  assert.equal(c.byteOffset, 0)
  assert.equal(c.length, 10)
  // given back twice: pooled once, so two takes still get two buffers
  pool.give(b.buffer)
  pool.give(b.buffer)
  const d = pool.take(1)
  const e = pool.take(1)
  assert.equal(d.buffer, b.buffer)
  assert.notEqual(e.buffer, b.buffer)
  // a foreign buffer of the slot size is ignored
  const foreign = new SharedArrayBuffer(PART_SLOT_BYTES)
  pool.give(foreign)
  assert.notEqual(pool.take(1).buffer, foreign)
  // a part over the slot size gets a buffer of its own, never pooled
  const big = pool.take(PART_SLOT_BYTES + 1)
  assert.equal(big.buffer.byteLength, PART_SLOT_BYTES + 1)
  pool.give(big.buffer)
  assert.notEqual(pool.take(PART_SLOT_BYTES).buffer, big.buffer)
})
