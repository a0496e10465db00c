/**
 * Range planning and the multipart/byteranges parser against models
 * (fast-check): every requested byte is covered exactly once by the plan,
 * every well-formed body parses back to its parts however it is chunked,
 * and every truncated or overlong body is refused with its own code.
 */
import { test } from 'node:test'
import assert from 'node:assert/strict'
import fc from 'fast-check'
import { batchSpans, checkRanges, coalesce, rangeHeaderValue } from '../../../src/distribution/client/ranges.js'
import { byterangesBoundary, parseByteranges, type BytePart } from '../../../src/distribution/client/multipart.js'
import type { ByteRange } from '../../../src/distribution/client/types.js'

const rangesOf = (size: number): fc.Arbitrary<ByteRange[]> => fc.array(
  fc.nat(size).chain((offset) => fc.nat(size - offset).map((length) => ({ offset, length }))),
  { maxLength: 60 }
)

test('coalesce: sorted disjoint spans, each non-empty request in exactly one span that covers it', () => {
  fc.assert(fc.property(fc.integer({ min: 1, max: 10_000 }).chain((size) => fc.tuple(fc.constant(size), rangesOf(size), fc.nat(2000), fc.integer({ min: 1, max: 20_000 }))), ([size, ranges, gap, maxSpan]) => {
    checkRanges(ranges, size)
    const spans = coalesce(ranges, { gap, maxSpan })
    const seen = new Map<number, number>()
    for (let i = 0; i < spans.length; i++) {
      const s = spans[i]!
      assert.ok(s.start < s.end && s.end <= size)
      if (i > 0) assert.ok(spans[i - 1]!.end < s.start || (spans[i - 1]!.end === s.start && gap === 0) || spans[i - 1]!.end <= s.start, 'disjoint and sorted')
      for (const r of s.requests) {
        seen.set(r, (seen.get(r) ?? 0) + 1)
        assert.ok(ranges[r]!.offset >= s.start && ranges[r]!.offset + ranges[r]!.length <= s.end)
      }
    }
    for (let i = 0; i < ranges.length; i++) assert.equal(seen.get(i) ?? 0, ranges[i]!.length > 0 ? 1 : 0)
    // batches keep every span once, in order, within their bounds
    const batches = batchSpans(spans, { maxRanges: 7, maxHeaderBytes: 80, maxBatchBytes: 3000 })
    assert.deepEqual(batches.flat(), spans)
    for (const b of batches) {
      assert.ok(b.length >= 1 && b.length <= 7)
      if (b.length > 1) {
        assert.ok(rangeHeaderValue(b).length <= 80)
        assert.ok(b.reduce((n, s) => n + s.end - s.start, 0) <= 3000)
      }
    }
  }), { numRuns: 300 })
})

test('checkRanges refuses ranges outside the blob', () => {
  for (const r of [{ offset: -1, length: 1 }, { offset: 0, length: 11 }, { offset: 10, length: 1 }, { offset: 1.5, length: 1 }, { offset: 0, length: Number.NaN }]) {
    assert.throws(() => checkRanges([r], 10), { code: 'ERR_INVALID_RANGE' })
  }
  checkRanges([{ offset: 10, length: 0 }, { offset: 0, length: 10 }], 10)
})

/** A multipart body as Go's net/http writes it (or with a preamble and other header styles). */
function multipartBody (blob: Uint8Array, parts: Array<[number, number]>, boundary: string, style: { preamble: boolean, typeFirst: boolean, epilogue: boolean, star: boolean }): Buffer {
  const out: Buffer[] = []
  if (style.preamble) out.push(Buffer.from('this is a preamble\r\n'))
  parts.forEach(([s, e], i) => {
    out.push(Buffer.from(`${i === 0 ? '' : '\r\n'}--${boundary}\r\n`))
    const cr = `Content-Range: bytes ${s}-${e - 1}/${style.star ? '*' : blob.length}\r\n`
    const ct = 'Content-Type: application/octet-stream\r\n'
    out.push(Buffer.from(`${style.typeFirst ? ct + cr : cr + ct}\r\n`))
    out.push(Buffer.from(blob.subarray(s, e)))
  })
  out.push(Buffer.from(`\r\n--${boundary}--${style.epilogue ? '\r\n' : ''}`))
  return Buffer.concat(out)
}

