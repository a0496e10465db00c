/**
 * Regression tests of archives other tools wrote that tessera read
 * differently from Go's archive/tar and GNU tar (issue 15), each named
 * after its case. The archives are rebuilt here byte for byte in the shape
 * of the originals, so the tests need neither golang-src nor the corpora.
 */
import { test } from 'node:test'
import assert from 'node:assert/strict'
import zlib from 'node:zlib'
import { encodePaxHeader, encodePaxRecords, readTar } from '../../src/tar/index.js'
import { b, key } from './helpers.js'
import { END, cat, errorCode, header, padded, patchHeader, readAll } from './reader-helpers.js'

const pax = (records: Array<[string, string]>, typeflag: 'x' | 'g' = 'x'): Uint8Array => {
  const h = encodePaxHeader(b('PaxHeaders/x'), encodePaxRecords(records))
  return typeflag === 'x' ? h : cat(patchHeader(h.subarray(0, 512), 156, [0x67]), h.subarray(512))
}

test('pax-multi-hdrs.tar: of several PAX headers in a row only the last applies', async () => {
  // as Go's testdata: four x headers before one symlink (Go, GNU and BSD tar apply the last)
  const bytes = cat(
    pax([['path', 'PAX1/PAX1/long-path-name']]),
    pax([['path', 'PAX2/PAX2/long-path-name']]),
    pax([['linkpath', 'PAX3/PAX3/long-linkpath-name']]),
    pax([['linkpath', 'PAX4/PAX4/long-linkpath-name']]),
    header({ name: b('bar'), typeflag: '2', linkname: b('foo'), mtime: 0 }),
    END
  )
  for (const dialect of ['go', 'gnu'] as const) {
    const [e] = await readAll([bytes], { dialect })
    assert.equal(key(e!.entry.path), 'bar', dialect)
    assert.equal(key(e!.entry.linkname!), 'PAX4/PAX4/long-linkpath-name', dialect)
  }
})

test('pax-pos-size-file.tar: a zero-padded PAX size is read (24 digits, 999)', async () => {
  const data = Buffer.alloc(999, 0x61)
  const bytes = cat(pax([['size', '000000000000000000000999']]), header({ name: b('foo'), size: 0 }), padded(data), END)
  for (const dialect of ['go', 'gnu'] as const) {
    const [e] = await readAll([bytes], { dialect })
    assert.equal(e?.entry.size, 999)
    assert.deepEqual(e?.data, data)
  }
  // long zero-padded numbers elsewhere too: uid, mtime, sparse maps
  const [u] = await readAll([cat(pax([['uid', `${'0'.repeat(40)}1234`], ['mtime', `${'0'.repeat(30)}17.5`]]), header({ name: b('u') }), END)])
  assert.equal(u?.entry.uid, 1234)
  assert.equal(u?.entry.mtimeNs, 17_500_000_000n)
  // but not a number above 2^53 - 1 behind its zeros
  assert.equal(await errorCode(readAll([cat(pax([['size', `000${'9'.repeat(17)}`]]), header({ name: b('big') }), END)])), 'ERR_TAR_BAD_HEADER')
})

test('hdr-only.tar, testtar.tar: directories, links, devices and FIFOs with a size field but no data are read as Go reads them', async () => {
  // CPython's testtar.tar and Go's hdr-only.tar declare sizes on entries that carry none
  const bytes = cat(
    header({ name: b('dir/'), typeflag: '5', size: 5 }),
    header({ name: b('hardlink'), typeflag: '1', linkname: b('file'), size: 46 }),
    header({ name: b('symlink'), typeflag: '2', linkname: b('t'), size: 5 }),
    header({ name: b('null'), typeflag: '3', devmajor: 1, devminor: 3, size: 5 }),
    header({ name: b('sda'), typeflag: '4', devmajor: 8, size: 5 }),
    header({ name: b('fifo'), typeflag: '6', size: 5 }),
    pax([['size', '12345']]), header({ name: b('paxdir'), typeflag: '5' }),
    header({ name: b('file'), size: 3 }), padded(b('abc')),
    END
  )
  const got = (await readAll([bytes])).map(({ entry: e, data }) => [key(e.path), e.type, e.size, data.toString()])
  assert.deepEqual(got, [
    ['dir', 'directory', 0, ''], ['hardlink', 'hardlink', 0, ''], ['symlink', 'symlink', 0, ''], ['null', 'char', 0, ''],
    ['sda', 'block', 0, ''], ['fifo', 'fifo', 0, ''], ['paxdir', 'directory', 0, ''], ['file', 'file', 3, 'abc']
  ])
  // GNU tar 1.34 ignores the size of directories and hard links only: it
  // skips the data a symlink, device or FIFO declares (and so misreads
  // hdr-only.tar), which its dialect follows
  const gnuBytes = cat(
    header({ name: b('dir/'), typeflag: '5', size: 5 }),
    header({ name: b('hardlink'), typeflag: '1', linkname: b('file'), size: 46 }),
    header({ name: b('symlink'), typeflag: '2', linkname: b('t'), size: 5 }), padded(b('12345')),
    header({ name: b('fifo'), typeflag: '6', size: 600 }), padded(new Uint8Array(600).fill(1)),
    header({ name: b('file'), size: 3 }), padded(b('abc')),
    END
  )
  assert.deepEqual((await readAll([gnuBytes], { dialect: 'gnu' })).map(({ entry: e, data }) => [key(e.path), e.type, e.size, data.toString()]), [
    ['dir', 'directory', 0, ''], ['hardlink', 'hardlink', 0, ''], ['symlink', 'symlink', 0, ''], ['fifo', 'fifo', 0, ''], ['file', 'file', 3, 'abc']
  ])
  assert.equal(await errorCode(readAll([gnuBytes])), 'ERR_TAR_BAD_CHECKSUM') // Go reads the symlink's data as a header
})

