/**
 * The reader against hostile or broken archives: truncation anywhere,
 * corrupt headers, absurd declared sizes, malformed PAX records, and random
 * mutations. Every failure must be a tessera error with a stable code,
 * raised without reading or allocating what the archive merely declares.
 */
import { test } from 'node:test'
import assert from 'node:assert/strict'
import fs from 'node:fs'
import path from 'node:path'
import fc from 'fast-check'
import { TesseraError } from '../../src/errors.js'
import {
  TarChecksumError, TarHeaderTooLargeError, TarTruncatedError, encodePaxHeader, encodePaxRecords, readTar, writeTar,
  type TarEntry
} from '../../src/tar/index.js'
import { b, collect, gnuTar, key, pseudoRandom, withTempDir } from './helpers.js'
import { END, cat, chunked, errorCode, header, padded, patchHeader, readAll } from './reader-helpers.js'
import { haveTool } from '../helpers/tools.js'

const T = 1_700_000_000_000_000_000n

function sampleEntries (): TarEntry[] {
  const file = (p: string, size: number, extra: Partial<TarEntry> = {}): TarEntry => ({
    path: b(p), type: 'file', mode: 0o644, uid: 1, gid: 2, mtimeNs: T, size, content: [...pseudoRandom(size, size + 1)].map((c) => c), ...extra
  })
  return [
    { path: b('top'), type: 'directory', mode: 0o755, uid: 0, gid: 0, mtimeNs: T },
    file('top/a.txt', 700),
    file('top/empty', 0),
    { path: b('top/link'), type: 'symlink', mode: 0o777, uid: 0, gid: 0, mtimeNs: T, linkname: b('a.txt') },
    file(`top/${'long/'.repeat(40)}name`, 1500, { mtimeNs: T + 5n }),
    file('top/xattrs', 10, { xattrs: [[b('user.k'), b('v')]] }),
    { path: b('top/hard'), type: 'hardlink', mode: 0o644, uid: 0, gid: 0, mtimeNs: T, linkname: b('top/a.txt') }
  ]
}

async function sample (): Promise<{ bytes: Uint8Array, starts: number[], end: number }> {
  const bytes = Uint8Array.from(await collect(writeTar(sampleEntries())))
  const starts: number[] = []
  for await (const e of readTar([bytes])) starts.push(e.headerOffset)
  return { bytes, starts, end: bytes.length - 1024 }
}

/** Read everything; optionally without reading contents (the reader skips them). */
async function readPaths (source: Iterable<Uint8Array> | AsyncIterable<Uint8Array>, readContent: boolean, options = {}): Promise<string[]> {
  const out: string[] = []
  for await (const e of readTar(source, options)) {
    if (readContent) for await (const c of e.content) assert.ok(c.length > 0)
    out.push(key(e.path))
  }
  return out
}

test('a truncated archive is ERR_TAR_TRUNCATED, except at an entry boundary', async () => {
  const { bytes, starts, end } = await sample()
  const all = await readPaths([bytes], true)
  assert.equal(all.length, 7)
  const cuts = new Set<number>()
  for (let at = 0; at <= bytes.length; at += 512) for (const d of [0, 1, 100, 156, 511]) if (at + d < bytes.length) cuts.add(at + d)
  let truncatedCount = 0
  for (const cut of [...cuts].sort((x, y) => x - y)) {
    const part = bytes.subarray(0, cut)
    const boundary = starts.indexOf(cut)
    for (const readContent of [true, false]) {
      const what = `cut at ${cut} (${readContent ? 'reading' : 'skipping'} content)`
      if (cut === 0) assert.deepEqual(await readPaths([part], readContent), [], what)
      else if (boundary >= 0) assert.deepEqual(await readPaths(chunked(part, 100), readContent), all.slice(0, boundary), what)
      else if (cut === end || cut === end + 512) assert.deepEqual(await readPaths([part], readContent), all, what)
      else {
        await assert.rejects(readPaths(chunked(part, 100), readContent), (err: unknown) => {
          assert.ok(err instanceof TarTruncatedError, `${what}: ${String(err)}`)
          assert.equal(err.code, 'ERR_TAR_TRUNCATED')
          assert.equal(err.offset, cut)
          return true
        })
        truncatedCount++
      }
    }
  }
  assert.ok(truncatedCount > 50)
})

