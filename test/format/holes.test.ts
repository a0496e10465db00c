/**
 * Holes (docs/FORMAT.md §2.1): the splitter against a direct reading of the
 * rule over random files fed in random pieces, with zeros given as bytes or
 * as counts (sizes well past 2^32 included), and the decoder's checks of
 * where holes may be.
 */
import { test } from 'node:test'
import assert from 'node:assert/strict'
import fc from 'fast-check'
import { HoleSplitter } from '../../src/content/holes.js'
import { encodeCanonical } from '../../src/format/canonical.js'
import { HOLE_BLOCK, HOLE_MIN } from '../../src/format/entry.js'
import { decodeTree } from '../../src/format/tree.js'

type Out = Array<Uint8Array | number>

/** The rule read directly: classify every block of `bytes`, runs of >= HOLE_MIN zero-block bytes are holes. */
function reference (bytes: Uint8Array): Out {
  const out: Out = []
  let data: number[] = []
  let run = 0
  const flush = (): void => {
    if (run >= HOLE_MIN) {
      if (data.length > 0) out.push(Uint8Array.from(data))
      data = []
      out.push(run)
    } else {
      for (let i = 0; i < run; i++) data.push(0)
    }
    run = 0
  }
  for (let at = 0; at < bytes.length; at += HOLE_BLOCK) {
    const block = bytes.subarray(at, at + HOLE_BLOCK)
    if (block.every((c) => c === 0)) { run += block.length; continue }
    flush()
    data.push(...block)
  }
  flush()
  if (data.length > 0) out.push(Uint8Array.from(data))
  return out
}

/** Run the splitter; consecutive data are merged for comparison. */
function split (feed: (s: HoleSplitter) => void): Out {
  const out: Out = []
  const s = new HoleSplitter({
    data: (b) => {
      const last = out[out.length - 1]
      if (last instanceof Uint8Array) out[out.length - 1] = Uint8Array.from(Buffer.concat([last, b]))
      else out.push(Uint8Array.from(b))
    },
    hole: (n) => { out.push(n) }
  })
  feed(s)
  s.finish()
  return out
}

/** A file as runs of data (non-zero bytes, with some zeros) and zeros, block-aligned or not. */
const fileArb = fc.array(fc.oneof(
  fc.record({ zero: fc.constant(false), length: fc.integer({ min: 1, max: 9000 }), seed: fc.integer({ min: 1, max: 250 }) }),
  fc.record({ zero: fc.constant(true), length: fc.oneof(fc.integer({ min: 1, max: 9000 }), fc.integer({ min: 60000, max: 200000 }), fc.constantFrom(4096, 65536, 65535, 69632)), seed: fc.constant(0) })
), { maxLength: 8 })

test('the splitter finds the holes the rule says, however the file is fed', () => {
  fc.assert(fc.property(fileArb, fc.array(fc.integer({ min: 1, max: 70000 }), { minLength: 1, maxLength: 6 }), fc.boolean(), (runs, cuts, asCounts) => {
    const parts = runs.map((r) => r.zero ? new Uint8Array(r.length) : Uint8Array.from({ length: r.length }, (_, i) => (i * r.seed) % 7 === 0 ? 0 : 1 + ((i + r.seed) % 255)))
    const bytes = Uint8Array.from(Buffer.concat(parts))
    const want = reference(bytes)
    // fed as bytes, cut anywhere
    assert.deepEqual(split((s) => {
      let at = 0
      for (let i = 0; at < bytes.length; i++) { const n = cuts[i % cuts.length]!; s.push(bytes.subarray(at, at + n)); at += n }
    }), want)
    // zero runs given as counts (as a sparse tar's holes are), data as bytes
    assert.deepEqual(split((s) => {
      runs.forEach((r, i) => { if (r.zero && asCounts) s.zeros(r.length); else s.push(parts[i]!) })
    }), want)
  }), { numRuns: 300 })
})

test('a hole of terabytes given as a count is one hole, never allocated', () => {
  const size = 2 ** 40 + 1234
  const out = split((s) => { s.push(Uint8Array.of(1)); s.zeros(size - 2); s.push(Uint8Array.of(2)) })
  // the first and last blocks hold data; the zero blocks between are one hole
  assert.equal(out.length, 3)
  assert.equal((out[0] as Uint8Array).length, HOLE_BLOCK)
  assert.equal(out[1], Math.floor((size - 1) / HOLE_BLOCK) * HOLE_BLOCK - HOLE_BLOCK)
  assert.equal((out[2] as Uint8Array).length, size - HOLE_BLOCK - (out[1] as number))
})

test('decoders refuse holes where §2.1 puts none', () => {
  const d = new Uint8Array(32)
  const file = (size: number, content: unknown[]): Uint8Array => encodeCanonical([1, [[Buffer.from('f'), 1, 0o644, 0, 0, 0, [], size, content]]] as never)
  // accepted: data then a hole to the end, a hole then data, one hole
  decodeTree(file(4096 + 65536, [[d, 4096], 65536]))
  decodeTree(file(65536 + 10, [65536, [d, 10]]))
  decodeTree(file(70000, [70000]))
  decodeTree(file(2 ** 40, [2 ** 40]))
  for (const [what, size, content] of [
    ['a hole shorter than 64 KiB', 4096 + 4096, [[d, 4096], 4096]],
    ['a hole starting off a block boundary', 100 + 65536, [[d, 100], 65536]],
    ['a hole not a multiple of 4096 that does not end the file', 70000 + 10, [70000, [d, 10]]],
    ['two holes in a row', 131072, [65536, 65536]],
    ['lengths not adding up to the size', 70000, [65536]],
    ['a hole of length 0', 10, [[d, 10], 0]]
  ] as const) {
    assert.throws(() => decodeTree(file(size, [...content])), (err: unknown) => (err as { code?: string }).code === 'ERR_NON_CANONICAL', what)
  }
})
