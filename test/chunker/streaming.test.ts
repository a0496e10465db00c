/**
 * Streaming and windowed chunking give exactly the boundaries of one
 * `fastcdc-wasm` call over the whole input (docs/FORMAT.md §2), however the
 * input is split into reads and whatever the window size.
 */
import { test } from 'node:test'
import assert from 'node:assert/strict'
import fc from 'fast-check'
import fastcdcWasm from 'fastcdc-wasm'
import {
  chunkBuffer,
  chunkStream,
  createChunker,
  defaultWindowSize,
  DEFAULT_CHUNKER_PARAMS,
  type ChunkerParams
} from '../../src/chunker/index.js'
import { AbortedError, InvalidArgumentError, InvalidChunkerParamsError } from '../../src/errors.js'

const KiB = 1024
const MiB = 1024 * KiB

/** Ground truth: chunk lengths of ONE get_chunks call over the whole input. */
function oneCallLengths (input: Uint8Array, p: ChunkerParams): number[] {
  if (input.length === 0) return []
  const offsets = fastcdcWasm.get_chunks(input.slice(), p.min, p.avg, p.max)
  const lengths: number[] = []
  for (let i = 1; i < offsets.length; i++) lengths.push(offsets[i]! - offsets[i - 1]!)
  return lengths
}

/** xorshift32 filler: fast pseudo-random bytes from a seed. */
function fillRandom (out: Uint8Array, seed: number): void {
  let s = (seed | 0) === 0 ? 0x9e3779b9 : seed | 0
  for (let i = 0; i < out.length; i++) {
    s ^= s << 13; s ^= s >>> 17; s ^= s << 5
    out[i] = s & 0xff
  }
}

type Segment = { kind: 'zeros' | 'random' | 'repeat' | 'lowEntropy', length: number, seed: number }

function buildInput (segments: Segment[]): Uint8Array {
  const total = segments.reduce((n, s) => n + s.length, 0)
  const out = new Uint8Array(total)
  let pos = 0
  for (const s of segments) {
    const part = out.subarray(pos, pos + s.length)
    if (s.kind === 'random') fillRandom(part, s.seed)
    else if (s.kind === 'repeat') { // a short random pattern repeated: long periodic runs
      const pattern = new Uint8Array(1 + (s.seed >>> 0) % 97)
      fillRandom(pattern, s.seed)
      for (let i = 0; i < part.length; i++) part[i] = pattern[i % pattern.length]!
    } else if (s.kind === 'lowEntropy') {
      fillRandom(part, s.seed)
      for (let i = 0; i < part.length; i++) part[i] = part[i]! & 1
    } // zeros: already zero
    pos += s.length
  }
  return out
}

const segmentArb: fc.Arbitrary<Segment> = fc.record({
  kind: fc.constantFrom('zeros' as const, 'random' as const, 'random' as const, 'repeat' as const, 'lowEntropy' as const),
  length: fc.oneof(fc.integer({ min: 0, max: 2 * KiB }), fc.integer({ min: 0, max: 64 * KiB }), fc.integer({ min: 0, max: 768 * KiB })),
  seed: fc.integer()
})

/** Inputs as segment lists (built inside the property, so counterexamples stay readable). */
const inputArb = fc.array(segmentArb, { maxLength: 8 })

/** Valid params: some fixed sets (tiny ones give many boundaries) and random valid ones. */
const paramsArb: fc.Arbitrary<ChunkerParams> = fc.oneof(
  fc.constantFrom<ChunkerParams>(
    { min: 64, avg: 256, max: 1024 },
    { min: 256, avg: 256, max: 1024 },
    { min: 100, avg: 300, max: 1500 },
    { min: 1000, avg: 1000, max: 1024 },
    { min: 2048, avg: 8192, max: 65536 },
    DEFAULT_CHUNKER_PARAMS
  ),
  fc.record({
    min: fc.integer({ min: 64, max: 4096 }),
    avgExtra: fc.integer({ min: 0, max: 16384 }),
    maxExtra: fc.integer({ min: 0, max: 65536 })
  }).map(({ min, avgExtra, maxExtra }) => {
    const avg = Math.max(256, min + avgExtra)
    const max = Math.max(1024, avg, min + 1) + maxExtra
    return { min, avg, max }
  })
)

