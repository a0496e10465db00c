/**
 * Differential tests against Go's `archive/tar`, the reader containerd,
 * CRI-O, Docker, umoci and skopeo unpack layers with: tessera's reading
 * (the `'go'` dialect, the one of image layers) of Go 1.19's own test
 * archives (Debian golang-src) must be what `reader_test.go` expects and
 * what Go itself reads (the oracle `scripts/tar-oracle`, built from Debian's
 * golang-go), entry by entry and byte for byte, except where tessera is
 * stricter for a stated reason.
 */
import { spawnSync } from 'node:child_process'
import { createHash } from 'node:crypto'
import fs from 'node:fs'
import path from 'node:path'
import { test } from 'node:test'
import assert from 'node:assert/strict'
import { readTar } from '../../src/tar/index.js'
import { GO_TESTDATA, MAX_CONTENT, goList, goReading, goTestdataSkip, tesseraReading, viewOf, type View } from './go-oracle.js'

const skip = goTestdataSkip()
const file = (name: string): string => path.join(GO_TESTDATA, name)

/**
 * The archives of the testdata that tessera reads otherwise than Go, and
 * why: each is refused by tessera where Go reads something, never read as
 * other files.
 */
const STRICTER: Record<string, { error: string, go: RegExp | 'reads', why: string }> = {
  'gnu-incremental.tar': { error: 'ERR_UNSUPPORTED', go: /^unhandled tar header type 68$/, why: 'a GNU dumpdir (D) entry, which Go returns and the runtimes do not unpack' },
  'pax-path-hdr.tar': { error: 'ERR_TAR_TRUNCATED', go: 'reads', why: 'a PAX header and then the end of the input: Go reads an empty archive' }
}

test('tessera reads every archive of Go\'s testdata as Go\'s archive/tar does', { skip }, async () => {
  const names = fs.readdirSync(GO_TESTDATA).filter((n) => n.endsWith('.tar')).sort()
  assert.ok(names.length >= 40, `only ${names.length} archives in ${GO_TESTDATA}`)
  const listings = new Map(goList(names.map(file), MAX_CONTENT).map((l) => [path.basename(l.file), l]))
  for (const name of names) {
    const go = goReading(listings.get(name)!)
    const ours = await tesseraReading(fs.readFileSync(file(name)))
    const stricter = STRICTER[name]
    if (stricter !== undefined) {
      assert.equal(ours.error, stricter.error, `${name}: ${stricter.why}`)
      if (stricter.go === 'reads') assert.equal(go.error, undefined, `${name}: Go reads it`)
      else assert.match(go.error ?? '', stricter.go, `${name}: the runtimes refuse it`)
      continue
    }
    assert.deepEqual(ours.entries, go.entries, `${name}: the entries differ from Go's`)
    assert.equal(ours.error !== undefined, go.error !== undefined, `${name}: tessera ${ours.error ?? 'reads it'}, Go ${go.error ?? 'reads it'}`)
  }
})

/**
 * `reader_test.go`'s TestReader vectors, transcribed: per archive the
 * entries Go must return (name, type, mode, uid, gid, size, mtime and, where
 * the test sets them, link target and xattrs), the MD5 of their contents
 * where the test checks them, and whether reading fails. PAX global headers
 * (`g`), which Go returns as entries, are left out: the runtimes skip them.
 */
