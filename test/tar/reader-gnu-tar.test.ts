/**
 * Archives made by the real GNU tar (/usr/bin/tar) in every format (v7,
 * ustar, gnu, pax with each sparse format) read back with readTar and
 * compared field by field with the files they were made from (lstat,
 * readlink, getfattr, content sha256).
 */
import { test } from 'node:test'
import assert from 'node:assert/strict'
import { spawnSync } from 'node:child_process'
import { createHash } from 'node:crypto'
import fs from 'node:fs'
import path from 'node:path'
import { normalizeLayerPath, readTar, type TarReadEntry } from '../../src/tar/index.js'
import { describeTree, gnuTar, key, pseudoRandom, readXattrs, withTempDir, type Described } from './helpers.js'
import { skipUnless } from '../helpers/tools.js'

const skip = skipUnless(['tar', 'mkfifo', 'mknod'], process.getuid?.() !== 0 && 'needs root (devices, owners)')

const GiB = 1024 ** 3
const SPARSE_SIZE = GiB
/** Data written into the sparse file: 41 small pieces, so old GNU headers need extension blocks. */
const SPARSE_PIECES: Array<[number, Buffer]> = [
  ...Array.from({ length: 40 }, (_, i): [number, Buffer] => [i * 25_000_000 + 7, Buffer.from(`piece ${i}\n`)]),
  [SPARSE_SIZE - 6, Buffer.from('tail!\n')]
]

interface Features {
  /** devices and a FIFO (not in v7) */
  special: boolean
  /** a path that needs the ustar prefix (not in v7: 99-byte names) */
  split: boolean
  /** names and link targets over 100 bytes, paths over 255 */
  long: boolean
  /** a modification time before 1970 */
  negative: boolean
  /** user.* extended attributes */
  xattrs: boolean
  /** a 1 GiB sparse file */
  sparse: boolean
}

function run (cmd: string, args: string[]): void {
  const r = spawnSync(cmd, args)
  if (r.error !== undefined) throw r.error
  assert.equal(r.status, 0, `${cmd} ${args.join(' ')}: ${r.stderr.toString()}`)
}

/** Build the test tree under `root` (which exists). */
function buildTree (root: string, f: Features): void {
  const p = (...parts: string[]): string => path.join(root, ...parts)
  fs.mkdirSync(p('top'))
  fs.writeFileSync(p('top/hello.txt'), 'hello, tar\n')
  run('touch', ['-d', '@1700000000.123456789', p('top/hello.txt')])
  fs.writeFileSync(p('top/random.bin'), Buffer.concat([...pseudoRandom(200 * 1024 + 123, 7)]))
  fs.writeFileSync(p('top/empty'), '')
  fs.writeFileSync(p('top/setuid'), '#!/bin/sh\n')
  fs.chmodSync(p('top/setuid'), 0o4755)
  fs.symlinkSync('hello.txt', p('top/link'))
  fs.linkSync(p('top/hello.txt'), p('top/hard'))
  fs.writeFileSync(Buffer.from([...Buffer.from(p('top/bad-')), 0xff, 0xfe]), 'not utf-8\n')
  fs.writeFileSync(p('top/with space\nand newline'), 'odd\n')
  fs.mkdirSync(p('sticky'))
  fs.chmodSync(p('sticky'), 0o1777)
  if (f.split) {
    // "./split/ppp.../" fits the name field, "./split/ppp.../nnn..." needs the prefix
    fs.mkdirSync(p('split', 'p'.repeat(90)), { recursive: true })
    fs.writeFileSync(p('split', 'p'.repeat(90), 'n'.repeat(80)), 'split\n')
  }
  if (f.special) {
    run('mkfifo', [p('top/fifo')])
    run('mknod', [p('top/null'), 'c', '1', '3'])
    run('mknod', [p('top/loop'), 'b', '7', '0'])
  }
  if (f.long) {
    const long = `top/${'L'.repeat(200)}`
    fs.writeFileSync(p(long), 'long name\n')
    fs.symlinkSync(`${'x/'.repeat(100)}end`, p('top/long-link'))
    fs.linkSync(p(long), p('top/hard-to-long'))
    const deep = Array.from({ length: 5 }, (_, i) => `level${i}-${'d'.repeat(60)}`).join('/')
    fs.mkdirSync(p('deep', deep), { recursive: true })
    fs.writeFileSync(p('deep', deep, 'leaf.txt'), 'deep\n')
  }
  if (f.negative) {
    fs.writeFileSync(p('top/old'), 'before 1970\n')
    run('touch', ['-d', '@-1000000000.25', p('top/old')])
  }
  if (f.xattrs) {
    run('setfattr', ['-n', 'user.text', '-v', 'plain value', p('top/hello.txt')])
    run('setfattr', ['-n', 'user.bin', '-v', '0x00ff0a3d2500', p('top/hello.txt')])
    run('setfattr', ['-n', 'user.empty', p('top/hello.txt')])
    run('setfattr', ['-n', 'user.dir', '-v', 'on a directory', p('top')])
  }
  if (f.sparse) {
    const fd = fs.openSync(p('top/sparse.img'), 'w')
    fs.ftruncateSync(fd, SPARSE_SIZE)
    for (const [at, data] of SPARSE_PIECES) fs.writeSync(fd, data, 0, data.length, at)
    fs.closeSync(fd)
  }
}