/** Read sizes: tiny, medium and large reads, and empty ones. */
const readsArb = fc.array(
  fc.oneof(fc.integer({ min: 0, max: 64 }), fc.integer({ min: 1, max: 20000 }), fc.integer({ min: 1, max: 2 * MiB })),
  { minLength: 1, maxLength: 20 }
).filter((reads) => reads.some((n) => n > 0)) // a list of only empty reads would never advance

/** Window: default, exactly max, or a little above max (forces many re-cuts). */
function windowFor (p: ChunkerParams, choice: number, extra: number): number | undefined {
  if (choice === 0) return undefined
  if (choice === 1) return p.max
  return p.max + (extra % (3 * p.max + 1))
}

/** Feed `input` to a fresh chunker in reads of the given sizes (cycled). */
function pushInReads (input: Uint8Array, p: ChunkerParams, reads: number[], windowSize: number | undefined, reuseBuffer: boolean): Uint8Array[] {
  const chunker = createChunker(p, { windowSize })
  const out: Uint8Array[] = []
  const scratch = new Uint8Array(2 * MiB)
  let pos = 0
  let r = 0
  while (pos < input.length) {
    const n = Math.min(reads[r++ % reads.length]!, input.length - pos)
    let piece = input.subarray(pos, pos + n)
    if (reuseBuffer) { // like fs reads into one buffer: the chunker must copy
      scratch.set(piece)
      piece = scratch.subarray(0, n)
    }
    out.push(...chunker.push(piece))
    if (reuseBuffer) scratch.fill(0xa5, 0, n)
    pos += n
  }
  out.push(...chunker.finish())
  return out
}

function assertChunksCover (chunks: Uint8Array[], input: Uint8Array): void {
  let pos = 0
  for (const c of chunks) {
    assert.ok(c.length > 0, 'no chunk is empty')
    assert.ok(pos + c.length <= input.length, 'chunks overrun the input')
    assert.equal(Buffer.compare(c, input.subarray(pos, pos + c.length)), 0, `chunk at ${pos} differs from the input`)
    pos += c.length
  }
  assert.equal(pos, input.length, 'chunks concatenate to the input')
}

/** Current size of fastcdc-wasm's linear memory (it only ever grows). */
function wasmMemoryBytes (): number {
  return (fastcdcWasm as unknown as { __wasm: { memory: { buffer: ArrayBuffer } } }).__wasm.memory.buffer.byteLength
}

test('streaming a large input keeps wasm memory bounded by the window', async () => {
  // 512 MiB streamed through one reused 256 KiB read buffer; the wasm heap
  // must stay near one window (1 MiB) instead of growing with the input.
  // First test of the file, so no earlier call has grown the wasm memory.
  const before = wasmMemoryBytes()
  const read = new Uint8Array(256 * KiB)
  fillRandom(read, 42)
  const total = 512 * MiB
  let seen = 0
  let chunks = 0
  function * source (): Generator<Uint8Array> {
    for (let pos = 0; pos < total; pos += read.length) {
      const i = (pos / read.length) % read.length
      read[i] = read[i]! ^ 0x5a // vary the content between reads
      yield read
    }
  }
  for await (const chunk of chunkStream(source())) { seen += chunk.length; chunks++ }
  assert.equal(seen, total)
  assert.ok(chunks > total / DEFAULT_CHUNKER_PARAMS.max)
  const after = wasmMemoryBytes()
  assert.ok(after - before <= 8 * MiB, `wasm memory grew from ${before} to ${after} bytes`)
})

