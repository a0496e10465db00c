import { test } from 'node:test'
import assert from 'node:assert/strict'
import fc from 'fast-check'
import { decodeCanonical, encodeCanonical } from '../../src/format/canonical.js'
import { decodeTree, encodeTree, EMPTY_TREE, TreeBuilder } from '../../src/format/tree.js'
import { decodeSnapshot, encodeSnapshot, DEFAULT_SNAPSHOT_PARAMS, canonicalAnnotations } from '../../src/format/snapshot.js'
import type { Entry } from '../../src/format/entry.js'
import { arbEntries } from './arbitraries.js'

const hex = (b: Uint8Array): string => Buffer.from(b).toString('hex')
const expectCode = (code: string) => (err: unknown): boolean => { assert.equal((err as { code?: string }).code, code); return true }

test('integers take the shortest encoding; int64 only outside -2^31..2^32-1', () => {
  const cases: Array<[number | bigint, string]> = [
    [0, '00'], [127, '7f'], [128, 'cc80'], [255, 'ccff'], [256, 'cd0100'], [65536, 'ce00010000'],
    [2 ** 32 - 1, 'ceffffffff'], [2 ** 32, 'd30000000100000000'], [-1, 'ff'], [-32, 'e0'], [-33, 'd0df'],
    [-129, 'd1ff7f'], [-(2 ** 31), 'd280000000'], [-(2 ** 31) - 1, 'd3ffffffff7fffffff'], [5n, '05'], [2n ** 40n, 'd30000010000000000']
  ]
  for (const [v, h] of cases) {
    assert.equal(hex(encodeCanonical(v)), h, `encoding of ${v}`)
    const back = decodeCanonical(Buffer.from(h, 'hex'))
    assert.equal(BigInt(back as number | bigint), BigInt(v))
  }
})

test('non-canonical encodings are rejected with ERR_NON_CANONICAL', () => {
  const bad = [
    'cc05', // 5 as uint8
    'cd0080', // 128 as uint16
    'd30000000000000005', // 5 as int64
    'cf0000000000000005', // uint64
    'cf8000000000000000', // uint64 above int64: re-encodes as itself, still outside the subset
    'cfffffffff7fffffff', // the same, found by the tree mutation property test (an int64 mtime's 0xd3 turned into 0xcf)
    'cb4014000000000000', // float 5.0
    'a161', // str
    '80', // map
    'c0', // nil
    'c3', // true
    '9100ff', // trailing byte
    'dc000100', // array16 holding one element
    'c500020102', // bin16 of 2 bytes
    'd40100', // fixext
    ''
  ]
  for (const h of bad) assert.throws(() => decodeCanonical(Buffer.from(h, 'hex')), expectCode('ERR_NON_CANONICAL'), h)
})

test('trees round trip: decode(encode(t)) == t and re-encodes identically (property)', () => {
  fc.assert(fc.property(arbEntries(64), (entries) => {
    const enc = encodeTree(entries, { inlineMax: 64 })
    const dec = decodeTree(enc.bytes, { inlineMax: 64 })
    assert.equal(dec.length, entries.length)
    const again = encodeTree(dec, { inlineMax: 64 })
    assert.equal(hex(again.bytes), hex(enc.bytes))
    assert.equal(hex(again.digest), hex(enc.digest))
  }), { numRuns: 300 })
})

test('any single-byte change of a tree encoding is rejected or decodes to a different tree (property)', () => {
  fc.assert(fc.property(arbEntries(64).filter((e) => e.length > 0), fc.nat(), fc.integer({ min: 1, max: 255 }), (entries, pos, delta) => {
    const enc = encodeTree(entries, { inlineMax: 64 })
    const mutated = new Uint8Array(enc.bytes)
    const i = pos % mutated.length
    mutated[i] = (mutated[i]! + delta) & 0xff
    let decoded: Entry[] | undefined
    try { decoded = decodeTree(mutated, { inlineMax: 64 }) } catch (err) {
      assert.match(String((err as { code?: string }).code), /^ERR_(NON_CANONICAL|UNSORTED_ENTRIES)$/)
      return
    }
    // It decoded: it must then be canonical for a different tree.
    assert.notEqual(hex(encodeTree(decoded, { inlineMax: 64 }).bytes), hex(enc.bytes))
  }), { numRuns: 500 })
})

