/**
 * Bulk xattrs against the real tools. The tree has names with spaces,
 * newlines, carriage returns, backslashes, `=` and non-UTF-8 bytes, under a
 * root whose own name is not UTF-8; binary names and values; symlinks
 * (dangling, to a file, to a directory); a hard link; a FIFO. `trusted.*`,
 * `security.*` and POSIX ACLs are covered when the process may set them
 * (root, and a filesystem that stores them).
 *
 * The source tree's attributes are set one by one with `setfattr -n` (not
 * through the dump format under test) and checked against what
 * readXattrsTree returns.
 */
import { after, before, test, type TestContext } from 'node:test'
import assert from 'node:assert/strict'
import { randomBytes } from 'node:crypto'
import { chmod, link, mkdir, rename, symlink, writeFile } from 'node:fs/promises'
import { join } from 'node:path'
import { isRoot, makeFifo, readXattrsTree, writeXattrs, xattrSupport, type XattrWarning } from '../../src/platform/index.js'
import { canSet, dumpOf, getOne, makeTempDir, plain, setOne } from './helpers.js'
import { missingTools, requireTool } from '../helpers/tools.js'

const b = (s: string): Buffer => Buffer.from(s, 'latin1')
const SLASH = b('/')

type Kind = 'dir' | 'file' | 'symlink' | 'hardlink' | 'fifo'
interface Spec { path: Buffer, kind: Kind, target?: string, xattrs: Array<[Buffer, Buffer]> }

const t0 = await makeTempDir('xattr')
const userOk = await canSet(t0.dir, 'user.probe')
const trustedOk = isRoot() && await canSet(t0.dir, 'trusted.probe')
const securityOk = isRoot() && await canSet(t0.dir, 'security.tessera')
/** An extended POSIX access ACL in its xattr form: u::rwx u:1000:r-x g::r-x m::r-x o::r-x. */
const ACL = Buffer.concat([
  Buffer.from([2, 0, 0, 0]),
  ...[[0x01, 7, 0xffffffff], [0x02, 5, 1000], [0x04, 5, 0xffffffff], [0x10, 5, 0xffffffff], [0x20, 5, 0xffffffff]].map(([tag, perm, id]) => {
    const e = Buffer.alloc(8)
    e.writeUInt16LE(tag as number, 0)
    e.writeUInt16LE(perm as number, 2)
    e.writeUInt32LE(id as number, 4)
    return e
  })
])
const aclOk = userOk && await canSet(t0.dir, 'system.posix_acl_access', ACL)
const skipUser = missingTools('getfattr', 'setfattr') || (userOk ? false : 'this filesystem does not store user.* xattrs')

const bigValue = randomBytes(3000)
const spec: Spec[] = [
  { path: b(''), kind: 'dir', xattrs: [[b('user.root'), b('r')]] },
  { path: b('plain'), kind: 'file', xattrs: [[b('user.a'), b('hello')], [b('user.bin\xff\n=\\ \x01'), b('\x00\xff\n=\\')]] },
  { path: b('with space'), kind: 'file', xattrs: [[b('user.empty'), b('')]] },
  { path: b('new\nline'), kind: 'file', xattrs: [[b('user.x'), b('\n')]] },
  { path: b('back\\slash'), kind: 'file', xattrs: [[b('user.y'), b('\\\\')]] },
  { path: b('cr\rname=eq\\134'), kind: 'file', xattrs: [[b('user.z'), b('1')]] },
  { path: b('high\xff\xfe'), kind: 'file', xattrs: [[b('user.k'), randomBytes(200)]] },
  { path: b('dir'), kind: 'dir', xattrs: [[b('user.d'), b('dir')]] },
  { path: b('dir/sub'), kind: 'dir', xattrs: [] },
  { path: b('dir/sub/deep\xff'), kind: 'file', xattrs: [[b('user.deep'), b('x')]] },
  { path: b('noxattr'), kind: 'file', xattrs: [] },
  { path: b('big'), kind: 'file', xattrs: [[b('user.big'), bigValue]] },
  { path: b('link-file'), kind: 'symlink', target: 'plain', xattrs: trustedOk ? [[b('trusted.sym'), b('\x01\x02')]] : [] },
  { path: b('dangling'), kind: 'symlink', target: '/nonexistent/target', xattrs: trustedOk ? [[b('trusted.dangle'), b('d')]] : [] },
  { path: b('link-dir'), kind: 'symlink', target: 'dir', xattrs: [] },
  { path: b('hard'), kind: 'hardlink', target: 'plain', xattrs: [] },
  { path: b('fifo'), kind: 'fifo', xattrs: trustedOk ? [[b('trusted.f'), b('fifo')]] : [] }
]
if (securityOk) spec[1]?.xattrs.push([b('security.tessera'), b('sec\x00')])
if (aclOk) spec[7]?.xattrs.push([b('system.posix_acl_access'), ACL])

