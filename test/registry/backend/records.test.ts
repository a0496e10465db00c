import { test } from 'node:test'
import assert from 'node:assert/strict'
import { createHash } from 'node:crypto'
import fc from 'fast-check'
import {
  decodeBlobRecord, decodeCounters, decodeManifestRecord, encodeBlobRecord, encodeCounters, encodeManifestRecord,
  LAYER_FORMATS, type BlobRecord
} from '../../../src/registry/backend/records.js'
import { encodeCanonical } from '../../../src/format/canonical.js'
import { assertRepositoryName, assertTag, parseReference } from '../../../src/registry/backend/names.js'

const hex = (b: Uint8Array): string => Buffer.from(b).toString('hex')

test('golden vector G5: the blob record of "hello" (docs/FORMAT.md §9)', () => {
  const hello = Buffer.from('hello')
  const chunk = createHash('sha256').update(hello).digest()
  const record: BlobRecord = { size: 5, isLayer: false, storedBytes: 6, owner: 'lib/app', body: { storage: 'whole', chunks: new Uint8Array(chunk), lengths: [5], reason: '' } }
  const bytes = encodeBlobRecord(record)
  assert.equal(hex(bytes), '97010500000' + '6c4076c69622f617070' + '93c420' + '2cf24dba5fb0a30e26e83b2ac5b9e29e1b161e5c1fa7425e73043362938b9824' + '9105c400')
  assert.deepEqual(decodeBlobRecord(bytes), record)
})

const text = fc.string({ maxLength: 20 })
const safe = fc.integer({ min: 0, max: Number.MAX_SAFE_INTEGER })

const wholeRecord = fc.array(fc.integer({ min: 1, max: 2 ** 33 }), { maxLength: 6 }).chain((lengths) => fc.record({
  size: fc.constant(lengths.reduce((a, b) => a + b, 0)),
  isLayer: fc.boolean(),
  storedBytes: safe,
  owner: text,
  body: fc.record({
    storage: fc.constant('whole' as const),
    chunks: fc.uint8Array({ minLength: lengths.length * 32, maxLength: lengths.length * 32 }),
    lengths: fc.constant(lengths),
    reason: text
  })
}))
const reproducedRecord = fc.record({
  size: safe,
  isLayer: fc.constant(true),
  storedBytes: safe,
  owner: text,
  body: fc.record({ storage: fc.constant('reproduced' as const), format: fc.constantFrom(...LAYER_FORMATS), recipe: fc.uint8Array({ maxLength: 100 }) })
})
const packRecord = fc.record({
  size: safe,
  isLayer: fc.constant(false),
  storedBytes: safe,
  owner: text,
  body: fc.record({ storage: fc.constant('pack' as const), recipe: fc.uint8Array({ maxLength: 100 }) })
})

test('property: blob, manifest and counter records round trip', () => {
  fc.assert(fc.property(fc.oneof(wholeRecord, reproducedRecord, packRecord), (r) => {
    assert.deepEqual(decodeBlobRecord(encodeBlobRecord(r as BlobRecord)), { ...r, body: { ...r.body } }) // fc.record objects have no prototype
  }))
  fc.assert(fc.property(fc.record({ mediaType: text, bytes: fc.uint8Array({ maxLength: 200 }), owner: text }), (r) => {
    assert.deepEqual(decodeManifestRecord(encodeManifestRecord(r)), { ...r })
  }))
  fc.assert(fc.property(fc.record({ pushedBytes: safe, storedBytes: safe, reproducedBlobs: safe, wholeBlobs: safe, wholeLayers: safe }), (c) => {
    assert.deepEqual(decodeCounters(encodeCounters(c)), { ...c })
  }))
})

const rejected = (decode: (b: Uint8Array) => unknown, bytes: Uint8Array): void => {
  assert.throws(() => decode(bytes), (err: any) => { assert.equal(err.code, 'ERR_NON_CANONICAL'); return true })
}

