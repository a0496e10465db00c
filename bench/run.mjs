#!/usr/bin/env node
// Side-by-side benchmark of tessera against the OCI tar.gz layout (umoci),
// restic, casync and borg, on the corpora of bench/corpus.sh, in one run on
// the same input. Every figure a table shows comes from this run; times are
// compared as ratios to a peer measured in the same run.
//
//   node bench/run.mjs [--corpus debian-4|npm-ts-10|all] [--tools tessera,restic,casync,borg,oci]
//                      [--no-warm] [--tessera-bin PATH] [--baseline PATH] [--keep] [--timeout SECONDS]
//
// Each tool ingests twice, into fresh repositories: from a cold page cache
// (sync + drop_caches first, as root) and warm (the corpus just read);
// restores from a cold page cache, each restore followed by `sync -f` of
// its target; wall and CPU seconds (user + system) of every command.
// --baseline PATH also measures another build's bin/tessera (an older
// commit's checkout) side by side, for before/after ratios.
//
// Writes bench/results/latest.json (every raw number), latest.md (the tables)
// and chart.svg, and prints the tables. Plain ESM, no dependencies.
import { spawn, spawnSync } from 'node:child_process'
import { existsSync, lstatSync, symlinkSync, mkdirSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync, openSync, readSync, closeSync } from 'node:fs'
import { cpus, totalmem } from 'node:os'
import { basename, dirname, join, relative, resolve } from 'node:path'
import { fileURLToPath } from 'node:url'
import { median } from './stats.mjs'

const BENCH = dirname(fileURLToPath(import.meta.url))
const ROOT = resolve(BENCH, '..')
const CORPUS = resolve(process.env.TESSERA_CORPUS ?? join(BENCH, 'corpus'))
const RESULTS = join(BENCH, 'results')
// The CLI under test: a frozen copy of bin/ and dist/ taken at the start
// (others rebuild dist/ while they work; one run must measure one build).
let TESSERA = join(ROOT, 'bin', 'tessera')
// Another build measured beside it (--baseline), for before/after ratios.
let BASELINE = null
const TIME = '/usr/bin/time'
const IS_ROOT = typeof process.getuid === 'function' && process.getuid() === 0
const ALL_TOOLS = ['oci', 'tessera', 'tessera-baseline', 'restic', 'casync', 'borg']
const ALL_CORPORA = ['debian-4', 'npm-ts-10']
const BORG_CHUNKER = 'buzhash,14,18,16,4095'
const RESTIC_PASSWORD = 'tessera-bench'

// ---------------------------------------------------------------- options
function parseOptions (argv) {
  const opts = { corpus: 'all', tools: ALL_TOOLS.filter((t) => t !== 'tessera-baseline').join(','), keep: false, timeout: 300, warm: true, tesseraBin: null, baseline: process.env.TESSERA_BASELINE || null }
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i]
    const value = () => {
      const eq = a.indexOf('=')
      if (eq >= 0) return a.slice(eq + 1)
      if (i + 1 >= argv.length) usage(`${a} needs a value`)
      return argv[++i]
    }
    if (a === '--keep') opts.keep = true
    else if (a === '--no-warm') opts.warm = false
    else if (a === '--tessera-bin' || a.startsWith('--tessera-bin=')) opts.tesseraBin = value()
    else if (a === '--baseline' || a.startsWith('--baseline=')) opts.baseline = value()
    else if (a === '--corpus' || a.startsWith('--corpus=')) opts.corpus = value()
    else if (a === '--tools' || a.startsWith('--tools=')) opts.tools = value()
    else if (a === '--timeout' || a.startsWith('--timeout=')) opts.timeout = Number(value())
    else if (a === '-h' || a === '--help') usage()
    else usage(`unknown argument ${a}`)
  }
  const corpora = opts.corpus === 'all' ? ALL_CORPORA : opts.corpus.split(',')
  for (const c of corpora) if (!ALL_CORPORA.includes(c)) usage(`unknown corpus ${c}`)
  const tools = opts.tools.split(',').map((t) => t.trim()).filter(Boolean)
  for (const t of tools) if (!ALL_TOOLS.includes(t)) usage(`unknown tool ${t}`)
  if (!(opts.timeout > 0)) usage('--timeout takes a positive number of seconds')
  const bin = (path, what) => {
    const abs = resolve(path)
    if (!existsSync(abs) || !statSync(abs).isFile()) usage(`${what} ${path}: no such file (give a checkout's bin/tessera, built with npx tsc -p .)`)
    return abs
  }
  const tesseraBin = opts.tesseraBin === null ? null : bin(opts.tesseraBin, '--tessera-bin')
  const baseline = opts.baseline === null ? null : bin(opts.baseline, '--baseline')
  // The baseline runs right after tessera, so that the two see the same machine state.
  if (baseline !== null && !tools.includes('tessera-baseline')) tools.splice(tools.includes('tessera') ? tools.indexOf('tessera') + 1 : tools.length, 0, 'tessera-baseline')
  if (baseline === null && tools.includes('tessera-baseline')) usage('tessera-baseline needs --baseline PATH (or $TESSERA_BASELINE)')
  return { corpora, tools, keep: opts.keep, timeoutMs: opts.timeout * 1000, warm: opts.warm, tesseraBin, baseline }
}

function usage (error) {
  const text = `usage: node bench/run.mjs [--corpus debian-4|npm-ts-10|all] [--tools ${ALL_TOOLS.join(',')}] [--no-warm]\n` +
    '                        [--tessera-bin PATH] [--baseline PATH] [--keep] [--timeout SECONDS]'
  if (error) { process.stderr.write(`bench: ${error}\n${text}\n`); process.exit(2) }
  process.stdout.write(text + '\n'); process.exit(0)
}

const log = (msg) => process.stderr.write(`[bench ${new Date().toISOString().slice(11, 19)}] ${msg}\n`)

// ---------------------------------------------------------------- processes
let counter = 0
let WORK = ''
let TIMEOUT_MS = 300000

/**
 * Run one command under /usr/bin/time, with a timeout. Resolves (never
 * rejects) to { code, signal, seconds, rssKiB, cpuSeconds, stdout, stderr,
 * timedOut, error }: wall seconds, peak RSS and CPU seconds (user + system,
 * of the command and every child it waited for: worker threads, LevelDB's
 * threads and helper processes included). stdout is kept (up to maxStdout
 * bytes; `bytes` counts all of it).
 */