/** What readXattrsTree must return for a tree built from `spec`. */
function expected (): Map<string, Array<[Buffer, Buffer]>> {
  const map = new Map<string, Array<[Buffer, Buffer]>>()
  const byPath = new Map(spec.map(s => [s.path.toString('latin1'), s]))
  for (const s of spec) {
    const own = s.kind === 'hardlink' ? byPath.get(s.target ?? '')?.xattrs ?? [] : s.xattrs
    if (own.length > 0) map.set(s.path.toString('latin1'), [...own].sort((x, y) => Buffer.compare(x[0], y[0])))
  }
  return map
}

/**
 * Build the tree. Every path handed to `setfattr` must be valid UTF-8, so
 * nodes are created and labelled under ASCII names in an ASCII staging root,
 * then renamed to their real (possibly non-UTF-8) names, deepest first, and
 * finally the staging root is renamed to `root`. Renames keep xattrs.
 */
async function build (root: Buffer, withXattrs: boolean): Promise<void> {
  const staging = `${t0.dir}/staging-${randomBytes(4).toString('hex')}`
  const ascii = new Map<string, string>() // real path (latin1) -> staged path
  const stagedOf = (path: Buffer): string => {
    const key = path.toString('latin1')
    let staged = ascii.get(key)
    if (staged === undefined) {
      const cut = path.lastIndexOf(0x2f)
      const parent = cut < 0 ? staging : stagedOf(path.subarray(0, cut))
      staged = path.length === 0 ? staging : join(parent, `n${ascii.size}`)
      ascii.set(key, staged)
    }
    return staged
  }
  for (const s of spec) {
    const p = stagedOf(s.path)
    switch (s.kind) {
      case 'dir': await mkdir(p, { recursive: true }); break
      case 'file': await writeFile(p, 'content'); break
      case 'symlink': await symlink(s.target ?? '', p); break
      case 'hardlink': await link(stagedOf(b(s.target ?? '')), p); break
      case 'fifo': await makeFifo(p, 0o600); break
    }
    if (withXattrs) for (const [name, value] of s.xattrs) await setOne(p, name, value)
  }
  // Give each node its real last component, deepest first, then move the root.
  for (const s of [...spec].reverse()) {
    if (s.path.length === 0) continue
    const staged = stagedOf(s.path)
    const cut = s.path.lastIndexOf(0x2f)
    const parent = Buffer.from(cut < 0 ? staging : stagedOf(s.path.subarray(0, cut)))
    await rename(staged, Buffer.concat([parent, SLASH, s.path.subarray(cut + 1)]))
  }
  await rename(staging, root)
}

const source = Buffer.concat([b(t0.dir), b('/source-\xff\xfe')])
const copy = Buffer.from(`${t0.dir}/copy`)

before(async () => {
  // A tree without xattrs, which several tests below read (with stand-in tools too).
  const bare = join(t0.dir, 'bare')
  await mkdir(join(bare, 'a/b'), { recursive: true })
  await writeFile(join(bare, 'a/b/f'), '')
  await symlink('/nonexistent', join(bare, 'dangling'))
  if (userOk) {
    await build(source, true)
    await build(copy, false)
  }
})

after(async () => { await t0.cleanup() })

test('the attr tools are available here', requireTool('getfattr', 'setfattr'), async () => {
  assert.equal(await xattrSupport(), true)
})

test('readXattrsTree returns exactly the attributes that were set, sorted, without following symlinks', { skip: skipUser }, async () => {
  const warnings: string[] = []
  const got = await readXattrsTree(source, { onWarning: m => warnings.push(m) })
  assert.deepEqual(warnings, [])
  assert.deepEqual(plain(got), plain(expected()))
  assert.ok(![...got.keys()].some(k => k.startsWith('link-dir/')), 'walked into a symlinked directory')
  assert.deepEqual(got.get('big')?.[0]?.[1], bigValue)
  // The key form: bytes as latin1, '' for the root.
  assert.ok(got.has(''))
  assert.ok(got.has(Buffer.from('dir/sub/deep\xff', 'latin1').toString('latin1')))
})

