/**
 * The two sha256 implementations (node:crypto and @noble/hashes) agree byte
 * for byte, one-shot and incremental; digest strings follow FORMAT.md §1.
 */
import { test } from 'node:test'
import assert from 'node:assert/strict'
import fc from 'fast-check'
import {
  bytesEqual,
  compareBytes,
  digestToBytes,
  digestToString,
  isDigest,
  nodeSha256,
  parseDigest,
  portableSha256,
  sha256,
  type Hasher
} from '../../src/hash/index.js'
import { InvalidDigestError } from '../../src/errors.js'

const hex = (bytes: Uint8Array): string => Buffer.from(bytes).toString('hex')
const ascii = (text: string): Uint8Array => new TextEncoder().encode(text)

const EMPTY_SHA256 = 'e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855'
const ABC_SHA256 = 'ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad'
/** FIPS 180-2 two-block message. */
const TWO_BLOCK = 'abcdbcdecdefdefgefghfghighijhijkijkljklmklmnlmnomnopnopq'
const TWO_BLOCK_SHA256 = '248d6a61d20638b8e5c026930c3e6039a33ce45964ff2167f6ecedd419db06c1'

const hashers: Array<[string, Hasher]> = [['node', nodeSha256], ['portable', portableSha256]]

/** Hash `bytes` incrementally, cutting it at the given points. */
function incremental (h: Hasher, bytes: Uint8Array, cuts: number[]): Uint8Array {
  const points = [...new Set(cuts.map(c => c % (bytes.length + 1)))].sort((a, b) => a - b)
  const state = h.create()
  let prev = 0
  for (const p of [...points, bytes.length]) {
    state.update(bytes.subarray(prev, p))
    prev = p
  }
  return state.digest()
}

test('known vectors, both implementations, one-shot and incremental', () => {
  for (const [name, h] of hashers) {
    assert.equal(h.name, 'sha256')
    assert.equal(h.size, 32)
    assert.equal(hex(h.digest(new Uint8Array(0))), EMPTY_SHA256, name)
    assert.equal(hex(h.digest(ascii('abc'))), ABC_SHA256, name)
    assert.equal(hex(h.digest(ascii(TWO_BLOCK))), TWO_BLOCK_SHA256, name)
    assert.equal(hex(h.create().digest()), EMPTY_SHA256, name)
    assert.equal(hex(h.create().update(ascii('a')).update(new Uint8Array(0)).update(ascii('bc')).digest()), ABC_SHA256, name)
    const d = h.digest(ascii('abc'))
    assert.ok(d instanceof Uint8Array && d.length === 32, name)
  }
  assert.equal(sha256, nodeSha256, 'the default is node:crypto')
})

test('node and portable agree on random inputs, one-shot and in random splits', () => {
  fc.assert(fc.property(
    fc.uint8Array({ maxLength: 5000 }),
    fc.array(fc.nat(), { maxLength: 12 }),
    fc.array(fc.nat(), { maxLength: 12 }),
    (bytes, cutsA, cutsB) => {
      const expected = nodeSha256.digest(bytes)
      assert.equal(expected.length, 32)
      assert.deepEqual(portableSha256.digest(bytes), expected)
      assert.deepEqual(incremental(nodeSha256, bytes, cutsA), expected)
      assert.deepEqual(incremental(portableSha256, bytes, cutsB), expected)
    }
  ), { numRuns: 300 })
})

test('node and portable agree across block boundaries and on Buffer and subarray inputs', () => {
  const big = new Uint8Array(70000)
  for (let i = 0; i < big.length; i++) big[i] = (i * 31 + (i >> 8)) & 0xff
  for (const n of [55, 56, 57, 63, 64, 65, 119, 120, 127, 128, 129, 1000, 65536, 70000]) {
    const part = big.subarray(big.length - n) // a view with a non-zero offset
    assert.deepEqual(portableSha256.digest(part), nodeSha256.digest(part), `length ${n}`)
    assert.deepEqual(nodeSha256.digest(Buffer.from(part)), nodeSha256.digest(part))
  }
})