function run (cmd, args, { cwd = ROOT, env = {}, timeoutMs = TIMEOUT_MS, maxStdout = 1 << 20, measure = true } = {}) {
  return new Promise((resolvePromise) => {
    const timeFile = join(WORK, `.time-${process.pid}-${++counter}`)
    const argv = measure ? ['-f', '%M %U %S', '-o', timeFile, cmd, ...args] : args
    const started = process.hrtime.bigint()
    let child
    try {
      child = spawn(measure ? TIME : cmd, argv, { cwd, env: { ...process.env, ...env }, detached: true, stdio: ['ignore', 'pipe', 'pipe'] })
    } catch (error) {
      resolvePromise({ code: null, signal: null, seconds: 0, rssKiB: null, cpuSeconds: null, stdout: '', stderr: String(error), bytes: 0, timedOut: false, error: String(error) })
      return
    }
    const out = []; let outLen = 0; let bytes = 0
    const err = []; let errLen = 0
    child.stdout.on('data', (b) => { bytes += b.length; if (outLen < maxStdout) { out.push(b); outLen += b.length } })
    child.stderr.on('data', (b) => { if (errLen < 65536) { err.push(b); errLen += b.length } })
    let timedOut = false
    const timer = setTimeout(() => {
      timedOut = true
      try { process.kill(-child.pid, 'SIGKILL') } catch {}
    }, timeoutMs)
    let spawnError = null
    child.on('error', (e) => { spawnError = String(e) })
    child.on('close', (code, signal) => {
      clearTimeout(timer)
      const seconds = Number(process.hrtime.bigint() - started) / 1e9
      let rssKiB = null
      let cpuSeconds = null
      if (measure) {
        try {
          // The last line (a failed command's status line comes first): "%M %U %S".
          const lines = readFileSync(timeFile, 'utf8').trim().split('\n')
          const [rss, user, sys] = lines[lines.length - 1].trim().split(/\s+/).map(Number)
          if (Number.isFinite(rss)) rssKiB = rss
          if (Number.isFinite(user) && Number.isFinite(sys)) cpuSeconds = user + sys
        } catch {}
        rmSync(timeFile, { force: true })
      }
      const stderr = Buffer.concat(err).toString('utf8')
      const result = { code, signal, seconds, rssKiB, cpuSeconds, stdout: Buffer.concat(out).toString('utf8'), stdoutBuffer: Buffer.concat(out), stderr, bytes, timedOut, error: null }
      if (timedOut) result.error = `timed out after ${timeoutMs / 1000} s`
      else if (spawnError) result.error = spawnError
      else if (code !== 0) result.error = `exit ${code ?? signal}: ${lastLines(stderr.replace(/^Command exited with non-zero status \d+\n?/m, ''), 3)}`
      resolvePromise(result)
    })
  })
}

function lastLines (text, n) {
  return text.trim().split('\n').filter(Boolean).slice(-n).join(' | ').slice(0, 400)
}

function sh (cmd, args, opts = {}) {
  const r = spawnSync(cmd, args, { encoding: 'utf8', timeout: 60000, ...opts })
  return r.status === 0 ? r.stdout.trim() : null
}

function which (cmd) { return sh('sh', ['-c', `command -v ${cmd}`]) }

function dropCaches () {
  if (!IS_ROOT) return false
  const r = spawnSync('sh', ['-c', 'sync; echo 3 > /proc/sys/vm/drop_caches'], { timeout: 120000 })
  return r.status === 0
}

function duBytes (path) {
  const b = sh('du', ['-sb', path], { timeout: 120000 })
  const k = sh('du', ['-sk', path], { timeout: 120000 })
  return { bytes: b === null ? null : Number(b.split(/\s/)[0]), diskKiB: k === null ? null : Number(k.split(/\s/)[0]) }
}

class Failure extends Error {}
function must (r, what) {
  if (r.error) throw new Failure(`${what}: ${r.error}`)
  return r
}

// ---------------------------------------------------------------- corpora
function versionKey (name) {
  return name.replace(/\d+/g, (d) => d.padStart(8, '0'))
}

function loadCorpus (name) {
  const base = join(CORPUS, name)
  if (name === 'debian-4') {
    const items = ['bookworm', 'trixie', 'bookworm-python3', 'bookworm-nodejs'].map((n) => ({ name: n, path: join(base, 'rootfs', n) }))
    const missing = items.filter((i) => !existsSync(i.path)).map((i) => i.name)
    if (missing.length > 0 || !existsSync(join(base, 'oci', 'index.json'))) throw new Failure(`corpus ${name} incomplete (missing ${missing.join(', ') || 'oci'}): run bash bench/corpus.sh`)
    return { name, base, items, oci: { layout: join(base, 'oci'), flatLayout: join(base, 'oci-flat'), tags: items.map((i) => i.name) } }
  }
  if (!existsSync(base)) throw new Failure(`corpus ${name} missing: run bash bench/corpus.sh`)
  const items = readdirSync(base).filter((n) => n.startsWith('typescript-') && !n.endsWith('.tmp'))
    .sort((a, b) => versionKey(a) < versionKey(b) ? -1 : 1)
    .map((n) => ({ name: n, path: join(base, n) }))
  if (items.length === 0) throw new Failure(`corpus ${name} empty: run bash bench/corpus.sh`)
  return { name, base, items, tgz: join(base, 'tgz') }
}

/** Call `onFile(path, stat)` for every regular file under dir (lstat, no symlinks followed; unreadable entries skipped). */
function eachFile (dir, onFile) {
  let names
  try { names = readdirSync(dir) } catch { return }
  for (const n of names) {
    const p = join(dir, n)
    let st
    try { st = lstatSync(p) } catch { continue }
    if (st.isDirectory()) eachFile(p, onFile)
    else if (st.isFile()) onFile(p, st)
  }
}

/** Largest regular file under dir. */
function largestFile (dir) {
  let best = null
  eachFile(dir, (p, st) => { if (best === null || st.size > best.size) best = { path: relative(dir, p), size: st.size } })
  return best
}

function readRange (file, offset, length) {
  const fd = openSync(file, 'r')
  try {
    const buf = Buffer.alloc(length)
    const n = readSync(fd, buf, 0, length, offset)
    return buf.subarray(0, n)
  } finally { closeSync(fd) }
}

// ---------------------------------------------------------------- verification
// GNU diff cannot compare device nodes, FIFOs or sockets ("File A is a
// character special file while file B is a character special file"): those
// lines are checked here with lstat (type, mode, owner, rdev) instead.
const SPECIAL = /^File (.+) is a (character special file|block special file|fifo|socket) while file (.+) is a \2$/
async function verifyTree (restored, source) {
  if (!restored || !existsSync(restored)) return { ok: false, detail: `restored tree not found (${restored})` }
  const r = await run('diff', ['-r', '--no-dereference', '-q', restored, source], { measure: false, maxStdout: 1 << 20 })
  if (r.timedOut) return { ok: false, detail: r.error }
  const lines = (r.stdout + r.stderr).trim().split('\n').filter(Boolean)
  let special = 0
  const left = lines.filter((line) => {
    const m = SPECIAL.exec(line)
    if (!m) return true
    try {
      const a = lstatSync(m[1]); const b = lstatSync(m[3])
      if (a.mode === b.mode && a.rdev === b.rdev && a.uid === b.uid && a.gid === b.gid) { special++; return false }
    } catch {}
    return true
  })
  const short = (line) => line.split(restored + '/').join('').split(source + '/').join('')
  if (left.length === 0 && (r.code === 0 || r.code === 1)) {
    return { ok: true, detail: special ? `identical (diff -r; ${special} device nodes/FIFOs compared by lstat)` : 'identical (diff -r)', specialNodes: special }
  }
  return { ok: false, differences: left.length, specialNodes: special, detail: (left.length ? left.slice(0, 4).map(short).join(' | ') : `diff exit ${r.code}`).slice(0, 400), lines: left.slice(0, 50) }
}

// ---------------------------------------------------------------- tools
// Each tool: version(), ingest(ctx) -> per-item results, restore(ctx) -> per-item, with a restored path for item 0.

function newPhase () { return { seconds: 0, cpuSeconds: 0, peakRssKiB: 0, items: [], errors: [] } }
/**
 * Add one command's wall time, CPU time and peak RSS to a phase; for a
 * restore, also those of the `sync` after it (`synced`), which is part of
 * what a user waits for.
 */