test('an archive ending inside the second zero block is truncated', async () => {
  const { bytes, end } = await sample()
  assert.equal(await errorCode(readPaths([bytes.subarray(0, end + 700)], false)), 'ERR_TAR_TRUNCATED')
})

test('one flipped byte in any header is ERR_TAR_BAD_CHECKSUM (or another ERR_TAR_*), never a silent change', async () => {
  const { bytes, starts } = await sample()
  const all = await readPaths([bytes], true)
  // every header block: entry starts, and the ustar header after each PAX header
  const headers = new Set(starts)
  for (const s of starts) if (bytes[s + 156] === 0x78) headers.add(s + 512 + Math.ceil(Number.parseInt(Buffer.from(bytes.subarray(s + 124, s + 135)).toString(), 8) / 512) * 512)
  let checksum = 0
  let total = 0
  for (const h of headers) {
    for (let i = 0; i < 512; i++) {
      const copy = Uint8Array.from(bytes)
      copy[h + i] = (copy[h + i] ?? 0) ^ 0xff
      total++
      try {
        assert.deepEqual(await readPaths([copy], true), all, `flip at ${h}+${i} changed the entries silently`)
        assert.equal(i, 155, `only the byte after the checksum's NUL is not covered (flip at ${h}+${i})`)
      } catch (err) {
        if (err instanceof assert.AssertionError) throw err
        assert.ok(err instanceof TesseraError && err.code.startsWith('ERR_TAR_'), `flip at ${h}+${i}: ${String(err)}`)
        if (err instanceof TarChecksumError) checksum++
      }
    }
  }
  assert.ok(checksum >= total - 2 * headers.size * 8, `${checksum} of ${total} are checksum errors`)
})

/** A source yielding `first`, then failing the test if more is asked for. */
function onlyThen (first: Uint8Array): { source: Iterable<Uint8Array>, pulled: () => number } {
  let pulls = 0
  return {
    source: {
      * [Symbol.iterator] () {
        pulls++
        yield first
        pulls++
        // a petabyte of data the reader must never ask for
        for (;;) { pulls++; yield new Uint8Array(1 << 20) }
      }
    },
    pulled: () => pulls
  }
}

function base256 (value: bigint, width = 12): number[] {
  const out = new Array<number>(width).fill(0)
  let v = value < 0n ? (1n << BigInt(8 * width)) + value : value
  for (let i = width - 1; i >= 0; i--) { out[i] = Number(v & 0xffn); v >>= 8n }
  if (value >= 0n) out[0] = (out[0] ?? 0) | 0x80
  return out
}

test('a PAX header or GNU long name declaring 2^50 bytes fails fast with ERR_TAR_HEADER_TOO_LARGE', async () => {
  for (const typeflag of ['x', 'g', 'L', 'K']) {
    const h = patchHeader(header({ name: b('././@LongLink'), typeflag }), 124, base256(2n ** 50n))
    const { source, pulled } = onlyThen(h)
    const before = process.memoryUsage().arrayBuffers
    await assert.rejects(readPaths(source, true), (err: unknown) => {
      assert.ok(err instanceof TarHeaderTooLargeError, String(err))
      assert.equal(err.code, 'ERR_TAR_HEADER_TOO_LARGE')
      return true
    })
    assert.ok(pulled() <= 2, `${typeflag}: nothing read past the header`)
    assert.ok(process.memoryUsage().arrayBuffers - before < 64 << 20, 'no huge allocation')
  }
  // just above the limit, and several headers adding up past it
  const limit = 4096
  const pax = (n: number): Uint8Array => encodePaxHeader(b('f'), encodePaxRecords([['comment', 'c'.repeat(n)]]))
  const file = header({ name: b('f') })
  assert.equal(await errorCode(readPaths([cat(pax(limit), file, END)], true, { maxHeaderSize: limit })), 'ERR_TAR_HEADER_TOO_LARGE')
  assert.deepEqual(await readPaths([cat(pax(limit - 100), file, END)], true, { maxHeaderSize: limit }), ['f'])
  assert.equal(await errorCode(readPaths([cat(pax(limit / 2), pax(limit / 2), file, END)], true, { maxHeaderSize: limit })), 'ERR_TAR_HEADER_TOO_LARGE')
})

