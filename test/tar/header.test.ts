import { test } from 'node:test'
import assert from 'node:assert/strict'
import fs from 'node:fs'
import path from 'node:path'
import fc from 'fast-check'
import {
  TAR_BLOCK_SIZE, TarHeaderError, USTAR_FIELD, decodePaxRecords, decodeUstarHeader, encodePaxRecord,
  encodePaxRecords, encodeUstarHeader, formatPaxTime, headerChecksum, isZeroBlock, paxHeaderName,
  paxRecordLength, parsePaxTime, splitUstarPath, xattrKeyword, xattrNameFromKeyword,
  type UstarHeader
} from '../../src/tar/index.js'
import { readNumber } from '../../src/tar/fields.js'
import { b, gnuTar, key, withTempDir } from './helpers.js'
import { requireTool } from '../helpers/tools.js'

const latin1 = (bytes: Uint8Array): string => Buffer.from(bytes).toString('latin1')

test('PAX record lengths count themselves, across digit boundaries', () => {
  assert.equal(latin1(encodePaxRecord('a', 'bcd')), '8 a=bcd\n')
  assert.equal(latin1(encodePaxRecord('a', 'bcde')), '9 a=bcde\n')
  assert.equal(latin1(encodePaxRecord('a', 'bcdef')), '11 a=bcdef\n') // 10 would need 2 digits: 11
  assert.equal(paxRecordLength(1, 94), 101) // 98 + 2 digits = 100, which has 3 digits
  assert.equal(encodePaxRecord('a', 'x'.repeat(94)).length, 101)
  assert.equal(encodePaxRecord('a', 'x'.repeat(93)).length, 99)
  fc.assert(fc.property(fc.integer({ min: 1, max: 40 }), fc.integer({ min: 0, max: 20000 }), (k, v) => {
    const rec = encodePaxRecord('k'.repeat(k), new Uint8Array(v))
    const text = latin1(rec)
    assert.equal(Number(text.slice(0, text.indexOf(' '))), rec.length)
    assert.equal(paxRecordLength(k, v), rec.length)
  }))
})

test('PAX records round trip with arbitrary value bytes', () => {
  const keyArb = fc.uint8Array({ minLength: 1, maxLength: 30 }).filter((k) => !k.includes(0x3d) && !k.includes(0) && !k.includes(0x0a))
  fc.assert(fc.property(fc.array(fc.tuple(keyArb, fc.uint8Array({ maxLength: 300 })), { maxLength: 8 }), (records) => {
    const decoded = decodePaxRecords(encodePaxRecords(records))
    assert.deepEqual(decoded.map(([k, v]) => [latin1(k), latin1(v)]), records.map(([k, v]) => [latin1(k), latin1(v)]))
  }))
  assert.throws(() => encodePaxRecord('a=b', 'c'), RangeError)
  assert.throws(() => decodePaxRecords(b('9 a=bcd\n')), TarHeaderError)
  assert.throws(() => decodePaxRecords(b('8 abcde\n')), TarHeaderError)
  assert.throws(() => decodePaxRecords(b('x a=b\n')), TarHeaderError)
  assert.deepEqual(decodePaxRecords(new Uint8Array([...b('6 a=b\n'), 0, 0, 0])).length, 1)
})

test('PAX times: signed decimal seconds, fraction trimmed', () => {
  assert.equal(formatPaxTime(0n), '0')
  assert.equal(formatPaxTime(1_000_000_000n), '1')
  assert.equal(formatPaxTime(1_500_000_000n), '1.5')
  assert.equal(formatPaxTime(-1_500_000_000n), '-1.5')
  assert.equal(formatPaxTime(-1n), '-0.000000001')
  assert.equal(formatPaxTime(1_700_000_000_000_001_000n), '1700000000.000001')
  assert.equal(parsePaxTime('1.5'), 1_500_000_000n)
  assert.equal(parsePaxTime('-0.5'), -500_000_000n)
  assert.equal(parsePaxTime('3.1234567899'), 3_123_456_789n)
  assert.equal(parsePaxTime('7.'), 7_000_000_000n)
  assert.throws(() => parsePaxTime('1e9'), TarHeaderError)
  assert.throws(() => parsePaxTime(''), TarHeaderError)
  fc.assert(fc.property(fc.bigInt({ min: -(10n ** 20n), max: 10n ** 20n }), (ns) => {
    assert.equal(parsePaxTime(formatPaxTime(ns)), ns)
  }))
})