function account (phase, name, r, extra = {}, synced = null) {
  const seconds = r.seconds + (synced?.seconds ?? 0)
  const cpu = r.cpuSeconds === null || (synced !== null && synced.cpuSeconds === null) ? null : r.cpuSeconds + (synced?.cpuSeconds ?? 0)
  phase.seconds += seconds
  if (cpu === null) phase.cpuIncomplete = true
  else phase.cpuSeconds += cpu
  if (r.rssKiB !== null) phase.peakRssKiB = Math.max(phase.peakRssKiB, r.rssKiB)
  const item = { name, seconds: round(seconds, 3), cpuSeconds: round(cpu, 3), rssKiB: r.rssKiB, ...extra }
  if (synced !== null) { item.commandSeconds = round(r.seconds, 3); item.syncSeconds = round(synced.seconds, 3) }
  const error = r.error ?? synced?.error
  if (error) { item.error = error; phase.errors.push(`${name}: ${error}`) }
  phase.items.push(item)
  return item
}

/**
 * Run one restore command, then `sync -f TARGET` (syncfs of the target's
 * filesystem: the restored bytes are on disk, as a user who waits for
 * them sees it), and account both as one restore.
 */
async function restoreInto (phase, name, target, cmd, args, opts = {}) {
  const r = await run(cmd, args, opts)
  const synced = r.error ? null : await run('sync', ['-f', target])
  return account(phase, name, r, {}, synced)
}

const tools = {
  tessera: {
    package: null,
    version: () => describeCheckout(OPTIONS.tesseraBin === null ? ROOT : checkoutOf(OPTIONS.tesseraBin)),
    async ingest (c) {
      const ph = newPhase()
      for (const it of c.corpus.items) {
        const r = await run(c.bin, ['--store', c.store, 'import', `dir:${it.path}`, '--name', it.name, '--json'])
        let json = null
        try { json = JSON.parse(r.stdout) } catch {}
        account(ph, it.name, r, { tessera: json })
        if (r.error) break
      }
      return ph
    },
    async restore (c) {
      const ph = newPhase()
      const devices = IS_ROOT ? ['--devices'] : []
      for (const [i, it] of c.corpus.items.entries()) {
        const target = join(c.restoreDir, it.name)
        await restoreInto(ph, it.name, target, c.bin, ['--store', c.store, 'export', it.name, `dir:${target}`, ...devices])
        if (i === 0) ph.restored = target
      }
      return ph
    }
  },
  restic: {
    package: 'restic',
    version: () => sh('restic', ['version']),
    env: (c) => ({ RESTIC_REPOSITORY: c.store, RESTIC_PASSWORD, RESTIC_CACHE_DIR: join(c.tmp, 'cache') }),
    async ingest (c) {
      const ph = newPhase()
      const env = this.env(c)
      must(await run('restic', ['init', '--repository-version', '2'], { env }), 'restic init')
      ph.snapshots = {}
      for (const it of c.corpus.items) {
        // cwd = the parent, path = the basename: the tree holds NAME/ at its top.
        const r = await run('restic', ['backup', '--json', '--quiet', '--compression', 'auto', '--host', 'bench', '--tag', it.name, it.name], { env, cwd: dirname(it.path) })
        let id = null
        for (const line of r.stdout.split('\n')) {
          try { const m = JSON.parse(line); if (m.message_type === 'summary') id = m.snapshot_id } catch {}
        }
        ph.snapshots[it.name] = id
        account(ph, it.name, r, { snapshot: id })
        if (!r.error && id === null) ph.errors.push(`${it.name}: no snapshot id in restic output`)
      }
      return ph
    },
    async restore (c, ingest) {
      const ph = newPhase()
      const env = this.env(c)
      for (const [i, it] of c.corpus.items.entries()) {
        const target = join(c.restoreDir, it.name)
        const id = ingest.snapshots?.[it.name]
        if (!id) { ph.errors.push(`${it.name}: no snapshot`); continue }
        await restoreInto(ph, it.name, target, 'restic', ['restore', id, '--target', target], { env })
        if (i === 0) ph.restored = [join(target, it.name), join(target, it.path)].find((p) => existsSync(p)) ?? join(target, it.name)
      }
      return ph
    }
  },
  casync: {
    package: 'casync',
    version: () => sh('casync', ['--version']),
    async ingest (c) {
      const ph = newPhase()
      // The indexes live in the repository directory beside the chunk store:
      // they are needed to restore, so they count as stored bytes.
      mkdirSync(c.store, { recursive: true })
      for (const it of c.corpus.items) {
        const r = await run('casync', ['make', `--store=${join(c.store, 'default.castr')}`, join(c.store, `${it.name}.caidx`), it.path])
        account(ph, it.name, r)
      }
      return ph
    },
    async restore (c) {
      const ph = newPhase()
      for (const [i, it] of c.corpus.items.entries()) {
        const target = join(c.restoreDir, it.name)
        await restoreInto(ph, it.name, target, 'casync', ['extract', `--store=${join(c.store, 'default.castr')}`, join(c.store, `${it.name}.caidx`), target])
        if (i === 0) ph.restored = target
      }
      return ph
    }
  },
  borg: {
    package: 'borgbackup',
    version: () => sh('borg', ['--version']),
    env: (c) => ({ BORG_UNKNOWN_UNENCRYPTED_REPO_ACCESS_IS_OK: 'yes', BORG_RELOCATED_REPO_ACCESS_IS_OK: 'yes', BORG_BASE_DIR: join(c.tmp, 'borg-base'), BORG_PASSPHRASE: '' }),
    async ingest (c) {
      const ph = newPhase()
      const env = this.env(c)
      must(await run('borg', ['init', '-e', 'none', c.store], { env }), 'borg init')
      for (const it of c.corpus.items) {
        // cwd = the source, path "." : the archive holds the tree at its top.
        const r = await run('borg', ['create', '--chunker-params', BORG_CHUNKER, '--compression', 'zstd,3', `${c.store}::${it.name}`, '.'], { env, cwd: it.path })
        account(ph, it.name, r)
      }
      return ph
    },
    async restore (c) {
      const ph = newPhase()
      const env = this.env(c)
      for (const [i, it] of c.corpus.items.entries()) {
        const target = join(c.restoreDir, it.name)
        mkdirSync(target, { recursive: true })
        await restoreInto(ph, it.name, target, 'borg', ['extract', `${c.store}::${it.name}`], { env, cwd: target })
        if (i === 0) ph.restored = target
      }
      return ph
    }
  }
}

// The other build, measured as tessera is (without the extras below).
tools['tessera-baseline'] = { ...tools.tessera, version: () => describeCheckout(checkoutOf(BASELINE)) }

/** The checkout a `bin/tessera` belongs to. */
function checkoutOf (bin) { return dirname(dirname(bin)) }

/** What a checkout is: `git describe` there, else its directory's name (name an extracted `git archive` after its commit). */
function describeCheckout (dir) {
  const d = sh('git', ['-C', dir, 'describe', '--always', '--dirty', '--abbrev=12'])
  return d ? `git ${d}` : basename(dir)
}

