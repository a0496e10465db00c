/**
 * How the reader streams: content read, skipped or read late, concurrent
 * calls, cancellation, the source's lifecycle, the end of the archive, and
 * the header conventions it resolves (global PAX headers, v7 directories,
 * xattr encodings, sparse expansion).
 */
import { test } from 'node:test'
import assert from 'node:assert/strict'
import {
  TarContentUnavailableError, encodePaxHeader, encodePaxRecords, readTar, writeTar, type TarEntry
} from '../../src/tar/index.js'
import { b, collect, key } from './helpers.js'
import { END, cat, chunked, errorCode, header, padded, patchHeader, readAll } from './reader-helpers.js'

const T = 1_700_000_000_000_000_000n
const file = (p: string, text: string): TarEntry => ({ path: b(p), type: 'file', mode: 0o644, uid: 0, gid: 0, mtimeNs: T, size: b(text).length, content: b(text) })
const pax = (records: Array<[string, string | Uint8Array]>, typeflag: 'x' | 'g' = 'x'): Uint8Array => {
  const h = encodePaxHeader(b('x'), encodePaxRecords(records))
  if (typeflag === 'x') return h
  return cat(patchHeader(h.subarray(0, 512), 156, [0x67]), h.subarray(512))
}

async function threeFiles (): Promise<Uint8Array> {
  return Uint8Array.from(await collect(writeTar([file('a', 'A'.repeat(1000)), file('b', 'B'.repeat(3000)), file('c', 'C')])))
}

test('content not read, or read in part, is skipped before the next entry', async () => {
  const archive = await threeFiles()
  const seen: string[] = []
  for await (const e of readTar(chunked(archive, 333))) {
    seen.push(key(e.path))
    if (key(e.path) === 'b') {
      for await (const c of e.content) { assert.equal(c[0], 0x42); break }
    }
    if (key(e.path) === 'c') assert.equal((await collect(e.content)).toString(), 'C')
  }
  assert.deepEqual(seen, ['a', 'b', 'c'])
})

test('content read after moving on, or twice, is ERR_TAR_CONTENT_UNAVAILABLE', async () => {
  const archive = await threeFiles()
  const gen = readTar([archive])
  const a = await gen.next()
  assert.ok(a.done !== true)
  await gen.next()
  await assert.rejects(collect(a.value.content), TarContentUnavailableError)
  const gen2 = readTar([archive])
  const first = await gen2.next()
  assert.ok(first.done !== true)
  assert.equal((await collect(first.value.content)).length, 1000)
  assert.throws(() => first.value.content[Symbol.asyncIterator](), (err: unknown) => (err as { code?: string }).code === 'ERR_TAR_CONTENT_UNAVAILABLE')
  await gen2.return()
  // a content stream started, then abandoned by moving on
  const gen3 = readTar(chunked(archive, 100))
  const e3 = await gen3.next()
  assert.ok(e3.done !== true)
  const it = e3.value.content[Symbol.asyncIterator]()
  assert.equal((await it.next()).value?.length, 88) // the rest of the sixth 100-byte chunk
  const next = await gen3.next()
  assert.equal(next.done !== true && key(next.value.path), 'b')
  assert.equal(await errorCode(it.next()), 'ERR_TAR_CONTENT_UNAVAILABLE')
})

test('asking for the next entry while a content read is pending waits for it', async () => {
  const archive = await threeFiles()
  let release: (() => void) | undefined
  const gate = new Promise<void>((resolve) => { release = resolve })
  async function * slow (): AsyncGenerator<Uint8Array> {
    yield archive.subarray(0, 600)
    await gate
    yield archive.subarray(600, 700)
    yield archive.subarray(700)
  }
  const gen = readTar(slow())
  const a = await gen.next()
  assert.ok(a.done !== true)
  const it = a.value.content[Symbol.asyncIterator]()
  const c1 = await it.next() // 88 bytes from the first chunk
  const pendingContent = it.next() // waits for the gate
  const pendingEntry = gen.next()
  release?.()
  const c2 = await pendingContent
  const b2 = await pendingEntry
  // the read asked for first is served first, then the reader skips the rest
  assert.equal(c1.value?.length, 88)
  assert.equal(c2.value?.length, 100)
  assert.equal(b2.done !== true && key(b2.value.path), 'b')
  assert.equal(await errorCode(it.next()), 'ERR_TAR_CONTENT_UNAVAILABLE')
  const rest: string[] = []
  for await (const e of gen) rest.push(key(e.path))
  assert.deepEqual(rest, ['c'])
})