type Expected = [name: string | Buffer, kind: string, mode: number, uid: number, gid: number, size: number, mtime: string, extra?: { linkname?: string, xattrs?: Record<string, string> }]
interface Vector { name: string, entries: Expected[], md5?: string[], error?: true }
const T = (name: string, entries: Expected[], md5?: string[]): Vector => ({ name, entries, ...(md5 !== undefined ? { md5 } : {}) })
const FAILS = (name: string): Vector => ({ name, entries: [], error: true })
const long100 = Array.from({ length: 100 }, (_, i) => String(i + 1)).join('')
const READER_TEST: Vector[] = [
  T('gnu.tar', [['small.txt', 'file', 0o640, 73025, 5000, 5, '1244428340'], ['small2.txt', 'file', 0o640, 73025, 5000, 11, '1244436044']],
    ['e38b27eaccb4391bdec553a7f3ae6b2f', 'c65bd2e50a56a2138bf1716f2fd56fe9']),
  T('sparse-formats.tar', [
    ['sparse-gnu', 'file', 420, 1000, 1000, 200, '1392395740'],
    ['sparse-posix-0.0', 'file', 420, 1000, 1000, 200, '1392342187'],
    ['sparse-posix-0.1', 'file', 420, 1000, 1000, 200, '1392340456'],
    ['sparse-posix-1.0', 'file', 420, 1000, 1000, 200, '1392337404'],
    ['end', 'file', 420, 1000, 1000, 4, '1392398319']
  ], ['6f53234398c2449fe67c1812d993012f', '6f53234398c2449fe67c1812d993012f', '6f53234398c2449fe67c1812d993012f', '6f53234398c2449fe67c1812d993012f', 'b0061974914468de549a2af8ced10316']),
  T('star.tar', [['small.txt', 'file', 0o640, 73025, 5000, 5, '1244592783'], ['small2.txt', 'file', 0o640, 73025, 5000, 11, '1244592783']]),
  T('v7.tar', [['small.txt', 'file', 0o444, 73025, 5000, 5, '1244593104'], ['small2.txt', 'file', 0o444, 73025, 5000, 11, '1244593104']]),
  T('pax.tar', [
    [`a/${long100}`, 'file', 0o664, 1000, 1000, 7, '1350244992.023960108'],
    ['a/b', 'symlink', 0o777, 1000, 1000, 0, '1350266320.910238425', { linkname: long100 }]
  ]),
  FAILS('pax-bad-hdr-file.tar'),
  FAILS('pax-bad-mtime-file.tar'),
  T('pax-pos-size-file.tar', [['foo', 'file', 0o640, 319973, 5000, 999, '1442282516']], ['0afb597b283fe61b5d4879669a350556']),
  T('pax-records.tar', [['file', 'file', 0, 0, 0, 0, '0']]),
  T('pax-global-records.tar', [['file1', 'file', 0, 0, 0, 0, '0'], ['file2', 'file', 0, 0, 0, 0, '0'], ['file3', 'file', 0, 0, 0, 0, '0'], ['file4', 'file', 0, 0, 0, 0, '1400000000']]),
  T('nil-uid.tar', [['P1050238.JPG.log', 'file', 0o664, 0, 0, 14, '1365454838']]),
  T('xattrs.tar', [
    ['small.txt', 'file', 0o644, 1000, 10, 5, '1386065770.448252320', { xattrs: { 'user.key': 'value', 'user.key2': 'value2', 'security.selinux': 'unconfined_u:object_r:default_t:s0\0' } }],
    ['small2.txt', 'file', 0o644, 1000, 10, 11, '1386065770.449252304', { xattrs: { 'security.selinux': 'unconfined_u:object_r:default_t:s0\0' } }]
  ]),
  T('gnu-multi-hdrs.tar', [['GNU2/GNU2/long-path-name', 'symlink', 0, 0, 0, 0, '0', { linkname: 'GNU4/GNU4/long-linkpath-name' }]]),
  T('pax-multi-hdrs.tar', [['bar', 'symlink', 0, 0, 0, 0, '0', { linkname: 'PAX4/PAX4/long-linkpath-name' }]]),
  T('gnu-long-nul.tar', [['0123456789', 'file', 0o644, 1000, 1000, 0, '1486082191']]),
  T('gnu-utf8.tar', [['☺☻☹'.repeat(18), 'file', 0o644, 1000, 1000, 0, '0']]),
  T('gnu-not-utf8.tar', [[Buffer.from('hi\x80\x81\x82\x83bye', 'latin1'), 'file', 0o644, 1000, 1000, 0, '0']]),
  FAILS('pax-nul-xattrs.tar'),
  FAILS('pax-nul-path.tar'),
  FAILS('neg-size.tar'),
  FAILS('issue10968.tar'),
  FAILS('issue11169.tar'),
  FAILS('issue12435.tar'),
  T('invalid-go17.tar', [[`${'a'.repeat(97)}/foo`, 'file', 0, 0o10000000, 0, 0, '0']]),
  T('ustar-file-devs.tar', [['file', 'file', 0o644, 0, 0, 0, '0']]),
  T('gnu-nil-sparse-data.tar', [['sparse.db', 'file', 0, 0, 0, 1000, '0']]),
  T('gnu-nil-sparse-hole.tar', [['sparse.db', 'file', 0, 0, 0, 1000, '0']]),
  T('pax-nil-sparse-data.tar', [['sparse.db', 'file', 0, 0, 0, 1000, '0']]),
  T('pax-nil-sparse-hole.tar', [['sparse.db', 'file', 0, 0, 0, 1000, '0']]),
  T('trailing-slash.tar', [['123456789/'.repeat(30).slice(0, -1), 'directory', 0, 0, 0, 0, '0']])
]

