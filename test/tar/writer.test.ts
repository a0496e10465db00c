import { test } from 'node:test'
import assert from 'node:assert/strict'
import fc from 'fast-check'
import { AbortedError, InvalidPathError, TesseraError } from '../../src/errors.js'
import {
  TarInvalidEntryError, TarSizeMismatchError, decodePaxRecords, decodeUstarHeader, isZeroBlock, writeTar,
  type TarEntry
} from '../../src/tar/index.js'
import { b, collect, key } from './helpers.js'

const base = { mode: 0o644, uid: 0, gid: 0, mtimeNs: 1_700_000_000_000_000_000n }

function file (path: string, content: Uint8Array | Iterable<Uint8Array> | AsyncIterable<Uint8Array>, size: number): TarEntry {
  return { ...base, path: b(path), type: 'file', size, content }
}

/** Walk an archive: headers (with their PAX records) and content offsets. */
function parse (archive: Uint8Array): Array<{ path: string, typeflag: string, size: number, pax: Map<string, string>, offset: number }> {
  const out = []
  let at = 0
  let pax = new Map<string, string>()
  for (;;) {
    const block = archive.subarray(at, at + 512)
    if (isZeroBlock(block)) break
    const h = decodeUstarHeader(block)
    at += 512
    const padded = Math.ceil(h.size / 512) * 512
    if (h.typeflag === 'x') {
      pax = new Map(decodePaxRecords(archive.subarray(at, at + h.size)).map(([k, v]) => [key(k), key(v)]))
      at += padded
      continue
    }
    out.push({ path: pax.get('path') ?? key(h.path), typeflag: h.typeflag, size: h.size, pax, offset: at })
    pax = new Map()
    at += padded
  }
  assert.equal(archive.length, at + 1024, 'the archive ends with exactly two zero blocks')
  assert.ok(isZeroBlock(archive.subarray(at + 512, at + 1024)))
  return out
}

test('an empty archive is two zero blocks', async () => {
  const out = await collect(writeTar([]))
  assert.deepEqual(out, Buffer.alloc(1024))
})

test('content is padded to 512 and the archive ends with 1024 zero bytes, no record padding', async () => {
  const out = await collect(writeTar([file('a', b('x'.repeat(513)), 513), file('b', b('y'), 1)]))
  assert.equal(out.length, 512 + 1024 + 512 + 512 + 1024)
  const entries = parse(out)
  assert.deepEqual(entries.map((e) => [e.path, e.size]), [['a', 513], ['b', 1]])
  assert.equal(out.subarray(512, 512 + 513).toString(), 'x'.repeat(513))
  assert.ok(out.subarray(512 + 513, 512 + 1024).every((c) => c === 0))
})

test('the same entries give the same bytes, whatever the chunking or xattr order', async () => {
  const data = Uint8Array.from({ length: 5000 }, (_, i) => (i * 7919) % 251)
  const xa: Array<[Uint8Array, Uint8Array]> = [[b('user.b'), b('2')], [b('user.a'), Uint8Array.from([0xff])]]
  const make = (chunks: number[], xattrs: Array<[Uint8Array, Uint8Array]>): TarEntry[] => {
    const pieces: Uint8Array[] = []
    let at = 0
    for (const n of chunks) { pieces.push(data.subarray(at, at + n)); at += n }
    pieces.push(data.subarray(at))
    async function * gen (): AsyncGenerator<Uint8Array> { yield * pieces }
    return [
      { ...base, path: b('dir'), type: 'directory', mtimeNs: 123_456_789n },
      { ...file('dir/f', gen(), data.length), xattrs },
      { ...base, path: b('dir/l'), type: 'symlink', linkname: b('f'), mode: 0o777 }
    ]
  }
  const reference = await collect(writeTar(make([], xa)))
  assert.deepEqual(await collect(writeTar(make([], xa))), reference)
  assert.deepEqual(await collect(writeTar(make([1, 0, 511, 2048], [...xa].reverse()))), reference)
  assert.deepEqual(await collect(writeTar([...make([], xa)].map((e) => e.type === 'file' ? { ...e, content: data } : e))), reference)
  await fc.assert(fc.asyncProperty(fc.array(fc.integer({ min: 0, max: 700 }), { maxLength: 10 }), async (cuts) => {
    assert.deepEqual(await collect(writeTar(make(cuts, xa))), reference)
  }), { numRuns: 30 })
})

