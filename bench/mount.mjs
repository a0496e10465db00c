#!/usr/bin/env node
// Mount benchmark (not part of CI; root, Linux, /dev/fuse): `tessera mount`
// against reading an exported directory, on the same store and machine.
//
//   node bench/mount.mjs [--corpus DIR] [--runs N] [--large-mib N] [--json]
//   node bench/mount.mjs --remote [--layout DIR] [--runs N] [--json]
//
// --corpus is a rootfs directory (default bench/corpus/debian-4/rootfs/bookworm,
// made by `npm run bench:corpus`); it is only read. Each run measures:
//
// 1. throughput: a large file of pseudo-random bytes (--large-mib, default
//    256) read sequentially with `dd bs=1M`, through a fresh mount (its
//    first read: content comes from the store, verified, the store's files
//    in the page cache) and again (warm: the kernel's page cache, kept
//    across opens; the fastest of three reads), against the exported file read with its pages dropped
//    (cold) and cached (warm);
// 2. `find DIR -type f | xargs cat > /dev/null` over the corpus, on a fresh
//    mount (first pass) and again (warm), against the exported directory
//    with its pages dropped and cached.
//
// --remote measures starting a container's program from a registry
// instead: docker-registry (distribution 2.8) on a loopback port behind a
// counting proxy in this script, the image bookworm-python3 (from --layout,
// default bench/corpus/debian-4/oci-flat). The baseline is `skopeo copy`
// of the OCI image into an empty layout + `umoci unpack` + `chroot ROOTFS
// python3 -c 'import json; print(42)'`; tessera's side is the image pushed
// with `tessera push`, then, into an empty store, `tessera mount
// docker://…` + the same chroot. Each figure is the time to the first line
// of output and the response bytes the proxy counted. tessera's side runs
// when this build has `tessera push` and remote mounts; otherwise only the
// baseline is measured and a note says so.
//
// Pages are dropped per file (posix_fadvise DONTNEED), not machine-wide.
// Prints one table per run and the median and spread (min–max) of each
// figure; --json prints them as JSON.
import { execFile, execFileSync, spawn } from 'node:child_process'
import { promisify } from 'node:util'
import { createCipheriv } from 'node:crypto'
import { createWriteStream } from 'node:fs'
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises'
import { createServer, request as httpRequest } from 'node:http'
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
const remote = args.includes('--remote')
const layout = resolve(option('--layout', join(repoRoot, 'bench/corpus/debian-4/oci-flat')))
const bin = join(repoRoot, 'bin/tessera')

if (process.getuid?.() !== 0) { console.error('bench/mount.mjs: run as root (mounting needs it)'); process.exit(2) }

