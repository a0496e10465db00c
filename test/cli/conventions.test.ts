/**
 * The CLI conventions users know from restic, borg, skopeo and diff(1):
 * --version, per-command --help, usage errors as one coded line with exit
 * status 2, digest prefixes, diff's exit status, a tar refused on a
 * terminal, `./path`, `stat`, waiting for a store lock, SIGINT during an
 * import, and read commands that refuse a missing store.
 */
import { test } from 'node:test'
import assert from 'node:assert/strict'
import { spawnSync } from 'node:child_process'
import { closeSync, constants, openSync, writeSync } from 'node:fs'
import { link, mkdir, mkdtemp, readdir, readFile, rm, stat, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { openStore } from '../../src/store/open.js'
import { importDirectory } from '../../src/importer/directory.js'
import { collect, exitOf, runTessera, startTessera, TESSERA_BIN, waitForOutput } from '../helpers/cli.js'
import { requireTool } from '../helpers/tools.js'

const root = await mkdtemp(join(tmpdir(), 'tessera-conventions-'))
test.after(async () => { await rm(root, { recursive: true, force: true }) })
const store = join(root, 'store')
const run = (...args: string[]): ReturnType<typeof runTessera> => runTessera(args, { store, env: { TESSERA_DEBUG: '' } })
const text = (...args: string[]): string => run(...args).stdout.toString()

const src = join(root, 'src')
await mkdir(join(src, 'etc'), { recursive: true })
await writeFile(join(src, 'etc', 'os-release'), 'ID=test\n')
await writeFile(join(src, 'data'), 'some data\n', { mode: 0o640 })
await link(join(src, 'data'), join(src, 'data-link'))
const other = join(root, 'other')
await mkdir(other)
await writeFile(join(other, 'data'), 'other data\n')

// Seventeen snapshots with distinct digests: two of them share their
// first hex digit, so a one-digit prefix is ambiguous (pigeonhole).
{
  const s = await openStore(store)
  for (let i = 0; i < 17; i++) await importDirectory(s, src, { name: `s${i}`, mtime: i, xattrs: false })
  await s.close()
}
assert.equal(run('import', `dir:${other}`, '--name', 'other', '--mtime', 'zero').code, 0)

/** The listing `snapshots --json` gives. */
const listing = (): Array<{ name: string, snapshot: string }> => JSON.parse(text('snapshots', '--json'))

test('--version prints the package version', async () => {
  const pkg = JSON.parse(await readFile(new URL('../../../package.json', import.meta.url), 'utf8'))
  const r = run('--version')
  assert.equal(r.code, 0)
  assert.equal(r.stdout.toString(), `tessera ${pkg.version}\n`)
})

test('CMD --help prints that command\'s usage and options only; tessera --help lists every command', () => {
  const help = run('cat', '--help')
  assert.equal(help.code, 0, help.stderr)
  assert.equal(help.stderr, '')
  const out = help.stdout.toString()
  assert.match(out, /^usage: tessera cat NAME PATH \[--offset N\] \[--length N\]$/m)
  assert.match(out, /^ {2}--offset N +first byte/m)
  assert.match(out, /^ {2}--lock-wait SECONDS +/m)
  for (const foreign of ['--name', '--platform', 'import', 'serve', '--json']) assert.ok(!out.includes(foreign), `cat --help does not mention ${foreign}`)
  assert.equal(text('help', 'cat'), out, 'tessera help cat is the same text')
  assert.equal(text('-h', 'cat'), out, 'a global -h before the command too')
  const all = text('--help')
  for (const name of ['import', 'export', 'snapshots', 'ls', 'stat', 'cat', 'diff', 'stats', 'rm', 'gc', 'fsck', 'serve']) assert.match(all, new RegExp(`^ {2}${name} +\\S`, 'm'))
  assert.ok(!all.includes('--offset'), 'the global help leaves the options to each command')
  const bare = run()
  assert.equal(bare.code, 2, 'no command is a usage error')
  assert.match(bare.stderr, /^usage: tessera/)
})

test('a cat of one range loads neither the importers, the tar and OCI code nor the registry', async () => {
  const log = join(root, 'modules.log')
  const hooks = new URL('../helpers/module-log.js', import.meta.url).href
  const r = runTessera(['cat', 's0', 'data', '--length', '4'], { store, env: { TESSERA_MODULE_LOG: log, NODE_OPTIONS: `--import=${hooks}` } })
  assert.equal(r.code, 0, r.stderr)
  assert.equal(r.stdout.toString(), 'some')
  const loaded = (await readFile(log, 'utf8')).split('\n').filter((u) => u.includes('/dist/src/'))
  assert.ok(loaded.some((u) => u.endsWith('/dist/src/exporter/snapshot-reader.js')), 'the log works')
  for (const heavy of ['/importer/', '/oci/', '/registry/', '/tar/', '/layers/', '/maintenance/']) {
    assert.deepEqual(loaded.filter((u) => u.includes(`/dist/src${heavy}`)), [], `cat loads nothing of ${heavy}`)
  }
})

test('usage errors are one coded line and exit status 2', () => {
  const cases: Array<[string[], RegExp]> = [
    [['cat', 's0', 'data', '--frob'], /^tessera: ERR_USAGE: unknown option --frob \(tessera cat --help lists the options\)$/],
    [['cat', 's0', 'data', '-x'], /^tessera: ERR_USAGE: unknown option -x /],
    [['ls', 's0', '--json=yes'], /^tessera: ERR_USAGE: option --json takes no value$/],
    [['import', `dir:${src}`, '--name'], /^tessera: ERR_USAGE: option --name needs a value \(NAME\)$/],
    [['cat', 's0'], /^tessera: ERR_USAGE: missing operand: usage: tessera cat NAME PATH/],
    [['stats', 'extra'], /^tessera: ERR_USAGE: unexpected operand "extra"/],
    [['cat', 's0', 'data', '--length', '1.5'], /^tessera: ERR_INVALID_ARGUMENT: --length takes a non-negative integer, got "1.5"$/],
    [['cat', 's0', 'data', '--offset=-1'], /^tessera: ERR_INVALID_ARGUMENT: --offset takes a non-negative integer, got "-1"$/],
    [['export', 's0', 'oci:/nonexistent/x', '--compression', 'lz4'], /^tessera: ERR_INVALID_ARGUMENT: --compression takes gzip, zstd, none, got "lz4"$/],
    [['snapshots', '--lock-wait', 'soon'], /^tessera: ERR_INVALID_ARGUMENT: --lock-wait takes a non-negative number/],
    [['--stroe', 'x', 'snapshots'], /^tessera: ERR_USAGE: unknown option --stroe \(tessera --help lists the options\)$/]
  ]
  for (const [args, re] of cases) {
    const r = run(...args)
    assert.equal(r.code, 2, `${args.join(' ')}: ${r.stderr}`)
    assert.match(r.stderr.trimEnd(), re, args.join(' '))
    assert.equal(r.stderr.trimEnd().split('\n').length, 1, `one line: ${r.stderr}`)
    assert.equal(r.stdout.length, 0)
  }
})

test('a snapshot may be named by a unique digest prefix, as `snapshots` prints it', () => {
  const snaps = listing()
  const target = snaps.find((s) => s.name === 'other')!
  const printed = text('snapshots').split('\n').find((l) => l.startsWith('other '))!.split(/\s+/)[1]!
  assert.equal(printed, target.snapshot.slice(0, 19), 'snapshots prints sha256: and 12 digits')
  assert.equal(text('cat', printed, 'data'), 'other data\n')
  assert.equal(text('cat', target.snapshot.slice(7, 17), 'data'), 'other data\n', 'the hex digits alone')
  assert.equal(text('cat', target.snapshot, 'data'), 'other data\n', 'the full digest')
  // A one-digit prefix two snapshots share.
  const byDigit = new Map<string, string[]>()
  for (const s of snaps) byDigit.set(s.snapshot[7]!, [...byDigit.get(s.snapshot[7]!) ?? [], s.name])
  const [digit, names] = [...byDigit].find(([, n]) => n.length > 1)!
  const ambiguous = run('cat', `sha256:${digit}`, 'data')
  assert.equal(ambiguous.code, 1)
  assert.match(ambiguous.stderr, /^tessera: ERR_AMBIGUOUS_SNAPSHOT: "sha256:[0-9a-f]" is the start of \d+ snapshot digests: /)
  for (const name of names) assert.ok(ambiguous.stderr.includes(`(${name})`), `the message lists ${name}`)
  const absent = [...'0123456789abcdef'].map((d) => `sha256:${target.snapshot.slice(7, 9)}${d}`).find((p) => !snaps.some((s) => s.snapshot.startsWith(p)))!
  assert.match(run('cat', absent, 'data').stderr, /^tessera: ERR_NOT_FOUND: no snapshot named .*no named snapshot's digest starts with/)
})

test('import tar: --base takes a snapshot as the read commands do: a name, a digest or a unique prefix', () => {
  const layer = join(root, 'other-layer.tar')
  assert.equal(run('export', 'other', `tar:${layer}`).code, 0)
  const s0 = listing().find((s) => s.name === 's0')!.snapshot
  for (const [i, base] of [s0, s0.slice(0, 19), s0.slice(7, 15), 's0'].entries()) {
    const r = run('import', `tar:${layer}`, '--name', `layered-${i}`, '--base', base, '--json')
    assert.equal(r.code, 0, `--base ${base}: ${r.stderr}`)
    assert.equal(text('cat', `layered-${i}`, 'data'), 'other data\n', 'the layer replaced data')
    assert.equal(text('cat', `layered-${i}`, 'etc/os-release'), 'ID=test\n', `the base's files are there (--base ${base})`)
  }
  const ambiguous = run('import', `tar:${layer}`, '--name', 'never', '--base', 'sha256:')
  assert.equal(ambiguous.code, 1)
  assert.match(ambiguous.stderr, /^tessera: ERR_NOT_FOUND: no snapshot named "sha256:"\n$/)
  const byDigit = new Map<string, number>()
  for (const s of listing()) byDigit.set(s.snapshot[7]!, (byDigit.get(s.snapshot[7]!) ?? 0) + 1)
  const shared = [...byDigit].find(([, n]) => n > 1)![0]
  assert.match(run('import', `tar:${layer}`, '--name', 'never', '--base', `sha256:${shared}`).stderr, /^tessera: ERR_AMBIGUOUS_SNAPSHOT: /)
  assert.ok(!listing().some((s) => s.name === 'never'))
})

test('diff exits 0 when the snapshots are equal, 1 when they differ, 2 on an error', () => {
  const same = run('diff', 's0', 's0')
  assert.equal(same.code, 0, same.stderr)
  assert.equal(same.stdout.length, 0)
  const differ = run('diff', 's0', 's1')
  assert.equal(differ.code, 1, differ.stderr)
  assert.match(differ.stdout.toString(), /^M \/ {2}\(metadata\)$/m)
  assert.equal(run('diff', 's0', 's1', '--json').code, 1)
  const error = run('diff', 's0', 'absent')
  assert.equal(error.code, 2)
  assert.match(error.stderr, /^tessera: ERR_NOT_FOUND: /)
})

test('export tar:- refuses a terminal; export tar:FILE refuses an existing file and keeps it', requireTool('script'), () => {
  // `script` gives the command a pseudo-terminal as stdout.
  const tty = spawnSync('script', ['-qec', `${process.execPath} ${TESSERA_BIN} export s0 tar:-`, '/dev/null'], { env: { ...process.env, TESSERA_STORE: store } })
  assert.equal(tty.status, 2, tty.stdout.toString())
  assert.match(tty.stdout.toString(), /tessera: ERR_INVALID_ARGUMENT: refusing to write a tar stream to a terminal/)
  assert.ok(!tty.stdout.includes('ustar'), 'no tar bytes reached the terminal')
  const piped = run('export', 's0', 'tar:-')
  assert.equal(piped.code, 0)
  assert.ok(piped.stdout.includes('ustar'), 'a pipe gets the tar')
  const existing = join(root, 'existing.tar')
  spawnSync('sh', ['-c', `echo keep > ${existing}`])
  const r = run('export', 's0', `tar:${existing}`)
  assert.equal(r.code, 1)
  assert.match(r.stderr, /^tessera: ERR_TARGET_EXISTS: .*existing\.tar exists/)
  assert.equal(spawnSync('cat', [existing]).stdout.toString(), 'keep\n')
})

test('paths may be given as ./path, /path or path; . is the root', () => {
  for (const path of ['./etc/os-release', '/etc/os-release', 'etc/os-release', './etc/./os-release']) {
    const r = run('cat', 's0', path)
    assert.equal(r.code, 0, `${path}: ${r.stderr}`)
    assert.equal(r.stdout.toString(), 'ID=test\n')
  }
  assert.equal(text('ls', 's0', '.'), text('ls', 's0'))
  assert.equal(text('ls', 's0', './etc'), text('ls', 's0', 'etc'))
})

test('stat describes one entry; a hard link shows the inode it shares, in ls --json too', async () => {
  const st = await stat(join(src, 'data'))
  const file = JSON.parse(text('stat', 's0', 'data', '--json'))
  assert.equal(file.kind, 'file')
  assert.equal(file.mode, 0o640)
  assert.equal(file.size, 10)
  const hard = JSON.parse(text('stat', 's0', './data-link', '--json'))
  assert.equal(hard.kind, 'hardlink')
  assert.equal(hard.path, 'data')
  assert.equal(hard.linkKind, 'file')
  for (const k of ['mode', 'uid', 'gid', 'mtimeNs', 'size']) assert.equal(hard[k], file[k], k)
  assert.equal(hard.uid, st.uid)
  const listed = JSON.parse(text('ls', 's0', '--json')) as Array<Record<string, unknown>>
  assert.deepEqual(listed.find((e) => e.name === 'data-link'), hard, 'ls --json shows the hard link as stat does')
  const line = text('ls', 's0').split('\n').find((l) => l.endsWith('data-link link to data'))!
  assert.match(line, /^hrw-r----- +\d+\/\d+ +10 \d{4}-/, 'the ls line shows mode and size of the inode')
  const block = text('stat', 's0', 'etc/os-release')
  assert.match(block, /^path: {3}\/etc\/os-release$/m)
  assert.match(block, /^kind: {3}file$/m)
  assert.match(block, /^size: {3}8 \(inline\)$/m)
  assert.match(block, /^mtime: {2}1970-01-01T00:00:00\.000000000Z$/m, 'mtime 0 of snapshot s0')
  assert.match(run('stat', 's0', 'nope').stderr, /^tessera: ERR_NOT_FOUND: /)
})

test('read commands refuse a missing store and create nothing; import creates one', async () => {
  const missing = join(root, 'no', 'such', 'dir')
  for (const args of [['snapshots'], ['ls', 'x'], ['cat', 'x', 'y'], ['stat', 'x', 'y'], ['stats'], ['diff', 'x', 'y'], ['export', 'x', `tar:${join(root, 'x.tar')}`], ['rm', 'x'], ['gc'], ['fsck']]) {
    const r = runTessera(['--store', missing, ...args])
    assert.match(r.stderr, /^tessera: ERR_STORE_NOT_FOUND: no store at .*no\/such\/dir\n$/, args.join(' '))
    assert.notEqual(r.code, 0)
  }
  await assert.rejects(stat(join(root, 'no')), { code: 'ENOENT' }, 'no directory was created')
  const empty = join(root, 'empty')
  await mkdir(empty)
  assert.match(runTessera(['--store', empty, 'snapshots']).stderr, /^tessera: ERR_STORE_NOT_FOUND: /)
  assert.deepEqual(await readdir(empty), [], 'nothing was written into an existing directory that is no store')
  const made = runTessera(['--store', missing, 'import', `dir:${other}`, '--name', 'x'])
  assert.equal(made.code, 0, made.stderr)
  assert.equal(runTessera(['--store', missing, 'snapshots']).code, 0)
})

test('--store /proc gives the real reason, not ERR_STORE_LOCKED', () => {
  const read = runTessera(['--store', '/proc', 'snapshots'])
  assert.match(read.stderr, /^tessera: ERR_STORE_NOT_FOUND: no store at \/proc\n$/)
  const write = runTessera(['--store', '/proc', 'import', `dir:${other}`, '--name', 'x'])
  assert.equal(write.code, 1)
  assert.match(write.stderr, /^tessera: ERR_STORE: cannot open store \/proc: IO error: \/proc\/LOCK: No such file or directory\n$/)
})

test('a store or export target below /proc fails at once with the reason (a recursive mkdir loops there)', () => {
  const cases: Array<[string[], RegExp]> = [
    [['--store', '/proc/tessera-store', 'import', `dir:${other}`, '--name', 'x'], /^tessera: ERR_STORE: cannot create store directory \/proc\/tessera-store: ENOENT: /],
    [['export', 's0', 'dir:/proc/tessera-out/deeper'], /^tessera: ERR_EXPORT: cannot create export target "\/proc\/tessera-out\/deeper": ENOENT: /],
    [['export', 's0', 'oci:/proc/tessera-out'], /^tessera: ERR_EXPORT: cannot create \/proc\/tessera-out \(ENOENT\)/]
  ]
  for (const [args, re] of cases) {
    // A timeout: the bug this guards against is a hang, which spawnSync would share.
    const r = spawnSync(TESSERA_BIN, args, { env: { ...process.env, TESSERA_STORE: store }, timeout: 60_000, encoding: 'utf8' })
    assert.equal(r.signal, null, `${args.join(' ')} did not finish`)
    assert.equal(r.status, 1, r.stderr)
    assert.match(r.stderr, re)
    assert.equal(r.stderr.trimEnd().split('\n').length, 1)
  }
})

test('errors name what was given: the tar target, not its temporary file; a store path that is a file', async () => {
  const absent = join(root, 'no-such-dir', 'x.tar')
  const tar = run('export', 's0', `tar:${absent}`)
  assert.equal(tar.code, 1)
  assert.equal(tar.stderr, `tessera: ERR_EXPORT: cannot write ${absent}: its directory ${join(root, 'no-such-dir')} does not exist\n`)
  const file = join(root, 'a-file')
  await writeFile(file, 'not a store\n')
  const r = runTessera(['--store', file, 'import', `dir:${other}`, '--name', 'x'])
  assert.equal(r.code, 1)
  assert.equal(r.stderr, `tessera: ERR_STORE: cannot create a store at ${file}: it exists and is not a directory\n`)
  assert.equal(await readFile(file, 'utf8'), 'not a store\n')
})

/**
 * Start `import tar:FIFO` and resolve once it reads the FIFO (it has the
 * store open and locked then), with the FIFO's write end.
 */
async function importFromFifo (name: string): Promise<{ child: ReturnType<typeof startTessera>, fd: number }> {
  const fifo = join(root, `${name}.fifo`)
  spawnSync('mkfifo', [fifo])
  const child = startTessera(['import', `tar:${fifo}`, '--name', name], { store })
  let exited = false
  void exitOf(child).then(() => { exited = true })
  // Opening the FIFO for writing without blocking succeeds only once the
  // child has opened it for reading, after opening (and locking) the store.
  for (;;) {
    try {
      return { child, fd: openSync(fifo, constants.O_WRONLY | constants.O_NONBLOCK) }
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'ENXIO') throw err
      if (exited) throw new Error(`the import exited before reading its FIFO: ${collect(child.stderr).text()}`)
      await new Promise((resolve) => setTimeout(resolve, 20))
    }
  }
}

/** A ustar header for a regular file `name` of `size` bytes. */
function tarHeader (name: string, size: number): Buffer {
  const h = Buffer.alloc(512)
  h.write(name, 0)
  h.write('0000644\0', 100)
  h.write('0000000\0', 108)
  h.write('0000000\0', 116)
  h.write(size.toString(8).padStart(11, '0') + '\0', 124)
  h.write('00000000000\0', 136)
  h.write('        ', 148)
  h.write('0', 156)
  h.write('ustar\x0000', 257)
  let sum = 0
  for (const b of h) sum += b
  h.write(sum.toString(8).padStart(6, '0') + '\0 ', 148)
  return h
}

test('a read command waits for the store lock with --lock-wait', requireTool('mkfifo'), async () => {
  const holder = await importFromFifo('held')
  const waiter = startTessera(['snapshots', '--json', '--lock-wait', '120'], { store })
  const out = collect(waiter.stdout)
  // The waiter says it waits; only then does the holder finish.
  await waitForOutput(waiter.stderr!, /in use by another process; waiting up to 120 s\n/)
  writeSync(holder.fd, new Uint8Array(1024)) // an empty tar
  closeSync(holder.fd)
  assert.equal(await exitOf(holder.child), 0)
  assert.equal(await exitOf(waiter), 0)
  assert.ok(JSON.parse(out.text()).some((s: { name: string }) => s.name === 'held'), 'the waiter ran after the holder committed')
})

test('SIGINT during an import prints one line, exits 130 and commits nothing', requireTool('mkfifo'), async () => {
  const { child, fd } = await importFromFifo('cut')
  const err = collect(child.stderr)
  writeSync(fd, tarHeader('big.bin', 1 << 30))
  child.kill('SIGINT')
  // Keep feeding the import until it reports the interruption (the abort
  // is seen between reads), then end the stream.
  const zeros = new Uint8Array(16 * 1024)
  while (!err.text().includes('\n') && child.exitCode === null) {
    await new Promise((resolve) => setImmediate(resolve))
    try {
      writeSync(fd, zeros)
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code !== 'EAGAIN') break
      await new Promise((resolve) => setTimeout(resolve, 10))
    }
  }
  closeSync(fd)
  assert.equal(await exitOf(child), 130)
  assert.equal(err.text(), 'tessera: interrupted: nothing was committed\n')
  assert.ok(!listing().some((s) => s.name === 'cut'), 'no snapshot was committed')
})
