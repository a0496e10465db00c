/**
 * The strict canonical reader against the check it replaced: decode with
 * msgpackr, check the value shapes, re-encode and compare (fast-check).
 * Both must accept exactly the same bytes, with the same values, over
 * canonical encodings, the same values in any other valid encoding
 * (longer integer, length and array forms, floats, int64/uint64), other
 * MessagePack types, byte mutations, truncations and random bytes.
 */
import { test } from 'node:test'
import assert from 'node:assert/strict'
import fc from 'fast-check'
import { Packr, Unpackr } from 'msgpackr'
import { decodeCanonical, encodeCanonical, type CanonicalValue } from '../../src/format/canonical.js'

// The reference: the decoder before the strict reader, as it was.
const packr = new Packr({ useRecords: false, mapsAsObjects: false, variableMapSize: true, useFloat32: 0, int64AsType: 'bigint', moreTypes: false, structuredClone: false })
const unpackr = new Unpackr({ useRecords: false, mapsAsObjects: false, int64AsType: 'bigint', moreTypes: false, structuredClone: false })
const SMALL_MIN = -(2 ** 31)
const SMALL_MAX = 2 ** 32 - 1
function checkShape (value: unknown, depth: number): void {
  if (depth > 64) throw new Error('deep')
  if (typeof value === 'number') { if (!Number.isInteger(value) || value < SMALL_MIN || value > SMALL_MAX) throw new Error('number'); return }
  if (typeof value === 'bigint') {
    if (value >= BigInt(SMALL_MIN) && value <= BigInt(SMALL_MAX)) throw new Error('short bigint')
    if (value < -(2n ** 63n) || value > 2n ** 63n - 1n) throw new Error('uint64')
    return
  }
  if (value instanceof Uint8Array) return
  if (Array.isArray(value)) { for (const item of value) checkShape(item, depth + 1); return }
  throw new Error('type')
}
function reference (bytes: Uint8Array): { ok: true, value: unknown } | { ok: false } {
  try {
    const b = Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength)
    const value = unpackr.unpack(b)
    checkShape(value, 0)
    const again = packr.pack(value)
    return again.length === b.length && Buffer.compare(again, b) === 0 ? { ok: true, value } : { ok: false }
  } catch {
    return { ok: false }
  }
}
function strict (bytes: Uint8Array): { ok: true, value: unknown } | { ok: false } {
  try {
    return { ok: true, value: decodeCanonical(bytes) }
  } catch (err) {
    assert.equal((err as { code?: string }).code, 'ERR_NON_CANONICAL', String(err))
    return { ok: false }
  }
}
const plain = (v: unknown): unknown => v instanceof Uint8Array ? Buffer.from(v).toString('hex') : Array.isArray(v) ? v.map(plain) : v
function agree (bytes: Uint8Array): void {
  const a = reference(bytes)
  const b = strict(bytes)
  const hex = Buffer.from(bytes).toString('hex').slice(0, 200)
  assert.equal(b.ok, a.ok, `${hex}: reference ${a.ok ? 'accepts' : 'rejects'}`)
  if (a.ok && b.ok) assert.deepEqual(plain(b.value), plain(a.value), hex)
}

const arbInt = fc.oneof(fc.integer({ min: -200, max: 200 }), fc.integer({ min: SMALL_MIN, max: SMALL_MAX }), fc.bigInt({ min: -(2n ** 63n), max: 2n ** 63n - 1n }), fc.constantFrom(0x7f, 0x80, 0xff, 0x100, 0xffff, 0x10000, -32, -33, -128, -129, -32768, -32769, SMALL_MIN, SMALL_MAX, 2n ** 32n, BigInt(SMALL_MIN) - 1n))
const { value: arbValue } = fc.letrec<{ value: CanonicalValue }>((tie) => ({
  value: fc.oneof({ depthSize: 'small', withCrossShrink: true }, arbInt as fc.Arbitrary<CanonicalValue>, fc.uint8Array({ maxLength: 300 }), fc.array(tie('value'), { maxLength: 20 }))
}))