test('readXattrsTree reports trusted.* on symlinks and FIFOs as root', { skip: skipUser || (!trustedOk && 'needs root and trusted.* support') }, async () => {
  const got = await readXattrsTree(source, {})
  assert.deepEqual(got.get('dangling'), [[b('trusted.dangle'), b('d')]])
  assert.deepEqual(got.get('link-file'), [[b('trusted.sym'), b('\x01\x02')]])
  assert.deepEqual(got.get('fifo'), [[b('trusted.f'), b('fifo')]])
})

test('writeXattrs restores the tree on a fresh copy', { skip: skipUser }, async () => {
  const original = await readXattrsTree(source)
  const items = [...original].map(([key, xattrs]) => ({ path: Buffer.from(key, 'latin1'), xattrs }))
  // The hard link shares its inode with "plain": writing both is harmless.
  const result = await writeXattrs(copy, items)
  assert.equal(result.files, items.length)
  assert.equal(result.attributes, items.reduce((n, i) => n + i.xattrs.length, 0))
  assert.equal(result.warnings, 0)
  assert.deepEqual(plain(await readXattrsTree(copy)), plain(original))
  // Checked by getfattr itself too.
  assert.deepEqual(await getOne(`${copy.toString()}/plain`, b('user.a')), b('hello'))
  assert.ok((await dumpOf(`${copy.toString()}/plain`)).includes('\nuser.bin\xff\\012\\075\\134 \x01=0x00ff0a3d5c\n'))
  assert.deepEqual(await getOne(`${copy.toString()}/with space`, b('user.empty')), b(''))
})

test('writeXattrs takes an async iterable and Uint8Array paths and values', { skip: skipUser }, async () => {
  async function * items (): AsyncGenerator<{ path: Uint8Array, xattrs: Array<[Uint8Array, Uint8Array]> }> {
    yield { path: new Uint8Array(b('noxattr')), xattrs: [[new Uint8Array(b('user.async')), new Uint8Array([1, 2, 3])]] }
    yield { path: b('dir'), xattrs: [] }
  }
  const result = await writeXattrs(copy, items())
  assert.deepEqual(result, { files: 1, attributes: 1, warnings: 0 })
  assert.deepEqual(await getOne(`${copy.toString()}/noxattr`, b('user.async')), Buffer.from([1, 2, 3]))
})

test('a refused attribute is a warning with onWarning, and an error without', { skip: skipUser }, async () => {
  const items = [
    { path: b('link-file'), xattrs: [[b('user.onlink'), b('x')]] as Array<[Buffer, Buffer]> }, // Linux: EPERM on symlinks
    { path: b('with space'), xattrs: [[b('user.after'), b('ok')]] as Array<[Buffer, Buffer]> }
  ]
  const warnings: XattrWarning[] = []
  const messages: string[] = []
  const result = await writeXattrs(copy, items, { onWarning: (m, w) => { messages.push(m); warnings.push(w) } })
  assert.equal(result.warnings, 1)
  assert.equal(warnings.length, 1)
  assert.equal(warnings[0]?.tool, 'setfattr')
  assert.deepEqual(warnings[0]?.path, b('link-file'))
  assert.ok(messages[0]?.includes(`${copy.toString()}/link-file`), messages[0])
  assert.deepEqual(await getOne(`${copy.toString()}/with space`, b('user.after')), b('ok'))

  await assert.rejects(writeXattrs(copy, items), (err: Error & { code?: string, details?: string[] }) => {
    assert.equal(err.code, 'ERR_PLATFORM')
    assert.equal(err.details?.length, 1)
    assert.match(err.details?.[0] ?? '', /link-file: Operation not permitted/)
    return true
  })
})