test('gnu-long-nul.tar: a GNU long name is cut at its first NUL, as every reader cuts it', async () => {
  const data = b('0123456789\u00001234567890')
  const bytes = cat(patchHeader(header({ name: b('././@LongLink'), typeflag: 'L', size: data.length }), 257, Buffer.from('ustar  \0')), padded(data), header({ name: b('x') }), END)
  assert.equal(key((await readAll([bytes]))[0]!.entry.path), '0123456789')
})

test('pax-global-records.tar: PAX global headers are ignored as the runtimes ignore them, or applied as GNU tar does', async () => {
  const bytes = cat(
    pax([['path', 'global1'], ['mtime', '1500000000.0']], 'g'),
    header({ name: b('file1'), mtime: 0 }),
    pax([['path', 'file2']]), header({ name: b('ustar-name'), mtime: 0 }),
    pax([['path', '']], 'g'),
    header({ name: b('file3'), mtime: 0 }),
    pax([['mtime', '1400000000']]), header({ name: b('file4'), mtime: 0 }),
    END
  )
  const read = async (dialect: 'go' | 'gnu'): Promise<Array<[string, bigint]>> =>
    (await readAll([bytes], { dialect })).map(({ entry: e }) => [key(e.path), e.mtimeNs / 1_000_000_000n])
  assert.deepEqual(await read('go'), [['file1', 0n], ['file2', 0n], ['file3', 0n], ['file4', 1_400_000_000n]])
  // GNU tar applies them: global1 (file1 renamed), file2, then an empty
  // global path names file3 and file4 ".", which tessera refuses
  const gnu: Array<[string, bigint]> = []
  await assert.rejects(async () => {
    for await (const e of readTar([bytes], { dialect: 'gnu' })) gnu.push([key(e.path), e.mtimeNs / 1_000_000_000n])
  }, (err: unknown) => { assert.equal((err as { code?: string }).code, 'ERR_INVALID_PATH'); return true })
  assert.deepEqual(gnu, [['global1', 1_500_000_000n], ['file2', 1_500_000_000n]])
  // without the empty path, every later entry takes the global records
  const kept = cat(pax([['mtime', '1500000000.0'], ['uid', '9']], 'g'), header({ name: b('a'), mtime: 0 }), header({ name: b('b'), mtime: 0 }), END)
  assert.deepEqual((await readAll([kept], { dialect: 'gnu' })).map(({ entry: e }) => [key(e.path), e.uid, e.mtimeNs]), [['a', 9, 1_500_000_000_000_000_000n], ['b', 9, 1_500_000_000_000_000_000n]])
})

test('a size field with leading NULs reads 14 as Go reads it (0 in the gnu dialect)', async () => {
  // `\0\0\0\0\0\0\0\0\016\0` in the size field: Go trims NULs on both sides, GNU tar stops at the first
  const h = patchHeader(header({ name: b('f') }), 124, Buffer.from('\0\0\0\0\0\0\0\0\x0016\0', 'latin1'))
  const data = padded(b('fourteen bytes'))
  const [go] = await readAll([cat(h, data, END)])
  assert.equal(go?.entry.size, 14)
  assert.equal(go?.data.toString(), 'fourteen bytes')
  // GNU tar reads 0, then the data block as the next header
  assert.equal(await errorCode(readAll([cat(h, data, END)], { dialect: 'gnu' })), 'ERR_TAR_BAD_CHECKSUM')
  const [gnu] = await readAll([cat(h, END)], { dialect: 'gnu' })
  assert.equal(gnu?.entry.size, 0)
})