test('PAX global headers adding up past maxHeaderSize are ERR_TAR_HEADER_TOO_LARGE', async () => {
  const g = (i: number): Uint8Array => {
    const h = encodePaxHeader(b('g'), encodePaxRecords([[`comment.${i}`, 'c'.repeat(1000)]]))
    return cat(patchHeader(h.subarray(0, 512), 156, [0x67]), h.subarray(512))
  }
  const file = header({ name: b('f') })
  const gnu = { maxHeaderSize: 4096, dialect: 'gnu' as const }
  // one keyword set again and again stays small
  assert.deepEqual(await readPaths([...Array.from({ length: 20 }, () => g(0)), file, END], true, gnu), ['f'])
  assert.equal(await errorCode(readPaths([...Array.from({ length: 20 }, (_, i) => g(i)), file, END], true, gnu)), 'ERR_TAR_HEADER_TOO_LARGE')
  // the go dialect ignores them: nothing adds up, but each one is bounded
  assert.deepEqual(await readPaths([...Array.from({ length: 20 }, (_, i) => g(i)), file, END], true, { maxHeaderSize: 4096 }), ['f'])
  assert.equal(await errorCode(readPaths([g(0), file, END], true, { maxHeaderSize: 512 })), 'ERR_TAR_HEADER_TOO_LARGE')
})

test('endless old GNU sparse extension blocks stop at maxHeaderSize', async () => {
  const entry = (i: number): number[] => [...Buffer.from(`${(i * 1024).toString(8).padStart(11, '0')}\0${'00000000001'}\0`)]
  let h = header({ name: b('sparse'), typeflag: 'S', size: 0 })
  h = patchHeader(h, 257, Buffer.from('ustar  \0'))
  for (let i = 0; i < 4; i++) h = patchHeader(h, 386 + i * 24, entry(i))
  h = patchHeader(h, 482, [1])
  h = patchHeader(h, 483, Buffer.from('77777777777\0'))
  let i = 4
  const ext = (): Uint8Array => {
    const blk = new Uint8Array(512)
    for (let j = 0; j < 21; j++) blk.set(entry(i++), j * 24)
    blk[504] = 1
    return blk
  }
  function * source (): Generator<Uint8Array> { yield h; for (;;) yield ext() }
  assert.equal(await errorCode(readPaths(source(), true, { maxHeaderSize: 64 * 1024 })), 'ERR_TAR_HEADER_TOO_LARGE')
})

test('a PAX 1.0 sparse map declaring 10^15 segments fails fast', async () => {
  const pax = encodePaxHeader(b('s'), encodePaxRecords([
    ['GNU.sparse.major', '1'], ['GNU.sparse.minor', '0'], ['GNU.sparse.name', 's'], ['GNU.sparse.realsize', '100'], ['size', '1024']
  ]))
  const map = padded(b('1000000000000000\n'))
  assert.equal(await errorCode(readPaths([cat(pax, header({ name: b('GNUSparseFile.0/s'), size: 0 }), map, new Uint8Array(512), END)], true)), 'ERR_TAR_HEADER_TOO_LARGE')
})

