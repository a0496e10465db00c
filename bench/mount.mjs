#!/usr/bin/env node
// Mount benchmark (not part of CI; root, Linux, /dev/fuse): `tessera mount`
// against reading an exported directory, on the same store and machine.
//
//   node bench/mount.mjs [--corpus DIR] [--runs N] [--large-mib N] [--json]
//
// --corpus is a rootfs directory (default bench/corpus/debian-4/rootfs/bookworm,
// made by `npm run bench:corpus`); it is only read. Each run measures:
//
// 1. throughput: a large file of pseudo-random bytes (--large-mib, default
//    256) read sequentially with `dd bs=1M`, through a fresh mount (its
//    first read: content comes from the store, verified, the store's files
//    in the page cache) and again (warm: the kernel's page cache, kept
//    across opens), against the exported file read with its pages dropped
//    (cold) and cached (warm);
// 2. `find DIR -type f | xargs cat > /dev/null` over the corpus, on a fresh
//    mount (first pass) and again (warm), against the exported directory
//    with its pages dropped and cached.
//
// Pages are dropped per file (posix_fadvise DONTNEED), not machine-wide.
// Prints one table per run and the median and spread (min–max) of each
// figure; --json prints them as JSON.
import { execFileSync, spawn } from 'node:child_process'
import { createCipheriv } from 'node:crypto'
import { createWriteStream } from 'node:fs'
import { mkdir, mkdtemp, rm } from 'node:fs/promises'
import { once } from 'node:events'
import { tmpdir } from 'node:os'
import { join, resolve } from 'node:path'
import { fileURLToPath } from 'node:url'

const repoRoot = fileURLToPath(new URL('..', import.meta.url))
const args = process.argv.slice(2)
const option = (name, fallback) => { const i = args.indexOf(name); return i >= 0 ? args[i + 1] : fallback }
const corpus = resolve(option('--corpus', join(repoRoot, 'bench/corpus/debian-4/rootfs/bookworm')))
const runs = Number(option('--runs', '3'))
const largeMiB = Number(option('--large-mib', '256'))
const asJson = args.includes('--json')
const bin = join(repoRoot, 'bin/tessera')

if (process.getuid?.() !== 0) { console.error('bench/mount.mjs: run as root (mounting needs it)'); process.exit(2) }

const work = await mkdtemp(join(tmpdir(), 'tessera-mount-bench-'))
const store = join(work, 'store')
const log = (s) => { if (!asJson) console.error(`# ${s}`) }
const sh = (cmd, argv, opts = {}) => execFileSync(cmd, argv, { maxBuffer: 1 << 28, ...opts })
const seconds = (f) => { const t = process.hrtime.bigint(); f(); return Number(process.hrtime.bigint() - t) / 1e9 }

/** Drop the page cache of every regular file below `dir` (or of one file). */
function dropPages (path) {
  sh('python3', ['-c', `
import os, sys
def drop(p):
    fd = os.open(p, os.O_RDONLY | os.O_NOFOLLOW)
    try:
        os.fsync(fd)  # dirty pages (a file just exported) cannot be dropped
        os.posix_fadvise(fd, 0, 0, os.POSIX_FADV_DONTNEED)
    finally: os.close(fd)
p = sys.argv[1]
if os.path.isfile(p): drop(p)
else:
    for d, _, fs in os.walk(p):
        for f in fs:
            q = os.path.join(d, f)
            if os.path.isfile(q) and not os.path.islink(q): drop(q)
`, path])
}

/** `tessera mount NAME DIR --json` in the background; resolves when it is ready. */
async function mount (name, dir) {
  await mkdir(dir, { recursive: true })
  const child = spawn(process.execPath, [bin, '--store', store, 'mount', name, dir, '--json'], { stdio: ['ignore', 'pipe', 'inherit'] })
  let out = ''
  child.stdout.on('data', (d) => { out += d })
  await new Promise((resolve, reject) => {
    child.stdout.on('data', () => { if (out.includes('\n')) resolve() })
    child.on('exit', (code) => reject(new Error(`tessera mount exited ${code}`)))
  })
  return {
    async stop () { child.kill('SIGINT'); await once(child, 'exit') }
  }
}