test('xattr keywords escape % and = the way GNU tar does, and only names that need it', () => {
  assert.equal(latin1(xattrKeyword(b('user.a=b%c'))), 'SCHILY.xattr.user.a%3Db%25c')
  assert.equal(latin1(xattrKeyword(b('user.a%25'))), 'SCHILY.xattr.user.a%2525')
  // without '=' or an escape sequence, GNU tar and Go (which unescapes nothing) read the name written
  assert.equal(latin1(xattrKeyword(b('user.100%'))), 'SCHILY.xattr.user.100%')
  assert.equal(latin1(xattrKeyword(b('user.%41'))), 'SCHILY.xattr.user.%41')
  assert.equal(latin1(xattrNameFromKeyword(b('SCHILY.xattr.user.a%3Db%25c%41')) ?? b('?')), 'user.a=b%c%41')
  assert.equal(xattrNameFromKeyword(b('path')), undefined)
  fc.assert(fc.property(fc.uint8Array({ minLength: 1, maxLength: 40 }), (name) => {
    assert.deepEqual(xattrNameFromKeyword(xattrKeyword(name)), name)
    assert.ok(!xattrKeyword(name).includes(0x3d))
  }))
})

test('PAX header names are ASCII and fit 100 bytes', () => {
  assert.equal(latin1(paxHeaderName(b('a/b/c.txt'))), 'PaxHeaders/c.txt')
  assert.equal(latin1(paxHeaderName(b('a/dir/'))), 'PaxHeaders/dir')
  assert.equal(latin1(paxHeaderName(Uint8Array.from([0x61, 0x2f, 0xff, 0x0a, 0x62]))), 'PaxHeaders/__b')
  assert.equal(paxHeaderName(b('x'.repeat(300))).length, 100)
})

test('splitUstarPath finds a prefix/name split exactly when one exists', () => {
  const brute = (p: Uint8Array): boolean => {
    if (p.length <= 100) return true
    for (let i = 1; i < p.length - 1; i++) {
      if (p[i] === 0x2f && i <= 155 && p.length - i - 1 <= 100) return true
    }
    return false
  }
  const pathArb = fc.array(fc.stringMatching(/^[a-z]{1,70}$/), { minLength: 1, maxLength: 8 })
    .chain((parts) => fc.boolean().map((dir) => b(parts.join('/') + (dir ? '/' : ''))))
  fc.assert(fc.property(pathArb, (p) => {
    const s = splitUstarPath(p)
    assert.equal(s !== undefined, brute(p))
    if (s !== undefined) {
      assert.ok(s.prefix.length <= 155 && s.name.length <= 100 && s.name.length > 0)
      const joined = s.prefix.length > 0 ? latin1(s.prefix) + '/' + latin1(s.name) : latin1(s.name)
      assert.equal(joined, latin1(p))
    }
  }), { numRuns: 500 })
})