test('bzip2, xz, compress, lzip, lz4 and brotli streams are ERR_UNSUPPORTED_COMPRESSION, not a truncated tar', async () => {
  const tar = cat(header({ name: b('hello.txt'), size: 6 }), padded(b('hello\n')), END)
  const streams: Array<[string, Uint8Array]> = [
    ['bzip2', Buffer.from('BZh91AY&SY\x00\x00\x00\x00', 'latin1')],
    ['xz', Buffer.from([0xfd, 0x37, 0x7a, 0x58, 0x5a, 0x00, 0x00, 0x04])],
    ['compress', Buffer.from([0x1f, 0x9d, 0x90, 0x68, 0x00])],
    ['lzip', Buffer.from('LZIP\x01\x0c\x00', 'latin1')],
    ['lz4', Buffer.from([0x04, 0x22, 0x4d, 0x18, 0x64, 0x40, 0xa7])],
    ['brotli', zlib.brotliCompressSync(tar)],
    ['gzip', zlib.gzipSync(tar)]
  ]
  for (const [kind, bytes] of streams) {
    for (const source of [[bytes], [cat(bytes, new Uint8Array(4096))]]) {
      await assert.rejects(readAll(source), (err: unknown) => {
        assert.equal((err as { code?: string }).code, 'ERR_UNSUPPORTED_COMPRESSION', kind)
        assert.equal((err as { compression?: string }).compression, kind)
        return true
      })
    }
  }
  // a tar whose first name looks like a magic number is still a tar
  const [e] = await readAll([cat(header({ name: b('BZh91AY'), size: 0 }), END)])
  assert.equal(key(e!.entry.path), 'BZh91AY')
  // and garbage is no tar at all (a TarChecksumError still, with its own code)
  assert.equal(await errorCode(readAll([new Uint8Array(512).fill(0x41)])), 'ERR_TAR_NOT_ARCHIVE')
})

test('bytes that are no tar are ERR_TAR_NOT_ARCHIVE; a tar with a damaged first header is ERR_TAR_BAD_CHECKSUM; a cut one ERR_TAR_TRUNCATED', async () => {
  const file = cat(header({ name: b('a.txt'), size: 3 }), padded(b('abc')), END)
  const noise = new Uint8Array(3000).map((_, i) => (i * 7919 + 13) % 251)
  const damaged = Uint8Array.from(file)
  damaged[101] = damaged[101] === 0x37 ? 0x36 : 0x37 // one octal digit of the mode, checksum not updated
  const cases: Array<[string, Uint8Array, string]> = [
    ['noise', noise, 'ERR_TAR_NOT_ARCHIVE'],
    ['a text file', b('#!/bin/sh\necho hello\n'.repeat(40)), 'ERR_TAR_NOT_ARCHIVE'],
    ['a JSON document shorter than a header', b(JSON.stringify({ schemaVersion: 2, mediaType: 'application/vnd.oci.image.manifest.v1+json', config: { mediaType: 'application/vnd.oci.image.config.v1+json', size: 2 }, layers: [] })), 'ERR_TAR_NOT_ARCHIVE'],
    // eight bytes all inside the name field could start a header: cut short, not refused as no tar
    ['eight bytes', b('{"a": 1}'), 'ERR_TAR_TRUNCATED'],
    ['a header cut in its name', file.subarray(0, 3), 'ERR_TAR_TRUNCATED'],
    ['a header cut after its magic', file.subarray(0, 300), 'ERR_TAR_TRUNCATED'],
    // one digit of the mode field: still a header, with a wrong checksum
    ['a damaged first header', damaged, 'ERR_TAR_BAD_CHECKSUM']
  ]
  for (const [what, bytes, code] of cases) {
    for (const dialect of ['go', 'gnu'] as const) assert.equal(await errorCode(readAll([bytes], { dialect })), code, `${what} (${dialect})`)
  }
  assert.equal((await readAll([file])).length, 1, 'the intact tar reads')
  assert.deepEqual(await readAll([new Uint8Array(0)]), [], 'an empty stream is an empty archive, as Go and the runtimes read it')
})

test('PAX times past 2262 and before 1677 are read exactly (whether they can be stored is the importer\'s call)', async () => {
  for (const [value, ns] of [
    ['10000000000', 10_000_000_000n * 1_000_000_000n],
    ['-10000000000.5', -10_000_000_000_500_000_000n],
    ['-2146608000', -2_146_608_000_000_000_000n],
    ['+42.000000001', 42_000_000_001n]
  ] as const) {
    const [e] = await readAll([cat(pax([['mtime', value]]), header({ name: b('t') }), END)])
    assert.equal(e?.entry.mtimeNs, ns, value)
  }
  // negative times in a ustar header (base 256), as GNU tar writes them
  const twos = (n: bigint, width: number): number[] => Array.from({ length: width }, (_, i) => Number((BigInt.asUintN(8 * width, n) >> BigInt(8 * (width - 1 - i))) & 0xffn))
  const neg = patchHeader(header({ name: b('old') }), 136, twos(-2_146_608_000n, 12))
  for (const dialect of ['go', 'gnu'] as const) {
    for await (const e of readTar([cat(neg, END)], { dialect })) assert.equal(e.mtimeNs, -2_146_608_000_000_000_000n, dialect)
  }
})