/** Check streamed sparse content against SPARSE_PIECES without hashing a gigabyte of zeros. */
async function checkSparseContent (content: AsyncIterable<Uint8Array>): Promise<void> {
  const zeros = Buffer.alloc(1024 * 1024)
  let pos = 0
  let piece = 0
  for await (const chunk of content) {
    let at = 0
    while (at < chunk.length) {
      const next = SPARSE_PIECES[piece]
      const until = next === undefined ? Infinity : next[0]
      if (pos + at < until) {
        const n = Math.min(chunk.length - at, until - (pos + at), zeros.length)
        assert.equal(Buffer.compare(chunk.subarray(at, at + n), zeros.subarray(0, n)), 0, `zeros at ${pos + at}`)
        at += n
      } else {
        const [start, data] = next as [number, Buffer]
        const from = pos + at - start
        const n = Math.min(chunk.length - at, data.length - from)
        assert.deepEqual(Buffer.from(chunk.subarray(at, at + n)), data.subarray(from, from + n), `piece at ${start}`)
        at += n
        if (from + n === data.length) piece++
      }
    }
    pos += chunk.length
  }
  assert.equal(pos, SPARSE_SIZE)
  assert.equal(piece, SPARSE_PIECES.length)
}

const floorSeconds = (ns: bigint): bigint => (ns >= 0n ? ns / 1_000_000_000n : -((-ns + 999_999_999n) / 1_000_000_000n)) * 1_000_000_000n

interface Expect {
  /** uid/gid tar was told to store (else the files'). */
  owner?: number
  /** whether mtimes keep nanoseconds (pax) or whole seconds */
  ns: boolean
  xattrs: boolean
  sparse: boolean
}