test('writeXattrs rejects unsafe or malformed items', { skip: skipUser }, async () => {
  const x: Array<[Buffer, Buffer]> = [[b('user.a'), b('1')]]
  await assert.rejects(writeXattrs(copy, [{ path: b('/etc/passwd'), xattrs: x }]), { code: 'ERR_INVALID_PATH' })
  await assert.rejects(writeXattrs(copy, [{ path: b('dir/../../x'), xattrs: x }]), { code: 'ERR_INVALID_PATH' })
  await assert.rejects(writeXattrs(copy, [{ path: b('..'), xattrs: x }]), { code: 'ERR_INVALID_PATH' })
  await assert.rejects(writeXattrs(copy, [{ path: b('a\0b'), xattrs: x }]), { code: 'ERR_INVALID_PATH' })
  await assert.rejects(writeXattrs(copy, [{ path: b('plain'), xattrs: [[b(''), b('1')]] }]), { code: 'ERR_INVALID_ARGUMENT' })
  await assert.rejects(writeXattrs(copy, [{ path: b('plain'), xattrs: [[b('user.\0'), b('1')]] }]), { code: 'ERR_INVALID_ARGUMENT' })
})

test('a tree without any xattrs reads as an empty map', requireTool('getfattr'), async () => {
  assert.equal((await readXattrsTree(join(t0.dir, 'bare'))).size, 0)
})

test('tens of MB of getfattr output stream through', { skip: skipUser }, async () => {
  const dir = join(t0.dir, 'many')
  await mkdir(dir)
  const n = 2500
  const value = (i: number): Buffer => Buffer.alloc(2400, i & 0xff)
  const names = Array.from({ length: n }, (_, i) => `f${i}`)
  await Promise.all(names.map(async name => { await writeFile(join(dir, name), '') }))
  const result = await writeXattrs(dir, names.map((name, i) => ({ path: b(name), xattrs: [[b('user.v'), value(i)], [b('user.w'), b(name)]] })))
  assert.equal(result.attributes, 2 * n)
  const got = await readXattrsTree(dir)
  assert.equal(got.size, n)
  for (const i of [0, 1, 777, n - 1]) {
    assert.deepEqual(got.get(`f${i}`), [[b('user.v'), value(i)], [b('user.w'), b(`f${i}`)]])
  }
})

test('a missing tool is UnsupportedError (ERR_UNSUPPORTED)', async (t: TestContext) => {
  const dir = join(t0.dir, 'bare')
  await assert.rejects(readXattrsTree(dir, { getfattrPath: '/nonexistent/getfattr' }), { code: 'ERR_UNSUPPORTED', name: 'UnsupportedError' })
  await assert.rejects(writeXattrs(dir, [{ path: b(''), xattrs: [[b('user.a'), b('1')]] }], { setfattrPath: '/nonexistent/setfattr' }), { code: 'ERR_UNSUPPORTED' })
  assert.equal(await xattrSupport({ getfattrPath: '/nonexistent/getfattr' }), false)
  const saved = process.env.PATH
  process.env.PATH = ''
  t.after(() => { process.env.PATH = saved })
  await assert.rejects(readXattrsTree(dir), { code: 'ERR_UNSUPPORTED' })
  await assert.rejects(writeXattrs(dir, [{ path: b(''), xattrs: [[b('user.a'), b('1')]] }]), { code: 'ERR_UNSUPPORTED' })
  assert.equal(await xattrSupport(), false)
})

test('a root that is not a directory fails clearly', async () => {
  await assert.rejects(readXattrsTree(join(t0.dir, 'missing')), (err: Error & { code?: string, cause?: { code?: string } }) =>
    err.code === 'ERR_UNREADABLE_SOURCE' && err.cause?.code === 'ENOENT')
  await assert.rejects(writeXattrs(join(t0.dir, 'missing'), []), { code: 'ERR_PLATFORM' })
})

test('an aborted signal stops both calls with ERR_ABORTED', async () => {
  const signal = AbortSignal.abort()
  await assert.rejects(readXattrsTree(t0.dir, { signal }), { code: 'ERR_ABORTED' })
  await assert.rejects(writeXattrs(t0.dir, [], { signal }), { code: 'ERR_ABORTED' })
})

/** A stand-in getfattr: a shell script printing `stdout`, then `stderr`, then exiting with `code`. */
async function fakeGetfattr (name: string, stdout: string, stderr: string, code: number): Promise<string> {
  const path = join(t0.dir, name)
  const quoteSh = (s: string): string => `'${s.replace(/'/g, "'\\''")}'`
  await writeFile(path, `#!/bin/sh\nprintf '%s' ${quoteSh(stdout)}\nprintf '%s' ${quoteSh(stderr)} >&2\nexit ${code}\n`)
  await chmod(path, 0o755)
  return path
}