test('malformed PAX records are ERR_TAR_BAD_HEADER', async () => {
  const raw = (data: string | Uint8Array): Uint8Array => {
    const d = typeof data === 'string' ? Buffer.from(data, 'latin1') : data
    return cat(header({ name: b('PaxHeaders/f'), typeflag: 'x', size: d.length }), padded(d), header({ name: b('f') }), END)
  }
  for (const bad of [
    '99 path=a\n', // longer than the data
    '3 path=a\n', // shorter than its own text
    'abc path=a\n', // not a length
    '11 path=abc', // no newline
    '10 pathabc\n', // no '='
    '8 =abcd\n', // empty keyword
    '99999999999999999999999 a=b\n', // absurd length
    '-5 a=b\n'
  ]) {
    assert.equal(await errorCode(readPaths([raw(bad)], true)), 'ERR_TAR_BAD_HEADER', JSON.stringify(bad))
  }
  // well-formed records with bad values
  for (const [k, v] of [
    ['size', '-12'], ['size', '1e3'], ['size', ' 12'], ['size', ''.padEnd(17, '9')], ['uid', '0x1'], ['gid', '1.5'],
    ['mtime', '1.2.3'], ['mtime', '-+5'], ['mtime', '.5'], ['SCHILY.xattr.', 'v'], ['LIBARCHIVE.xattr.user.a', '!!!!'], ['LIBARCHIVE.xattr.user.a', 'abcde'],
    ['SCHILY.devmajor', 'x']
  ] as const) {
    // (Go ignores LIBARCHIVE records and SCHILY.devmajor: only GNU tar's reading checks them)
    const dialect = k.startsWith('LIBARCHIVE') || k === 'SCHILY.devmajor' ? 'gnu' : 'go'
    assert.equal(await errorCode(readPaths([raw(encodePaxRecords([[k, v]]))], true, { dialect })), 'ERR_TAR_BAD_HEADER', `${k}=${v}`)
  }
  // NUL bytes after the records: GNU tar ignores them, Go refuses them
  const trailing = raw(cat(encodePaxRecords([['uid', '7']]), new Uint8Array(3)))
  assert.equal(await errorCode(readPaths([trailing], true)), 'ERR_TAR_BAD_HEADER')
  assert.equal((await readAll([trailing], { dialect: 'gnu' }))[0]?.entry.uid, 7)
  // well-formed records right next to the bad ones
  const [ok] = await readAll([raw(encodePaxRecords([['size', '0'], ['uid', '12'], ['mtime', '-1.5'], ['LIBARCHIVE.xattr.user.%41%3d', 'AP8']]))], { dialect: 'gnu' })
  assert.equal(ok?.entry.uid, 12)
  assert.equal(ok?.entry.mtimeNs, -1_500_000_000n)
  assert.deepEqual(ok?.entry.xattrs.map(([n, v]) => [key(n), key(v)]), [['user.A=', '\x00\xff']])
})

test('bad numeric fields in the ustar header are ERR_TAR_BAD_HEADER', async () => {
  const file = header({ name: b('f'), size: 3 })
  const data = padded(b('abc'))
  const cases: Array<[string, number, number[]]> = [
    ['negative base-256 size', 124, base256(-1n)],
    ['base-256 size above 2^53', 124, base256(2n ** 60n)],
    ['non-octal size', 124, [...Buffer.from('0000000009a\0')]],
    ['negative base-256 uid', 108, base256(-5n, 8)],
    ['non-octal mode', 100, [...Buffer.from('07x4\0')]],
    ['negative base-256 mode', 100, base256(-1n, 8)]
  ]
  for (const [what, at, bytes] of cases) {
    assert.equal(await errorCode(readPaths([cat(patchHeader(file, at, bytes), data, END)], true)), 'ERR_TAR_BAD_HEADER', what)
  }
  // base-256 values in range are fine, negative mtimes included
  const ok = patchHeader(patchHeader(patchHeader(file, 124, base256(3n)), 108, base256(3_000_000n, 8)), 136, base256(-86400n))
  const [got] = await readAll([cat(ok, data, END)])
  assert.equal(got?.entry.size, 3)
  assert.equal(got?.entry.uid, 3_000_000)
  assert.equal(got?.entry.mtimeNs, -86_400_000_000_000n)
  assert.equal(got?.data.toString(), 'abc')
})