// Any valid MessagePack encoding of a value: each integer, length and array header in a width picked at random (a canonical one among them).
function loose (value: CanonicalValue, pick: () => number): Uint8Array[] {
  const out: Uint8Array[] = []
  const be = (n: number | bigint, bytes: number, signed: boolean): Buffer => {
    const b = Buffer.alloc(bytes)
    if (bytes === 8) { if (signed) b.writeBigInt64BE(BigInt(n)); else b.writeBigUInt64BE(BigInt(n)) } else if (signed) b.writeIntBE(Number(n), 0, bytes); else b.writeUIntBE(Number(n), 0, bytes)
    return b
  }
  const int = (v: number | bigint): void => {
    const n = BigInt(v)
    const forms: Array<() => Uint8Array> = []
    if (n >= 0n && n < 128n) forms.push(() => Buffer.from([Number(n)]))
    if (n >= -32n && n < 0n) forms.push(() => Buffer.from([Number(n) + 256]))
    if (n >= 0n && n < 256n) forms.push(() => Buffer.concat([Buffer.from([0xcc]), be(n, 1, false)]))
    if (n >= 0n && n < 65536n) forms.push(() => Buffer.concat([Buffer.from([0xcd]), be(n, 2, false)]))
    if (n >= 0n && n < 2n ** 32n) forms.push(() => Buffer.concat([Buffer.from([0xce]), be(n, 4, false)]))
    if (n >= 0n && n < 2n ** 64n) forms.push(() => Buffer.concat([Buffer.from([0xcf]), be(n, 8, false)]))
    if (n >= -128n && n < 128n) forms.push(() => Buffer.concat([Buffer.from([0xd0]), be(n, 1, true)]))
    if (n >= -32768n && n < 32768n) forms.push(() => Buffer.concat([Buffer.from([0xd1]), be(n, 2, true)]))
    if (n >= -(2n ** 31n) && n < 2n ** 31n) forms.push(() => Buffer.concat([Buffer.from([0xd2]), be(n, 4, true)]))
    forms.push(() => Buffer.concat([Buffer.from([0xd3]), be(n, 8, true)]))
    if (n >= -(2n ** 53n) && n <= 2n ** 53n) forms.push(() => { const b = Buffer.alloc(9); b[0] = 0xcb; b.writeDoubleBE(Number(n), 1); return b })
    out.push(forms[pick() % forms.length]!())
  }
  const header = (len: number, fix: number | undefined, fixMax: number, codes: [number, number, number]): void => {
    const forms: Array<() => Uint8Array> = []
    if (fix !== undefined && len <= fixMax) forms.push(() => Buffer.from([fix + len]))
    if (codes[0] !== 0 && len < 256) forms.push(() => Buffer.from([codes[0], len]))
    if (len < 65536) forms.push(() => Buffer.concat([Buffer.from([codes[1]]), be(len, 2, false)]))
    forms.push(() => Buffer.concat([Buffer.from([codes[2]]), be(len, 4, false)]))
    out.push(forms[pick() % forms.length]!())
  }
  const walk = (v: CanonicalValue): void => {
    if (typeof v === 'number' || typeof v === 'bigint') int(v)
    else if (v instanceof Uint8Array) { header(v.length, undefined, 0, [0xc4, 0xc5, 0xc6]); out.push(v) } else { header(v.length, 0x90, 15, [0, 0xdc, 0xdd]); for (const x of v) walk(x) }
  }
  walk(value)
  return out
}

test('the strict reader accepts exactly what decode, shape check and re-encode accepted (property)', () => {
  fc.assert(fc.property(arbValue, fc.array(fc.nat(), { minLength: 1, maxLength: 50 }), (value, picks) => {
    agree(encodeCanonical(value))
    let k = 0
    agree(Buffer.concat(loose(value, () => picks[k++ % picks.length]!)))
  }), { numRuns: 2000 })
})

test('the strict reader agrees with the old check on mutated, cut and extended encodings (property)', () => {
  fc.assert(fc.property(arbValue, fc.nat(), fc.integer({ min: 0, max: 255 }), fc.constantFrom('set', 'insert', 'delete', 'cut', 'append'), (value, at, byte, how) => {
    const enc = Buffer.from(encodeCanonical(value))
    const i = enc.length === 0 ? 0 : at % enc.length
    let bytes: Buffer
    if (how === 'set') { bytes = Buffer.from(enc); bytes[i] = byte } else if (how === 'insert') bytes = Buffer.concat([enc.subarray(0, i), Buffer.from([byte]), enc.subarray(i)])
    else if (how === 'delete') bytes = Buffer.concat([enc.subarray(0, i), enc.subarray(i + 1)])
    else if (how === 'cut') bytes = enc.subarray(0, i)
    else bytes = Buffer.concat([enc, Buffer.from([byte])])
    agree(bytes)
  }), { numRuns: 3000 })
})

test('the strict reader agrees with the old check on random bytes and other MessagePack types', () => {
  fc.assert(fc.property(fc.uint8Array({ maxLength: 40 }), (bytes) => { agree(bytes) }), { numRuns: 3000 })
  for (const v of ['a', null, true, false, 1.5, -0.0, new Map([[1, 2]]), [1, 'x'], { a: 1 }, 2n ** 64n - 1n]) agree(new Packr({ useRecords: false }).pack(v))
  // nesting: 64 levels of arrays around a value are accepted, 65 are not
  const nest = (n: number): Uint8Array => Buffer.concat([Buffer.alloc(n, 0x91), Buffer.from([0x01])])
  agree(nest(64))
  agree(nest(65))
  assert.doesNotThrow(() => decodeCanonical(nest(64)))
  assert.throws(() => decodeCanonical(nest(65)), { code: 'ERR_NON_CANONICAL' })
  // a huge declared count with nothing behind it is refused at once
  assert.throws(() => decodeCanonical(Buffer.from('ddffffffff', 'hex')), { code: 'ERR_NON_CANONICAL' })
})