// ---------------------------------------------------------------- tessera extras
async function rangeRead (store, item) {
  const big = largestFile(item.path)
  if (!big) return { error: 'no regular file' }
  const offset = Math.floor(big.size / 2)
  const expected = readRange(join(item.path, big.path), offset, 4096)
  const out = { snapshot: item.name, path: big.path, fileBytes: big.size, offset, length: 4096 }
  // Baseline: what starting the CLI costs (no store opened).
  const base = []
  for (let i = 0; i < 5; i++) { const r = await run(TESSERA, ['--help'], { measure: false }); if (!r.error) base.push(r.seconds) }
  out.startupMedianSeconds = base.length ? round(median(base), 4) : null
  for (const mode of IS_ROOT ? ['cold', 'warm'] : ['warm']) {
    const secs = []; const rss = []
    let bytes = null; let matches = true; let error = null
    for (let i = 0; i < 5; i++) {
      if (mode === 'cold') dropCaches()
      const r = await run(TESSERA, ['--store', store, 'cat', item.name, big.path, '--offset', String(offset), '--length', '4096'], { maxStdout: 1 << 16 })
      if (r.error) { error = r.error; break }
      secs.push(r.seconds); if (r.rssKiB !== null) rss.push(r.rssKiB)
      bytes = r.bytes
      if (!r.stdoutBuffer.equals(expected)) matches = false
    }
    out[mode] = { runs: secs.map((s) => round(s, 4)), medianSeconds: secs.length ? round(median(secs), 4) : null, bytesReturned: bytes, matchesSource: error ? null : matches, peakRssKiB: rss.length ? Math.max(...rss) : null, ...(error ? { error } : {}) }
  }
  return out
}

async function ociImport (c) {
  const { corpus } = c
  const res = { store: null, ingest: null, rootsMatch: [], errors: [] }
  // Timed: the four images, one after another, into one fresh store.
  const store = join(c.tmp, 'oci-store')
  dropCaches()
  const ph = newPhase()
  for (const tag of corpus.oci.tags) {
    const r = await run(TESSERA, ['--store', store, 'import', `oci:${corpus.oci.layout}:${tag}`, '--name', `oci-${tag}`, '--json'])
    let json = null
    try { json = JSON.parse(r.stdout) } catch {}
    account(ph, `oci-${tag}`, r, { tessera: json })
  }
  res.ingest = ph
  res.stored = duBytes(store)
  const stats = await run(TESSERA, ['--store', store, 'stats', '--json'], { measure: false })
  try { res.stats = JSON.parse(stats.stdout) } catch {}
  // Untimed: root digests with --mtime zero (umoci layers round mtimes to
  // seconds), directory and image imports into one throwaway store.
  const cmp = join(c.tmp, 'compare-store')
  for (const tag of corpus.oci.tags) {
    const item = corpus.items.find((i) => i.name === tag)
    const d = await run(TESSERA, ['--store', cmp, 'import', `dir:${item.path}`, '--name', `dir-${tag}`, '--mtime', 'zero', '--json'], { measure: false })
    const o = await run(TESSERA, ['--store', cmp, 'import', `oci:${corpus.oci.layout}:${tag}`, '--name', `oci-${tag}`, '--mtime', 'zero', '--json'], { measure: false })
    let dr = null; let or = null
    try { dr = JSON.parse(d.stdout).root } catch {}
    try { or = JSON.parse(o.stdout).root } catch {}
    const entry = { tag, dirRoot: dr, ociRoot: or, equal: dr !== null && dr === or }
    if (d.error) entry.error = `dir import: ${d.error}`
    if (o.error) entry.error = `oci import: ${o.error}`
    if (dr !== null && or !== null && dr !== or) {
      const diff = await run(TESSERA, ['--store', cmp, 'diff', `dir-${tag}`, `oci-${tag}`], { measure: false, maxStdout: 1 << 16 })
      const lines = diff.stdout.trim().split('\n').filter(Boolean)
      entry.differences = lines.length
      entry.diff = lines.slice(0, 8)
    }
    res.rootsMatch.push(entry)
  }
  rmSync(cmp, { recursive: true, force: true })
  return res
}

/**
 * Read every regular file of the corpus once (untimed), so that the next
 * ingest finds it in the page cache; returns the bytes read.
 */
function readCorpus (corpus) {
  const buf = Buffer.alloc(1 << 20)
  let bytes = 0
  const read = (p) => {
    let fd
    try { fd = openSync(p, 'r') } catch { return }
    try { for (let k; (k = readSync(fd, buf, 0, buf.length, null)) > 0;) bytes += k } catch {} finally { closeSync(fd) }
  }
  for (const it of corpus.items) eachFile(it.path, read)
  return bytes
}