test('paths and link targets with a NUL byte are ERR_INVALID_PATH; trailing NULs of GNU long names are not', async () => {
  const pax = (records: Array<[string, string]>): Uint8Array => encodePaxHeader(b('x'), encodePaxRecords(records))
  const long = (typeflag: 'L' | 'K', value: string): Uint8Array => {
    const data = Buffer.from(value, 'latin1')
    return cat(header({ name: b('././@LongLink'), typeflag, size: data.length }), padded(data))
  }
  const link = header({ name: b('l'), typeflag: '2', linkname: b('t') })
  // a PAX path holding NUL: Go refuses the record (ERR_TAR_BAD_HEADER), the gnu dialect the path
  for (const [dialect, code] of [['go', 'ERR_TAR_BAD_HEADER'], ['gnu', 'ERR_INVALID_PATH']] as const) {
    assert.equal(await errorCode(readPaths([cat(pax([['path', 'a\0b']]), header({ name: b('f') }), END)], true, { dialect })), code)
    assert.equal(await errorCode(readPaths([cat(pax([['linkpath', 'a\0b']]), link, END)], true, { dialect })), code)
  }
  // GNU long names are C strings: GNU tar, BSD tar and Go all cut them at the first NUL (gnu-long-nul.tar)
  const [cut] = await readAll([cat(long('L', 'a\0b\0'), header({ name: b('f') }), long('K', 'x\0y'), link, END)])
  assert.equal(key(cut?.entry.path ?? new Uint8Array(0)), 'a')
  assert.equal(await errorCode(readPaths([cat(pax([['path', '']]), header({ name: new Uint8Array(0) }), END)], true)), 'ERR_INVALID_PATH')
  const [e] = await readAll([cat(long('L', `${'n'.repeat(300)}\0\0\0`), long('K', 'target\0'), link, END)])
  assert.equal(key(e?.entry.path ?? new Uint8Array(0)), 'n'.repeat(300))
  assert.equal(key(e?.entry.linkname ?? new Uint8Array(0)), 'target')
})

test('ambiguous layouts are refused rather than guessed', async () => {
  const file = header({ name: b('f') })
  const pax = encodePaxHeader(b('f'), encodePaxRecords([['path', 'g']]))
  const codes = async (bytes: Uint8Array): Promise<string> => await errorCode(readPaths([bytes], true))
  // a zero block followed by a header: GNU tar would go on, Go's archive/tar stops
  assert.equal(await codes(cat(file, new Uint8Array(512), file, END)), 'ERR_TAR_BAD_HEADER')
  // non-files carry no data whatever their size says: data after one is read as the next header
  for (const typeflag of ['1', '2', '3', '4', '5', '6']) {
    assert.equal(await codes(cat(header({ name: b('d'), typeflag, size: 5, linkname: b('t') }), padded(b('12345')), END)), 'ERR_TAR_BAD_CHECKSUM', typeflag)
  }
  // a v7 directory by trailing slash, with content: Go reads the content as a header, GNU tar skips it
  const v7dir = patchHeader(header({ name: b('d/'), size: 5 }), 156, [0])
  for (const dialect of ['go', 'gnu'] as const) {
    assert.equal(await errorCode(readPaths([cat(v7dir, padded(b('12345')), END)], true, { dialect })), 'ERR_TAR_BAD_HEADER')
  }
  // an extended header not followed by an entry
  assert.equal(await codes(cat(pax, END)), 'ERR_TAR_BAD_HEADER')
  assert.equal(await codes(pax), 'ERR_TAR_TRUNCATED')
  // entry types this reader does not know (GNU multivolume, dumpdir, Solaris ACLs...)
  for (const typeflag of ['M', 'N', 'D', 'A', 'X', 'Z', '8']) {
    assert.equal(await codes(cat(header({ name: b('f'), typeflag }), END)), 'ERR_UNSUPPORTED', typeflag)
  }
  // links without a target
  assert.equal(await codes(cat(header({ name: b('l'), typeflag: '2' }), END)), 'ERR_TAR_BAD_HEADER')
})