test('ustar headers round trip and carry a GNU-style checksum', () => {
  const bytes = (max: number): fc.Arbitrary<Uint8Array> => fc.uint8Array({ minLength: 0, maxLength: max }).map((a) => a.map((c) => (c === 0 ? 1 : c)))
  const arb: fc.Arbitrary<UstarHeader> = fc.record({
    name: bytes(100),
    prefix: bytes(155),
    mode: fc.integer({ min: 0, max: 0o7777 }),
    uid: fc.integer({ min: 0, max: 0o7777777 }),
    gid: fc.integer({ min: 0, max: 0o7777777 }),
    size: fc.integer({ min: 0, max: 0o77777777777 }),
    mtime: fc.integer({ min: 0, max: 0o77777777777 }),
    typeflag: fc.constantFrom('0', '1', '2', '3', '4', '5', '6', 'x'),
    linkname: bytes(100),
    uname: bytes(31),
    gname: bytes(31),
    devmajor: fc.integer({ min: 0, max: 0o7777777 }),
    devminor: fc.integer({ min: 0, max: 0o7777777 })
  })
  fc.assert(fc.property(arb, (h) => {
    const block = encodeUstarHeader(h)
    assert.equal(block.length, TAR_BLOCK_SIZE)
    const d = decodeUstarHeader(block)
    assert.equal(d.format, 'ustar')
    for (const k of Object.keys(h) as Array<keyof UstarHeader>) assert.deepEqual(d[k], h[k], k)
    const [co] = USTAR_FIELD.chksum
    assert.match(latin1(block.subarray(co, co + 8)), /^[0-7]{6}\0 $/)
    assert.equal(parseInt(latin1(block.subarray(co, co + 6)), 8), headerChecksum(block).unsigned)
  }), { numRuns: 300 })
  const h = encodeUstarHeader({ name: b('a'), prefix: new Uint8Array(0), mode: 0o644, uid: 0, gid: 0, size: 0, mtime: 0, typeflag: '0', linkname: new Uint8Array(0), uname: new Uint8Array(0), gname: new Uint8Array(0), devmajor: 0, devminor: 0 })
  const corrupt = h.slice()
  corrupt[0] = 0x62
  assert.throws(() => decodeUstarHeader(corrupt), TarHeaderError)
  assert.throws(() => encodeUstarHeader({ ...decodeUstarHeader(h), size: 0o100000000000 }), RangeError)
  assert.throws(() => encodeUstarHeader({ ...decodeUstarHeader(h), name: new Uint8Array(101).fill(0x61) }), RangeError)
  assert.ok(isZeroBlock(new Uint8Array(512)))
  assert.ok(!isZeroBlock(h))
})

test('readNumber reads octal with spaces, empty fields and GNU base-256', () => {
  const field = (bytes: number[]): Uint8Array => Uint8Array.from(bytes)
  assert.equal(readNumber(b('  755 \0'), 0, 7), 0o755n)
  assert.equal(readNumber(new Uint8Array(8), 0, 8), 0n)
  assert.equal(readNumber(b('0000644\0garbage'), 0, 8), 0o644n)
  assert.equal(readNumber(field([0x80, 0, 0, 0, 0, 0, 0x01, 0x00]), 0, 8), 256n)
  assert.equal(readNumber(field([0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xfe]), 0, 8), -2n)
  assert.equal(readNumber(field([0x80, 0, 0, 0, 0, 0, 0, 2, 0, 0, 0, 0]), 0, 12), 2n ** 33n)
  assert.throws(() => readNumber(b('0000694\0'), 0, 8), TarHeaderError)
})

test('a plain ustar header is byte-identical to the one GNU tar writes', requireTool('tar'), async () => {
  await withTempDir((dir) => {
    const file = path.join(dir, 'some file.txt')
    fs.writeFileSync(file, 'hello\n')
    fs.chmodSync(file, 0o640)
    const r = gnuTar(['-c', '--format=ustar', '--numeric-owner', '--owner=1234', '--group=5678',
      '--mtime=@1700000000', '-C', dir, '-f', '-', 'some file.txt'])
    assert.equal(r.status, 0, r.stderr)
    const gnuHeader = r.stdout.subarray(0, 512)
    const d = decodeUstarHeader(gnuHeader)
    assert.equal(key(d.path), 'some file.txt')
    assert.deepEqual([d.mode, d.uid, d.gid, d.size, d.mtime, d.typeflag], [0o640, 1234, 5678, 6, 1700000000, '0'])
    const ours = encodeUstarHeader({ ...d, uname: new Uint8Array(0), gname: new Uint8Array(0) })
    assert.deepEqual(Buffer.from(ours), Buffer.from(gnuHeader))
  })
})
