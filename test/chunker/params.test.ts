/**
 * Chunker parameter rules of docs/FORMAT.md §2: integers,
 * `64 ≤ min ≤ avg ≤ max`, `256 ≤ avg`, `1024 ≤ max ≤ 64 MiB`, `min < max`.
 */
import { test } from 'node:test'
import assert from 'node:assert/strict'
import { inspect } from 'node:util'
import fc from 'fast-check'
import {
  chunkBuffer,
  createChunker,
  DEFAULT_CHUNKER_PARAMS,
  validateChunkerParams,
  type ChunkerParams
} from '../../src/chunker/index.js'
import { InvalidChunkerParamsError } from '../../src/errors.js'

const MiB = 1024 * 1024

/** The rules, written independently of the implementation. */
function isValid (p: { min: number, avg: number, max: number }): boolean {
  const { min, avg, max } = p
  return [min, avg, max].every(Number.isInteger) &&
    min >= 64 && min <= avg && avg <= max && avg >= 256 &&
    max >= 1024 && max <= 64 * MiB && min < max
}

function assertRejected (p: unknown): void {
  assert.throws(() => validateChunkerParams(p as ChunkerParams), (err: unknown) => {
    assert.ok(err instanceof RangeError, 'a RangeError')
    assert.ok(err instanceof InvalidChunkerParamsError)
    assert.equal((err as InvalidChunkerParamsError).code, 'ERR_INVALID_CHUNKER_PARAMS')
    return true
  }, inspect(p))
}

test('defaults are 16 KiB / 64 KiB / 256 KiB, valid and frozen', () => {
  assert.deepEqual({ ...DEFAULT_CHUNKER_PARAMS }, { min: 16384, avg: 65536, max: 262144 })
  assert.ok(Object.isFrozen(DEFAULT_CHUNKER_PARAMS))
  assert.deepEqual(validateChunkerParams(DEFAULT_CHUNKER_PARAMS), DEFAULT_CHUNKER_PARAMS)
})

test('valid params pass and come back as a frozen copy of min/avg/max', () => {
  for (const p of [
    { min: 64, avg: 256, max: 1024 },
    { min: 256, avg: 256, max: 1024 },
    { min: 1023, avg: 1023, max: 1024 },
    { min: 64, avg: 1024, max: 1024 },
    { min: 100, avg: 300, max: 1500 },
    { min: 64, avg: 256, max: 64 * MiB },
    { min: 64 * MiB - 1, avg: 64 * MiB, max: 64 * MiB }
  ]) {
    const out = validateChunkerParams({ ...p, extra: 1 } as unknown as ChunkerParams)
    assert.deepEqual(out, p)
    assert.ok(Object.isFrozen(out))
  }
})

test('invalid params throw RangeError ERR_INVALID_CHUNKER_PARAMS', () => {
  for (const p of [
    { min: 63, avg: 256, max: 1024 }, // min < 64
    { min: 64, avg: 255, max: 1024 }, // avg < 256
    { min: 64, avg: 256, max: 1023 }, // max < 1024
    { min: 64, avg: 256, max: 64 * MiB + 1 }, // max > 64 MiB
    { min: 64, avg: 256, max: 2 ** 31 },
    { min: 512, avg: 256, max: 1024 }, // min > avg
    { min: 64, avg: 2048, max: 1024 }, // avg > max
    { min: 1024, avg: 1024, max: 1024 }, // min = max
    { min: 64.5, avg: 256, max: 1024 }, // not integers
    { min: 64, avg: 256.25, max: 1024 },
    { min: 64, avg: 256, max: 1024.5 },
    { min: NaN, avg: 256, max: 1024 },
    { min: 64, avg: NaN, max: 1024 },
    { min: 64, avg: 256, max: Infinity },
    { min: -64, avg: 256, max: 1024 },
    { min: '64', avg: 256, max: 1024 }, // wrong types
    { min: 64n, avg: 256, max: 1024 },
    { avg: 256, max: 1024 }, // missing
    { min: 64, avg: 256 },
    {},
    null,
    undefined,
    42
  ]) assertRejected(p)
})

test('property: validateChunkerParams accepts exactly the FORMAT.md §2 rules', () => {
  const n = fc.oneof(
    fc.integer({ min: -10, max: 70 * MiB }),
    fc.constantFrom(63, 64, 255, 256, 1023, 1024, 64 * MiB, 64 * MiB + 1),
    fc.double({ noDefaultInfinity: false })
  )
  fc.assert(fc.property(n, n, n, (min, avg, max) => {
    const p = { min, avg, max }
    if (isValid(p)) assert.deepEqual(validateChunkerParams(p), p)
    else assertRejected(p)
  }), { numRuns: 2000 })
})

test('chunker entry points validate before reaching fastcdc-wasm', () => {
  const bad = { min: 32, avg: 64, max: 128 } // would trap inside the wasm module
  assert.throws(() => chunkBuffer(new Uint8Array(4096), bad), InvalidChunkerParamsError)
  assert.throws(() => createChunker(bad), InvalidChunkerParamsError)
  // and the wasm module is still usable afterwards
  assert.deepEqual(chunkBuffer(new Uint8Array(2048), { min: 64, avg: 256, max: 1024 }), [1024, 1024])
})