test('PAX records appear only when needed, in a fixed order', async () => {
  const out = await collect(writeTar([
    { ...base, path: b('plain'), type: 'file', size: 0 },
    { ...base, path: b('frac'), type: 'file', size: 0, mtimeNs: 1_500_000_000n },
    { ...base, path: b('neg'), type: 'file', size: 0, mtimeNs: -1n },
    { ...base, path: b('ids'), type: 'file', size: 0, uid: 0o10000000, gid: 0o7777777 },
    { ...base, path: Uint8Array.from([0xff]), type: 'symlink', linkname: b('t'.repeat(101)) },
    { ...base, path: b('own'), type: 'file', size: 0, uname: 'root', gname: 'gröup' },
    { ...base, path: b(`${'p'.repeat(150)}/${'n'.repeat(100)}`), type: 'file', size: 0 },
    { ...base, path: b(`${'p'.repeat(156)}/n`), type: 'file', size: 0 },
    { ...base, path: b('x'), type: 'file', size: 0, xattrs: [[b('user.z'), b('1')], [b('user.a'), Uint8Array.from([0, 0xff])]] }
  ]))
  const e = parse(out)
  const records = e.map((x) => [...x.pax.keys()])
  assert.deepEqual(records, [
    [],
    ['mtime'],
    ['mtime'],
    ['uid'],
    ['hdrcharset', 'path', 'linkpath'],
    ['gname'],
    [],
    ['path'],
    ['hdrcharset', 'SCHILY.xattr.user.a', 'SCHILY.xattr.user.z']
  ])
  assert.equal(e[1]?.pax.get('mtime'), '1.5')
  assert.equal(e[2]?.pax.get('mtime'), '-0.000000001')
  assert.equal(e[3]?.pax.get('uid'), String(0o10000000))
  assert.equal(e[4]?.pax.get('hdrcharset'), 'BINARY')
  assert.equal(e[5]?.pax.get('gname'), Buffer.from('gröup').toString('latin1'))
  assert.equal(e[6]?.path, `${'p'.repeat(150)}/${'n'.repeat(100)}`)
  assert.equal(e[8]?.pax.get('SCHILY.xattr.user.a'), '\0\xff')
})

test('the PAX header itself is deterministic: PaxHeaders/<base>, 0644, 0:0, mtime 0', async () => {
  const out = await collect(writeTar([{ ...base, path: b('some/dir/f'), type: 'file', size: 0, uid: 1, gid: 2, mtimeNs: 5n }]))
  const h = decodeUstarHeader(out.subarray(0, 512))
  assert.equal(h.typeflag, 'x')
  assert.equal(key(h.path), 'PaxHeaders/f')
  assert.deepEqual([h.mode, h.uid, h.gid, h.mtime, key(h.uname), key(h.gname)], [0o644, 0, 0, 0, '', ''])
  const main = decodeUstarHeader(out.subarray(1024, 1536))
  assert.deepEqual([key(main.path), main.mtime, main.uid, main.gid], ['some/dir/f', 0, 1, 2])
})

test('directories are written with a trailing slash, given with or without one', async () => {
  const out = await collect(writeTar([
    { ...base, path: b('a'), type: 'directory' },
    { ...base, path: b('a/b/'), type: 'directory' }
  ]))
  assert.deepEqual(parse(out).map((e) => [e.path, e.typeflag]), [['a/', '5'], ['a/b/', '5']])
})

test('content that does not match size throws ERR_TAR_SIZE_MISMATCH', async () => {
  const check = async (entry: TarEntry, declared: number, received: number): Promise<Buffer> => {
    const seen: Uint8Array[] = []
    await assert.rejects(async () => { for await (const c of writeTar([entry])) seen.push(c) }, (err: unknown) => {
      assert.ok(err instanceof TarSizeMismatchError)
      assert.ok(err instanceof TesseraError)
      assert.equal(err.code, 'ERR_TAR_SIZE_MISMATCH')
      assert.equal(err.declared, declared)
      assert.equal(err.received, received)
      return true
    })
    return Buffer.concat(seen)
  }
  // a buffer is checked before anything is written
  assert.equal((await check(file('f', b('abc'), 2), 2, 3)).length, 0)
  assert.equal((await check(file('f', b('abc'), 4), 4, 3)).length, 0)
  assert.equal((await check({ ...base, path: b('f'), type: 'file', size: 1 }, 1, 0)).length, 0)
  // streamed content: excess bytes are never written
  const over = await check(file('f', [b('ab'), b('cd'), b('ef')], 3), 3, 4)
  assert.equal(over.length, 512 + 2)
  const under = await check(file('f', (async function * () { yield b('ab') })(), 3), 3, 2)
  assert.equal(under.length, 512 + 2)
})