async function * chunked (bytes: Buffer, cuts: number[]): AsyncGenerator<Uint8Array> {
  let at = 0
  for (const c of [...new Set(cuts.map((x) => x % (bytes.length + 1)))].sort((a, b) => a - b)) {
    if (c > at) { yield bytes.subarray(at, c); at = c }
  }
  if (at < bytes.length) yield bytes.subarray(at)
}

async function parseAll (body: Buffer, cuts: number[], boundary: string, allowed: Array<[number, number]>, size: number): Promise<BytePart[]> {
  const seen = new Set<string>()
  const accept = (s: number, e: number, total: number | undefined): void => {
    if (total !== undefined && total !== size) throw Object.assign(new Error('size'), { code: 'TEST_SIZE' })
    const key = `${s}-${e}`
    if (!allowed.some(([a, b]) => a === s && b === e) || seen.has(key)) throw Object.assign(new Error('not asked'), { code: 'TEST_NOT_ASKED' })
    seen.add(key)
  }
  const out: BytePart[] = []
  for await (const p of parseByteranges(chunked(body, cuts), boundary, accept)) out.push(p)
  return out
}

const caseArb = fc.record({
  blob: fc.uint8Array({ minLength: 1, maxLength: 3000 }),
  cutsA: fc.array(fc.nat(), { maxLength: 5 }),
  points: fc.uniqueArray(fc.nat(3000), { minLength: 2, maxLength: 20 }),
  cuts: fc.array(fc.nat(), { maxLength: 30 }),
  boundary: fc.stringMatching(/^[0-9A-Za-z'()+_,\-./:=?]{1,70}$/),
  style: fc.record({ preamble: fc.boolean(), typeFirst: fc.boolean(), epilogue: fc.boolean(), star: fc.boolean() })
}).map((c) => {
  const pts = [...new Set(c.points.map((p) => p % (c.blob.length + 1)))].sort((a, b) => a - b)
  const parts: Array<[number, number]> = []
  for (let i = 0; i + 1 < pts.length; i += 2) if (pts[i + 1]! > pts[i]!) parts.push([pts[i]!, pts[i + 1]!])
  if (parts.length === 0) parts.push([0, c.blob.length])
  return { ...c, parts }
})

test('parseByteranges returns every part with its bytes, however the body is chunked', async () => {
  await fc.assert(fc.asyncProperty(caseArb, async ({ blob, parts, cuts, boundary, style }) => {
    const body = multipartBody(blob, parts, boundary, style)
    const got = await parseAll(body, cuts, boundary, parts, blob.length)
    assert.deepEqual(got.map((p) => [p.start, p.end]), parts)
    for (const p of got) assert.ok(Buffer.from(p.bytes).equals(Buffer.from(blob.subarray(p.start, p.end))))
  }), { numRuns: 300 })
})

test('parseByteranges refuses every truncation with ERR_REGISTRY_TRUNCATED and overlong parts with ERR_REGISTRY_PROTOCOL', async () => {
  await fc.assert(fc.asyncProperty(caseArb, fc.nat(), async ({ blob, parts, cuts, boundary, style }, where) => {
    const body = multipartBody(blob, parts, boundary, style)
    const closeEnd = body.lastIndexOf(Buffer.from(`--${boundary}--`)) + boundary.length + 4
    const cut = where % closeEnd
    // cut before the first boundary is whole, the body holds no boundary: a protocol error; after, truncated
    const firstBoundaryEnd = body.indexOf(Buffer.from(`--${boundary}`)) + boundary.length + 2
    await assert.rejects(parseAll(body.subarray(0, cut), cuts, boundary, parts, blob.length), { code: cut < firstBoundaryEnd ? 'ERR_REGISTRY_PROTOCOL' : 'ERR_REGISTRY_TRUNCATED' }, `cut at ${cut}`)
    // one byte more inside a part: its boundary is not where the Content-Range says
    const [s] = parts[where % parts.length]!
    const headerEnd = body.indexOf(Buffer.from(`bytes ${s}-`))
    const dataAt = body.indexOf(Buffer.from('\r\n\r\n'), headerEnd) + 4
    const longer = Buffer.concat([body.subarray(0, dataAt), Buffer.from([0x41]), body.subarray(dataAt)])
    await assert.rejects(parseAll(longer, cuts, boundary, parts, blob.length), { code: 'ERR_REGISTRY_PROTOCOL' })
  }), { numRuns: 200 })
})

test('parseByteranges lets the caller refuse a part before it is buffered, and bounds headers, preamble and epilogue', async () => {
  const blob = new Uint8Array(100).map((_, i) => i)
  const b = 'BOUNDARY'
  const ok = multipartBody(blob, [[0, 10], [20, 30]], b, { preamble: false, typeFirst: false, epilogue: true, star: false })
  // a part not asked for (the accept function throws) stops the parse with its error
  await assert.rejects(parseAll(ok, [], b, [[0, 10]], 100), { code: 'TEST_NOT_ASKED' })
  // a repeated part
  const twice = multipartBody(blob, [[0, 10], [0, 10]], b, { preamble: false, typeFirst: false, epilogue: true, star: false })
  await assert.rejects(parseAll(twice, [], b, [[0, 10]], 100), { code: 'TEST_NOT_ASKED' })
  // a huge declared part is refused by accept, never allocated
  const huge = Buffer.from(`--${b}\r\nContent-Range: bytes 0-999999999999/1000000000000\r\n\r\nxx`)
  await assert.rejects(parseAll(huge, [], b, [[0, 10]], 100), { code: 'TEST_SIZE' })
  const cases: Array<[string, Buffer]> = [
    ['no content-range', Buffer.from(`--${b}\r\nContent-Type: x\r\n\r\n0123456789\r\n--${b}--`)],
    ['bad content-range', Buffer.from(`--${b}\r\nContent-Range: bytes 9-0/100\r\n\r\n0123456789\r\n--${b}--`)],
    ['two content-ranges', Buffer.from(`--${b}\r\nContent-Range: bytes 0-9/100\r\nContent-Range: bytes 0-9/100\r\n\r\n0123456789\r\n--${b}--`)],
    ['folded header', Buffer.from(`--${b}\r\nContent-Range: bytes 0-9/100\r\n  folded\r\n\r\n0123456789\r\n--${b}--`)],
    ['headers too long', Buffer.from(`--${b}\r\nX: ${'y'.repeat(10_000)}\r\n\r\n`)],
    ['preamble too long', Buffer.concat([Buffer.alloc(5000, 0x20), Buffer.from(`\r\n--${b}\r\n`)])],
    ['no parts', Buffer.from(`--${b}--`)],
    ['garbage after the boundary', Buffer.from(`--${b}x\r\nContent-Range: bytes 0-9/100\r\n\r\n0123456789\r\n--${b}--`)],
    ['epilogue too long', Buffer.concat([Buffer.from(`--${b}\r\nContent-Range: bytes 0-9/100\r\n\r\n`), Buffer.from(blob.subarray(0, 10)), Buffer.from(`\r\n--${b}--`), Buffer.alloc(5000, 0x41)])]
  ]
  for (const [name, body] of cases) {
    await assert.rejects(parseAll(body, [3, 17, 40], b, [[0, 10]], 100), { code: 'ERR_REGISTRY_PROTOCOL' }, name)
  }
  assert.equal(byterangesBoundary('multipart/byteranges; boundary=abc'), 'abc')
  assert.equal(byterangesBoundary('Multipart/Byteranges;boundary="a b:c"'), 'a b:c')
  assert.equal(byterangesBoundary('multipart/mixed; boundary=abc'), undefined)
  assert.equal(byterangesBoundary(`multipart/byteranges; boundary=${'a'.repeat(71)}`), undefined)
  assert.equal(byterangesBoundary('multipart/byteranges; boundary=""'), undefined)
  assert.equal(byterangesBoundary('multipart/byteranges'), undefined)
})
