/**
 * Archives written by writeTar, checked with the real GNU tar (/usr/bin/tar):
 * listed with -tvf and extracted as root with -xpf, then compared with what
 * was written (contents, modes, owners, ns mtimes, links, devices, xattrs).
 */
import { test } from 'node:test'
import assert from 'node:assert/strict'
import fs from 'node:fs'
import path from 'node:path'
import { writeTar, type TarEntry } from '../../src/tar/index.js'
import { b, collect, describeTree, gnuTar, key, pseudoRandom, readXattrs, sha256Of, withTempDir } from './helpers.js'
import { skipUnless } from '../helpers/tools.js'

const skip = skipUnless(['tar'], process.getuid?.() !== 0 && 'needs root')

const own = { uid: 1234, gid: 5678 }
const T = 1_700_000_000_000_000_000n // whole seconds: no PAX mtime
const bytes = (...codes: number[]): Uint8Array => Uint8Array.from(codes)
const cat = (...parts: Uint8Array[]): Uint8Array => Uint8Array.from(Buffer.concat(parts))

const BIG_SIZE = 5 * 1024 * 1024 + 123
const longComponent = 'L'.repeat(200)
const deepDirs = Array.from({ length: 5 }, (_, i) => Array.from({ length: i + 1 }, (_, j) => `level${j}-${'d'.repeat(60)}`).join('/'))
const splitDir = `split/${'p'.repeat(120)}`
const nonUtf8 = cat(b('top/bad-'), bytes(0xff, 0xfe))
const xattrs: Array<[Uint8Array, Uint8Array]> = [
  [b('user.text'), b('plain value')],
  [b('user.bin'), bytes(0, 1, 2, 0xff, 0xfe, 0x0a, 0x3d, 0x25, 0)],
  [b('user.a=b%c'), b('name with = and %')],
  [cat(b('user.raw-'), bytes(0xff)), bytes(0x80)],
  [b('user.empty'), new Uint8Array(0)]
]

/** Fresh entries each time (streamed content can be read once). */
function fixture (): TarEntry[] {
  const dir = (p: string, extra: Partial<TarEntry> = {}): TarEntry => ({ path: b(p), type: 'directory', mode: 0o755, ...own, mtimeNs: T, ...extra })
  const file = (p: string | Uint8Array, text: string, extra: Partial<TarEntry> = {}): TarEntry => {
    const content = b(text)
    return { path: typeof p === 'string' ? b(p) : p, type: 'file', mode: 0o644, ...own, mtimeNs: T, size: content.length, content, ...extra }
  }
  // Pre-order, each directory's subtree contiguous: GNU tar applies a
  // directory's mtime as soon as it meets an entry outside that directory,
  // so later additions to it would change the restored mtime.
  return [
    dir('top', { mtimeNs: 1_700_000_000_123_456_789n }),
    file('top/hello.txt', 'hello, tar\n'),
    file('top/setuid', '#!/bin/sh\n', { mode: 0o4755, uid: 0, gid: 0, mtimeNs: 1_700_000_002_000_001_000n }),
    dir('top/setgid-dir/', { mode: 0o2750 }),
    { path: b('top/empty'), type: 'file', mode: 0o600, ...own, mtimeNs: T, size: 0 },
    { path: b('top/big.bin'), type: 'file', mode: 0o640, ...own, mtimeNs: T, size: BIG_SIZE, content: pseudoRandom(BIG_SIZE, 42) },
    { path: b('top/link'), type: 'symlink', mode: 0o777, ...own, mtimeNs: 1_600_000_000_500_000_000n, linkname: b('hello.txt') },
    { path: b('top/abs-link'), type: 'symlink', mode: 0o777, ...own, mtimeNs: T, linkname: b('/nonexistent/target') },
    { path: b('top/long-link'), type: 'symlink', mode: 0o777, ...own, mtimeNs: T, linkname: b(`${'x/'.repeat(100)}end`) },
    { path: b('top/odd-link'), type: 'symlink', mode: 0o777, ...own, mtimeNs: T, linkname: cat(b('../target '), bytes(0xfe, 0x0a)) },
    { path: b('top/hard'), type: 'hardlink', mode: 0o644, ...own, mtimeNs: T, linkname: b('top/hello.txt') },
    { path: b('top/fifo'), type: 'fifo', mode: 0o640, ...own, mtimeNs: T },
    file('top/with space', 'space\n'),
    file('top/new\nline', 'newline\n'),
    file('top/tab\tand\\backslash', 'tab\n'),
    file(nonUtf8, 'not utf-8\n'),
    file('top/héllo wörld', 'utf-8\n'),
    file(`top/${longComponent}`, 'long name\n'),
    { path: b('top/hard-to-long'), type: 'hardlink', mode: 0o644, ...own, mtimeNs: T, linkname: b(`top/${longComponent}`) },
    file('top/xattrs', 'has xattrs\n', { xattrs }),
    file('top/big-ids', 'ids\n', { uid: 3_000_000, gid: 4_000_000 }),
    file('top/old', 'before 1970\n', { mtimeNs: -1_500_000_000n }),
    file('top/future', 'after 2242\n', { mtimeNs: 10_000_000_000_250_000_000n }),
    file('top/epoch', 'epoch\n', { mtimeNs: 0n }),
    dir('sticky', { mode: 0o1777, uid: 0, gid: 0 }),
    dir('dev'),
    { path: b('dev/null'), type: 'char', mode: 0o666, uid: 0, gid: 0, mtimeNs: T, devmajor: 1, devminor: 3 },
    { path: b('dev/loop0'), type: 'block', mode: 0o660, uid: 0, gid: 6, mtimeNs: T, devmajor: 7, devminor: 0 },
    dir('deep', { mtimeNs: 1_000_000_000n }),
    ...deepDirs.map((d) => dir(`deep/${d}`)),
    file(`deep/${deepDirs[deepDirs.length - 1] ?? ''}/leaf.txt`, 'deep leaf\n'),
    dir('split'),
    dir(splitDir),
    file(`${splitDir}/${'n'.repeat(80)}`, 'split name\n')
  ]
}