test('the same entries come out whatever the chunking', async () => {
  const archive = await threeFiles()
  const whole = await readAll([archive])
  for (const size of [1, 7, 511, 512, 513, 4096]) {
    const got = await readAll(chunked(archive, size))
    assert.deepEqual(got.map((r) => [key(r.entry.path), r.data.toString()]), whole.map((r) => [key(r.entry.path), r.data.toString()]), `chunks of ${size}`)
  }
})

test('an abort signal stops reading with ERR_ABORTED, between entries and inside content', async () => {
  const archive = await threeFiles()
  const ac = new AbortController()
  const gen = readTar(chunked(archive, 100), { signal: ac.signal })
  const a = await gen.next()
  assert.ok(a.done !== true)
  const it = a.value.content[Symbol.asyncIterator]()
  await it.next()
  ac.abort()
  assert.equal(await errorCode(it.next()), 'ERR_ABORTED')
  assert.equal(await errorCode(gen.next()), 'ERR_ABORTED')
  const aborted = AbortSignal.abort()
  assert.equal(await errorCode(readAll([archive], { signal: aborted })), 'ERR_ABORTED')
})

test('the source is closed when reading stops early, and its errors come through unchanged', async () => {
  const archive = await threeFiles()
  let closed = false
  async function * source (): AsyncGenerator<Uint8Array> {
    try { yield * chunked(archive, 512) } finally { closed = true }
  }
  for await (const e of readTar(source())) { assert.equal(key(e.path), 'a'); break }
  assert.ok(closed)
  const boom = new Error('network down')
  async function * failing (): AsyncGenerator<Uint8Array> { yield archive.subarray(0, 700); throw boom }
  await assert.rejects(readAll(failing()), (err) => err === boom)
  assert.equal(await errorCode(readAll([archive.subarray(0, 512), 'text' as unknown as Uint8Array])), 'ERR_INVALID_ARGUMENT')
})

test('the end: two zero blocks, one zero block then EOF, or EOF; what follows the marker is read and ignored', async () => {
  const entry = cat(header({ name: b('f'), size: 2 }), padded(b('hi')))
  for (const bytes of [cat(entry, END), cat(entry, new Uint8Array(512)), entry, cat(entry, END, new Uint8Array(9216)), cat(entry, END, b('trailing garbage'))]) {
    const got = await readAll([bytes])
    assert.deepEqual(got.map((r) => [key(r.entry.path), r.data.toString()]), [['f', 'hi']])
  }
  assert.deepEqual(await readAll([]), [])
  let pulled = 0
  function * counted (): Generator<Uint8Array> { for (const c of [entry, END, new Uint8Array(512), new Uint8Array(512)]) { pulled++; yield c } }
  await readAll(counted())
  assert.equal(pulled, 4, 'read to the end')
  pulled = 0
  await readAll(counted(), { readToEnd: false })
  assert.equal(pulled, 2, 'stopped at the marker')
})

test('gnu dialect: PAX global headers apply to the entries after them (xattrs aside)', async () => {
  const bytes = cat(
    header({ name: b('before'), uid: 1 }),
    pax([['uid', '77'], ['uname', 'global'], ['mtime', '5.5'], ['SCHILY.xattr.user.g', 'G']], 'g'),
    header({ name: b('one'), uid: 1 }),
    pax([['uid', '2'], ['uname', 'local']]),
    header({ name: b('two'), uid: 2 }),
    pax([['uname', '']], 'g'),
    header({ name: b('three'), uid: 3 }),
    END
  )
  const read = async (dialect: 'go' | 'gnu'): Promise<unknown[]> =>
    (await readAll([bytes], { dialect })).map(({ entry: e }) => [key(e.path), e.uid, e.uname, e.mtimeNs, e.xattrs.map(([n, v]) => `${key(n)}=${key(v)}`).join()])
  assert.deepEqual(await read('gnu'), [
    ['before', 1, '', 1_000_000_000_000_000_000n, ''],
    ['one', 77, 'global', 5_500_000_000n, ''],
    ['two', 2, 'local', 5_500_000_000n, ''],
    ['three', 77, '', 5_500_000_000n, '']
  ])
  // Go, and so the runtimes, ignore them (and empty records keep the ustar field)
  assert.deepEqual(await read('go'), [
    ['before', 1, '', 1_000_000_000_000_000_000n, ''],
    ['one', 1, '', 1_000_000_000_000_000_000n, ''],
    ['two', 2, 'local', 1_000_000_000_000_000_000n, ''],
    ['three', 3, '', 1_000_000_000_000_000_000n, '']
  ])
})