test('getfattr complaints become warnings with the path and attribute recovered', async () => {
  const tool = await fakeGetfattr('getfattr-partial',
    '# file: /proc/self/fd/3/./ok\nuser.a=0x01\n\n',
    'getfattr: /proc/self/fd/3/./bad\\012dir: Permission denied\n' +
    '/proc/self/fd/3/./f x: user.q\\075: No such attribute\n' +
    'getfattr: /proc/self/fd/3/.: Permission denied\n', 1)
  const dir = join(t0.dir, 'bare')
  const warnings: XattrWarning[] = []
  const got = await readXattrsTree(dir, { getfattrPath: tool, onWarning: (_m, w) => warnings.push(w) })
  assert.deepEqual(plain(got), plain(new Map([['ok', [[b('user.a'), b('\x01')]]]])))
  assert.equal(warnings.length, 3)
  assert.deepEqual(warnings.map(w => [w.tool, w.path?.toString('latin1'), w.name?.toString('latin1')]), [
    ['getfattr', 'bad\ndir', undefined],
    ['getfattr', 'f x', 'user.q='],
    ['getfattr', '', undefined]
  ])
  assert.equal(warnings[0]?.message, `getfattr: ${dir}/bad\\012dir: Permission denied`)

  await assert.rejects(readXattrsTree(dir, { getfattrPath: tool }), (err: Error & { code?: string, details?: string[] }) => {
    assert.equal(err.code, 'ERR_PLATFORM')
    assert.equal(err.details?.length, 3)
    return true
  })
})

test('getfattr failing as a whole or printing nonsense is PlatformError', async () => {
  const dir = join(t0.dir, 'bare')
  const usage = await fakeGetfattr('getfattr-usage', '', 'Usage: getfattr ...\n', 2)
  await assert.rejects(readXattrsTree(dir, { getfattrPath: usage, onWarning: () => {} }), { code: 'ERR_PLATFORM', message: /status 2/ })
  const silent = await fakeGetfattr('getfattr-silent', '', '', 1)
  await assert.rejects(readXattrsTree(dir, { getfattrPath: silent, onWarning: () => {} }), { code: 'ERR_PLATFORM' })
  const garbage = await fakeGetfattr('getfattr-garbage', 'hello\n', '', 0)
  await assert.rejects(readXattrsTree(dir, { getfattrPath: garbage }), { code: 'ERR_PLATFORM', message: /unexpected getfattr output/ })
  const outside = await fakeGetfattr('getfattr-outside', '# file: /etc/passwd\nuser.a=0x01\n\n', '', 0)
  await assert.rejects(readXattrsTree(dir, { getfattrPath: outside }), { code: 'ERR_PLATFORM', message: /outside the tree/ })
})

test('aborting a running call kills the tool and rejects with ERR_ABORTED', requireTool('setfattr'), async () => {
  const dir = join(t0.dir, 'bare')
  const slow = await fakeGetfattr('getfattr-slow', '', '', 0)
  await writeFile(slow, '#!/bin/sh\nexec sleep 30\n')
  const started = Date.now()
  await assert.rejects(readXattrsTree(dir, { getfattrPath: slow, signal: AbortSignal.timeout(100) }), { code: 'ERR_ABORTED' })
  async function * never (): AsyncGenerator<{ path: Buffer, xattrs: Array<[Buffer, Buffer]> }> {
    yield { path: b(''), xattrs: [[b('user.first'), b('1')]] }
    await new Promise(() => {})
  }
  await assert.rejects(writeXattrs(dir, never(), { signal: AbortSignal.timeout(100) }), { code: 'ERR_ABORTED' })
  assert.ok(Date.now() - started < 10_000)
})

test('errors from the caller propagate unchanged: a throwing onWarning, a throwing items iterable', async () => {
  const dir = join(t0.dir, 'bare')
  const tool = await fakeGetfattr('getfattr-warn', '', 'getfattr: /proc/self/fd/3/./x: Permission denied\n', 1)
  const boom = new Error('boom')
  await assert.rejects(readXattrsTree(dir, { getfattrPath: tool, onWarning: () => { throw boom } }), err => err === boom)
  function * items (): Generator<{ path: Buffer, xattrs: Array<[Buffer, Buffer]> }> {
    yield { path: b(''), xattrs: [[b('user.ok'), b('1')]] }
    throw boom
  }
  await assert.rejects(writeXattrs(dir, items()), err => err === boom)
})
