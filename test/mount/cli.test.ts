/**
 * `tessera mount` as a user runs it: a small rootfs built offline from
 * this machine's own binaries and their libraries, mounted by the CLI,
 * where `chroot MNT /bin/sh -c '…'` runs real programs; the ways it ends
 * (SIGINT, SIGTERM, an external umount, a busy mount, SIGKILL), each
 * leaving no mount behind; and its usage errors.
 */
import { test } from 'node:test'
import assert from 'node:assert/strict'
import { copyFile, mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises'
import { spawn } from 'node:child_process'
import { tmpdir } from 'node:os'
import { dirname, join } from 'node:path'
import { openStore } from '../../src/store/open.js'
import { importDirectory } from '../../src/importer/directory.js'
import { cleanMountsAfter, cliMount, mounted, run, skipMount, trackMount, waitUnmounted } from './helpers.js'

cleanMountsAfter()
const root = await mkdtemp(join(tmpdir(), 'tessera-mount-cli-'))
test.after(async () => { await rm(root, { recursive: true, force: true }) })
const bin = new URL('../../../bin/tessera', import.meta.url).pathname

const PROGRAMS = ['/bin/sh', '/bin/cat', '/bin/ls', '/usr/bin/sha256sum']

/** A rootfs with a few programs of this machine and the libraries they load, at the paths they are loaded from. */
async function miniRootfs (dir: string): Promise<void> {
  const files = new Set(PROGRAMS)
  for (const program of PROGRAMS) {
    const { stdout } = await run('ldd', [program])
    for (const m of stdout.matchAll(/(\/\S+) \(0x/g)) files.add(m[1]!)
  }
  for (const file of files) {
    await mkdir(join(dir, dirname(file)), { recursive: true })
    await copyFile(file, join(dir, file)) // follows symlinks: a plain file at the name
  }
  await mkdir(join(dir, 'etc'), { recursive: true })
  await writeFile(join(dir, 'etc/greeting'), 'hello from the store\n')
  await mkdir(join(dir, 'tmp'), { mode: 0o1777 })
}

let storeDir = ''
const prepared = (async () => {
  if (skipMount !== false) return
  const src = join(root, 'rootfs')
  await mkdir(src)
  await miniRootfs(src)
  storeDir = join(root, 'store')
  const store = await openStore(storeDir)
  await importDirectory(store, src, { name: 'mini' })
  await store.close()
})()

async function target (name: string): Promise<string> {
  const dir = trackMount(join(root, name))
  await mkdir(dir)
  return dir
}

test('chroot into the mount runs real programs', { skip: skipMount }, async () => {
  await prepared
  const mnt = await target('chroot')
  const m = await cliMount(storeDir, 'mini', mnt)
  assert.equal(m.ready.dir, mnt)
  assert.equal(m.ready.name, 'mini')
  assert.match(m.ready.snapshot, /^sha256:[0-9a-f]{64}$/)
  const { stdout } = await run('chroot', [mnt, '/bin/sh', '-c', 'cat /etc/greeting; echo $((6 * 7)); ls /bin; sha256sum /etc/greeting; echo x > /tmp/f || echo refused'])
  const expectedSum = (await run('sha256sum', [join(root, 'rootfs/etc/greeting')])).stdout.split(' ')[0]
  const lines = stdout.trim().split('\n')
  assert.equal(lines[0], 'hello from the store')
  assert.equal(lines[1], '42')
  assert.deepEqual(lines.slice(2, 5), ['cat', 'ls', 'sh'])
  assert.equal(lines[5], `${expectedSum}  /etc/greeting`)
  assert.equal(lines[6], 'refused')
  m.child.kill('SIGINT')
  assert.deepEqual(await m.exited, { code: 0, signal: null })
  assert.equal(await mounted(mnt), false)
})

for (const signal of ['SIGINT', 'SIGTERM'] as const) {
  test(`${signal} unmounts and exits 0`, { skip: skipMount }, async () => {
    await prepared
    const mnt = await target(signal)
    const m = await cliMount(storeDir, 'mini', mnt)
    assert.equal(await mounted(mnt), true)
    m.child.kill(signal)
    assert.deepEqual(await m.exited, { code: 0, signal: null })
    assert.equal(await mounted(mnt), false)
    assert.match(m.stderr(), new RegExp(`${signal}: unmounting`))
  })
}

test('an external umount ends the command with status 0', { skip: skipMount }, async () => {
  await prepared
  const mnt = await target('external')
  const m = await cliMount(storeDir, 'mini', mnt)
  await run('umount', [mnt])
  assert.deepEqual(await m.exited, { code: 0, signal: null })
  assert.match(m.stderr(), /unmounted/)
})

test('a busy mount is detached on SIGINT and the command exits when its last user leaves', { skip: skipMount }, async () => {
  await prepared
  const mnt = await target('busy')
  const m = await cliMount(storeDir, 'mini', mnt)
  // A process whose working directory is inside the mount, blocked reading its stdin.
  const user = spawn('/bin/cat', [], { cwd: join(mnt, 'etc'), stdio: ['pipe', 'ignore', 'ignore'] })
  await new Promise((resolve) => user.once('spawn', resolve))
  m.child.kill('SIGINT')
  assert.ok(await waitUnmounted(mnt), 'the mount left the namespace')
  assert.equal(m.child.exitCode, null, 'still serving its last user')
  user.stdin!.end()
  await new Promise((resolve) => user.once('exit', resolve))
  assert.deepEqual(await m.exited, { code: 0, signal: null })
  assert.match(m.stderr(), /busy: detached/)
})

test('a killed server leaves no mount behind', { skip: skipMount }, async () => {
  await prepared
  const mnt = await target('killed')
  const m = await cliMount(storeDir, 'mini', mnt)
  m.child.kill('SIGKILL')
  assert.equal((await m.exited).signal, 'SIGKILL')
  assert.ok(await waitUnmounted(mnt), 'the guard unmounted it')
  // The directory is usable again: mount it anew.
  const again = await cliMount(storeDir, 'mini', mnt)
  assert.equal((await run('cat', [join(mnt, 'etc/greeting')])).stdout, 'hello from the store\n')
  again.child.kill('SIGTERM')
  assert.deepEqual(await again.exited, { code: 0, signal: null })
})

test('usage errors and missing snapshots or targets are one line with a code', { skip: skipMount }, async () => {
  await prepared
  const cli = async (...args: string[]): Promise<{ code: number, stderr: string }> => {
    try {
      await run(process.execPath, [bin, '--store', storeDir, ...args])
      return { code: 0, stderr: '' }
    } catch (err) {
      const e = err as { code: number, stderr: string }
      return { code: e.code, stderr: e.stderr }
    }
  }
  const mnt = await target('errors')
  const usage = await cli('mount', 'mini')
  assert.equal(usage.code, 2)
  assert.match(usage.stderr, /^tessera: ERR_USAGE: /)
  const missing = await cli('mount', 'nope', mnt)
  assert.equal(missing.code, 1)
  assert.match(missing.stderr, /^tessera: ERR_NOT_FOUND: /)
  const notDir = await cli('mount', 'mini', join(root, 'rootfs/etc/greeting'))
  assert.equal(notDir.code, 1)
  assert.match(notDir.stderr, /^tessera: ERR_MOUNT: mount target .* is not a directory\n$/)
  const absent = await cli('mount', 'mini', join(root, 'no-such-dir'))
  assert.match(absent.stderr, /^tessera: ERR_MOUNT: mount target .*: ENOENT\n$/)
  assert.equal(await mounted(mnt), false)
})
