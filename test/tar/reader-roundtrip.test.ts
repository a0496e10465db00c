/**
 * Round trip: random entries written by writeTar and read back by readTar,
 * however the archive is chunked and whether or not contents are read.
 */
import { test } from 'node:test'
import assert from 'node:assert/strict'
import fc from 'fast-check'
import { PAX_XATTR_PREFIX, readTar, writeTar, xattrKeyword, type TarEntry, type TarEntryType } from '../../src/tar/index.js'
import { collect, key } from './helpers.js'
import { chunked, randomlyChunked } from './reader-helpers.js'

const component = fc.uint8Array({ minLength: 1, maxLength: 70 })
  .map((c) => c.map((x) => (x === 0 || x === 0x2f ? 0x61 : x)))
  .filter((c) => !(c.length === 1 && c[0] === 0x2e) && !(c.length === 2 && c[0] === 0x2e && c[1] === 0x2e))
const archivePath = fc.array(component, { minLength: 1, maxLength: 4 }).map((parts) => {
  const out: number[] = []
  parts.forEach((p, i) => { if (i > 0) out.push(0x2f); out.push(...p) })
  return Uint8Array.from(out)
})
const id = fc.oneof(fc.integer({ min: 0, max: 65535 }), fc.integer({ min: 0, max: Number.MAX_SAFE_INTEGER }))
const mtimeNs = fc.oneof(
  fc.bigInt({ min: 0n, max: 4_000_000_000n }).map((s) => s * 1_000_000_000n),
  fc.bigInt({ min: -(10n ** 20n), max: 10n ** 21n })
)
// names: no NUL (impossible) and no newline (the writer refuses it in a PAX keyword)
const xattrName = fc.uint8Array({ minLength: 1, maxLength: 40 }).map((n) => n.map((x) => (x === 0 || x === 0x0a ? 0x78 : x)))
const xattrs = fc.uniqueArray(fc.tuple(xattrName, fc.uint8Array({ maxLength: 100 })), { maxLength: 4, selector: ([n]) => key(n) })
const owner = fc.option(fc.string({ maxLength: 40, unit: 'grapheme' }).filter((s) => !s.includes('\0')), { nil: undefined })

const entryArb: fc.Arbitrary<{ entry: TarEntry, content: Uint8Array, cuts: number }> = fc.record({
  path: archivePath,
  type: fc.constantFrom<TarEntryType>('file', 'file', 'file', 'directory', 'symlink', 'hardlink', 'fifo', 'char', 'block'),
  mode: fc.integer({ min: 0, max: 0o7777 }),
  uid: id,
  gid: id,
  mtimeNs,
  content: fc.uint8Array({ maxLength: 3000 }),
  cuts: fc.integer({ min: 1, max: 5 }),
  linkTarget: fc.uint8Array({ minLength: 1, maxLength: 300 }).map((t) => t.map((x) => (x === 0 ? 0x2e : x))),
  hardTarget: archivePath,
  dev: fc.tuple(fc.integer({ min: 0, max: 0o7777777 }), fc.integer({ min: 0, max: 0o7777777 })),
  xattrs,
  uname: owner,
  gname: owner
}).map((r) => {
  const entry: TarEntry = { path: r.path, type: r.type, mode: r.mode, uid: r.uid, gid: r.gid, mtimeNs: r.mtimeNs }
  if (r.type === 'file') entry.size = r.content.length
  if (r.type === 'symlink') entry.linkname = r.linkTarget
  if (r.type === 'hardlink') entry.linkname = r.hardTarget
  if (r.type === 'char' || r.type === 'block') { entry.devmajor = r.dev[0]; entry.devminor = r.dev[1] }
  if (r.xattrs.length > 0) entry.xattrs = r.xattrs
  if (r.uname !== undefined) entry.uname = r.uname
  if (r.gname !== undefined) entry.gname = r.gname
  return { entry, content: r.type === 'file' ? r.content : new Uint8Array(0), cuts: r.cuts }
})

/** Content handed to the writer in `cuts` pieces. */
function * pieces (content: Uint8Array, cuts: number): Generator<Uint8Array> {
  const step = Math.max(1, Math.ceil(content.length / cuts))
  for (let i = 0; i < content.length; i += step) yield content.subarray(i, i + step)
}

const sortedXattrs = (x: Array<[Uint8Array, Uint8Array]> | undefined): Array<[string, string]> =>
  (x ?? []).map(([n, v]): [string, string] => [key(n), key(v)]).sort((a, b) => Buffer.compare(Buffer.from(a[0], 'latin1'), Buffer.from(b[0], 'latin1')))

test('readTar gives back what writeTar wrote, however chunked, read or skipped', async () => {
  await fc.assert(fc.asyncProperty(
    fc.array(entryArb, { maxLength: 8 }),
    fc.oneof(fc.constant(1), fc.integer({ min: 2, max: 700 }), fc.constant(1 << 20)),
    fc.integer({ min: 1, max: 2 ** 31 }),
    fc.array(fc.boolean(), { minLength: 8, maxLength: 8 }),
    async (items, chunkSize, seed, readIt) => {
      const archive = await collect(writeTar(items.map(({ entry, content, cuts }) =>
        entry.type === 'file' ? { ...entry, content: pieces(content, cuts) } : entry)))
      const source = seed % 2 === 0 ? chunked(archive, chunkSize) : randomlyChunked(archive, seed)
      // both dialects read the writer's archives alike, except xattr names
      // it had to escape (holding `=`), which only GNU tar's reading undoes
      const dialect = seed % 3 === 0 ? 'gnu' : 'go'
      const asRead = (x: Array<[Uint8Array, Uint8Array]> | undefined): Array<[Uint8Array, Uint8Array]> | undefined =>
        dialect === 'gnu' ? x : x?.map(([n, v]) => [xattrKeyword(n).subarray(PAX_XATTR_PREFIX.length), v])
      let i = 0
      for await (const got of readTar(source, { dialect })) {
        const item = items[i]
        assert.ok(item !== undefined, 'no extra entry')
        const want = item.entry
        assert.equal(key(got.path), key(want.path))
        assert.equal(got.type, want.type)
        assert.equal(got.typeflag, { file: '0', directory: '5', symlink: '2', hardlink: '1', fifo: '6', char: '3', block: '4' }[want.type])
        assert.equal(got.mode, want.mode)
        assert.equal(got.uid, want.uid)
        assert.equal(got.gid, want.gid)
        assert.equal(got.mtimeNs, want.mtimeNs)
        assert.equal(got.size, want.size ?? 0)
        assert.equal(got.linkname === undefined ? undefined : key(got.linkname), want.linkname === undefined ? undefined : key(want.linkname))
        assert.equal(got.devmajor, want.devmajor ?? 0)
        assert.equal(got.devminor, want.devminor ?? 0)
        assert.deepEqual(sortedXattrs(got.xattrs), sortedXattrs(asRead(want.xattrs)))
        assert.equal(got.uname, want.uname ?? '')
        assert.equal(got.gname, want.gname ?? '')
        assert.equal(got.sparse, undefined)
        if (readIt[i % readIt.length] === true) {
          assert.equal(key(await collect(got.content)), key(item.content))
        }
        i++
      }
      assert.equal(i, items.length)
    }
  ), { numRuns: 150 })
})