const work = await mkdtemp(join(tmpdir(), 'tessera-mount-bench-'))
const store = join(work, 'store')
const log = (s) => { if (!asJson) console.error(`# ${s}`) }
const sh = (cmd, argv, opts = {}) => execFileSync(cmd, argv, { maxBuffer: 1 << 28, ...opts })
// The remote part serves a proxy from this process: its commands must not block the event loop.
const shAsync = async (cmd, argv) => (await promisify(execFile)(cmd, argv, { maxBuffer: 1 << 28 })).stdout
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
async function mount (name, dir, extra = [], storeDir = store) {
  await mkdir(dir, { recursive: true })
  const child = spawn(process.execPath, [bin, '--store', storeDir, 'mount', name, dir, '--json', ...extra], { stdio: ['ignore', 'pipe', 'inherit'] })
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
// A warm read takes tens of milliseconds: the fastest of three, on both sides, keeps a busy moment out of it.
const bestOf3 = (measure) => Math.min(measure(), measure(), measure())
const catAllSeconds = (dir) => seconds(() => sh('sh', ['-c', 'find "$1" -type f -print0 | xargs -0 cat > /dev/null', 'catall', dir]))

/** A summary of each figure over the runs: median and spread. */
function summarize (results) {
  const summary = {}
  for (const key of Object.keys(results[0])) {
    const values = results.map((r) => r[key]).filter((v) => typeof v === 'number').sort((a, b) => a - b)
    if (values.length > 0) summary[key] = { median: values[Math.floor(values.length / 2)], min: values[0], max: values[values.length - 1] }
  }
  return summary
}

function report (meta, results, summary, notes = []) {
  if (asJson) { console.log(JSON.stringify({ meta, results, summary, notes }, null, 2)); return }
  console.log(`\n${meta.date} · ${meta.nproc} cores · node ${meta.node} · ${meta.what} · ${runs} runs`)
  console.log('| figure | median | min | max |\n|---|---|---|---|')
  for (const [k, v] of Object.entries(summary)) console.log(`| ${k} | ${v.median.toFixed(2)} | ${v.min.toFixed(2)} | ${v.max.toFixed(2)} |`)
  for (const n of notes) console.log(`\n${n}`)
}

/** docker-registry on a free loopback port, with its storage in `dir`. */
async function startRegistry (dir) {
  const port = await freePort()
  await mkdir(dir, { recursive: true })
  const config = join(dir, 'config.yml')
  await writeFile(config, `version: 0.1\nlog:\n  level: error\nstorage:\n  filesystem:\n    rootdirectory: ${join(dir, 'data')}\nhttp:\n  addr: 127.0.0.1:${port}\n`)
  const child = spawn('docker-registry', ['serve', config], { stdio: 'ignore' })
  for (let i = 0; i < 100; i++) {
    try { if ((await fetch(`http://127.0.0.1:${port}/v2/`)).ok) break } catch { await new Promise((resolve) => setTimeout(resolve, 100)) }
  }
  return { port, async stop () { child.kill('SIGTERM'); await once(child, 'exit') } }
}

async function freePort () {
  const server = createServer()
  server.listen(0, '127.0.0.1')
  await once(server, 'listening')
  const { port } = server.address()
  server.close()
  return port
}

/** An HTTP proxy to the registry that counts the bytes of the responses it relays. */
async function countingProxy (target) {
  const counts = { requests: 0, bytes: 0 }
  const server = createServer((req, res) => {
    counts.requests++
    const up = httpRequest({ host: '127.0.0.1', port: target, method: req.method, path: req.url, headers: req.headers }, (r) => {
      res.writeHead(r.statusCode, r.headers)
      r.on('data', (d) => { counts.bytes += d.length })
      r.pipe(res)
    })
    up.on('error', () => { res.destroy() })
    req.pipe(up)
  })
  server.listen(0, '127.0.0.1')
  await once(server, 'listening')
  return { port: server.address().port, counts, reset () { counts.requests = 0; counts.bytes = 0 }, close () { server.close() } }
}

/** Run `cmd` and resolve with the seconds until its first line of stdout. */
async function secondsToFirstLine (cmd, argv) {
  const t = process.hrtime.bigint()
  const child = spawn(cmd, argv, { stdio: ['ignore', 'pipe', 'inherit'] })
  let out = ''
  const first = await new Promise((resolve, reject) => {
    child.stdout.on('data', (d) => { out += d; if (out.includes('\n')) resolve(Number(process.hrtime.bigint() - t) / 1e9) })
    child.on('exit', (code) => reject(new Error(`${cmd} exited ${code} before printing`)))
  })
  await once(child, 'exit').catch(() => {})
  if (out.trim() !== '42') throw new Error(`${cmd} printed ${JSON.stringify(out)}`)
  return first
}

async function remoteBench () {
  const registry = await startRegistry(join(work, 'registry'))
  const proxy = await countingProxy(registry.port)
  const host = `127.0.0.1:${proxy.port}`
  const tag = 'bookworm-python3'
  const notes = []
  const canMountRemote = (() => { try { return /\bpush\b/.test(sh(process.execPath, [bin, '--help']).toString()) } catch { return false } })()
  try {
    await shAsync('skopeo', ['copy', '--dest-tls-verify=false', `oci:${layout}:${tag}`, `docker://${host}/bench/oci:1`])
    if (canMountRemote) {
      await shAsync(process.execPath, [bin, '--store', join(work, 'pusher'), 'import', `oci:${layout}:${tag}`, '--name', 'py'])
      await shAsync(process.execPath, [bin, '--store', join(work, 'pusher'), 'push', 'py', `docker://${host}/bench/tessera:1`, '--tls-verify=false'])
    } else {
      notes.push('This build has no `tessera push` / `mount docker://` yet: only the baseline was measured.')
    }
    const results = []
    for (let r = 1; r <= runs; r++) {
      const row = {}
      const oci = join(work, `oci-${r}`)
      const bundle = join(work, `bundle-${r}`)
      proxy.reset()
      const t = process.hrtime.bigint()
      await shAsync('skopeo', ['copy', '--src-tls-verify=false', `docker://${host}/bench/oci:1`, `oci:${oci}:py`])
      await shAsync('umoci', ['unpack', '--image', `${oci}:py`, bundle])
      const pulled = Number(process.hrtime.bigint() - t) / 1e9
      row.baselineS = pulled + await secondsToFirstLine('chroot', [join(bundle, 'rootfs'), 'python3', '-c', 'import json; print(42)'])
      row.baselineMiB = proxy.counts.bytes / 1048576
      row.baselineRequests = proxy.counts.requests
      if (canMountRemote) {
        proxy.reset()
        const mnt = join(work, `mnt-remote-${r}`)
        const t0 = process.hrtime.bigint()
        const m = await mount(`docker://${host}/bench/tessera:1`, mnt, ['--tls-verify=false'], join(work, `client-${r}`))
        try {
          row.tesseraMountS = Number(process.hrtime.bigint() - t0) / 1e9
          row.tesseraS = row.tesseraMountS + await secondsToFirstLine('chroot', [mnt, 'python3', '-c', 'import json; print(42)'])
          row.tesseraMiB = proxy.counts.bytes / 1048576
          row.tesseraRequests = proxy.counts.requests
          row.timeRatio = row.tesseraS / row.baselineS
        } finally { await m.stop() }
      }
      await rm(oci, { recursive: true, force: true })
      await rm(bundle, { recursive: true, force: true })
      results.push(row)
      if (!asJson) console.log(`run ${r}: ${Object.entries(row).map(([k, v]) => `${k}=${v.toFixed(3)}`).join(' ')}`)
    }
    const meta = { date: new Date().toISOString(), what: `${tag} from docker-registry`, runs, nproc: Number(sh('nproc').toString()), node: process.version }
    report(meta, results, summarize(results), notes)
  } finally {
    proxy.close()
    await registry.stop()
  }
}

async function localBench () {
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
    row.exportWarmMBs = bytes / 1e6 / bestOf3(() => ddSeconds(exported))
    let m = await mount('large', join(work, 'mnt-large'))
    try {
      row.mountFirstMBs = bytes / 1e6 / ddSeconds(join(work, 'mnt-large/large.bin'))
      row.mountWarmMBs = bytes / 1e6 / bestOf3(() => ddSeconds(join(work, 'mnt-large/large.bin')))
    } finally { await m.stop() }
    dropPages(join(work, 'corpus-export'))
    row.catExportColdS = catAllSeconds(join(work, 'corpus-export'))
    row.catExportWarmS = bestOf3(() => catAllSeconds(join(work, 'corpus-export')))
    m = await mount('corpus', join(work, 'mnt-corpus'))
    try {
      row.catMountFirstS = catAllSeconds(join(work, 'mnt-corpus'))
      row.catMountWarmS = bestOf3(() => catAllSeconds(join(work, 'mnt-corpus')))
    } finally { await m.stop() }
    row.warmThroughputRatio = row.mountWarmMBs / row.exportWarmMBs
    row.firstReadVsColdExportRatio = row.mountFirstMBs / row.exportColdMBs
    row.catWarmRatio = row.catMountWarmS / row.catExportWarmS
    row.catFirstVsColdRatio = row.catMountFirstS / row.catExportColdS
    results.push(row)
    if (!asJson) console.log(`run ${r}: ${Object.entries(row).map(([k, v]) => `${k}=${v.toFixed(2)}`).join(' ')}`)
  }
  const meta = { date: new Date().toISOString(), what: `corpus ${corpusBytes} bytes · large file ${largeMiB} MiB`, corpus, corpusBytes, largeMiB, runs, nproc: Number(sh('nproc').toString()), node: process.version }
  report(meta, results, summarize(results))
}

try {
  if (remote) await remoteBench()
  else await localBench()
} finally {
  await rm(work, { recursive: true, force: true })
}