test('streaming chunks equal one get_chunks call over the whole input, for any reads', () => {
  fc.assert(fc.property(
    inputArb, paramsArb, readsArb, fc.nat(2), fc.nat(), fc.boolean(),
    (segments, p, reads, windowChoice, windowExtra, reuseBuffer) => {
      const input = buildInput(segments)
      const windowSize = windowFor(p, windowChoice, windowExtra)
      const expected = oneCallLengths(input, p)
      const chunks = pushInReads(input, p, reads, windowSize, reuseBuffer)
      assertChunksCover(chunks, input)
      assert.deepEqual(chunks.map(c => c.length), expected)
      assert.deepEqual(chunkBuffer(input, p, { windowSize }), expected)
    }
  ), { numRuns: 120 })
})

test('chunk lengths: at most max, at least min except the last', () => {
  fc.assert(fc.property(inputArb, paramsArb, (segments, p) => {
    const input = buildInput(segments)
    const lengths = chunkBuffer(input, p)
    assert.equal(lengths.reduce((a, b) => a + b, 0), input.length)
    lengths.forEach((n, i) => {
      assert.ok(n <= p.max, `chunk ${i} of ${n} bytes exceeds max ${p.max}`)
      if (i < lengths.length - 1) assert.ok(n >= p.min, `chunk ${i} of ${n} bytes is below min ${p.min}`)
      assert.ok(n > 0)
    })
  }), { numRuns: 80 })
})

test('all zeros: chunks of exactly max, windows ending on a forced cut', () => {
  const p = { min: 64, avg: 256, max: 1024 }
  const input = new Uint8Array(10 * 1024 + 100)
  const expected = [...Array(10).fill(1024), 100]
  assert.deepEqual(oneCallLengths(input, p), expected)
  for (const windowSize of [1024, 2048, 3000]) {
    assert.deepEqual(chunkBuffer(input, p, { windowSize }), expected)
    assert.deepEqual(pushInReads(input, p, [1, 1023, 1024, 5000], windowSize, false).map(c => c.length), expected)
  }
})

test('empty input has no chunks', async () => {
  assert.deepEqual(chunkBuffer(new Uint8Array(0)), [])
  const c = createChunker()
  assert.deepEqual(c.push(new Uint8Array(0)), [])
  assert.deepEqual(c.finish(), [])
  const fromStream: Uint8Array[] = []
  for await (const chunk of chunkStream([new Uint8Array(0), new Uint8Array(0)])) fromStream.push(chunk)
  for await (const chunk of chunkStream([])) fromStream.push(chunk)
  assert.equal(fromStream.length, 0)
})

test('input shorter than min is one chunk', () => {
  const input = new Uint8Array(100).fill(7)
  assert.deepEqual(chunkBuffer(input), [100])
  const c = createChunker()
  assert.deepEqual(c.push(input), [])
  const out = c.finish()
  assert.equal(out.length, 1)
  assert.deepEqual(out[0], input)
})

test('a chunker can be reused after finish', () => {
  const p = { min: 64, avg: 256, max: 1024 }
  const a = buildInput([{ kind: 'random', length: 50000, seed: 1 }])
  const b = buildInput([{ kind: 'random', length: 30000, seed: 2 }])
  const c = createChunker(p)
  const first = [...c.push(a), ...c.finish()]
  const second = [...c.push(b), ...c.finish()]
  assert.deepEqual(first.map(x => x.length), oneCallLengths(a, p))
  assert.deepEqual(second.map(x => x.length), oneCallLengths(b, p))
  assertChunksCover(second, b)
})

test('returned chunks are owned by the caller', () => {
  const p = { min: 64, avg: 256, max: 1024 }
  const input = buildInput([{ kind: 'random', length: 20000, seed: 3 }])
  const copy = input.slice()
  const c = createChunker(p, { windowSize: 1024 })
  const chunks = [...c.push(input)]
  input.fill(0)
  chunks.push(...c.push(new Uint8Array(5000)), ...c.finish())
  const expected = new Uint8Array(25000)
  expected.set(copy)
  assertChunksCover(chunks, expected)
  for (const chunk of chunks) assert.equal(chunk.byteLength, chunk.buffer.byteLength, 'each chunk is a fresh array')
})