test('empty PAX values: Go keeps the ustar field, GNU tar fails on an empty number and names the entry "."', async () => {
  for (const [records, goRead] of [
    [[['uid', '']], ['f', 5]], [[['mtime', '']], ['f', 5]], [[['size', '']], ['f', 5]], [[['path', '']], ['f', 5]]
  ] as const) {
    const bytes = cat(pax(records.map(([k, v]) => [k, v])), header({ name: b('f'), uid: 5 }), END)
    assert.deepEqual((await readAll([bytes])).map(({ entry: e }) => [key(e.path), e.uid]), [goRead])
    const code = records[0][0] === 'path' ? 'ERR_INVALID_PATH' : 'ERR_TAR_BAD_HEADER'
    await assert.rejects(readAll([bytes], { dialect: 'gnu' }), (err: unknown) => { assert.equal((err as { code?: string }).code, code); return true })
  }
})

test('go dialect: a PAX global header drops the extended header and long name pending before it', async () => {
  const long = (value: string): Uint8Array => cat(header({ name: b('././@LongLink'), typeflag: 'L', size: value.length }), padded(b(value)))
  const bytes = cat(pax([['uid', '5']]), long('longname'), pax([['comment', 'x']], 'g'), header({ name: b('short'), uid: 1 }), END)
  const read = async (dialect: 'go' | 'gnu'): Promise<unknown[]> => (await readAll([bytes], { dialect })).map(({ entry: e }) => [key(e.path), e.uid])
  assert.deepEqual(await read('go'), [['short', 1]])
  assert.deepEqual(await read('gnu'), [['longname', 5]])
})

test('header conventions: v7 directories, contiguous files, volume labels, trailing slashes, ustar prefix', async () => {
  const v7 = (h: Uint8Array): Uint8Array => patchHeader(h, 257, new Uint8Array(8))
  const slashed = cat(header({ name: b('file0/') }), header({ name: b('file7/'), typeflag: '7' }), END)
  // GNU tar takes a trailing slash on types 0 and 7 for a directory too; Go (and the runtimes) only on v7's NUL
  assert.deepEqual((await readAll([slashed], { dialect: 'gnu' })).map(({ entry: e }) => [key(e.path), e.type]), [['file0', 'directory'], ['file7', 'directory']])
  assert.deepEqual((await readAll([slashed], { dialect: 'go' })).map(({ entry: e }) => [key(e.path), e.type]), [['file0/', 'file'], ['file7/', 'file']])
  const bytes = cat(
    patchHeader(header({ name: b('VOLUME'), typeflag: 'V' }), 257, Buffer.from('ustar  \0')),
    v7(patchHeader(header({ name: b('olddir/') }), 156, [0])),
    v7(patchHeader(header({ name: b('oldfile'), size: 1 }), 156, [0])), padded(b('x')),
    header({ name: b('contig'), typeflag: '7', size: 1 }), padded(b('y')),
    header({ name: b('slashes//'), typeflag: '5' }),
    header({ name: b('/'), typeflag: '5' }),
    header({ name: b('./'), typeflag: '5' }),
    header({ name: b('name'), prefix: b('pre/fix'), typeflag: '5' }),
    header({ name: b('dev'), typeflag: '3', devmajor: 1, devminor: 3 }),
    END
  )
  const got = (await readAll([bytes])).map(({ entry: e, data }) => [key(e.path), e.type, e.typeflag, e.size, data.toString(), e.devmajor, e.devminor])
  assert.deepEqual(got, [
    ['olddir', 'directory', '\0', 0, '', 0, 0],
    ['oldfile', 'file', '\0', 1, 'x', 0, 0],
    ['contig', 'file', '7', 1, 'y', 0, 0],
    ['slashes', 'directory', '5', 0, '', 0, 0],
    ['/', 'directory', '5', 0, '', 0, 0],
    ['.', 'directory', '5', 0, '', 0, 0],
    ['pre/fix/name', 'directory', '5', 0, '', 0, 0],
    ['dev', 'char', '3', 0, '', 1, 3]
  ])
})

test('gnu dialect xattrs: SCHILY escapes undone, LIBARCHIVE records decoded, SCHILY wins for the same name', async () => {
  const bytes = cat(
    pax([
      ['LIBARCHIVE.xattr.user.both', Buffer.from('from libarchive').toString('base64')],
      ['SCHILY.xattr.user.both', 'from schily'],
      ['SCHILY.xattr.user.a%3Db%25c', 'escaped'],
      ['LIBARCHIVE.xattr.user.only%20lib%ff', Buffer.from([0, 1, 2]).toString('base64').replace(/=+$/, '')],
      ['SCHILY.xattr.user.empty', '']
    ]),
    header({ name: b('f') }),
    END
  )
  const [got] = await readAll([bytes], { dialect: 'gnu' })
  assert.deepEqual(got?.entry.xattrs.map(([n, v]) => [key(n), key(v)]), [
    ['user.both', 'from schily'],
    ['user.a=b%c', 'escaped'],
    ['user.empty', ''],
    ['user.only lib\xff', '\x00\x01\x02']
  ])
  // Go reads SCHILY.xattr names as they are and knows no LIBARCHIVE records
  const [go] = await readAll([bytes], { dialect: 'go' })
  assert.deepEqual(go?.entry.xattrs.map(([n, v]) => [key(n), key(v)]), [
    ['user.both', 'from schily'],
    ['user.a%3Db%25c', 'escaped'],
    ['user.empty', '']
  ])
})