// ---------------------------------------------------------------- one corpus
async function benchCorpus (corpusName, toolList) {
  const corpus = loadCorpus(corpusName)
  let sourceBytes = 0; let sourceDiskKiB = 0
  for (const it of corpus.items) { const du = duBytes(it.path); sourceBytes += du.bytes ?? 0; sourceDiskKiB += du.diskKiB ?? 0 }
  const result = { corpus: corpusName, items: corpus.items.map((i) => i.name), sourceBytes, sourceDiskKiB, tools: {} }
  for (const tool of toolList) {
    const t0 = Date.now()
    const entry = result.tools[tool] = { errors: [], notes: [] }
    try {
      if (tool === 'oci') {
        if (corpusName === 'debian-4') {
          const du = duBytes(corpus.oci.layout)
          entry.storedBytes = du.bytes; entry.diskKiB = du.diskKiB
          entry.notes.push('umoci OCI layout, tar.gz layers (du -sb of the layout)')
        } else {
          const tgz = readdirSync(corpus.tgz).filter((n) => n.endsWith('.tgz'))
          entry.storedBytes = tgz.reduce((s, n) => s + statSync(join(corpus.tgz, n)).size, 0)
          entry.diskKiB = duBytes(corpus.tgz).diskKiB
          entry.notes.push(`sum of the ${tgz.length} npm .tgz files`)
        }
        continue
      }
      const spec = tools[tool]
      if (!available(tool)) { entry.skipped = `${tool} not installed`; entry.notes.push(entry.skipped); continue }
      const dir = join(WORK, corpusName, tool)
      rmSync(dir, { recursive: true, force: true })
      mkdirSync(join(dir, 'tmp'), { recursive: true })
      const bin = tool === 'tessera-baseline' ? BASELINE : TESSERA
      const c = { corpus, bin, store: join(dir, 'repo'), tmp: join(dir, 'tmp'), restoreDir: join(dir, 'restore') }
      // Cold: sync, drop the page cache, ingest into a fresh repository:
      // every byte of the corpus is read from disk.
      log(`${corpusName}: ${tool} ingest, cold page cache (${corpus.items.length} directories)`)
      entry.cacheDropped = dropCaches()
      const ing = await spec.ingest(c)
      ing.cache = entry.cacheDropped ? 'cold' : 'not dropped (not root)'
      entry.ingest = ing
      entry.errors.push(...ing.errors)
      const du = duBytes(c.store)
      entry.storedBytes = du.bytes; entry.diskKiB = du.diskKiB
      if (tool.startsWith('tessera')) {
        const s = await run(bin, ['--store', c.store, 'stats', '--json'], { measure: false })
        try { entry.stats = JSON.parse(s.stdout) } catch { entry.errors.push(`stats: ${s.error ?? 'bad json'}`) }
      }
      log(`${corpusName}: ${tool} stored ${mib(entry.storedBytes)} MiB in ${ing.seconds.toFixed(1)} s (CPU ${fmt(ing.cpuSeconds, 1)} s), peak ${mib(ing.peakRssKiB * 1024)} MiB`)
      if (OPTIONS.warm && ing.errors.length === 0) {
        // Warm: every file of the corpus was just read (as a rootfs just
        // built is in the page cache), the previous writes are on disk;
        // ingest into another fresh repository, removed after.
        const w = { ...c, store: join(dir, 'repo-warm'), tmp: join(dir, 'tmp-warm') }
        mkdirSync(w.tmp, { recursive: true })
        const warmed = readCorpus(corpus)
        spawnSync('sync', [], { timeout: 300000 })
        log(`${corpusName}: ${tool} ingest, warm page cache (${mib(warmed)} MiB read just before)`)
        const warm = await spec.ingest(w)
        warm.cache = 'warm'
        warm.readBeforeBytes = warmed
        entry.ingestWarm = warm
        entry.errors.push(...warm.errors.map((e) => `warm ingest ${e}`))
        log(`${corpusName}: ${tool} warm ingest ${warm.seconds.toFixed(1)} s (CPU ${fmt(warm.cpuSeconds, 1)} s)`)
        rmSync(w.store, { recursive: true, force: true })
        rmSync(w.tmp, { recursive: true, force: true })
      }
      if (tool === 'tessera' && ing.errors.length === 0) {
        entry.rangeRead = await rangeRead(c.store, corpus.items[0])
        log(`${corpusName}: tessera range read median ${entry.rangeRead.cold?.medianSeconds ?? entry.rangeRead.warm?.medianSeconds} s`)
      }
      // Restore from a cold page cache, each snapshot followed by a sync of
      // what it wrote.
      mkdirSync(c.restoreDir, { recursive: true })
      const restoreCold = dropCaches()
      const rest = await spec.restore(c, ing)
      rest.cache = restoreCold ? 'cold' : 'not dropped (not root)'
      entry.restore = rest
      entry.errors.push(...rest.errors.map((e) => `restore ${e}`))
      entry.verify = { snapshot: corpus.items[0].name, ...(await verifyTree(rest.restored, corpus.items[0].path)) }
      log(`${corpusName}: ${tool} restore + sync ${rest.seconds.toFixed(1)} s (CPU ${fmt(rest.cpuSeconds, 1)} s), verify ${entry.verify.ok ? 'ok' : 'FAILED: ' + entry.verify.detail}`)
      rmSync(c.restoreDir, { recursive: true, force: true })
      if (tool === 'tessera' && corpusName === 'debian-4') {
        log('debian-4: tessera OCI import')
        entry.ociImport = await ociImport(c)
        log(`debian-4: OCI import ${mib(entry.ociImport.stored.bytes)} MiB in ${entry.ociImport.ingest.seconds.toFixed(1)} s, roots equal: ${entry.ociImport.rootsMatch.map((m) => m.equal).join(',')}`)
        log('debian-4: push the four images to tessera serve with skopeo')
        entry.registryPush = []
        const pushes = [[corpus.oci.layout], [corpus.oci.layout, '--decompress']]
        if (existsSync(corpus.oci.flatLayout)) pushes.push([corpus.oci.flatLayout, '--label', 'of four independently built one-layer images (`debian-4/oci-flat`)'])
        for (const extra of pushes) {
          const r = await run(process.execPath, [join(BENCH, 'registry.mjs'), ...extra], { measure: false, env: { TESSERA_BIN: TESSERA } })
          let g
          try { g = JSON.parse(r.stdout) } catch { g = { error: (r.error ?? r.stderr ?? 'no output').toString().slice(0, 300) } }
          entry.registryPush.push(g)
          if (g.ratio !== undefined) log(`debian-4: registry (${g.layers}) stores ${mib(g.storeBytes)} MiB for ${mib(g.pushedBytes)} MiB pushed`)
        }
      }
      if (!OPTIONS.keep) rmSync(dir, { recursive: true, force: true })
    } catch (e) {
      entry.errors.push(e instanceof Failure ? e.message : String(e && e.stack || e))
      log(`${corpusName}: ${tool} failed: ${entry.errors[entry.errors.length - 1]}`)
    } finally {
      entry.wallSeconds = round((Date.now() - t0) / 1000, 1)
    }
  }
  return result
}

/** Copy bin/ and dist/ into the work dir; node_modules and package.json are linked. */
function freezeTessera () {
  const newest = (dir) => {
    let t = 0
    const walk = (d) => { for (const n of readdirSync(d)) { const p = join(d, n); const st = lstatSync(p); if (st.isDirectory()) walk(p); else t = Math.max(t, st.mtimeMs) } }
    try { walk(dir) } catch {}
    return t
  }
  const frozen = join(WORK, 'tessera-cli')
  mkdirSync(frozen, { recursive: true })
  const cp = spawnSync('cp', ['-a', join(ROOT, 'bin'), join(ROOT, 'dist'), join(ROOT, 'package.json'), frozen], { timeout: 60000 })
  if (cp.status !== 0) throw new Error(`cannot copy the tessera build: ${cp.stderr}`)
  symlinkSync(join(ROOT, 'node_modules'), join(frozen, 'node_modules'))
  TESSERA = join(frozen, 'bin', 'tessera')
  const distTime = newest(join(ROOT, 'dist', 'src'))
  const srcTime = newest(join(ROOT, 'src'))
  const info = { distNewest: new Date(distTime).toISOString(), srcNewest: new Date(srcTime).toISOString(), distOlderThanSrc: srcTime > distTime }
  if (info.distOlderThanSrc) log(`warning: src/ changed after dist/ was built (${info.srcNewest} > ${info.distNewest}): run npx tsc -p . to measure the current source`)
  return info
}

const availability = {}
function available (tool) {
  if (tool in availability) return availability[tool]
  const cmd = tool.startsWith('tessera') ? null : tool
  let ok = cmd === null ? existsSync(tool === 'tessera' ? TESSERA : BASELINE) : which(cmd) !== null
  if (!ok && cmd !== null && IS_ROOT) {
    log(`installing ${tools[tool].package} with apt-get`)
    spawnSync('apt-get', ['install', '-y', '-qq', tools[tool].package], { stdio: 'ignore', timeout: 300000 })
    ok = which(cmd) !== null
  }
  availability[tool] = ok
  return ok
}

// ---------------------------------------------------------------- report
const round = (x, d = 2) => x === null || x === undefined || !Number.isFinite(x) ? null : Math.round(x * 10 ** d) / 10 ** d
const mib = (bytes) => bytes === null || bytes === undefined ? null : round(bytes / 1048576, 1)
const fmt = (x, d = 1) => x === null || x === undefined || !Number.isFinite(x) ? '–' : x.toFixed(d)
const TOOL_LABEL = {
  oci: 'OCI layout (tar.gz, umoci)',
  tessera: 'tessera',
  'tessera-baseline': 'tessera baseline',
  restic: 'restic (--compression auto)',
  casync: 'casync (64 KiB avg)',
  borg: `borg (${BORG_CHUNKER}, zstd,3)`
}
const SHORT_LABEL = { oci: 'OCI tar.gz (umoci)', tessera: 'tessera', 'tessera-baseline': 'tessera baseline', restic: 'restic', casync: 'casync 64K', borg: 'borg 64K zstd,3' }
const label = (tool, report) => tool === 'tessera-baseline' ? `tessera baseline (${report.versions.tesseraBaseline})` : tool === 'tessera' && report.versions.tesseraBaseline ? `tessera (${report.versions.tessera})` : TOOL_LABEL[tool]

/** A phase's wall and CPU seconds, when it ran without errors. */
const timed = (phase) => phase && phase.errors.length === 0 ? { wall: phase.seconds, cpu: phase.cpuIncomplete ? null : phase.cpuSeconds } : null
const ratio = (a, b) => a === null || a === undefined || !b ? null : round(a / b, 2)

