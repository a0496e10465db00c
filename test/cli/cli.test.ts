import { test } from 'node:test'
import assert from 'node:assert/strict'
import { spawnSync } from 'node:child_process'
import { mkdtemp, mkdir, rm, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { runTessera, TESSERA_BIN as bin } from '../helpers/cli.js'
import { lcgBytes } from '../helpers/fixture.js'
import { requireTool, withoutToolWarnings } from '../helpers/tools.js'

const root = await mkdtemp(join(tmpdir(), 'tessera-cli-'))
test.after(async () => { await rm(root, { recursive: true, force: true }) })

const store = join(root, 'store')
/** A run of the CLI on the test's store; stderr without the warning of a missing getfattr. */
function run (args: string[]): { code: number | null, stdout: Buffer, stderr: string } {
  const r = runTessera(args, { store })
  return { ...r, stderr: withoutToolWarnings(r.stderr) }
}

const src = join(root, 'src')
const data = lcgBytes(2 * 1024 * 1024, 3)
await mkdir(join(src, 'sub'), { recursive: true })
await writeFile(join(src, 'sub', 'data.bin'), data)
await writeFile(join(src, 'hello.txt'), 'hello world\n')

test('import --json prints name, snapshot and root; the store is $TESSERA_STORE', () => {
  const r = run(['import', `dir:${src}`, '--name', 'one', '--json'])
  assert.equal(r.code, 0, r.stderr)
  assert.equal(r.stderr, '')
  const out = JSON.parse(r.stdout.toString())
  assert.equal(out.name, 'one')
  assert.match(out.snapshot, /^sha256:[0-9a-f]{64}$/)
  assert.match(out.root, /^sha256:[0-9a-f]{64}$/)
  assert.equal(out.logicalBytes, data.length + 12)
})

test('--store overrides $TESSERA_STORE; the same tree gives the same root anywhere', () => {
  const other = join(root, 'other-store')
  const a = JSON.parse(run(['--store', other, 'import', `dir:${src}`, '--name', 'x', '--json']).stdout.toString())
  const b = JSON.parse(run(['import', `dir:${src}`, '--name', 'two', '--json']).stdout.toString())
  assert.equal(a.root, b.root)
})

test('cat reads a whole file and a byte range', () => {
  assert.deepEqual(run(['cat', 'one', 'hello.txt']).stdout.toString(), 'hello world\n')
  const r = run(['cat', 'one', '/sub/data.bin', '--offset', '1000000', '--length', '4096'])
  assert.equal(r.code, 0, r.stderr)
  assert.ok(r.stdout.equals(data.subarray(1000000, 1004096)))
})

test('ls, snapshots --json and stats --json', () => {
  const ls = run(['ls', 'one']).stdout.toString()
  assert.match(ls, /hello\.txt/)
  assert.match(ls, /^d.* sub$/m)
  const lsj = JSON.parse(run(['ls', 'one', 'sub', '--json']).stdout.toString())
  assert.equal(lsj[0].name, 'data.bin')
  assert.equal(lsj[0].size, data.length)
  const snaps = JSON.parse(run(['snapshots', '--json']).stdout.toString())
  assert.deepEqual(snaps.map((s: { name: string }) => s.name), ['one', 'two'])
  const stats = JSON.parse(run(['stats', '--json']).stdout.toString())
  for (const k of ['logicalBytes', 'storedBytes', 'chunks', 'snapshots']) assert.equal(typeof stats[k], 'number', k)
  assert.equal(stats.snapshots, 2)
  assert.equal(stats.logicalBytes, 2 * (data.length + 12))
  assert.ok(stats.storedBytes <= data.length + 1000, 'the second import stored nothing new')
})

test('export dir: and tar: (file and stdout) reproduce the tree', requireTool('tar'), () => {
  const out = join(root, 'out')
  assert.equal(run(['export', 'one', `dir:${out}`]).code, 0)
  const diff = spawnSync('diff', ['-r', src, out])
  assert.equal(diff.status, 0, diff.stdout.toString())
  const tarFile = join(root, 'one.tar')
  assert.equal(run(['export', 'one', `tar:${tarFile}`]).code, 0)
  const stdoutTar = run(['export', 'one', 'tar:-']).stdout
  const list = spawnSync('tar', ['-tf', tarFile]).stdout.toString().split('\n').filter(Boolean)
  assert.deepEqual(list, ['hello.txt', 'sub/', 'sub/data.bin'])
  assert.ok(spawnSync('cmp', [tarFile, '-'], { input: stdoutTar }).status === 0, 'tar:- equals tar:FILE')
  const x = join(root, 'untar')
  spawnSync('mkdir', [x])
  assert.equal(spawnSync('tar', ['-xf', tarFile, '-C', x]).status, 0)
  assert.equal(spawnSync('diff', ['-r', src, x]).status, 0)
})

test('import tar: applies a layer, with --base on top of a snapshot, and prints JSON', requireTool('tar'), () => {
  const layer = join(root, 'layer.tar')
  const upper = join(root, 'upper.tar.gz')
  spawnSync('tar', ['-C', src, '--format=pax', '-cf', layer, '.'])
  const up = join(root, 'up')
  spawnSync('mkdir', ['-p', join(up, 'sub')])
  spawnSync('sh', ['-c', `echo new > ${join(up, 'new.txt')} && touch ${join(up, 'sub', '.wh.data.bin')} && tar -C ${up} -czf ${upper} .`])
  const a = run(['import', `tar:${layer}`, '--name', 'layer', '--json'])
  assert.equal(a.code, 0, a.stderr)
  const ra = JSON.parse(a.stdout.toString())
  assert.match(ra.root, /^sha256:[0-9a-f]{64}$/)
  const b = run(['import', `tar:${upper}`, '--name', 'layered', '--base', 'layer', '--json'])
  assert.equal(b.code, 0, b.stderr)
  const list = run(['ls', 'layered', 'sub', '--json'])
  assert.deepEqual(JSON.parse(list.stdout.toString()), [])
  assert.equal(run(['cat', 'layered', 'new.txt']).stdout.toString(), 'new\n')
  const dirRoot = JSON.parse(run(['import', `dir:${src}`, '--name', 'fromdir', '--json']).stdout.toString()).root
  assert.equal(ra.root, dirRoot, 'a tar of a directory and the directory give the same root')
})

// The snapshots of the test above, made with GNU tar.
test('diff --json lists what changed between two snapshots', requireTool('tar'), () => {
  const r = run(['diff', 'layer', 'layered', '--json'])
  assert.equal(r.code, 1, r.stderr)
  const d = JSON.parse(r.stdout.toString())
  assert.deepEqual(d.added.map((x: { path: string }) => x.path), ['new.txt'])
  assert.deepEqual(d.removed.map((x: { path: string }) => x.path), ['sub/data.bin'])
  assert.match(run(['diff', 'layer', 'layered']).stdout.toString(), /^A new\.txt$/m)
})

test('errors print one line with a stable code and exit non-zero', () => {
  const cases: Array<[string[], RegExp, number]> = [
    [['cat', 'one', 'missing'], /^tessera: ERR_NOT_FOUND: /, 1],
    [['cat', 'nope', 'x'], /^tessera: ERR_NOT_FOUND: /, 1],
    [['import', `dir:${src}`, '--name', 'one'], /^tessera: ERR_REF_EXISTS: /, 1],
    [['import', `dir:${src}`, '--name=-bad'], /^tessera: ERR_INVALID_REF_NAME: /, 1],
    [['import', `dir:${join(root, 'absent')}`, '--name', 'z'], /^tessera: ERR_UNREADABLE_SOURCE: /, 1],
    [['import', `oops:${src}`, '--name', 'z'], /^tessera: ERR_INVALID_ARGUMENT: /, 2],
    [['cat', 'one', 'hello.txt', '--offset', '-5'], /^tessera: ERR_INVALID_ARGUMENT: --offset takes a non-negative integer, got "-5"$/m, 2],
    [['cat', 'one', 'hello.txt', '--offset', '99'], /^tessera: ERR_INVALID_RANGE: /, 1],
    [['export', 'one', `dir:${src}`], /^tessera: ERR_TARGET_NOT_EMPTY: /, 1],
    [['import', `dir:${src}`, '--name', 'q', '--chunk-min', '1'], /^tessera: ERR_INVALID_CHUNKER_PARAMS: /, 1],
    [['frobnicate'], /^tessera: ERR_USAGE: unknown command "frobnicate"/, 2]
  ]
  for (const [args, re, code] of cases) {
    const r = run(args)
    assert.equal(r.code, code, `${args.join(' ')}: ${r.stderr}`)
    assert.match(r.stderr, re, args.join(' '))
    assert.equal(r.stderr.trimEnd().split('\n').length, 1, `one line for ${args.join(' ')}: ${r.stderr}`)
    assert.ok(!r.stderr.includes('    at '), `no stack trace for ${args.join(' ')}`)
  }
  // The failed import left no ref behind.
  const names = JSON.parse(run(['snapshots', '--json']).stdout.toString()).map((s: { name: string }) => s.name)
  for (const failed of ['z', 'q', '-bad']) assert.ok(!names.includes(failed), `no ref ${failed}`)
  assert.ok(names.includes('one') && names.includes('two'))
})

test('a store held by another process gives ERR_STORE_LOCKED', requireTool('mkfifo'), async () => {
  const { spawn } = await import('node:child_process')
  const { openSync, writeSync, closeSync, constants } = await import('node:fs')
  // The holder imports a tar from a FIFO: it opens the store, then blocks
  // reading the FIFO until the test writes the tar, so it holds the lock
  // for as long as the test needs (no race with how fast an import runs).
  const fifo = join(root, 'layer.fifo')
  spawnSync('mkfifo', [fifo])
  const holder = spawn(bin, ['import', `tar:${fifo}`, '--name', 'held'], { env: { ...process.env, TESSERA_STORE: store }, stdio: 'ignore' })
  let exitCode: number | null | undefined
  const exited = new Promise((resolve) => holder.on('exit', (code) => { exitCode = code; resolve(code) }))
  // Opening the FIFO for writing without blocking succeeds only once the
  // holder reads it, which it does after opening (and locking) the store.
  let fd: number | undefined
  for (let i = 0; i < 300 && fd === undefined && exitCode === undefined; i++) {
    try {
      fd = openSync(fifo, constants.O_WRONLY | constants.O_NONBLOCK)
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'ENXIO') throw err
      await new Promise((resolve) => setTimeout(resolve, 50))
    }
  }
  assert.ok(fd !== undefined, `the holder never read its FIFO (exit code ${String(exitCode)})`)
  const r = run(['snapshots'])
  writeSync(fd, new Uint8Array(1024)) // an empty tar lets the holder finish
  closeSync(fd)
  assert.equal(await exited, 0)
  assert.match(r.stderr, /^tessera: ERR_STORE_LOCKED: /)
  assert.equal(r.code, 1)
})
