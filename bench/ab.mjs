#!/usr/bin/env node
// Before/after: two tessera builds on the same corpus, interleaved.
//
//   node bench/ab.mjs --baseline PATH/bin/tessera [--tessera bin/tessera]
//        [--corpus debian-4|npm-ts-10] [--rounds 5] [--phases cold,warm,restore] [--json]
//
// bench/run.mjs measures every tool once, one after another, so a build
// that runs first always meets the machine in the same state (and a
// 2-core machine drifts over a run). This one answers a narrower question,
// "did this change make ingest or restore cost more?": each round runs
// both builds, in ABBA order (A B, then B A, ...), each phase into a fresh
// store, and it reports the median and the range of each build's wall and
// CPU seconds, and the median and range of the per-round ratios after /
// before. Phases:
//   cold     sync + drop_caches (root), then import every directory
//   warm     every file read first, then import every directory
//   restore  drop_caches, export every snapshot of the cold store to a
//            directory with --devices, then `sync -f` it
// CPU is user + system of the command and its threads, /usr/bin/time.
import { spawn, spawnSync } from 'node:child_process'
import { existsSync, mkdirSync, readdirSync, rmSync, openSync, readSync, closeSync, lstatSync } from 'node:fs'
import { dirname, join, resolve } from 'node:path'
import { fileURLToPath } from 'node:url'
import { parseArgs } from 'node:util'
import { spread } from './stats.mjs'

const BENCH = dirname(fileURLToPath(import.meta.url))
const { values: opt } = parseArgs({
  options: {
    baseline: { type: 'string' },
    tessera: { type: 'string', default: join(BENCH, '..', 'bin', 'tessera') },
    corpus: { type: 'string', default: 'debian-4' },
    'corpus-dir': { type: 'string', default: process.env.TESSERA_CORPUS ?? join(BENCH, 'corpus') },
    rounds: { type: 'string', default: '5' },
    phases: { type: 'string', default: 'cold,warm,restore' },
    work: { type: 'string', default: '/tmp/tessera-ab' },
    json: { type: 'boolean', default: false }
  }
})
const fail = (msg) => { process.stderr.write(`ab: ${msg}\n`); process.exit(2) }
if (opt.baseline === undefined) fail('--baseline PATH (the tessera binary to compare against) is required')
const BUILDS = { before: resolve(opt.baseline), after: resolve(opt.tessera) }
for (const b of Object.values(BUILDS)) if (!existsSync(b)) fail(`${b} not found`)
if (!existsSync('/usr/bin/time')) fail('needs /usr/bin/time (apt-get install time)')
const ROUNDS = Number(opt.rounds)
if (!Number.isInteger(ROUNDS) || ROUNDS < 1) fail('--rounds must be a positive integer')
const PHASES = opt.phases.split(',')
for (const p of PHASES) if (!['cold', 'warm', 'restore'].includes(p)) fail(`unknown phase ${p}`)
const IS_ROOT = process.getuid?.() === 0
if (!IS_ROOT && (PHASES.includes('cold') || PHASES.includes('restore'))) process.stderr.write('ab: not root: the page cache is not dropped, "cold" phases are warm\n')

function items () {
  const base = join(opt['corpus-dir'], opt.corpus)
  const dirs = opt.corpus === 'debian-4'
    ? ['bookworm', 'trixie', 'bookworm-python3', 'bookworm-nodejs'].map((n) => ({ name: n, path: join(base, 'rootfs', n) }))
    : readdirSync(base).filter((n) => n.startsWith('typescript-') && !n.endsWith('.tmp')).sort().map((n) => ({ name: n, path: join(base, n) }))
  for (const d of dirs) if (!existsSync(d.path)) fail(`${d.path} missing: run bash bench/corpus.sh`)
  return dirs
}
const ITEMS = items()

function dropCaches () {
  if (IS_ROOT) spawnSync('sh', ['-c', 'sync; echo 3 > /proc/sys/vm/drop_caches'], { timeout: 120000 })
}

/** Read every regular file under dir, so that the next import finds it cached. */
function readAll (dir) {
  const buf = Buffer.allocUnsafe(1 << 20)
  const walk = (d) => {
    for (const n of readdirSync(d)) {
      const p = join(d, n)
      const st = lstatSync(p)
      if (st.isDirectory()) walk(p)
      else if (st.isFile()) {
        let fd
        try { fd = openSync(p, 'r') } catch { continue }
        try { while (readSync(fd, buf, 0, buf.length, null) > 0); } finally { closeSync(fd) }
      }
    }
  }
  walk(dir)
}

