/**
 * FIFOs, devices and sockets at paths with arbitrary bytes. Device tests
 * need root (CAP_MKNOD) and are skipped otherwise.
 */
import { after, before, test } from 'node:test'
import assert from 'node:assert/strict'
import { lstat, mkdir, readdir, writeFile } from 'node:fs/promises'
import { deviceNumbers, isRoot, makeDevice, makeFifo, makeSocket } from '../../src/platform/index.js'
import { makeTempDir } from './helpers.js'
import { requireTool, skipUnless } from '../helpers/tools.js'

let base: Buffer
let cleanup: () => Promise<void>
/** A parent directory whose own name is not UTF-8 and whose path is longer than a socket path may be. */
let parent: Buffer

const at = (name: string | Buffer): Buffer => Buffer.concat([parent, Buffer.from('/'), Buffer.isBuffer(name) ? name : Buffer.from(name)])
const weird = (stem: string): Buffer => Buffer.concat([Buffer.from(stem + ' \n\\'), Buffer.from([0xff, 0xfe])])
const notRoot = !isRoot()

before(async () => {
  const t = await makeTempDir('special')
  cleanup = t.cleanup
  base = Buffer.from(t.dir)
  parent = Buffer.concat([base, Buffer.from('/'), Buffer.from('d'.repeat(120)), Buffer.from([0x2f, 0x80, 0xff])])
  await mkdir(parent, { recursive: true })
})

after(async () => { await cleanup() })

async function leftovers (): Promise<string[]> {
  return (await readdir(parent)).filter(n => n.startsWith('.tessera-'))
}

test('makeFifo creates a FIFO with the exact mode, special bits included', requireTool('mknod'), async () => {
  const path = at(weird('fifo'))
  await makeFifo(path, 0o2751)
  const st = await lstat(path, { bigint: true })
  assert.ok(st.isFIFO())
  assert.equal(Number(st.mode) & 0o7777, 0o2751)
  assert.deepEqual(await leftovers(), [])
})

test('makeFifo accepts a relative path with no directory part', requireTool('mknod'), async () => {
  const cwd = process.cwd()
  process.chdir(base.toString())
  try {
    await makeFifo('plain-fifo', 0o600)
  } finally {
    process.chdir(cwd)
  }
  assert.ok((await lstat(Buffer.concat([base, Buffer.from('/plain-fifo')]))).isFIFO())
})

test('makeSocket leaves a socket file with the exact mode, even under a long non-UTF-8 parent', async () => {
  assert.ok(parent.length > 108)
  const path = at(weird('sock'))
  await makeSocket(path, 0o640)
  const st = await lstat(path)
  assert.ok(st.isSocket())
  assert.equal(st.mode & 0o7777, 0o640)
  assert.equal(st.nlink, 1)
  assert.deepEqual(await leftovers(), [])
})

test('an existing name is not replaced: PlatformError with cause EEXIST, no temporary left', requireTool('mknod'), async () => {
  const path = at('taken')
  await writeFile(path, 'keep')
  await assert.rejects(makeFifo(path, 0o644), (err: Error & { code?: string, cause?: { code?: string } }) => {
    assert.equal(err.code, 'ERR_PLATFORM')
    assert.equal(err.cause?.code, 'EEXIST')
    return true
  })
  await assert.rejects(makeSocket(path, 0o644), { code: 'ERR_PLATFORM' })
  assert.ok((await lstat(path)).isFile())
  assert.deepEqual(await leftovers(), [])
})

test('a missing parent directory is PlatformError with cause ENOENT', async () => {
  await assert.rejects(makeFifo(at('no/such/dir/fifo'), 0o644), (err: Error & { code?: string, cause?: { code?: string } }) =>
    err.code === 'ERR_PLATFORM' && err.cause?.code === 'ENOENT')
})

test('bad arguments are rejected before anything is created', async () => {
  await assert.rejects(makeFifo(at('m'), 0o10000), { code: 'ERR_INVALID_ARGUMENT' })
  await assert.rejects(makeFifo(at('m'), -1), { code: 'ERR_INVALID_ARGUMENT' })
  await assert.rejects(makeFifo(Buffer.concat([parent, Buffer.from('/')]), 0o644), { code: 'ERR_INVALID_PATH' })
  await assert.rejects(makeFifo(at('..'), 0o644), { code: 'ERR_INVALID_PATH' })
  await assert.rejects(makeFifo(Buffer.from('a\0b'), 0o644), { code: 'ERR_INVALID_PATH' })
  await assert.rejects(makeDevice(at('d'), 'pipe' as 'char', 1, 3, 0o644), { code: 'ERR_INVALID_ARGUMENT' })
  await assert.rejects(makeDevice(at('d'), 'char', -1, 3, 0o644), { code: 'ERR_INVALID_ARGUMENT' })
  await assert.rejects(makeDevice(at('d'), 'char', 4096, 0, 0o644), { code: 'ERR_UNSUPPORTED' })
  await assert.rejects(makeDevice(at('d'), 'block', 0, 0x100000, 0o644), { code: 'ERR_UNSUPPORTED' })
  assert.deepEqual((await readdir(parent)).filter(n => n === 'm' || n === 'd'), [])
})

test('a missing mknod is UnsupportedError', async () => {
  await assert.rejects(makeFifo(at('nomknod'), 0o644, { mknodPath: '/nonexistent/mknod' }), { code: 'ERR_UNSUPPORTED' })
  const saved = process.env.PATH
  process.env.PATH = ''
  try {
    await assert.rejects(makeFifo(at('nomknod'), 0o644), { code: 'ERR_UNSUPPORTED' })
  } finally {
    process.env.PATH = saved
  }
  assert.deepEqual(await leftovers(), [])
})

test('makeDevice creates character device 1:3', { skip: skipUnless(['mknod'], notRoot && 'needs root (CAP_MKNOD)') }, async () => {
  const path = at(weird('null'))
  await makeDevice(path, 'char', 1, 3, 0o666)
  const st = await lstat(path, { bigint: true })
  assert.ok(st.isCharacterDevice())
  assert.equal(Number(st.mode) & 0o7777, 0o666)
  assert.deepEqual(deviceNumbers(st.rdev), { major: 1, minor: 3 })
})

test('makeDevice creates block device 7:0', { skip: skipUnless(['mknod'], notRoot && 'needs root (CAP_MKNOD)') }, async () => {
  const path = at('loop0')
  await makeDevice(path, 'block', 7, 0, 0o660)
  const st = await lstat(path, { bigint: true })
  assert.ok(st.isBlockDevice())
  assert.equal(Number(st.mode) & 0o7777, 0o660)
  assert.deepEqual(deviceNumbers(st.rdev), { major: 7, minor: 0 })
})

test('makeDevice handles the largest numbers Linux stores', { skip: skipUnless(['mknod'], notRoot && 'needs root (CAP_MKNOD)') }, async () => {
  const path = at('big')
  await makeDevice(path, 'char', 4095, 0xfffff, 0o600)
  const st = await lstat(path, { bigint: true })
  assert.deepEqual(deviceNumbers(st.rdev), { major: 4095, minor: 0xfffff })
  assert.deepEqual(await leftovers(), [])
})

test('makeDevice without CAP_MKNOD fails with PlatformError', { skip: !notRoot && 'runs only as non-root' }, async () => {
  await assert.rejects(makeDevice(at('nocap'), 'char', 1, 3, 0o600), { code: 'ERR_PLATFORM' })
  assert.deepEqual(await leftovers(), [])
})