/** Every figure of one tool in one corpus, with its ratios to the reference peers (ingest: borg; restore: restic). */
function rows (r) {
  const ok = (tool) => r.tools[tool] && r.tools[tool].errors.length === 0 ? r.tools[tool] : null
  const borg = ok('borg')
  const restic = ok('restic')
  const ref = { cold: timed(borg?.ingest), warm: timed(borg?.ingestWarm), restore: timed(restic?.restore) }
  return Object.entries(r.tools).map(([tool, e]) => {
    const cold = timed(e.ingest)
    const warm = timed(e.ingestWarm)
    const rest = timed(e.restore)
    const notes = [...e.notes]
    if (e.verify) notes.push(e.verify.ok ? `restore of ${e.verify.snapshot} ${e.verify.detail}` : `restore of ${e.verify.snapshot} DIFFERS: ${e.verify.detail}`)
    if (tool.startsWith('tessera') && e.stats) notes.push(`dedup ${fmt(e.stats.dedupRatio, 2)}x, metadata ${fmt(e.stats.metadataBytes / 1048576, 2)} MiB`)
    if (tool.startsWith('tessera') && IS_ROOT) notes.push('export with --devices')
    if (e.ingest?.cache && e.ingest.cache !== 'cold') notes.push(`page cache ${e.ingest.cache}`)
    if (e.errors.length > 0) notes.push(`ERRORS: ${e.errors.join('; ')}`)
    if (e.skipped) notes.push('skipped')
    return {
      tool,
      storedMiB: mib(e.storedBytes),
      ingestSeconds: round(cold?.wall, 2),
      ingestCpuSeconds: round(cold?.cpu, 2),
      ingestWarmSeconds: round(warm?.wall, 2),
      ingestWarmCpuSeconds: round(warm?.cpu, 2),
      ingestRatioToBorg: ratio(cold?.wall, ref.cold?.wall),
      ingestWarmRatioToBorg: ratio(warm?.wall, ref.warm?.wall),
      ingestCpuRatioToBorg: ratio(cold?.cpu, ref.cold?.cpu),
      ingestWarmCpuRatioToBorg: ratio(warm?.cpu, ref.warm?.cpu),
      peakRssMiB: e.ingest ? mib(e.ingest.peakRssKiB * 1024) : null,
      restorePeakRssMiB: e.restore ? mib(e.restore.peakRssKiB * 1024) : null,
      restoreSeconds: round(rest?.wall, 2),
      restoreCpuSeconds: round(rest?.cpu, 2),
      restoreSyncSeconds: e.restore ? round(e.restore.items.reduce((n, i) => n + (i.syncSeconds ?? 0), 0), 2) : null,
      restoreRatioToRestic: ratio(rest?.wall, ref.restore?.wall),
      restoreCpuRatioToRestic: ratio(rest?.cpu, ref.restore?.cpu),
      notes: notes.join('; ')
    }
  })
}

/** "10.6 s, CPU 21.0 s" */
const wallCpu = (wall, cpu) => wall === null ? '–' : `${fmt(wall, 1)} s, CPU ${fmt(cpu, 1)} s`
/** " (0.89x / 1.9x borg)": wall and CPU ratios to the reference peer. */
const ratios = (wall, cpu, peer) => wall === null ? '' : ` (${fmt(wall, 2)}x / ${fmt(cpu, 2)}x ${peer})`

/** The table for the README: one row per corpus and tool, wall and CPU seconds side by side, with their ratios to the peer. */
function readmeTable (report) {
  const out = []
  out.push('| corpus | tool | stored MiB | ingest, cold page cache | ingest, warm page cache | restore + sync |')
  out.push('|---|---|---:|---:|---:|---:|')
  for (const r of report.corpora) {
    if (r.error) continue
    for (const x of rows(r)) {
      if (x.tool === 'oci') { out.push(`| ${r.corpus} | ${SHORT_LABEL.oci} | ${fmt(x.storedMiB, 1)} | – | – | – |`); continue }
      out.push(`| ${r.corpus} | ${x.tool === 'tessera-baseline' ? label(x.tool, report) : SHORT_LABEL[x.tool]} | ${fmt(x.storedMiB, 1)} | ` +
        `${wallCpu(x.ingestSeconds, x.ingestCpuSeconds)}${x.tool === 'borg' ? '' : ratios(x.ingestRatioToBorg, x.ingestCpuRatioToBorg, 'borg')} | ` +
        `${wallCpu(x.ingestWarmSeconds, x.ingestWarmCpuSeconds)}${x.tool === 'borg' ? '' : ratios(x.ingestWarmRatioToBorg, x.ingestWarmCpuRatioToBorg, 'borg')} | ` +
        `${wallCpu(x.restoreSeconds, x.restoreCpuSeconds)}${x.tool === 'restic' ? '' : ratios(x.restoreRatioToRestic, x.restoreCpuRatioToRestic, 'restic')} |`)
    }
  }
  return out
}

const MEASURES = [
  ['stored bytes', (x) => x.storedMiB, 'MiB'],
  ['cold ingest wall time', (x) => x.ingestSeconds, 's'],
  ['cold ingest CPU time', (x) => x.ingestCpuSeconds, 's'],
  ['warm ingest wall time', (x) => x.ingestWarmSeconds, 's'],
  ['warm ingest CPU time', (x) => x.ingestWarmCpuSeconds, 's'],
  ['restore + sync wall time', (x) => x.restoreSeconds, 's'],
  ['restore CPU time', (x) => x.restoreCpuSeconds, 's'],
  ['ingest peak RSS', (x) => x.peakRssMiB, 'MiB'],
  ['restore peak RSS', (x) => x.restorePeakRssMiB, 'MiB']
]

/** Every measure on which a peer of the same run beats tessera, plainly. */
function behind (r) {
  const rs = rows(r)
  const t = rs.find((x) => x.tool === 'tessera')
  if (!t) return []
  const out = []
  for (const [what, get, unit] of MEASURES) {
    const mine = get(t)
    if (mine === null || mine === undefined) continue
    const better = rs.filter((x) => !x.tool.startsWith('tessera') && get(x) !== null && get(x) !== undefined && get(x) > 0 && mine / get(x) >= 1.01)
      .map((x) => `${fmt(mine / get(x), 2)}x ${SHORT_LABEL[x.tool]}'s (${fmt(mine, 1)} vs ${fmt(get(x), 1)} ${unit})`)
    if (better.length > 0) out.push(`- ${what}: ${better.join(', ')}`)
  }
  return out
}

/** tessera against the baseline build, measure by measure, and each one's ratio to the reference peer. */
function beforeAfter (r, report) {
  const rs = rows(r)
  const t = rs.find((x) => x.tool === 'tessera')
  const b = rs.find((x) => x.tool === 'tessera-baseline')
  if (!t || !b) return []
  const out = ['', `**Before / after**: tessera (${report.versions.tessera}) against the baseline build (${report.versions.tesseraBaseline}), same run.`, '']
  out.push('| measure | baseline | tessera | tessera / baseline | baseline to peer | tessera to peer |', '|---|---:|---:|---:|---:|---:|')
  const peer = {
    'cold ingest wall time': ['ingestRatioToBorg', 'borg'], 'cold ingest CPU time': ['ingestCpuRatioToBorg', 'borg'],
    'warm ingest wall time': ['ingestWarmRatioToBorg', 'borg'], 'warm ingest CPU time': ['ingestWarmCpuRatioToBorg', 'borg'],
    'restore + sync wall time': ['restoreRatioToRestic', 'restic'], 'restore CPU time': ['restoreCpuRatioToRestic', 'restic']
  }
  for (const [what, get, unit] of MEASURES) {
    const [key, name] = peer[what] ?? [null, null]
    const toPeer = (x) => key === null || x[key] === null ? '–' : `${fmt(x[key], 2)}x ${name}`
    out.push(`| ${what} | ${fmt(get(b), 1)} ${unit} | ${fmt(get(t), 1)} ${unit} | ${fmt(ratio(get(t), get(b)), 2)} | ${toPeer(b)} | ${toPeer(t)} |`)
  }
  return out
}