test('property: any bytes a decoder accepts are the encoding of what it returns', () => {
  const decoders: Array<[(b: Uint8Array) => any, (v: any) => Uint8Array]> = [
    [decodeBlobRecord, encodeBlobRecord], [decodeManifestRecord, encodeManifestRecord], [decodeCounters, encodeCounters]
  ]
  fc.assert(fc.property(fc.oneof(wholeRecord, reproducedRecord, packRecord), fc.nat(), fc.integer({ min: 0, max: 255 }), (r, at, byte) => {
    // Mutate one byte of a valid encoding: either rejected, or canonical.
    const bytes = encodeBlobRecord(r as BlobRecord).slice()
    bytes[at % bytes.length] = byte
    for (const [decode, encode] of decoders) {
      let value: unknown
      try { value = decode(bytes) } catch (err) { assert.equal((err as any).code, 'ERR_NON_CANONICAL'); continue }
      assert.equal(hex(encode(value)), hex(bytes))
    }
  }))
})

test('non-canonical and malformed records are rejected', () => {
  const record: BlobRecord = { size: 3, isLayer: false, storedBytes: 0, owner: '', body: { storage: 'whole', chunks: new Uint8Array(32), lengths: [3], reason: '' } }
  const good = encodeBlobRecord(record)
  rejected(decodeBlobRecord, new Uint8Array([...good, 0]))
  // size 3 written as uint8 (cc 03) instead of a fixint.
  rejected(decodeBlobRecord, new Uint8Array([good[0]!, good[1]!, 0xcc, ...good.subarray(2)]))
  // Lengths that do not add up to the size.
  rejected(decodeBlobRecord, encodeCanonicalOf([1, 4, 0, 0, 0, new Uint8Array(0), [new Uint8Array(32), [3], new Uint8Array(0)]]))
  // A reproduced blob that is not a layer; an unknown format; unknown flag bits; version 2.
  rejected(decodeBlobRecord, encodeCanonicalOf([1, 4, 1, 0, 0, new Uint8Array(0), [0, new Uint8Array(0)]]))
  rejected(decodeBlobRecord, encodeCanonicalOf([1, 4, 1, 1, 0, new Uint8Array(0), [3, new Uint8Array(0)]]))
  rejected(decodeBlobRecord, encodeCanonicalOf([1, 3, 0, 2, 0, new Uint8Array(0), [new Uint8Array(32), [3], new Uint8Array(0)]]))
  rejected(decodeBlobRecord, encodeCanonicalOf([2, 3, 0, 0, 0, new Uint8Array(0), [new Uint8Array(32), [3], new Uint8Array(0)]]))
  rejected(decodeManifestRecord, encodeCanonicalOf([1, new Uint8Array([0xff]), new Uint8Array(0), new Uint8Array(0)]))
  rejected(decodeCounters, encodeCanonicalOf([1, 2, 3, 4]))
  rejected(decodeCounters, encodeCanonicalOf([1, 2, 3, 4, -5]))
})

function encodeCanonicalOf (v: any): Uint8Array { return encodeCanonical(v) }

test('names, tags and references follow the distribution spec grammar', () => {
  for (const ok of ['a', 'library/debian', 'a.b/c_d/e__f/g-h/i---j', 'x0/1']) assert.doesNotThrow(() => assertRepositoryName(ok))
  for (const bad of ['', 'A', 'a/', '/a', 'a//b', 'a..b', 'a___b', '-a', 'a-', 'a b', 'a/'.repeat(200) + 'a']) {
    assert.throws(() => assertRepositoryName(bad), (err: any) => err.code === 'ERR_REGISTRY_NAME_INVALID', bad)
  }
  assert.throws(() => assertRepositoryName('a'.repeat(11), 10), (err: any) => err.code === 'ERR_REGISTRY_NAME_INVALID')
  for (const ok of ['latest', '_', 'V1.0-rc_1', 'a'.repeat(128)]) assert.doesNotThrow(() => assertTag(ok))
  for (const bad of ['', '.a', '-a', 'a'.repeat(129), 'a/b', 'a+b']) assert.throws(() => assertTag(bad), (err: any) => err.code === 'ERR_REGISTRY_TAG_INVALID', bad)
  assert.deepEqual(parseReference('v1'), { kind: 'tag', tag: 'v1' })
  const d = `sha256:${'ab'.repeat(32)}`
  assert.deepEqual(parseReference(d), { kind: 'digest', digest: d })
  assert.throws(() => parseReference('sha256:abc'), (err: any) => err.code === 'ERR_REGISTRY_DIGEST_INVALID')
  assert.throws(() => parseReference(`sha512:${'a'.repeat(128)}`), (err: any) => err.code === 'ERR_REGISTRY_DIGEST_INVALID')
})