const ns = (mtime: string): string => {
  const [s, f = ''] = mtime.split('.')
  return (BigInt(s ?? '0') * 1_000_000_000n + BigInt(f.padEnd(9, '0'))).toString()
}
const latin1 = (name: string | Buffer): string => (typeof name === 'string' ? Buffer.from(name, 'utf8') : name).toString('latin1')

test('tessera reads Go\'s testdata as reader_test.go expects (TestReader, TestReadHeaderOnly)', { skip }, async () => {
  for (const v of READER_TEST) {
    const bytes = fs.readFileSync(file(v.name))
    const got: Array<{ view: View, md5: string }> = []
    let error: string | undefined
    try {
      for await (const e of readTar([bytes])) {
        const h = createHash('md5')
        for await (const c of e.content) h.update(c)
        got.push({ view: viewOf(e), md5: h.digest('hex') })
      }
    } catch (err) {
      error = (err as { code: string }).code
    }
    assert.equal(error !== undefined, v.error === true, `${v.name}: ${error ?? 'no error'}`)
    const want = v.entries.map(([name, kind, mode, uid, gid, size, mtime, extra]) => ({
      path: latin1(name),
      kind,
      mode,
      uid,
      gid,
      mtimeNs: ns(mtime),
      ...(kind === 'file' ? { size } : {}),
      ...(extra?.linkname !== undefined ? { linkname: extra.linkname } : {}),
      xattrs: Object.entries(extra?.xattrs ?? {}).sort()
    }))
    assert.deepEqual(got.map(({ view }) => view), want, v.name)
    if (v.md5 !== undefined) assert.deepEqual(got.map((g) => g.md5), v.md5, `${v.name} contents`)
  }
  // pax-bad-hdr-large.tar.bz2: Go expects ErrFieldTooLong (a PAX header above 1 MiB) once it is
  // bunzipped; tessera refuses the bzip2 stream itself, and the tar as too large a header
  const bz2 = fs.readFileSync(file('pax-bad-hdr-large.tar.bz2'))
  assert.equal((await tesseraReading(bz2)).error, 'ERR_UNSUPPORTED_COMPRESSION')
  const bunzip = spawnSync('bzip2', ['-dc'], { input: bz2, maxBuffer: 64 << 20 })
  if (bunzip.status === 0) assert.equal((await tesseraReading(bunzip.stdout)).error, 'ERR_TAR_HEADER_TOO_LARGE')
  // TestReadHeaderOnly: 16 entries, the last 8 the first 8 with a size set on types without data
  const only = await tesseraReading(fs.readFileSync(file('hdr-only.tar')))
  assert.equal(only.error, undefined)
  assert.equal(only.entries.length, 16)
  assert.deepEqual(only.entries.slice(8), only.entries.slice(0, 8))
})