/** Run one command under /usr/bin/time: wall and CPU seconds; throws on failure. */
function timed (cmd, args) {
  return new Promise((resolve, reject) => {
    const child = spawn('/usr/bin/time', ['-f', 'AB-TIME %e %U %S', cmd, ...args], { stdio: ['ignore', 'ignore', 'pipe'] })
    let err = ''
    child.stderr.on('data', (d) => { err += d })
    child.on('close', (code) => {
      const m = /AB-TIME ([\d.]+) ([\d.]+) ([\d.]+)\s*$/.exec(err)
      if (code !== 0 || m === null) return reject(new Error(`${cmd} ${args.join(' ')}: exit ${code}: ${err.trim().split('\n').slice(-3).join(' | ')}`))
      resolve({ wall: Number(m[1]), cpu: Number(m[2]) + Number(m[3]) })
    })
  })
}

async function sum (commands) {
  const t = { wall: 0, cpu: 0 }
  for (const [cmd, args] of commands) { const r = await timed(cmd, args); t.wall += r.wall; t.cpu += r.cpu }
  return t
}

async function round (build, bin) {
  const dir = join(opt.work, build)
  rmSync(dir, { recursive: true, force: true })
  mkdirSync(dir, { recursive: true })
  const out = {}
  const imports = (store) => ITEMS.map((it) => [bin, ['--store', store, 'import', `dir:${it.path}`, '--name', it.name, '--json']])
  if (PHASES.includes('cold') || PHASES.includes('restore')) {
    dropCaches()
    const t = await sum(imports(join(dir, 'cold')))
    if (PHASES.includes('cold')) out.cold = t
  }
  if (PHASES.includes('warm')) {
    for (const it of ITEMS) readAll(it.path)
    out.warm = await sum(imports(join(dir, 'warm')))
    rmSync(join(dir, 'warm'), { recursive: true, force: true })
  }
  if (PHASES.includes('restore')) {
    dropCaches()
    const t = { wall: 0, cpu: 0 }
    for (const it of ITEMS) {
      const target = join(dir, 'restore', it.name)
      const devices = IS_ROOT ? ['--devices'] : []
      const a = await timed(bin, ['--store', join(dir, 'cold'), 'export', it.name, `dir:${target}`, ...devices])
      const s = await timed('sync', ['-f', target])
      t.wall += a.wall + s.wall; t.cpu += a.cpu + s.cpu
    }
    out.restore = t
  }
  rmSync(dir, { recursive: true, force: true })
  return out
}

const r2 = (x) => Math.round(x * 100) / 100
const rounded = ({ median, min, max }) => ({ median: r2(median), min: r2(min), max: r2(max) })

const runs = { before: [], after: [] }
for (let r = 0; r < ROUNDS; r++) {
  const order = r % 2 === 0 ? ['before', 'after'] : ['after', 'before']
  for (const build of order) {
    process.stderr.write(`ab: round ${r + 1}/${ROUNDS}: ${build}\n`)
    runs[build].push(await round(build, BUILDS[build]))
  }
}

const report = { corpus: opt.corpus, rounds: ROUNDS, builds: BUILDS, phases: {} }
for (const p of PHASES) {
  const row = {}
  for (const m of ['wall', 'cpu']) {
    const b = runs.before.map((x) => x[p][m])
    const a = runs.after.map((x) => x[p][m])
    const ratios = a.map((x, i) => x / b[i])
    row[m] = {
      before: rounded(spread(b)),
      after: rounded(spread(a)),
      ratio: rounded(spread(ratios))
    }
  }
  report.phases[p] = row
}
if (opt.json) {
  process.stdout.write(JSON.stringify(report, null, 2) + '\n')
} else {
  const f = (s) => `${s.median} (${s.min}–${s.max})`
  process.stdout.write(`${opt.corpus}, ${ROUNDS} rounds, ABBA order; seconds: median (range); ratio after/before per round: median (range)\n`)
  process.stdout.write('| phase | before wall | after wall | ratio | before CPU | after CPU | ratio |\n|---|---|---|---|---|---|---|\n')
  for (const [p, row] of Object.entries(report.phases)) {
    process.stdout.write(`| ${p} | ${f(row.wall.before)} | ${f(row.wall.after)} | ${f(row.wall.ratio)} | ${f(row.cpu.before)} | ${f(row.cpu.after)} | ${f(row.cpu.ratio)} |\n`)
  }
}