test('malformed entries are refused with stable codes', async () => {
  const refuse = async (entry: unknown, cls: typeof InvalidPathError | typeof TarInvalidEntryError, code: string): Promise<void> => {
    await assert.rejects(collect(writeTar([entry as TarEntry])), (err: unknown) => {
      assert.ok(err instanceof cls, String(err))
      assert.equal((err as TesseraError).code, code)
      return true
    })
  }
  const P = InvalidPathError
  const E = TarInvalidEntryError
  const pathCode = 'ERR_INVALID_PATH'
  const code = 'ERR_TAR_INVALID_ENTRY'
  for (const p of ['', '/abs', 'a/../b', '..', 'a/./b', '.', 'a//b', 'a\0b', 'file/']) {
    await refuse({ ...base, path: b(p), type: 'file', size: 0 }, P, pathCode)
  }
  await refuse({ ...base, path: b('d//'), type: 'directory' }, P, pathCode)
  await refuse({ ...base, path: 'a', type: 'file', size: 0 }, P, pathCode)
  await refuse({ ...base, path: b('h'), type: 'hardlink', linkname: b('/etc/passwd') }, P, pathCode)
  await refuse({ ...base, path: b('h'), type: 'hardlink', linkname: b('../x') }, P, pathCode)
  await refuse({ ...base, path: b('s'), type: 'socket' }, E, code)
  await refuse({ ...base, path: b('f'), type: 'file', size: 0, mode: 0o10000 }, E, code)
  await refuse({ ...base, path: b('f'), type: 'file', size: 0, mode: -1 }, E, code)
  await refuse({ ...base, path: b('f'), type: 'file', size: 0, uid: 1.5 }, E, code)
  await refuse({ ...base, path: b('f'), type: 'file', size: 0, gid: -1 }, E, code)
  await refuse({ ...base, path: b('f'), type: 'file', size: 0, mtimeNs: 1 }, E, code)
  await refuse({ ...base, path: b('f'), type: 'file' }, E, code)
  await refuse({ ...base, path: b('f'), type: 'file', size: 1, content: 'x' }, E, code)
  await refuse({ ...base, path: b('d'), type: 'directory', size: 1 }, E, code)
  await refuse({ ...base, path: b('d'), type: 'directory', content: b('') }, E, code)
  await refuse({ ...base, path: b('l'), type: 'symlink' }, E, code)
  await refuse({ ...base, path: b('l'), type: 'symlink', linkname: b('') }, E, code)
  await refuse({ ...base, path: b('l'), type: 'symlink', linkname: b('a\0') }, E, code)
  await refuse({ ...base, path: b('f'), type: 'file', size: 0, linkname: b('x') }, E, code)
  await refuse({ ...base, path: b('c'), type: 'char', devmajor: 1 }, E, code)
  await refuse({ ...base, path: b('c'), type: 'char', devmajor: 1, devminor: 0o10000000 }, E, code)
  await refuse({ ...base, path: b('f'), type: 'fifo', devmajor: 0, devminor: 0 }, E, code)
  await refuse({ ...base, path: b('f'), type: 'file', size: 0, xattrs: [[b(''), b('v')]] }, E, code)
  await refuse({ ...base, path: b('f'), type: 'file', size: 0, xattrs: [[b('user.a'), b('1')], [b('user.a'), b('2')]] }, E, code)
  await refuse({ ...base, path: b('f'), type: 'file', size: 0, xattrs: [[b('user.\0'), b('1')]] }, E, code)
  await refuse({ ...base, path: b('f'), type: 'file', size: 0, uname: 'a\0' }, E, code)
  await refuse(file('f', ['abc' as unknown as Uint8Array], 3), E, code)
})

test('an aborted signal stops the stream with ERR_ABORTED', async () => {
  const ac = new AbortController()
  async function * entries (): AsyncGenerator<TarEntry> {
    yield file('a', b('1'), 1)
    ac.abort()
    yield file('b', b('2'), 1)
  }
  await assert.rejects(collect(writeTar(entries(), { signal: ac.signal })), (err: unknown) => {
    assert.ok(err instanceof AbortedError)
    assert.equal(err.code, 'ERR_ABORTED')
    return true
  })
  await assert.rejects(collect(writeTar([], { signal: AbortSignal.abort() })), AbortedError)
})

test('a multi-MiB file is streamed, not buffered', async () => {
  const chunk = new Uint8Array(1 << 20).fill(7)
  let produced = 0
  let maxAhead = 0
  let consumed = 0
  async function * content (): AsyncGenerator<Uint8Array> {
    for (let i = 0; i < 16; i++) {
      produced += chunk.length
      maxAhead = Math.max(maxAhead, produced - consumed)
      yield chunk
    }
  }
  for await (const c of writeTar([file('big', content(), 16 << 20)])) consumed += c.length
  assert.equal(consumed, 512 + (16 << 20) + 1024)
  assert.ok(maxAhead <= 2 * chunk.length, `writer ran ${maxAhead} bytes ahead of its consumer`)
})