/** A file of `mib` MiB of AES-CTR keystream: incompressible, the same every time. */
async function largeFile (path, mib) {
  const cipher = createCipheriv('aes-128-ctr', Buffer.alloc(16), Buffer.alloc(16))
  const out = createWriteStream(path)
  const zeros = Buffer.alloc(1 << 20)
  for (let i = 0; i < mib; i++) if (!out.write(cipher.update(zeros))) await once(out, 'drain')
  out.end()
  await once(out, 'finish')
}

const ddSeconds = (file) => seconds(() => sh('dd', [`if=${file}`, 'of=/dev/null', 'bs=1M'], { stdio: 'ignore' }))
const catAllSeconds = (dir) => seconds(() => sh('sh', ['-c', 'find "$1" -type f -print0 | xargs -0 cat > /dev/null', 'catall', dir]))

try {
  log(`work dir ${work}; corpus ${corpus}`)
  await mkdir(join(work, 'large'))
  await largeFile(join(work, 'large/large.bin'), largeMiB)
  sh(process.execPath, [bin, '--store', store, 'import', `dir:${join(work, 'large')}`, '--name', 'large'])
  sh(process.execPath, [bin, '--store', store, 'import', `dir:${corpus}`, '--name', 'corpus'])
  sh(process.execPath, [bin, '--store', store, 'export', 'large', `dir:${join(work, 'large-export')}`])
  sh(process.execPath, [bin, '--store', store, 'export', 'corpus', `dir:${join(work, 'corpus-export')}`, '--devices'])
  const bytes = largeMiB * 1024 * 1024
  const corpusBytes = Number(sh('du', ['-sb', '--apparent-size', join(work, 'corpus-export')]).toString().split('\t')[0])
  const results = []
  for (let r = 1; r <= runs; r++) {
    const row = {}
    const exported = join(work, 'large-export/large.bin')
    dropPages(exported)
    row.exportColdMBs = bytes / 1e6 / ddSeconds(exported)
    row.exportWarmMBs = bytes / 1e6 / ddSeconds(exported)
    let m = await mount('large', join(work, 'mnt-large'))
    try {
      row.mountFirstMBs = bytes / 1e6 / ddSeconds(join(work, 'mnt-large/large.bin'))
      row.mountWarmMBs = bytes / 1e6 / ddSeconds(join(work, 'mnt-large/large.bin'))
    } finally { await m.stop() }
    dropPages(join(work, 'corpus-export'))
    row.catExportColdS = catAllSeconds(join(work, 'corpus-export'))
    row.catExportWarmS = catAllSeconds(join(work, 'corpus-export'))
    m = await mount('corpus', join(work, 'mnt-corpus'))
    try {
      row.catMountFirstS = catAllSeconds(join(work, 'mnt-corpus'))
      row.catMountWarmS = catAllSeconds(join(work, 'mnt-corpus'))
    } finally { await m.stop() }
    row.warmThroughputRatio = row.mountWarmMBs / row.exportWarmMBs
    row.firstReadVsColdExportRatio = row.mountFirstMBs / row.exportColdMBs
    row.catWarmRatio = row.catMountWarmS / row.catExportWarmS
    row.catFirstVsColdRatio = row.catMountFirstS / row.catExportColdS
    results.push(row)
    if (!asJson) console.log(`run ${r}: ${Object.entries(row).map(([k, v]) => `${k}=${v.toFixed(2)}`).join(' ')}`)
  }
  const summary = {}
  for (const key of Object.keys(results[0])) {
    const values = results.map((r) => r[key]).sort((a, b) => a - b)
    summary[key] = { median: values[Math.floor(values.length / 2)], min: values[0], max: values[values.length - 1] }
  }
  const meta = { date: new Date().toISOString(), corpus, corpusBytes, largeMiB, runs, nproc: Number(sh('nproc').toString()), node: process.version }
  if (asJson) console.log(JSON.stringify({ meta, results, summary }, null, 2))
  else {
    console.log(`\n${meta.date} · ${meta.nproc} cores · node ${meta.node} · corpus ${corpusBytes} bytes · large file ${largeMiB} MiB · ${runs} runs`)
    console.log('| figure | median | min | max |\n|---|---|---|---|')
    for (const [k, v] of Object.entries(summary)) console.log(`| ${k} | ${v.median.toFixed(2)} | ${v.min.toFixed(2)} | ${v.max.toFixed(2)} |`)
  }
} finally {
  await rm(work, { recursive: true, force: true })
}
