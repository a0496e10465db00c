/**
 * Golden vectors of the pack byte layouts (docs/FORMAT.md §8, G8): a pack
 * header, a record and location values. These bytes must never change.
 */
import { test } from 'node:test'
import assert from 'node:assert/strict'
import {
  checkRecord, decodeLocation, encodeLocation, encodeRecordHeader, isLocation, LOCATION_BYTES, PACK_MAGIC, packFileName, parsePackFileName, RECORD_HEADER_BYTES
} from '../../src/store/pack/index.js'
import { CODEC_RAW, CODEC_ZSTD } from '../../src/store/stored-object.js'

const hex = (b: Uint8Array): string => Buffer.from(b).toString('hex')
const digest = new Uint8Array(32).map((_, i) => i)

test('G8: the pack header is the ASCII bytes "tspack1\\n"', () => {
  assert.equal(hex(PACK_MAGIC), '74737061636b310a')
  assert.equal(Buffer.from(PACK_MAGIC).toString('latin1'), 'tspack1\n')
})

test('G8: a record is the digest, the u32 LE stored length, the stored bytes', () => {
  const stored = new Uint8Array([CODEC_RAW, 0x68, 0x69]) // "hi", raw
  const record = Buffer.concat([encodeRecordHeader(digest, stored.length), stored])
  assert.equal(RECORD_HEADER_BYTES, 36)
  assert.equal(hex(record), '000102030405060708090a0b0c0d0e0f101112131415161718191a1b1c1d1e1f' + '03000000' + '006869')
  // Checked against the location it was read for.
  const location = { pack: 1, offset: 8 + 36, storedLength: 3, length: 2 }
  assert.equal(hex(checkRecord(record, digest, location, 'chunk')), '006869')
  assert.throws(() => checkRecord(record, new Uint8Array(32), location, 'chunk'), (err: any) => err.code === 'ERR_INTEGRITY' && /another digest/.test(err.message))
  assert.throws(() => checkRecord(record, digest, { ...location, storedLength: 2 }, 'chunk'), (err: any) => err.code === 'ERR_INTEGRITY')
  assert.throws(() => checkRecord(record.subarray(0, 38), digest, location, 'chunk'), (err: any) => err.code === 'ERR_INTEGRITY' && /ends inside/.test(err.message))
})

test('G8: a location is 0x80, u32 pack, u48 offset, u32 stored length, u32 length, all LE', () => {
  const first = { pack: 1, offset: 44, storedLength: 3, length: 2 }
  assert.equal(hex(encodeLocation(first)), '80' + '01000000' + '2c0000000000' + '03000000' + '02000000')
  const big = { pack: 0x01020304, offset: 0x010203040506, storedLength: 0x0a0b0c0d, length: 64 * 1024 * 1024 }
  assert.equal(hex(encodeLocation(big)), '80' + '04030201' + '060504030201' + '0d0c0b0a' + '00000004')
  assert.equal(LOCATION_BYTES, 19)
  for (const loc of [first, big]) assert.deepEqual(decodeLocation(encodeLocation(loc)), loc)
  // The marker cannot be a codec byte: inline stored objects of older stores stay distinguishable.
  assert.equal(isLocation(encodeLocation(first)), true)
  assert.equal(isLocation(new Uint8Array([CODEC_RAW, 0x80])), false)
  assert.equal(isLocation(new Uint8Array([CODEC_ZSTD, 0x80])), false)
  // Malformed locations are ERR_INTEGRITY.
  const bad = (b: Uint8Array): void => { assert.throws(() => decodeLocation(b), (err: any) => err.code === 'ERR_INTEGRITY') }
  bad(encodeLocation(first).subarray(0, 18))
  bad(encodeLocation({ ...first, pack: 0 }))
  bad(encodeLocation({ ...first, offset: 43 }))
  bad(encodeLocation({ ...first, storedLength: 0 }))
})

test('pack file names are the number zero-padded to 8 digits', () => {
  assert.equal(packFileName(1), '00000001.pack')
  assert.equal(packFileName(4294967295), '4294967295.pack')
  assert.equal(parsePackFileName('00000001.pack'), 1)
  assert.equal(parsePackFileName('4294967295.pack'), 4294967295)
  for (const name of ['1.pack', '00000000.pack', '000000001.pack', '00000001.pack.tmp', 'LOCK', '4294967296.pack']) assert.equal(parsePackFileName(name), undefined, name)
})