test('sparse files are expanded with zeros; unread sparse content is skipped', async () => {
  const data = b('HEADtail')
  const sparse00 = cat(pax([
    ['GNU.sparse.size', '2000000'], ['GNU.sparse.numblocks', '2'],
    ['GNU.sparse.offset', '0'], ['GNU.sparse.numbytes', '4'],
    ['GNU.sparse.offset', '1999996'], ['GNU.sparse.numbytes', '4']
  ]), header({ name: b('s00'), size: 8 }), padded(data))
  const map10 = padded(b('2\n0\n4\n1999996\n4\n'))
  const sparse10 = cat(pax([
    ['GNU.sparse.major', '1'], ['GNU.sparse.minor', '0'], ['GNU.sparse.name', 'real/name'], ['GNU.sparse.realsize', '2000000']
  ]), header({ name: b('GNUSparseFile.1/name'), size: map10.length + 8 }), map10, padded(data))
  const after = cat(header({ name: b('after'), size: 1 }), padded(b('!')))
  const got = await readAll([cat(sparse00, sparse10, after, END)])
  assert.deepEqual(got.map(({ entry: e }) => [key(e.path), e.size, e.sparse]), [
    ['s00', 2_000_000, [{ offset: 0, size: 4 }, { offset: 1_999_996, size: 4 }]],
    ['real/name', 2_000_000, [{ offset: 0, size: 4 }, { offset: 1_999_996, size: 4 }]],
    ['after', 1, undefined]
  ])
  for (const r of got.slice(0, 2)) {
    assert.equal(r.data.length, 2_000_000)
    assert.equal(r.data.subarray(0, 4).toString(), 'HEAD')
    assert.equal(r.data.subarray(1_999_996).toString(), 'tail')
    assert.ok(r.data.subarray(4, 1_999_996).every((x) => x === 0))
  }
  const paths: string[] = []
  for await (const e of readTar(chunked(cat(sparse00, sparse10, after, END), 300))) paths.push(key(e.path))
  assert.deepEqual(paths, ['s00', 'real/name', 'after'])
})

test('memory stays bounded: a 256 MiB entry is skipped without being held', async () => {
  const size = 256 * 1024 * 1024
  const chunk = new Uint8Array(1 << 20)
  function * source (): Generator<Uint8Array> {
    yield header({ name: b('big'), size })
    for (let i = 0; i < size / chunk.length; i++) yield chunk
    yield cat(header({ name: b('small'), size: 1 }), padded(b('s')), END)
  }
  const before = process.memoryUsage().arrayBuffers
  let peak = 0
  const names: string[] = []
  for await (const e of readTar(source())) {
    names.push(key(e.path))
    if (e.size < 10) assert.equal((await collect(e.content)).toString(), 's')
    else {
      let n = 0
      for await (const c of e.content) { n += c.length; if (n % (32 << 20) === 0) peak = Math.max(peak, process.memoryUsage().arrayBuffers - before) }
      assert.equal(n, size)
    }
  }
  assert.deepEqual(names, ['big', 'small'])
  assert.ok(peak < 64 << 20, `arrayBuffers grew by ${peak}`)
})

test('extents(): the holes of a sparse entry come as counts, the data as bytes; content reads them as zeros', async () => {
  const sparse = [{ offset: 3, size: 2 }, { offset: 2 ** 33, size: 3 }]
  const entry = { path: b('s'), type: 'file' as const, mode: 0o644, uid: 0, gid: 0, mtimeNs: 0n, size: 2 ** 33 + 10, sparse, content: b('abxyz') }
  const archive = await collect(writeTar([entry]))
  for (const dialect of ['go', 'gnu'] as const) {
    for await (const e of readTar([archive], { dialect })) {
      assert.equal(key(e.path), 's')
      assert.equal(e.size, 2 ** 33 + 10)
      const pieces: Array<string | number> = []
      for await (const p of e.extents()) pieces.push(typeof p === 'number' ? p : key(p))
      assert.deepEqual(pieces, [3, 'ab', 2 ** 33 - 5, 'xyz', 7])
    }
  }
  for await (const e of readTar([await collect(writeTar([{ ...entry, size: 20, sparse: [{ offset: 3, size: 5 }] }]))])) {
    assert.equal(key(await collect(e.content)), '\0\0\0abxyz\0\0\0\0\0\0\0\0\0\0\0\0')
  }
})