test('digest strings: well-formed values parse and round-trip', () => {
  const d = `sha256:${ABC_SHA256}`
  assert.equal(parseDigest(d), d)
  assert.ok(isDigest(d))
  assert.equal(hex(digestToBytes(d)), ABC_SHA256)
  assert.equal(digestToString(sha256.digest(ascii('abc'))), d)
  fc.assert(fc.property(fc.uint8Array({ minLength: 32, maxLength: 32 }), bytes => {
    const s = digestToString(bytes)
    assert.match(s, /^sha256:[0-9a-f]{64}$/)
    assert.deepEqual(digestToBytes(s), bytes)
    assert.equal(digestToString(digestToBytes(s)), s)
  }), { numRuns: 200 })
})

test('digest strings: malformed values are rejected with ERR_INVALID_DIGEST', () => {
  const good = `sha256:${ABC_SHA256}`
  const bad = [
    `sha256:${ABC_SHA256.toUpperCase()}`, // uppercase hex
    `sha256:${ABC_SHA256.slice(0, 63)}A`,
    `SHA256:${ABC_SHA256}`, // uppercase algorithm
    `sha256:${ABC_SHA256.slice(1)}`, // 63 digits
    `sha256:${ABC_SHA256}0`, // 65 digits
    `sha512:${ABC_SHA256}`, // wrong prefix
    `sha256-${ABC_SHA256}`,
    ABC_SHA256, // no prefix
    `sha256:${ABC_SHA256.slice(0, 63)}g`, // not hex
    ` ${good}`, `${good}\n`, // surrounding whitespace
    '', 'sha256:'
  ]
  for (const s of bad) {
    assert.equal(isDigest(s), false, s)
    assert.throws(() => parseDigest(s), (err: unknown) => {
      assert.ok(err instanceof InvalidDigestError)
      assert.equal(err.code, 'ERR_INVALID_DIGEST')
      return true
    }, s)
    assert.throws(() => digestToBytes(s), { code: 'ERR_INVALID_DIGEST' })
  }
  for (const v of [undefined, null, 42, {}, Buffer.from(good)]) assert.equal(isDigest(v), false)
  for (const n of [0, 31, 33, 64]) {
    assert.throws(() => digestToString(new Uint8Array(n)), { code: 'ERR_INVALID_DIGEST' }, `${n} bytes`)
  }
})

test('byte comparison helpers order as unsigned bytes', () => {
  assert.ok(compareBytes(Uint8Array.of(1), Uint8Array.of(1, 0)) < 0, 'a prefix sorts first')
  assert.ok(compareBytes(Uint8Array.of(0x80), Uint8Array.of(0x7f)) > 0, 'unsigned')
  assert.equal(compareBytes(new Uint8Array(0), new Uint8Array(0)), 0)
  assert.ok(bytesEqual(Uint8Array.of(1, 2), Uint8Array.of(1, 2)))
  assert.ok(!bytesEqual(Uint8Array.of(1, 2), Uint8Array.of(1, 3)))
  assert.ok(!bytesEqual(Uint8Array.of(1), Uint8Array.of(1, 2)))
  fc.assert(fc.property(fc.uint8Array({ maxLength: 8 }), fc.uint8Array({ maxLength: 8 }), (a, b) => {
    // latin1 maps each byte to one UTF-16 unit, so string order is unsigned byte order
    const [sa, sb] = [Buffer.from(a).toString('latin1'), Buffer.from(b).toString('latin1')]
    const expected = sa < sb ? -1 : sa > sb ? 1 : 0
    assert.equal(Math.sign(compareBytes(a, b)), expected)
    assert.equal(Math.sign(compareBytes(b, a)), 0 - expected)
    assert.equal(bytesEqual(a, b), expected === 0)
  }), { numRuns: 300 })
})