test('sparse maps that do not match the data are ERR_TAR_BAD_HEADER', async () => {
  const sparse = (records: Array<[string, string]>, size: number, data: Uint8Array): Uint8Array =>
    cat(encodePaxHeader(b('s'), encodePaxRecords(records)), header({ name: b('s'), size }), padded(data), END)
  const v01 = (map: string, real = '100', stored = 10): Uint8Array => sparse([
    ['GNU.sparse.major', '0'], ['GNU.sparse.minor', '1'], ['GNU.sparse.size', real], ['GNU.sparse.map', map],
    ['GNU.sparse.numblocks', String(Math.floor(map.split(',').length / 2))]
  ], stored, new Uint8Array(stored))
  const codes = async (bytes: Uint8Array): Promise<string> => await errorCode(readPaths([bytes], true))
  assert.deepEqual(await readPaths([v01('0,5,50,5')], true), ['s'])
  // Go needs GNU.sparse.numblocks, GNU tar does not
  const noCount = sparse([['GNU.sparse.major', '0'], ['GNU.sparse.minor', '1'], ['GNU.sparse.size', '100'], ['GNU.sparse.map', '0,10']], 10, new Uint8Array(10))
  assert.equal(await codes(noCount), 'ERR_TAR_BAD_HEADER')
  assert.deepEqual(await readPaths([noCount], true, { dialect: 'gnu' }), ['s'])
  assert.equal(await codes(v01('0,5,3,5')), 'ERR_TAR_BAD_HEADER') // overlap
  assert.equal(await codes(v01('50,5,0,5')), 'ERR_TAR_BAD_HEADER') // out of order
  assert.equal(await codes(v01('0,5,98,5')), 'ERR_TAR_BAD_HEADER') // past the real size
  assert.equal(await codes(v01('0,5,50,4')), 'ERR_TAR_BAD_HEADER') // 9 of 10 stored bytes
  assert.equal(await codes(v01('0,5,50')), 'ERR_TAR_BAD_HEADER') // odd
  assert.equal(await codes(v01('0,5,x,5')), 'ERR_TAR_BAD_HEADER')
  // an unknown sparse version: Go reads a plain file, the gnu dialect refuses it
  const v20 = sparse([['GNU.sparse.major', '2'], ['GNU.sparse.minor', '0']], 0, new Uint8Array(0))
  assert.deepEqual(await readPaths([v20], true), ['s'])
  assert.equal(await errorCode(readPaths([v20], true, { dialect: 'gnu' })), 'ERR_UNSUPPORTED')
  assert.equal(await codes(sparse([['GNU.sparse.major', '0'], ['GNU.sparse.minor', '0'], ['GNU.sparse.size', '10'],
    ['GNU.sparse.numblocks', '2'], ['GNU.sparse.offset', '0'], ['GNU.sparse.numbytes', '1']], 1, new Uint8Array(1))), 'ERR_TAR_BAD_HEADER')
  // 1.0: the map runs past the stored data
  const v10 = sparse([['GNU.sparse.major', '1'], ['GNU.sparse.minor', '0'], ['GNU.sparse.realsize', '10']], 512, b('2\n0\n5\n'))
  assert.equal(await codes(v10), 'ERR_TAR_BAD_HEADER')
})

test('maxEntrySize refuses big entries (and sparse ones by their logical size) from the header', async () => {
  const sparse = cat(encodePaxHeader(b('s'), encodePaxRecords([
    ['GNU.sparse.major', '0'], ['GNU.sparse.minor', '1'], ['GNU.sparse.size', String(2 ** 50)], ['GNU.sparse.map', '0,1'], ['GNU.sparse.numblocks', '1']
  ])), header({ name: b('s'), size: 1 }), padded(b('x')), END)
  assert.equal(await errorCode(readPaths([sparse], false, { maxEntrySize: 1 << 30 })), 'ERR_TAR_ENTRY_TOO_LARGE')
  const file = cat(header({ name: b('f'), size: 2000 }), padded(new Uint8Array(2000)), END)
  assert.equal(await errorCode(readPaths([file], false, { maxEntrySize: 1999 })), 'ERR_TAR_ENTRY_TOO_LARGE')
  assert.deepEqual(await readPaths([file], false, { maxEntrySize: 2000 }), ['f'])
})

/** Valid archives of every kind the reader handles, to mutate. */
async function corpus (): Promise<Uint8Array[]> {
  const out = [Uint8Array.from(await collect(writeTar(sampleEntries())))]
  if (!haveTool('tar')) return out // the written archives alone
  await withTempDir(async (tmp) => {
    const src = path.join(tmp, 'src')
    fs.mkdirSync(path.join(src, 'd'), { recursive: true })
    fs.writeFileSync(path.join(src, 'd', 'f'), 'content\n')
    fs.writeFileSync(path.join(src, `${'n'.repeat(120)}`), 'long\n')
    fs.symlinkSync('t'.repeat(120), path.join(src, 'd', 'l'))
    const fd = fs.openSync(path.join(src, 'sparse'), 'w')
    fs.ftruncateSync(fd, 64 * 1024)
    for (let i = 0; i < 6; i++) fs.writeSync(fd, Buffer.from(`p${i}`), 0, 2, i * 10_000)
    fs.closeSync(fd)
    for (const args of [['--format=gnu', '--sparse'], ['--format=pax', '--sparse'], ['--format=pax', '--sparse', '--sparse-version=0.1'], ['--format=v7']]) {
      const archive = path.join(tmp, 'a.tar')
      const r = gnuTar(['-cf', archive, '-C', src, ...args, '.'])
      if (r.status === 0) out.push(Uint8Array.from(fs.readFileSync(archive)))
    }
  })
  return out
}