function markdown (report) {
  const out = []
  out.push('# tessera benchmark: latest run', '')
  out.push(`${report.date} · ${report.machine.cpu} · ${report.machine.nproc} cores · ${fmt(report.machine.memTotalBytes / 2 ** 30, 1)} GiB RAM · node ${report.versions.node} · tessera ${report.versions.tessera}${report.versions.tesseraBaseline ? ` · baseline ${report.versions.tesseraBaseline}` : ''}`)
  out.push(`restic ${report.versions.restic ?? '–'} · ${report.versions.borg ?? 'borg –'} · casync ${report.versions.casync ?? '–'} · ${report.versions.umoci ?? 'umoci –'}`)
  out.push('', `Each tool ingests every directory of the corpus, one after another, twice, each time into a fresh repository: **cold** (\`sync\` and \`echo 3 > /proc/sys/vm/drop_caches\` first: ${report.cacheDropped ? 'done' : 'NOT done, not root'}) and **warm** (${report.options.warm ? 'every file of the corpus read just before, as a rootfs just built is cached' : 'skipped: --no-warm'}). **Restore** starts from a cold page cache and includes a \`sync -f\` of each restored directory. Times are the sums over the per-directory commands: wall seconds and CPU seconds (user + system of the command and its threads and children, \`/usr/bin/time -f "%M %U %S"\`); peak RSS is the max over those commands. Stored = \`du -sb\` of the repository after the cold ingest. Ratios are to a peer in this same run, ingest to borg and restore to restic, wall / CPU (lower is better). Whole run: ${fmt(report.totalSeconds, 0)} s.`, '')
  for (const r of report.corpora) {
    if (r.error) { out.push(`## ${r.corpus}`, '', `failed: ${r.error}`, ''); continue }
    out.push(`## ${r.corpus}`, '', `${r.items.length} directories (${r.items.join(', ')}), ${fmt(r.sourceBytes / 1048576, 1)} MiB (\`du -sb\`).`, '')
    out.push('| tool | stored MiB | ingest cold s (CPU s) | ingest warm s (CPU s) | ingest to borg, cold / warm (CPU) | restore + sync s (CPU s) | restore to restic (CPU) | peak RSS MiB (ingest / restore) | notes |')
    out.push('|---|---:|---:|---:|---:|---:|---:|---:|---|')
    const pair = (w, c) => w === null ? '–' : `${fmt(w, 1)} (${fmt(c, 1)})`
    for (const x of rows(r)) {
      const rss = x.peakRssMiB === null ? '–' : `${fmt(x.peakRssMiB, 0)} / ${fmt(x.restorePeakRssMiB, 0)}`
      const toBorg = x.ingestRatioToBorg === null && x.ingestWarmRatioToBorg === null ? '–' : `${fmt(x.ingestRatioToBorg, 2)} / ${fmt(x.ingestWarmRatioToBorg, 2)} (${fmt(x.ingestCpuRatioToBorg, 2)} / ${fmt(x.ingestWarmCpuRatioToBorg, 2)})`
      const toRestic = x.restoreRatioToRestic === null ? '–' : `${fmt(x.restoreRatioToRestic, 2)} (${fmt(x.restoreCpuRatioToRestic, 2)})`
      out.push(`| ${label(x.tool, report)} | ${fmt(x.storedMiB, 1)} | ${pair(x.ingestSeconds, x.ingestCpuSeconds)} | ${pair(x.ingestWarmSeconds, x.ingestWarmCpuSeconds)} | ${toBorg} | ${pair(x.restoreSeconds, x.restoreCpuSeconds)} | ${toRestic} | ${rss} | ${x.notes.replace(/\|/g, '\\|')} |`)
    }
    const lag = behind(r)
    out.push('', lag.length > 0 ? `**Where tessera is behind** (a peer of this run is at least 1% better):` : '**Where tessera is behind**: nowhere in this run.', ...(lag.length > 0 ? ['', ...lag] : []))
    out.push(...beforeAfter(r, report))
    const t = r.tools.tessera
    if (t?.rangeRead && !t.rangeRead.error) {
      const rr = t.rangeRead
      const part = (m) => rr[m] ? `${m} page cache: median ${fmt(rr[m].medianSeconds * 1000, 0)} ms of 5 (${rr[m].runs.map((s) => fmt(s * 1000, 0)).join(', ')} ms), ${rr[m].bytesReturned} bytes returned${rr[m].matchesSource ? ', equal to the source' : rr[m].matchesSource === false ? ', NOT equal to the source' : ''}, peak RSS ${fmt(rr[m].peakRssKiB / 1024, 0)} MiB${rr[m].error ? `, error: ${rr[m].error}` : ''}` : null
      out.push('', `**tessera range read** (a new \`tessera cat\` process per read): 4096 bytes at offset ${rr.offset} of \`${rr.path}\` (${fmt(rr.fileBytes / 1048576, 1)} MiB, the largest file of ${rr.snapshot}).`, '')
      for (const m of ['cold', 'warm']) { const p = part(m); if (p) out.push(`- ${p}`) }
      if (rr.startupMedianSeconds !== null) out.push(`- for scale: starting the CLI alone (\`tessera --help\`, no store opened) takes a median ${fmt(rr.startupMedianSeconds * 1000, 0)} ms`)
    }
    if (t?.ociImport) {
      const o = t.ociImport
      out.push('', `**tessera import from the OCI layout** (\`import oci:…/debian-4/oci:TAG\`, the four tags into one fresh store): ${fmt(mib(o.stored?.bytes), 1)} MiB stored (OCI layout itself: ${fmt(mib(r.tools.oci?.storedBytes), 1)} MiB), ${fmt(o.ingest.seconds, 1)} s, peak RSS ${fmt(o.ingest.peakRssKiB / 1024, 0)} MiB${o.ingest.errors.length ? `, errors: ${o.ingest.errors.join('; ')}` : ''}.`, '')
      out.push('| image | root digest, directory import (--mtime zero) | root digest, OCI import (--mtime zero) | equal |', '|---|---|---|---|')
      for (const m of o.rootsMatch) out.push(`| ${m.tag} | \`${(m.dirRoot ?? '–').slice(0, 23)}…\` | \`${(m.ociRoot ?? '–').slice(0, 23)}…\` | ${m.equal ? 'yes' : `**no**${m.differences ? ` (${m.differences} paths differ, e.g. ${m.diff.slice(0, 3).join('; ')})` : ''}${m.error ? ` (${m.error})` : ''}`} |`)
    }
    for (const g of t?.registryPush ?? []) {
      out.push('', g.error !== undefined
        ? `**tessera serve** (push of the four images with \`skopeo copy\`): failed: ${g.error}`
        : `**tessera serve**, layers ${g.layers} (the four images pushed with \`skopeo copy oci:… docker://…\` into one fresh store, \`bench/registry.mjs\`): ${g.distinctBlobs} distinct blobs (${g.distinctLayers} layers) of ${fmt(mib(g.pushedBytes), 1)} MiB pushed, ${fmt(mib(g.storeBytes), 1)} MiB stored (\`du -sb\`), ratio ${fmt(g.ratio, 2)}; layer blobs rebuilt from chunks: ${g.reproducedBlobs}, kept whole: ${g.wholeLayers} layers (${g.wholeBlobs} blobs in all); ${fmt(g.seconds, 1)} s.`)
    }
    out.push('')
  }
  out.push('## For the README', '', 'Wall time, then CPU time (user + system); in brackets the ratios to borg (ingest) or restic (restore), wall / CPU.', '', ...readmeTable(report), '')
  return out.join('\n')
}