/** TestReadTruncation: the archives Go reads cut at many points, with the outcome Go expects (entries read, clean end or not). */
test('truncated archives: as TestReadTruncation expects, or refused where tessera is stricter', { skip }, async () => {
  const data1 = fs.readFileSync(file('gnu.tar'))
  const data2 = Buffer.concat([fs.readFileSync(file('ustar-file-reg.tar')), Buffer.alloc(10 * 512)])
  const pax = fs.readFileSync(file('pax-path-hdr.tar'))
  const sparse = fs.readFileSync(file('sparse-formats.tar'))
  const trash = Buffer.from('garbage '.repeat(64))
  const cut = (b: Buffer, n: number): Buffer => b.subarray(0, n)
  // [input, entries, Go ends cleanly, tessera's error where it is stricter]
  const vectors: Array<[Buffer, number, boolean, string?]> = [
    [Buffer.alloc(0), 0, true],
    [cut(data1, 511), 0, false], [cut(data1, 512), 1, false], [cut(data1, 1024), 1, true], [cut(data1, 1536), 2, false],
    [cut(data1, 2048), 2, true], [data1, 2, true], [Buffer.concat([cut(data1, 2048), cut(data2, 1536)]), 3, true],
    [cut(data2, 511), 0, false], [cut(data2, 512), 1, false], [cut(data2, 1195), 1, false],
    // Go accepts an archive that ends in the padding after the last file; tessera wants the padding
    [cut(data2, 1196), 1, true, 'ERR_TAR_TRUNCATED'], [cut(data2, 1200), 1, true, 'ERR_TAR_TRUNCATED'], [cut(data2, 1535), 1, true, 'ERR_TAR_TRUNCATED'],
    [cut(data2, 1536), 1, true],
    [Buffer.concat([cut(data2, 1536), cut(trash, 1)]), 1, false], [Buffer.concat([cut(data2, 1536), cut(trash, 511)]), 1, false],
    [Buffer.concat([cut(data2, 1536), trash]), 1, false],
    [cut(data2, 2048), 1, true],
    [Buffer.concat([cut(data2, 2048), cut(trash, 1)]), 1, false], [Buffer.concat([cut(data2, 2048), cut(trash, 511)]), 1, false],
    [Buffer.concat([cut(data2, 2048), trash]), 1, false],
    [cut(data2, 2560), 1, true], [Buffer.concat([cut(data2, 2560), cut(trash, 1)]), 1, true], [Buffer.concat([cut(data2, 2560), cut(trash, 511)]), 1, true],
    [Buffer.concat([cut(data2, 2560), trash]), 1, true], [cut(data2, 3072), 1, true],
    // a PAX header and nothing after it: Go reads an empty archive, tessera a truncated one
    [pax, 0, true, 'ERR_TAR_TRUNCATED'],
    [Buffer.concat([pax, cut(trash, 1)]), 0, false], [Buffer.concat([pax, cut(trash, 511)]), 0, false],
    [cut(sparse, 511), 0, false], [cut(sparse, 512), 0, false], [cut(sparse, 3584), 1, true],
    [cut(sparse, 9200), 1, true, 'ERR_TAR_TRUNCATED'], // in the padding of the sparse entry's header
    [cut(sparse, 9216), 1, true, 'ERR_TAR_TRUNCATED'], // right after the next entry's PAX header
    [cut(sparse, 9728), 2, false], [cut(sparse, 10240), 2, true], [cut(sparse, 11264), 2, false],
    [sparse, 5, true], [Buffer.concat([sparse, trash]), 5, true]
  ]
  for (const [i, [input, count, clean, stricter]] of vectors.entries()) {
    const r = await tesseraReading(input)
    // an entry whose content is cut is still returned before the error
    assert.ok(r.entries.length === count || (r.error !== undefined && r.entries.length === count + 1), `vector ${i}: ${r.entries.length} entries, want ${count}`)
    if (stricter !== undefined) assert.equal(r.error, stricter, `vector ${i}`)
    else assert.equal(r.error === undefined, clean, `vector ${i}: ${r.error ?? 'clean'}`)
  }
})