/** What each path should look like after extraction, keyed like describeTree. */
function expectations (): Map<string, { entry: TarEntry, sha256?: string }> {
  const out = new Map<string, { entry: TarEntry, sha256?: string }>()
  for (const entry of fixture()) {
    let p = key(entry.path)
    if (p.endsWith('/')) p = p.slice(0, -1)
    let sha256: string | undefined
    if (entry.type === 'file') {
      const c = entry.content
      sha256 = c === undefined ? sha256Of([]) : c instanceof Uint8Array ? sha256Of([c]) : sha256Of(pseudoRandom(BIG_SIZE, 42))
    }
    out.set(p, { entry, sha256 })
  }
  return out
}

const EXTRACT = ['--xattrs', "--xattrs-include=*", '--numeric-owner', '--warning=no-unknown-keyword', '--warning=no-timestamp']

test('GNU tar extracts everything exactly as written', { skip: skipUnless(['getfattr'], skip) }, async () => {
  await withTempDir(async (tmp) => {
    const archive = path.join(tmp, 'a.tar')
    const bytesWritten = await collect(writeTar(fixture()))
    assert.deepEqual(await collect(writeTar(fixture())), bytesWritten, 'deterministic')
    fs.writeFileSync(archive, bytesWritten)
    const out = path.join(tmp, 'out')
    fs.mkdirSync(out)
    const r = gnuTar(['-xpf', archive, '-C', out, ...EXTRACT])
    assert.equal(r.status, 0, r.stderr)
    assert.equal(r.stderr, '')

    const tree = describeTree(out)
    const want = expectations()
    assert.deepEqual([...tree.keys()].sort(), [...want.keys()].sort())
    for (const [p, { entry, sha256 }] of want) {
      const got = tree.get(p)
      assert.ok(got !== undefined, p)
      const msg = JSON.stringify(p)
      if (entry.type === 'hardlink') {
        const target = tree.get(key(entry.linkname ?? new Uint8Array(0)))
        assert.equal(got.ino, target?.ino, `${msg} is a hardlink`)
        assert.equal(got.nlink, 2, msg)
        continue
      }
      assert.equal(got.type, entry.type, msg)
      assert.equal(got.uid, entry.uid, `${msg} uid`)
      assert.equal(got.gid, entry.gid, `${msg} gid`)
      assert.equal(got.mtimeNs, entry.mtimeNs, `${msg} mtime`)
      if (entry.type !== 'symlink') assert.equal(got.mode, entry.mode, `${msg} mode`)
      if (entry.type === 'file') {
        assert.equal(got.size, entry.size, `${msg} size`)
        assert.equal(got.sha256, sha256, `${msg} content`)
      }
      if (entry.type === 'symlink') assert.equal(got.linkname, key(entry.linkname ?? new Uint8Array(0)), `${msg} target`)
      if (entry.type === 'char' || entry.type === 'block') {
        assert.deepEqual([got.devmajor, got.devminor], [entry.devmajor, entry.devminor], `${msg} device`)
      }
    }

    const gotX = readXattrs(path.join(out, 'top/xattrs'))
    const wantX = new Map(xattrs.map(([k, v]) => [key(k), Buffer.from(v)]))
    assert.deepEqual(new Map([...gotX].filter(([k]) => k.startsWith('user.'))), wantX)
    assert.deepEqual([...readXattrs(path.join(out, 'top/hello.txt')).keys()].filter((k) => k.startsWith('user.')), [])
  })
})