/** Read `archive` and compare every entry with `tree` (described from the source directory). */
async function compare (archive: string, root: string, tree: Map<string, Described>, want: Expect): Promise<TarReadEntry[]> {
  const seen = new Set<string>()
  const entries: TarReadEntry[] = []
  for await (const e of readTar(fs.createReadStream(archive))) {
    entries.push(e)
    const names = normalizeLayerPath(e.path)
    const k = key(Buffer.concat(names.flatMap((n, i) => (i === 0 ? [n] : [Buffer.from('/'), n]))))
    if (names.length === 0) {
      assert.equal(e.type, 'directory')
      continue
    }
    const msg = JSON.stringify(k)
    const fsEntry = tree.get(k)
    assert.ok(fsEntry !== undefined, `${msg} is in the tree`)
    assert.ok(!seen.has(k), `${msg} once`)
    seen.add(k)
    assert.equal(e.uid, want.owner ?? fsEntry.uid, `${msg} uid`)
    assert.equal(e.gid, want.owner ?? fsEntry.gid, `${msg} gid`)
    assert.equal(e.mtimeNs, want.ns ? fsEntry.mtimeNs : floorSeconds(fsEntry.mtimeNs), `${msg} mtime`)
    assert.equal(e.mode, fsEntry.mode, `${msg} mode`)
    if (e.type === 'hardlink') {
      const target = tree.get(key(Buffer.concat(normalizeLayerPath(e.linkname ?? new Uint8Array(0)).flatMap((n, i) => (i === 0 ? [n] : [Buffer.from('/'), n])))))
      assert.equal(target?.ino, fsEntry.ino, `${msg} links to the same inode`)
      assert.equal(e.size, 0)
      continue
    }
    assert.equal(e.type, fsEntry.type, `${msg} type`)
    if (e.type === 'file') {
      assert.equal(e.size, fsEntry.size, `${msg} size`)
      if (k === 'top/sparse.img') {
        assert.ok(e.sparse !== undefined && e.sparse.length >= SPARSE_PIECES.length, `${msg} has a sparse map`)
        await checkSparseContent(e.content)
      } else {
        const h = createHash('sha256')
        for await (const c of e.content) h.update(c)
        assert.equal(h.digest('hex'), fsEntry.sha256, `${msg} content`)
        assert.equal(e.sparse, undefined)
      }
    } else {
      assert.equal(e.size, 0, `${msg} size`)
    }
    if (e.type === 'symlink') assert.equal(key(e.linkname ?? new Uint8Array(0)), fsEntry.linkname, `${msg} target`)
    else assert.equal(e.linkname, undefined)
    if (e.type === 'char' || e.type === 'block') {
      assert.deepEqual([e.devmajor, e.devminor], [fsEntry.devmajor, fsEntry.devminor], `${msg} device`)
    }
    if (want.xattrs) {
      const raw = Buffer.from(k, 'latin1')
      const text = raw.toString('utf8')
      if (fsEntry.type !== 'symlink' && Buffer.from(text).equals(raw)) {
        const user = (pairs: Iterable<[string, Buffer]>): Map<string, Buffer> => new Map([...pairs].filter(([n]) => n.startsWith('user.')))
        const got = user(e.xattrs.map(([n, v]): [string, Buffer] => [key(n), Buffer.from(v)]))
        assert.deepEqual(got, user(readXattrs(path.join(root, text))), `${msg} xattrs`)
        if (k === 'top/hello.txt') assert.equal(got.size, 3)
      }
    } else {
      assert.deepEqual(e.xattrs, [], `${msg} xattrs`)
    }
  }
  assert.deepEqual([...seen].sort(), [...tree.keys()].sort(), 'every file is in the archive')
  return entries
}

interface Case {
  name: string
  args: string[]
  features: Features
  expect: Expect
}

const none: Features = { special: false, split: false, long: false, negative: false, xattrs: false, sparse: false }
const OWNER = ['--owner=:3000000', '--group=:3000000', '--numeric-owner']
const cases: Case[] = [
  { name: 'v7', args: ['--format=v7'], features: { ...none }, expect: { ns: false, xattrs: false, sparse: false } },
  { name: 'ustar', args: ['--format=ustar'], features: { ...none, special: true, split: true }, expect: { ns: false, xattrs: false, sparse: false } },
  {
    name: 'gnu (long names, base-256 ids and times, old sparse)',
    args: ['--format=gnu', '--sparse', ...OWNER],
    features: { special: true, split: true, long: true, negative: true, xattrs: false, sparse: true },
    expect: { owner: 3_000_000, ns: false, xattrs: false, sparse: true }
  },
  ...(['0.0', '0.1', '1.0'] as const).map((v): Case => ({
    name: `pax (xattrs, ns times, sparse ${v})`,
    args: ['--format=pax', '--sparse', `--sparse-version=${v}`, '--xattrs', '--xattrs-include=*', ...(v === '1.0' ? OWNER : [])],
    features: { special: true, split: true, long: true, negative: true, xattrs: true, sparse: true },
    expect: { ...(v === '1.0' ? { owner: 3_000_000 } : {}), ns: true, xattrs: true, sparse: true }
  }))
]

