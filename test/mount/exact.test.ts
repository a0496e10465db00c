/**
 * A snapshot with every kind of inode and awkward metadata (and a
 * directory of 2,500 entries), mounted by the
 * library and compared path by path with its source by tools that are not
 * tessera: the Python oracle (test/helpers/describe_tree.py), a Python
 * lstat walk for what the oracle leaves out (nanoseconds, inode numbers,
 * link counts), stat -f, and Python's own attempts to write.
 */
import { test } from 'node:test'
import assert from 'node:assert/strict'
import { mkdtemp, mkdir, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { materialize } from '../helpers/fixture.js'
import { describeTreeAsync } from '../helpers/describe-tree.js'
import { openMemoryStore } from '../../src/store/open.js'
import { importDirectory } from '../../src/importer/directory.js'
import { SnapshotReader } from '../../src/exporter/snapshot-reader.js'
import { mountSnapshot, type MountHandle } from '../../src/mount/index.js'
import { cleanMountsAfter, run, skipMount, trackMount } from './helpers.js'

cleanMountsAfter()
const root = await mkdtemp(join(tmpdir(), 'tessera-mount-exact-'))
test.after(async () => { await rm(root, { recursive: true, force: true }) })

/** Per path (hex of the bytes): [mtime ns as a decimal string, inode, link count, rdev] from lstat. */
const LSTAT_WALK = `
import json, os, sys
root = os.fsencode(sys.argv[1])
st = os.lstat(root)
out = {'': [str(st.st_mtime_ns), st.st_ino, st.st_nlink, st.st_rdev]}
for dirpath, dirnames, filenames in os.walk(root):
    for name in dirnames + filenames:
        p = os.path.join(dirpath, name)
        st = os.lstat(p)
        out[os.path.relpath(p, root).hex()] = [str(st.st_mtime_ns), st.st_ino, st.st_nlink, st.st_rdev]
json.dump(out, sys.stdout)
`

async function lstatWalk (dir: string): Promise<Record<string, [string, number, number, number]>> {
  return JSON.parse((await run('python3', ['-c', LSTAT_WALK, dir], { maxBuffer: 64 * 1024 * 1024 })).stdout)
}

/** The fixture plus a socket and times with nanoseconds, one before 1970. */
async function source (): Promise<string> {
  const src = join(root, 'src')
  await mkdir(src)
  await materialize(src)
  await run('python3', ['-c', 'import socket, sys; socket.socket(socket.AF_UNIX).bind(sys.argv[1])', join(src, 'dev/sock')])
  await run('touch', ['-h', '-d', '@1700000000.123456789', join(src, 'etc/passwd')])
  await run('touch', ['-h', '-d', '@1600000000.000000001', join(src, 'usr/bin/sh')])
  await run('touch', ['-d', '@-86399.75', join(src, 'etc/empty')])
  // A directory whose listing takes many READDIRPLUS replies; names up to 255 bytes.
  await run('python3', ['-c', `
import os, sys
d = os.path.join(sys.argv[1], 'many')
os.mkdir(d)
for i in range(2500):
    open(os.path.join(d, ('%05d-' % i) + 'n' * (i % 250)), 'w').close()
os.utime(d, (1700000000, 1700000000))
`, src])
  return src
}

const hex = (s: string): string => Buffer.from(s, 'latin1').toString('hex')

test('a mounted snapshot shows every path exactly as its source', { skip: skipMount }, async (t) => {
  const src = await source()
  const store = await openMemoryStore()
  await importDirectory(store, src, { name: 'fixture' })
  const reader = await SnapshotReader.open(store, 'fixture')
  const logs: string[] = []
  const mnt = trackMount(join(root, 'mnt'))
  await mkdir(mnt)
  const handle: MountHandle = await mountSnapshot(reader, mnt, { onLog: (l) => logs.push(l) })
  t.after(async () => { await handle.unmount(); await handle.closed })

  await t.test('kinds, modes, owners, sizes, content, link targets, device numbers, xattrs, hard-link groups', async () => {
    const expected = await describeTreeAsync(src)
    const actual = await describeTreeAsync(mnt)
    assert.deepEqual(actual, expected)
    // The comparison covers what it should.
    assert.equal(actual[hex('usr/bin/tool')]!.mode, '0o4755')
    assert.equal(actual[hex('etc/sgid')]!.mode, '0o2755')
    assert.equal(actual[hex('tmp')]!.mode, '0o1777')
    assert.equal(actual[hex('dev/sock')]!.type, 'socket')
    assert.equal(actual[hex('dev/fifo')]!.type, 'fifo')
    assert.deepEqual(actual[hex('dev/loop0')]!.rdev, [7, 0])
    assert.equal(actual[hex('empty')]!.uid, 1234)
    assert.equal(Object.keys(actual).filter((k) => Buffer.from(k, 'hex').toString().startsWith('many/')).length, 2500)
    assert.deepEqual(actual[hex('usr/bin/big.bin')]!.xattrs, [['user.bin', '000102ff'], ['user.checksum', Buffer.from('sha256').toString('hex')]])
    assert.equal(actual[hex('etc/passwd-link')]!.link_group, actual[hex('etc/another passwd link')]!.link_group)
  })

  await t.test('mtimes to the nanosecond, one inode per hard-link group with its link count', async () => {
    const expected = await lstatWalk(src)
    const actual = await lstatWalk(mnt)
    assert.deepEqual(Object.keys(actual).sort(), Object.keys(expected).sort())
    for (const [path, [mtime, , nlink, rdev]] of Object.entries(expected)) {
      const [m, , n, r] = actual[path]!
      assert.equal(m, mtime, `mtime of ${Buffer.from(path, 'hex').toString('latin1')}`)
      assert.equal(r, rdev, `rdev of ${Buffer.from(path, 'hex').toString('latin1')}`)
      // Directories: 2 + subdirectories, as on the source's filesystem.
      assert.equal(n, nlink, `link count of ${Buffer.from(path, 'hex').toString('latin1')}`)
    }
    assert.equal(actual[hex('etc/passwd')]![0], '1700000000123456789')
    assert.equal(actual[hex('etc/empty')]![0], '-86399750000000')
    assert.equal(actual[hex('usr/bin/sh')]![0], '1600000000000000001')
    const ino = (p: string): number => actual[hex(p)]![1]
    assert.equal(ino('etc/passwd'), ino('etc/passwd-link'))
    assert.equal(ino('etc/passwd'), ino('etc/another passwd link'))
    assert.equal(actual[hex('etc/passwd')]![2], 3)
    assert.equal(ino('usr/bin/big.bin'), ino('usr/bin/big-link'))
    assert.equal(actual['']![1], 1)
    const distinct = new Set(Object.values(actual).map((v) => v[1]))
    assert.equal(distinct.size, handle.inodes)
  })

  await t.test('statfs counts the inodes and the content', async () => {
    const [blocks, free, files, size] = (await run('stat', ['-f', '-c', '%b %f %c %S', mnt])).stdout.trim().split(' ').map(Number)
    const bytes = JSON.parse((await run('python3', ['-c', `
import os, sys, json
seen, total = set(), 0
for d, _, fs in os.walk(sys.argv[1]):
    for f in fs:
        st = os.lstat(os.path.join(d, f))
        if os.path.stat.S_ISREG(st.st_mode) and st.st_ino not in seen:
            seen.add(st.st_ino); total += st.st_size
print(total)`, src])).stdout)
    assert.equal(size, 4096)
    assert.equal(blocks, Math.ceil(bytes / 4096))
    assert.equal(free, 0)
    assert.equal(files, handle.inodes)
  })

  await t.test('every kind of write fails with EROFS', async () => {
    const { stdout } = await run('python3', ['-c', `
import errno, os, sys
m = sys.argv[1]
tries = {
  'open for writing': lambda: open(os.path.join(m, 'etc/passwd'), 'r+b'),
  'create': lambda: open(os.path.join(m, 'etc/new'), 'wb'),
  'mkdir': lambda: os.mkdir(os.path.join(m, 'newdir')),
  'unlink': lambda: os.unlink(os.path.join(m, 'etc/passwd')),
  'rmdir': lambda: os.rmdir(os.path.join(m, 'empty')),
  'rename': lambda: os.rename(os.path.join(m, 'etc/passwd'), os.path.join(m, 'etc/moved')),
  'chmod': lambda: os.chmod(os.path.join(m, 'etc/passwd'), 0o600),
  'chown': lambda: os.chown(os.path.join(m, 'etc/passwd'), 1, 1),
  'utime': lambda: os.utime(os.path.join(m, 'etc/passwd'), (0, 0)),
  'truncate': lambda: os.truncate(os.path.join(m, 'etc/passwd'), 0),
  'setxattr': lambda: os.setxattr(os.path.join(m, 'etc/passwd'), 'user.x', b'y'),
  'removexattr': lambda: os.removexattr(os.path.join(m, 'usr/bin/big.bin'), 'user.bin'),
  'symlink': lambda: os.symlink('x', os.path.join(m, 'etc/link')),
  'link': lambda: os.link(os.path.join(m, 'etc/passwd'), os.path.join(m, 'etc/hard')),
  'mkfifo': lambda: os.mkfifo(os.path.join(m, 'etc/fifo')),
}
for name, f in tries.items():
    try:
        f(); print(name, 'succeeded')
    except OSError as e:
        print(name, errno.errorcode[e.errno])
`, mnt])
    const results = stdout.trim().split('\n')
    assert.equal(results.length, 15)
    for (const line of results) assert.match(line, / EROFS$/, line)
    // Nothing changed.
    assert.deepEqual(await describeTreeAsync(mnt), await describeTreeAsync(src))
  })

  await t.test('the same snapshot mounted from another store shows the same inode numbers', async () => {
    const other = await openMemoryStore()
    await importDirectory(other, src, { name: 'again' })
    const mnt2 = trackMount(join(root, 'mnt2'))
    await mkdir(mnt2)
    const second = await mountSnapshot(await SnapshotReader.open(other, 'again'), mnt2)
    try {
      const a = await lstatWalk(mnt)
      const b = await lstatWalk(mnt2)
      assert.deepEqual(Object.fromEntries(Object.entries(b).map(([k, v]) => [k, v[1]])), Object.fromEntries(Object.entries(a).map(([k, v]) => [k, v[1]])))
    } finally {
      await second.unmount()
      await second.closed
    }
  })

  assert.deepEqual(logs, [])
})