function esc (s) { return String(s).replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;') }

function chart (report) {
  const COLORS = { oci: '#9e9e9e', tessera: '#d1495b', 'tessera-baseline': '#e8a0a8', restic: '#2e86ab', casync: '#edae49', borg: '#66a182' }
  const W = 960; const labelW = 150; const panelW = (W - labelW - 40) / 2 - 20; const barH = 20; const gap = 6
  const parts = []; let y = 50
  const title = `tessera vs peers: stored MiB and ingest seconds (${report.date.slice(0, 10)}, ${report.machine.nproc} cores)`
  for (const r of report.corpora) {
    if (r.error) continue
    const rs = rows(r)
    parts.push(`<text x="20" y="${y}" class="h">${esc(r.corpus)} — ${esc(r.items.length)} directories, ${fmt(r.sourceBytes / 1048576, 0)} MiB of input</text>`)
    y += 24
    const panels = [['stored MiB (lower is better)', 'storedMiB', 1], ['ingest seconds (lower is better)', 'ingestSeconds', 1]]
    panels.forEach(([name], i) => {
      parts.push(`<text x="${labelW + 20 + i * (panelW + 40)}" y="${y}" class="p">${esc(name)}</text>`)
    })
    y += 10
    const maxes = panels.map(([, key]) => Math.max(1e-9, ...rs.map((x) => x[key] ?? 0)))
    for (const x of rs) {
      parts.push(`<text x="${labelW + 10}" y="${y + barH * 0.72}" class="l" text-anchor="end">${esc(SHORT_LABEL[x.tool])}</text>`)
      panels.forEach(([, key, d], i) => {
        const x0 = labelW + 20 + i * (panelW + 40)
        const v = x[key]
        if (v === null || v === undefined) {
          parts.push(`<text x="${x0 + 4}" y="${y + barH * 0.72}" class="v">${x.tool === 'oci' ? 'n/a (built by umoci)' : '–'}</text>`)
          return
        }
        const w = Math.max(1, (v / maxes[i]) * (panelW - 60))
        parts.push(`<rect x="${x0}" y="${y}" width="${w.toFixed(1)}" height="${barH}" fill="${COLORS[x.tool]}"/>`)
        parts.push(`<text x="${(x0 + w + 4).toFixed(1)}" y="${y + barH * 0.72}" class="v">${fmt(v, d)}</text>`)
      })
      y += barH + gap
    }
    y += 30
  }
  const H = y + 10
  return `<svg xmlns="http://www.w3.org/2000/svg" width="${W}" height="${H}" viewBox="0 0 ${W} ${H}" font-family="DejaVu Sans, Arial, sans-serif">
<style>.t{font-size:17px;font-weight:bold}.h{font-size:15px;font-weight:bold}.p{font-size:13px;fill:#333}.l{font-size:13px}.v{font-size:12px;fill:#222}</style>
<rect width="100%" height="100%" fill="#fff"/>
<text x="20" y="28" class="t">${esc(title)}</text>
${parts.join('\n')}
</svg>
`
}

// ---------------------------------------------------------------- main
const OPTIONS = parseOptions(process.argv.slice(2))
TIMEOUT_MS = OPTIONS.timeoutMs

async function main () {
  const started = Date.now()
  WORK = join(BENCH, 'work', `run-${process.pid}`)
  rmSync(WORK, { recursive: true, force: true })
  mkdirSync(WORK, { recursive: true })
  mkdirSync(RESULTS, { recursive: true })
  if (!existsSync(TIME)) { process.stderr.write('bench: /usr/bin/time is required (apt-get install time)\n'); process.exit(1) }
  if (OPTIONS.tesseraBin === null && !existsSync(join(ROOT, 'dist', 'src', 'cli', 'main.js'))) { process.stderr.write('bench: tessera is not built: run npx tsc -p . first\n'); process.exit(1) }
  // Another checkout's build (--tessera-bin, --baseline) is run where it is: nobody rebuilds it meanwhile.
  const build = OPTIONS.tesseraBin === null ? freezeTessera() : (TESSERA = OPTIONS.tesseraBin, { bin: TESSERA })
  BASELINE = OPTIONS.baseline
  const cpu = (readFileSync('/proc/cpuinfo', 'utf8').match(/^model name\s*:\s*(.*)$/m) ?? [])[1] ?? cpus()[0]?.model ?? '?'
  const report = {
    date: new Date().toISOString(),
    machine: { nproc: Number(sh('nproc', [])) || cpus().length, memTotalBytes: totalmem(), cpu, kernel: sh('uname', ['-r']) },
    versions: {
      node: process.version,
      tessera: tools.tessera.version(),
      tesseraCommit: sh('git', ['-C', OPTIONS.tesseraBin === null ? ROOT : checkoutOf(OPTIONS.tesseraBin), 'rev-parse', 'HEAD']),
      tesseraWorkingTreeDirty: (sh('git', ['-C', OPTIONS.tesseraBin === null ? ROOT : checkoutOf(OPTIONS.tesseraBin), 'status', '--porcelain', '--', 'src']) ?? '') !== '',
      tesseraBuild: build,
      ...(BASELINE !== null ? { tesseraBaseline: tools['tessera-baseline'].version(), tesseraBaselineBin: BASELINE, tesseraBaselineCommit: sh('git', ['-C', checkoutOf(BASELINE), 'rev-parse', 'HEAD']) } : {}),
      restic: which('restic') ? sh('restic', ['version']) : null,
      borg: which('borg') ? sh('borg', ['--version']) : null,
      casync: which('casync') ? sh('casync', ['--version']) : null,
      umoci: which('umoci') ? sh('umoci', ['--version']) : null
    },
    options: { corpora: OPTIONS.corpora, tools: OPTIONS.tools, warm: OPTIONS.warm, timeoutSeconds: TIMEOUT_MS / 1000, borgChunker: BORG_CHUNKER, root: IS_ROOT },
    cacheDropped: dropCaches(),
    corpora: []
  }
  for (const name of OPTIONS.corpora) {
    try {
      report.corpora.push(await benchCorpus(name, OPTIONS.tools))
    } catch (e) {
      report.corpora.push({ corpus: name, error: e instanceof Failure ? e.message : String(e && e.stack || e), tools: {} })
      log(`${name}: ${report.corpora[report.corpora.length - 1].error}`)
    }
  }
  report.totalSeconds = round((Date.now() - started) / 1000, 1)
  const md = markdown(report)
  writeFileSync(join(RESULTS, 'latest.json'), JSON.stringify(report, (k, v) => (k === 'stdoutBuffer' ? undefined : v), 2) + '\n')
  writeFileSync(join(RESULTS, 'latest.md'), md + '\n')
  writeFileSync(join(RESULTS, 'chart.svg'), chart(report))
  if (!OPTIONS.keep) rmSync(WORK, { recursive: true, force: true })
  else log(`work directory kept: ${WORK}`)
  process.stdout.write('\n' + md + '\n')
}

main().catch((e) => { process.stderr.write(`bench: ${e && e.stack || e}\n`); process.exit(1) })