const file = (name: string, content = ''): Entry => ({ kind: 'file', name: Buffer.from(name), mode: 0o644, uid: 0, gid: 0, mtimeNs: 0n, xattrs: [], size: content.length, content: Buffer.from(content) })

test('builders refuse unsorted and duplicate entries with ERR_UNSORTED_ENTRIES', () => {
  const b = new TreeBuilder()
  b.add(file('b'))
  assert.throws(() => b.add(file('a')), expectCode('ERR_UNSORTED_ENTRIES'))
  assert.throws(() => b.add(file('b')), expectCode('ERR_UNSORTED_ENTRIES'))
  assert.throws(() => encodeTree([file('x'), file('x')]), expectCode('ERR_UNSORTED_ENTRIES'))
  // Byte order, not locale order: "B" (0x42) < "a" (0x61) < "\xff".
  const ok = encodeTree([file('B'), file('a'), { ...file('z'), name: new Uint8Array([0xff]) }])
  assert.equal(decodeTree(ok.bytes).length, 3)
})

test('decoder rejects unsorted, duplicate, and invalid names even when the msgpack is canonical', () => {
  const mk = (names: Uint8Array[]): Uint8Array => encodeCanonical([1, names.map((n) => [n, 5, 0o644, 0, 0, 0, []])])
  assert.throws(() => decodeTree(mk([Buffer.from('b'), Buffer.from('a')])), expectCode('ERR_NON_CANONICAL'))
  assert.throws(() => decodeTree(mk([Buffer.from('a'), Buffer.from('a')])), expectCode('ERR_NON_CANONICAL'))
  for (const bad of ['', '.', '..', 'a/b', 'a\0b', 'x'.repeat(256)]) {
    assert.throws(() => decodeTree(mk([Buffer.from(bad)])), expectCode('ERR_NON_CANONICAL'), JSON.stringify(bad))
  }
  // unsorted xattrs
  const xs = encodeCanonical([1, [[Buffer.from('a'), 5, 0, 0, 0, 0, [[Buffer.from('user.b'), Buffer.from('')], [Buffer.from('user.a'), Buffer.from('')]]]]])
  assert.throws(() => decodeTree(xs), expectCode('ERR_NON_CANONICAL'))
  // mode with file-type bits
  assert.throws(() => decodeTree(encodeCanonical([1, [[Buffer.from('a'), 5, 0o100644, 0, 0, 0, []]]])), expectCode('ERR_NON_CANONICAL'))
  // inline content that should have been chunked
  assert.throws(() => decodeTree(encodeTree([file('a', 'x'.repeat(65))]).bytes, { inlineMax: 64 }), expectCode('ERR_NON_CANONICAL'))
  // chunk lengths that do not sum to the size
  const chunked = encodeCanonical([1, [[Buffer.from('a'), 1, 0, 0, 0, 0, [], 100, [[new Uint8Array(32), 99]]]]])
  assert.throws(() => decodeTree(chunked), expectCode('ERR_NON_CANONICAL'))
  // wrong type number
  assert.throws(() => decodeTree(encodeCanonical([2, []])), expectCode('ERR_NON_CANONICAL'))
})

test('snapshots round trip and pin params, root attributes and annotations', () => {
  const snap = {
    params: { ...DEFAULT_SNAPSHOT_PARAMS },
    root: { mode: 0o755, uid: 0, gid: 0, mtimeNs: 0n, xattrs: [], tree: EMPTY_TREE.digest },
    annotations: canonicalAnnotations([['org.opencontainers.image.ref.name', 'x'], ['a', 'b']])
  }
  const enc = encodeSnapshot(snap)
  const dec = decodeSnapshot(enc.bytes)
  assert.deepEqual(dec.params, snap.params)
  assert.equal(hex(encodeSnapshot(dec).bytes), hex(enc.bytes))
  assert.equal(Buffer.from(dec.annotations[0]![0]).toString(), 'a')
  assert.throws(() => decodeSnapshot(encodeCanonical([2, 9, [1, 2, 3, 4], [], []])), expectCode('ERR_UNSUPPORTED'))
  assert.throws(() => decodeSnapshot(encodeCanonical([2, 1, [1, 2, 3, 4], [0, 0, 0, 0, [], EMPTY_TREE.digest], []])), expectCode('ERR_NON_CANONICAL'))
  assert.throws(() => canonicalAnnotations([['a', '1'], ['a', '2']]), RangeError)
})