test('GNU tar -tvf lists every entry with its mode, owner, size and name', { skip }, async () => {
  await withTempDir(async (tmp) => {
    const archive = path.join(tmp, 'a.tar')
    fs.writeFileSync(archive, await collect(writeTar(fixture())))
    const r = gnuTar(['-tvf', archive, '--numeric-owner', '--full-time', '--quoting-style=escape', '--warning=no-unknown-keyword'])
    assert.equal(r.status, 0, r.stderr)
    assert.equal(r.stderr, '')
    const lines = r.stdout.toString('latin1').trimEnd().split('\n')
    assert.equal(lines.length, fixture().length)
    const line = (name: string): string => {
      const found = lines.find((l) => l.endsWith(` ${name}`) || l.includes(` ${name} -> `) || l.includes(` ${name} link to `))
      assert.ok(found !== undefined, `no line for ${name} in\n${lines.join('\n')}`)
      return found
    }
    assert.match(line('top/'), /^drwxr-xr-x 1234\/5678 +0 2023-11-14 22:13:20\.123456789 +top\/$/)
    assert.match(line('top/setuid'), /^-rwsr-xr-x 0\/0 +10 2023-11-14 22:13:22\.000001 +top\/setuid$/)
    assert.match(line('top/setgid-dir/'), /^drwxr-s--- /)
    assert.match(line('sticky/'), /^drwxrwxrwt 0\/0 /)
    assert.match(line('top/big.bin'), new RegExp(`^-rw-r----- 1234/5678 +${BIG_SIZE} `))
    assert.match(line('top/link'), / top\/link -> hello\.txt$/)
    assert.match(line('top/long-link'), new RegExp(` -> ${'x/'.repeat(100)}end$`))
    assert.match(line('top/hard'), /^hrw-r--r-- .* top\/hard link to top\/hello\.txt$/)
    assert.match(line('top/fifo'), /^prw-r----- /)
    assert.match(line('dev/null'), /^crw-rw-rw- 0\/0 +1,3 /)
    assert.match(line('dev/loop0'), /^brw-rw---- 0\/6 +7,0 /)
    assert.match(line('top/new\\nline'), /^-rw-r--r-- /)
    assert.match(line('top/bad-\\377\\376'), /^-rw-r--r-- /)
    assert.match(line('top/h\\303\\251llo w\\303\\266rld'), /^-rw-r--r-- /)
    assert.match(line('top/big-ids'), /^-rw-r--r-- 3000000\/4000000 /)
    // -1.5 s is restored exactly (see the extraction test), but GNU tar 1.34
    // lists negative fractional times one second late (23:59:59.5)
    assert.match(line('top/old'), /^-rw-r--r-- 1234\/5678 +12 1969-12-31 23:59:5[89]\.5 +top\/old$/)
    assert.match(line('top/future'), / 2286-11-20 17:46:40\.25 +top\/future$/)
    assert.match(line(`top/${longComponent}`), /^-rw-r--r-- /)
    assert.match(line(`${splitDir}/${'n'.repeat(80)}`), /^-rw-r--r-- /)
  })
})

test('GNU tar keeps raw name bytes in a UTF-8 locale too', { skip }, async () => {
  await withTempDir(async (tmp) => {
    const archive = path.join(tmp, 'a.tar')
    const names = [nonUtf8, b('top/héllo wörld'), b('top/new\nline')]
    fs.writeFileSync(archive, await collect(writeTar([
      { path: b('top'), type: 'directory', mode: 0o755, uid: 0, gid: 0, mtimeNs: T },
      ...names.map((p): TarEntry => ({ path: p, type: 'file', mode: 0o644, uid: 0, gid: 0, mtimeNs: T, size: 0 }))
    ])))
    for (const locale of ['C', 'C.UTF-8']) {
      const out = path.join(tmp, `out-${locale}`)
      fs.mkdirSync(out)
      const r = gnuTar(['-xpf', archive, '-C', out, '--warning=no-unknown-keyword'], locale)
      assert.equal(r.status, 0, r.stderr)
      assert.deepEqual([...describeTree(out).keys()].sort(), ['top', ...names.map(key)].sort(), locale)
    }
  })
})

test('GNU tar reads the PAX size of a file of 8 GiB or more', { skip }, async () => {
  await withTempDir(async (tmp) => {
    const size = 8 * 1024 ** 3 + 5
    const chunk = new Uint8Array(1 << 20)
    function * content (): Generator<Uint8Array> { for (;;) yield chunk }
    // only the headers and the first content chunk: GNU tar lists the entry, then hits EOF
    const stream = writeTar([{ path: b('huge.bin'), type: 'file', mode: 0o644, uid: 0, gid: 0, mtimeNs: T, size, content: content() }])
    const first = await stream.next()
    const second = await stream.next()
    await stream.return()
    assert.ok(first.done !== true && second.done !== true)
    const archive = path.join(tmp, 'huge.tar')
    fs.writeFileSync(archive, Buffer.concat([first.value, second.value]))
    const r = gnuTar(['-tvf', archive, '--numeric-owner'])
    assert.match(r.stdout.toString(), new RegExp(`^-rw-r--r-- 0/0 +${size} .* huge\\.bin\n`))
    assert.match(r.stderr, /Unexpected EOF/)
  })
})