test('chunkStream over async and sync sources matches chunkBuffer', async () => {
  const p = { min: 256, avg: 1024, max: 4096 }
  const input = buildInput([
    { kind: 'random', length: 300000, seed: 4 },
    { kind: 'zeros', length: 50000, seed: 0 },
    { kind: 'random', length: 100000, seed: 5 }
  ])
  async function * reads (): AsyncGenerator<Uint8Array> {
    for (let pos = 0; pos < input.length; pos += 12345) {
      await new Promise(resolve => setImmediate(resolve))
      yield input.subarray(pos, pos + 12345)
    }
  }
  const expected = chunkBuffer(input, p)
  const asyncChunks: Uint8Array[] = []
  for await (const c of chunkStream(reads(), { params: p })) asyncChunks.push(c)
  assert.deepEqual(asyncChunks.map(c => c.length), expected)
  assertChunksCover(asyncChunks, input)
  const syncChunks: Uint8Array[] = []
  for await (const c of chunkStream([input.subarray(0, 7), input.subarray(7)], { params: p, windowSize: 4096 })) syncChunks.push(c)
  assert.deepEqual(syncChunks.map(c => c.length), expected)
})

test('abort: an aborted signal stops the stream with AbortedError and closes the source', async () => {
  const p = { min: 64, avg: 256, max: 1024 }
  let closed = false
  let reads = 0
  async function * source (): AsyncGenerator<Uint8Array> {
    try {
      for (;;) { reads++; yield buildInput([{ kind: 'random', length: 4096, seed: reads }]) }
    } finally { closed = true }
  }
  const controller = new AbortController()
  const reason = new Error('stop')
  let seen = 0
  await assert.rejects(async () => {
    for await (const chunk of chunkStream(source(), { params: p, signal: controller.signal, windowSize: 1024 })) {
      assert.ok(chunk.length > 0)
      if (++seen === 20) controller.abort(reason)
    }
  }, (err: unknown) => {
    assert.ok(err instanceof AbortedError)
    assert.equal(err.code, 'ERR_ABORTED')
    assert.equal(err.cause, reason)
    return true
  })
  assert.equal(seen, 20, 'no chunk after the abort')
  assert.ok(closed, 'the source was closed')

  const aborted = AbortSignal.abort()
  const gen = chunkStream([new Uint8Array(10)], { signal: aborted })
  await assert.rejects(gen.next(), { code: 'ERR_ABORTED' })
})

test('bad arguments: params are checked when chunkStream is called; inputs must be bytes', () => {
  assert.throws(() => chunkStream([], { params: { min: 10, avg: 256, max: 1024 } }), InvalidChunkerParamsError)
  assert.throws(() => createChunker({ min: 64, avg: 256, max: 1024 }, { windowSize: 1023 }), InvalidArgumentError)
  assert.throws(() => createChunker(undefined, { windowSize: 1.5 * MiB + 0.5 }), InvalidArgumentError)
  assert.throws(() => chunkBuffer(new Uint8Array(10), { min: 64, avg: 256, max: 1024 }, { windowSize: 2 ** 31 }), InvalidArgumentError)
  assert.throws(() => createChunker().push('text' as unknown as Uint8Array), InvalidArgumentError)
  assert.throws(() => chunkBuffer([1, 2, 3] as unknown as Uint8Array), InvalidArgumentError)
})

test('default window sizes', () => {
  assert.equal(defaultWindowSize(DEFAULT_CHUNKER_PARAMS.max), 1 * MiB)
  assert.equal(defaultWindowSize(1024), 1 * MiB)
  assert.equal(defaultWindowSize(1 * MiB), 4 * MiB)
  assert.equal(defaultWindowSize(64 * MiB), 80 * MiB)
})