test('random mutations of valid archives parse or fail with an ERR_ code, never hang or crash', { timeout: 30_000 }, async () => {
  const archives = await corpus()
  const outcomes = new Map<string, number>()
  const tally = (what: string): void => { outcomes.set(what, (outcomes.get(what) ?? 0) + 1) }
  const mutation = fc.oneof(
    fc.record({ kind: fc.constant('set' as const), at: fc.nat(), value: fc.integer({ min: 0, max: 255 }) }),
    // header fields: size, mode, uid, mtime, checksum, typeflag, magic, prefix, sparse area
    fc.record({ kind: fc.constant('field' as const), block: fc.nat(), at: fc.constantFrom(100, 108, 124, 130, 136, 148, 156, 257, 345, 386, 398, 482, 483), text: fc.stringMatching(/^[0-7 \0x-]{1,12}$/) }),
    fc.record({ kind: fc.constant('digits' as const), at: fc.nat(), text: fc.stringMatching(/^[0-9]{1,25}$/) }),
    fc.record({ kind: fc.constant('cut' as const), at: fc.nat() }),
    fc.record({ kind: fc.constant('splice' as const), at: fc.nat(), len: fc.integer({ min: 1, max: 1024 }), insert: fc.boolean() })
  )
  await fc.assert(fc.asyncProperty(
    fc.nat({ max: archives.length - 1 }), fc.array(mutation, { minLength: 1, maxLength: 6 }), fc.boolean(), fc.integer({ min: 1, max: 4096 }),
    async (which, mutations, fixChecksums, chunk) => {
      let bytes = Buffer.from(archives[which] ?? new Uint8Array(0))
      for (const m of mutations) {
        if (bytes.length === 0) break
        const at = m.at % bytes.length
        if (m.kind === 'set') bytes[at] = m.value
        else if (m.kind === 'digits') bytes.write(m.text, at, 'latin1')
        else if (m.kind === 'cut') bytes = bytes.subarray(0, at)
        else if (m.kind === 'splice') bytes = m.insert ? Buffer.concat([bytes.subarray(0, at), Buffer.alloc(m.len, 0x31), bytes.subarray(at)]) : Buffer.concat([bytes.subarray(0, at), bytes.subarray(at + m.len)])
        else {
          const blocks = Math.floor(bytes.length / 512)
          if (blocks === 0) continue
          const start = (m.block % blocks) * 512
          bytes.write(m.text, start + m.at, 'latin1')
          if (fixChecksums) bytes.set(patchHeader(bytes.subarray(start, start + 512), 0, []), start)
        }
      }
      let timer: NodeJS.Timeout | undefined
      const timeout = new Promise<never>((_resolve, reject) => { timer = setTimeout(() => reject(new Error('the reader hangs')), 5000) })
      try {
        await Promise.race([readAll(chunked(bytes, chunk), { maxEntrySize: 16 << 20, maxHeaderSize: 256 * 1024 }), timeout])
        tally('ok')
      } catch (err) {
        assert.ok(err instanceof TesseraError, `not a tessera error: ${String(err)}\n${(err as Error).stack ?? ''}`)
        assert.match(err.code, /^ERR_/)
        tally(err.code)
      } finally {
        clearTimeout(timer)
      }
    }
  ), { numRuns: 400 })
  // the mutations reach both outcomes and several kinds of failure
  assert.ok((outcomes.get('ok') ?? 0) > 10, JSON.stringify([...outcomes]))
  assert.ok(outcomes.size >= 4, JSON.stringify([...outcomes]))
})