for (const c of cases) {
  test(`reads GNU tar ${c.name} archives exactly`, { skip: skipUnless(c.features.xattrs ? ['setfattr', 'getfattr'] : [], skip) }, async () => {
    await withTempDir(async (tmp) => {
      const root = path.join(tmp, 'src')
      fs.mkdirSync(root)
      buildTree(root, c.features)
      const archive = path.join(tmp, 'a.tar')
      const r = gnuTar(['-cf', archive, '-C', root, ...c.args, '.'])
      assert.equal(r.status, 0, r.stderr)
      const entries = await compare(archive, root, describeTree(root, (k) => k === 'top/sparse.img'), c.expect)
      const bytes = fs.readFileSync(archive)
      const block = (e: TarReadEntry | undefined): Buffer => {
        assert.ok(e !== undefined)
        return bytes.subarray(e.headerOffset, e.headerOffset + 512)
      }
      const byName = (name: string): TarReadEntry | undefined => entries.find((e) => Buffer.from(e.path).toString('latin1') === `./${name}`)
      if (c.name === 'v7') assert.equal(byName('top/hello.txt')?.typeflag, '\0')
      if (c.name === 'ustar') assert.ok(block(byName(`split/${'p'.repeat(90)}/${'n'.repeat(80)}`))[345] !== 0, 'the split path uses the prefix field')
      if (c.name.startsWith('gnu')) {
        const hello = block(byName('top/hello.txt'))
        assert.equal(hello[108], 0x80, 'uid in base-256')
        assert.equal(hello[116], 0x80, 'gid in base-256')
        assert.equal(block(byName('top/old'))[136], 0xff, 'negative mtime in base-256')
        assert.equal(byName('top/sparse.img')?.typeflag, 'S')
        assert.equal(block(byName(`top/${'L'.repeat(200)}`))[156], 'L'.charCodeAt(0), 'a GNU long name header')
      }
    })
  })
}

test('reads a GNU tar sparse file with a base-256 real size, skipping its content', { skip }, async () => {
  await withTempDir(async (tmp) => {
    const file = path.join(tmp, 'huge.img')
    const fd = fs.openSync(file, 'w')
    fs.ftruncateSync(fd, 9 * GiB)
    fs.writeSync(fd, Buffer.from('middle'), 0, 6, 5 * GiB)
    fs.closeSync(fd)
    fs.writeFileSync(path.join(tmp, 'after.txt'), 'after\n')
    const archive = path.join(tmp, 'a.tar')
    const r = gnuTar(['-cf', archive, '-C', tmp, '--format=gnu', '--sparse', 'huge.img', 'after.txt'])
    assert.equal(r.status, 0, r.stderr)
    const bytes = fs.readFileSync(archive)
    assert.equal(bytes[483], 0x80, 'realsize in base-256')
    const seen: Array<[string, number]> = []
    for await (const e of readTar([bytes])) {
      seen.push([Buffer.from(e.path).toString(), e.size])
      if (e.type === 'file' && e.size < 100) {
        const parts: Uint8Array[] = []
        for await (const c of e.content) parts.push(c)
        assert.equal(Buffer.concat(parts).toString(), 'after\n')
      }
    }
    assert.deepEqual(seen, [['huge.img', 9 * GiB], ['after.txt', 6]])
  })
})
