#!/usr/bin/env node
// Distribution benchmark (not part of CI): tessera images through Debian's
// docker-registry (distribution 2.8) against OCI images of the same
// content, side by side in one run. Bytes and requests are the registry's
// own: its access log (response body bytes per request), not tessera's
// counters.
//
//   node bench/distribution.mjs [--corpus DIR] [--rounds N] [--skip-npm] [--skip-debian] [--json]
//
// debian-4 (bench/corpus/debian-4, from `npm run bench:corpus`):
// - push: the bookworm and bookworm-python3 images (imported from the
//   layered OCI layout) with `tessera push`, python3 with `--reuse
//   bookworm`; the layered layout (`oci`) and the one-layer layout
//   (`oci-flat`) with `skopeo copy`;
// - bytes to pull bookworm-python3 with bookworm already local: `tessera
//   pull` into a store holding bookworm, against `skopeo copy` into a
//   layout holding bookworm (skopeo reuses the blobs a layout has: for
//   `oci` only the python3 layer travels, for `oci-flat` the whole image);
//   target: tessera at most 0.3x oci-flat;
// - time to pull bookworm-python3 into an empty store against `skopeo
//   copy` of the layered image into an empty layout (target: no slower),
//   and against `podman pull` into an empty overlay storage (root only),
//   which does the work a pull of tessera's does and skopeo does not:
//   it decompresses every layer and checks it against its diff ID;
//   and against `skopeo copy` then `umoci unpack` of that layout (no root
//   needed), the other verifying pull: umoci decompresses each layer,
//   checks its diff ID and unpacks it to a rootfs;
//   `--rounds N` repeats these, interleaved, and gives medians and ranges;
// - requests per pull.
// npm-ts-10: the ten typescript releases imported, pushed as tags of one
// repository (each with `--reuse` of the one before), then pulled one
// after another into one store; bytes against the ten .tgz files.
//
// The CLI under test: $TESSERA_BIN (bench/run.mjs passes its frozen copy),
// else bin/tessera.
import { spawn } from 'node:child_process'
import { once } from 'node:events'
import { mkdir, mkdtemp, readdir, rm, stat, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join, resolve } from 'node:path'
import { fileURLToPath } from 'node:url'
import { spread } from './stats.mjs'

const repoRoot = fileURLToPath(new URL('..', import.meta.url))
const args = process.argv.slice(2)
const flag = (name) => args.includes(name)
const option = (name, fallback) => { const i = args.indexOf(name); return i >= 0 ? args[i + 1] : fallback }
const corpus = resolve(option('--corpus', process.env.TESSERA_CORPUS ?? join(repoRoot, 'bench/corpus')))
const rounds = Math.max(1, Number(option('--rounds', '1')))
if (!Number.isInteger(rounds)) throw new Error('--rounds takes a whole number')
const bin = process.env.TESSERA_BIN || join(repoRoot, 'bin/tessera')
const work = await mkdtemp(join(tmpdir(), 'tessera-distribution-bench-'))
const policy = join(work, 'policy.json')
await writeFile(policy, JSON.stringify({ default: [{ type: 'insecureAcceptAnything' }] }))

/** Run a command to its end (async: the registry's log is read meanwhile); resolves with stdout, rejects on failure. */
async function run (cmd, argv) {
  const child = spawn(cmd, argv, { stdio: ['ignore', 'pipe', 'pipe'] })
  let out = ''
  let err = ''
  child.stdout.on('data', (d) => { out += d })
  child.stderr.on('data', (d) => { err += d })
  const [code] = await once(child, 'close')
  if (code !== 0) throw new Error(`${cmd} ${argv.join(' ')} exited ${code}: ${err.slice(-2000)}`)
  return out
}
const tessera = async (store, ...argv) => JSON.parse(await run(process.execPath, [bin, '--store', store, ...argv, '--json']))
const skopeo = async (from, to) => await run('skopeo', ['--policy', policy, 'copy', '--quiet', '--src-tls-verify=false', '--dest-tls-verify=false', from, to])
/** Median and range of `list` (seconds), and every round. */
const timings = (list) => {
  const { median, min, max } = spread(list)
  return { seconds: median, min, max, runs: list.map((x) => Number(x.toFixed(3))) }
}
/** Why podman's pull is left out, or undefined when it runs (it needs root for its overlay storage). */
let podmanSkip = await new Promise((resolve) => {
  const child = spawn('podman', ['--version'], { stdio: 'ignore' })
  child.once('error', () => resolve('podman is not installed'))
  child.once('exit', (code) => resolve(code === 0 ? (process.getuid?.() === 0 ? undefined : 'podman pull needs root here (overlay storage)') : 'podman --version failed'))
})
/** Why the `skopeo copy` + `umoci unpack` peer is left out, or undefined when umoci runs. */
const umociSkip = await new Promise((resolve) => {
  const child = spawn('umoci', ['--version'], { stdio: 'ignore' })
  child.once('error', () => resolve('umoci is not installed'))
  child.once('exit', (code) => resolve(code === 0 ? undefined : 'umoci --version failed'))
})
/** umoci's unpack of `image` (LAYOUT:TAG) to `bundle`: as root it keeps owners, else `--rootless`. */
const umociUnpack = async (image, bundle) => await run('umoci', ['unpack', ...(process.getuid?.() === 0 ? [] : ['--rootless']), '--image', image, bundle])
const seconds = (t0) => Number(process.hrtime.bigint() - t0) / 1e9

/** docker-registry on a free loopback port; `since()` gives the requests and body bytes its access log shows since the last `mark()`. */
async function startRegistry () {
  const dir = join(work, 'registry')
  await mkdir(dir, { recursive: true })
  const config = join(dir, 'config.yml')
  await writeFile(config, `version: 0.1\nlog:\n  level: info\n  formatter: text\nstorage:\n  filesystem:\n    rootdirectory: ${join(dir, 'data')}\nhttp:\n  addr: 127.0.0.1:0\n`)
  const child = spawn('docker-registry', ['serve', config], { stdio: ['ignore', 'pipe', 'pipe'] })
  let log = ''
  let stderr = ''
  child.stdout.on('data', (d) => { log += d })
  const port = await new Promise((resolve, reject) => {
    child.stderr.on('data', (d) => {
      stderr += d
      const m = /listening on 127\.0\.0\.1:(\d+)/.exec(stderr)
      if (m !== null) resolve(Number(m[1]))
    })
    child.once('exit', (code) => reject(new Error(`docker-registry exited ${code}: ${stderr.slice(-1000)}`)))
  })
  let markAt = 0
  let markers = 0
  const lines = async () => {
    // a marker request, so every request before it is in the log
    const marker = `/v2/bench-marker-${markers++}/tags/list`
    await (await fetch(`http://127.0.0.1:${port}${marker}`)).arrayBuffer()
    while (!log.includes(` ${marker} `)) await new Promise((resolve) => setTimeout(resolve, 50))
    const upTo = log.indexOf(` ${marker} `)
    return log.slice(markAt, upTo).split('\n')
  }
  return {
    host: `127.0.0.1:${port}`,
    async mark () { await lines(); markAt = log.length },
    async since () {
      const out = { requests: 0, bytes: 0, blobBytes: 0, rangedRequests: 0 }
      for (const line of await lines()) {
        const m = /"(\S+) (\S+) [^"]*" (\d{3}) (\d+|-)/.exec(line)
        if (m === null || m[2].includes('/bench-marker-')) continue
        out.requests++
        const bytes = m[4] === '-' ? 0 : Number(m[4])
        out.bytes += bytes
        if (/\/blobs\/sha256:/.test(m[2]) && m[1] === 'GET') out.blobBytes += bytes
        if (m[3] === '206') out.rangedRequests++
      }
      return out
    },
    async stop () { child.kill('SIGTERM'); await once(child, 'exit'); await rm(dir, { recursive: true, force: true }) }
  }
}

const registry = await startRegistry()
const ref = (repoTag) => `docker://${registry.host}/${repoTag}`
const TLS = '--tls-verify=false'
const results = {}
const mib = (n) => Number((n / 2 ** 20).toFixed(2))

try {
  if (!flag('--skip-debian')) results['debian-4'] = await debian()
  if (!flag('--skip-npm')) results['npm-ts-10'] = await npm()
} finally {
  await registry.stop()
  await rm(work, { recursive: true, force: true })
}

if (flag('--json')) console.log(JSON.stringify(results, null, 2))
else print(results)

async function debian () {
  const oci = join(corpus, 'debian-4', 'oci')
  const flat = join(corpus, 'debian-4', 'oci-flat')
  const source = join(work, 'source')
  const out = { push: {}, pullWithBase: {}, pullEmpty: {} }
  for (const tag of ['bookworm', 'bookworm-python3']) await tessera(source, 'import', `oci:${oci}:${tag}`, '--name', tag)

  // Pushes.
  await registry.mark()
  let t0 = process.hrtime.bigint()
  const pushBase = await tessera(source, 'push', 'bookworm', ref('tessera/debian:bookworm'), TLS)
  const pushPy = await tessera(source, 'push', 'bookworm-python3', ref('tessera/debian:bookworm-python3'), '--reuse', 'bookworm', TLS)
  out.push.tessera = { seconds: seconds(t0), packs: pushPy.packs, reusedPacks: pushPy.reusedPacks, uploadedBytes: pushBase.uploadedBytes + pushPy.uploadedBytes }
  t0 = process.hrtime.bigint()
  for (const tag of ['bookworm', 'bookworm-python3']) await skopeo(`oci:${oci}:${tag}`, ref(`oci/debian:${tag}`))
  out.push.oci = { seconds: seconds(t0) }
  t0 = process.hrtime.bigint()
  for (const tag of ['bookworm', 'bookworm-python3']) await skopeo(`oci:${flat}:${tag}`, ref(`flat/debian:${tag}`))
  out.push.ociFlat = { seconds: seconds(t0) }

  // bookworm-python3 with bookworm local.
  const store = join(work, 'with-base')
  await tessera(store, 'pull', ref('tessera/debian:bookworm'), '--name', 'bookworm', TLS)
  await registry.mark()
  t0 = process.hrtime.bigint()
  const pulled = await tessera(store, 'pull', ref('tessera/debian:bookworm-python3'), '--name', 'py', TLS)
  out.pullWithBase.tessera = { ...(await registry.since()), seconds: seconds(t0), chunks: pulled.chunks, chunkBytes: pulled.chunkBytes, root: pulled.root }
  for (const [name, repo] of [['oci', 'oci/debian'], ['ociFlat', 'flat/debian']]) {
    const layout = join(work, `layout-${name}`)
    await skopeo(ref(`${repo}:bookworm`), `oci:${layout}:bookworm`)
    await registry.mark()
    t0 = process.hrtime.bigint()
    await skopeo(ref(`${repo}:bookworm-python3`), `oci:${layout}:bookworm-python3`)
    out.pullWithBase[name] = { ...(await registry.since()), seconds: seconds(t0) }
  }
  out.pullWithBase.ratioToFlat = Number((out.pullWithBase.tessera.bytes / out.pullWithBase.ociFlat.bytes).toFixed(3))
  out.pullWithBase.ratioToOci = Number((out.pullWithBase.tessera.bytes / out.pullWithBase.oci.bytes).toFixed(3))

  // bookworm-python3 into nothing: `rounds` interleaved rounds, each into
  // a fresh store / layout / podman root; bytes and requests from round 1.
  const times = { tessera: [], oci: [], ociFlat: [], umoci: [], podman: [] }
  let empty
  for (let round = 0; round < rounds; round++) {
    const dir = join(work, `empty-${round}`)
    await registry.mark()
    t0 = process.hrtime.bigint()
    const pulledEmpty = await tessera(join(dir, 'store'), 'pull', ref('tessera/debian:bookworm-python3'), '--name', 'py', TLS)
    times.tessera.push(seconds(t0))
    const tr = await registry.since()
    empty ??= pulledEmpty
    out.pullEmpty.tessera ??= { ...tr, chunks: pulledEmpty.chunks }
    for (const [name, repo] of [['oci', 'oci/debian'], ['ociFlat', 'flat/debian']]) {
      await registry.mark()
      t0 = process.hrtime.bigint()
      await skopeo(ref(`${repo}:bookworm-python3`), `oci:${join(dir, `layout-${name}`)}:bookworm-python3`)
      times[name].push(seconds(t0))
      out.pullEmpty[name] ??= await registry.since()
      if (name === 'oci' && umociSkip === undefined) {
        // the same copy, then unpacked: the copy's time plus the unpack's
        const copied = times.oci[times.oci.length - 1]
        t0 = process.hrtime.bigint()
        await umociUnpack(`${join(dir, 'layout-oci')}:bookworm-python3`, join(dir, 'bundle'))
        times.umoci.push(copied + seconds(t0))
        out.pullEmpty.umoci ??= { ...out.pullEmpty.oci }
      }
    }
    if (podmanSkip === undefined) {
      // podman wants a runroot path of at most 50 characters
      const runroot = await mkdtemp('/tmp/tpr-')
      const podman = ['--root', join(dir, 'podman'), '--runroot', runroot, '--storage-driver', 'overlay']
      await registry.mark()
      t0 = process.hrtime.bigint()
      try {
        await run('podman', [...podman, 'pull', '-q', '--tls-verify=false', `${registry.host}/oci/debian:bookworm-python3`])
        times.podman.push(seconds(t0))
        out.pullEmpty.podman ??= await registry.since()
      } catch (err) {
        podmanSkip = `podman pull failed: ${String(err.message).split('\n').slice(-2).join(' ').slice(0, 300)}`
      }
      await run('podman', [...podman, 'system', 'reset', '--force']).catch(() => {})
      await rm(runroot, { recursive: true, force: true })
    }
    await rm(dir, { recursive: true, force: true })
  }
  for (const [name, list] of Object.entries(times)) if (list.length > 0) Object.assign(out.pullEmpty[name], timings(list))
  if (podmanSkip !== undefined) out.pullEmpty.podmanSkipped = podmanSkip
  if (umociSkip !== undefined) out.pullEmpty.umociSkipped = umociSkip
  out.pullEmpty.rounds = rounds
  out.pullEmpty.timeRatioToOci = Number((out.pullEmpty.tessera.seconds / out.pullEmpty.oci.seconds).toFixed(3))
  if (out.pullEmpty.umoci !== undefined) out.pullEmpty.timeRatioToUmoci = Number((out.pullEmpty.tessera.seconds / out.pullEmpty.umoci.seconds).toFixed(3))
  if (out.pullEmpty.podman !== undefined) out.pullEmpty.timeRatioToPodman = Number((out.pullEmpty.tessera.seconds / out.pullEmpty.podman.seconds).toFixed(3))
  const imported = await tessera(join(work, 'check'), 'import', `oci:${oci}:bookworm-python3`, '--name', 'py')
  out.sameRoot = imported.root === pulled.root && imported.root === empty.root
  return out
}

async function npm () {
  const dir = join(corpus, 'npm-ts-10')
  const versions = (await readdir(dir)).filter((n) => n.startsWith('typescript-')).sort((a, b) => a.localeCompare(b, 'en', { numeric: true }))
  const tgzBytes = (await Promise.all((await readdir(join(dir, 'tgz'))).filter((n) => n.endsWith('.tgz')).map(async (n) => (await stat(join(dir, 'tgz', n))).size))).reduce((a, b) => a + b, 0)
  const source = join(work, 'npm-source')
  let previous
  let uploaded = 0
  for (const v of versions) {
    await tessera(source, 'import', `dir:${join(dir, v)}`, '--name', v, '--mtime', 'zero')
    const pushed = await tessera(source, 'push', v, ref(`tessera/typescript:${v}`), ...(previous !== undefined ? ['--reuse', previous] : []), TLS)
    uploaded += pushed.uploadedBytes
    previous = v
  }
  const store = join(work, 'npm-pull')
  await registry.mark()
  const t0 = process.hrtime.bigint()
  const perRelease = []
  for (const v of versions) {
    const before = await registry.since()
    const pulled = await tessera(store, 'pull', ref(`tessera/typescript:${v}`), '--name', v, TLS)
    const afterPull = await registry.since()
    perRelease.push({ version: v, bytes: afterPull.bytes - before.bytes, requests: afterPull.requests - before.requests, chunks: pulled.chunks })
  }
  const total = await registry.since()
  return { releases: versions.length, tgzBytes, pushedBytes: uploaded, pulledBytes: total.bytes, requests: total.requests, ratioToTgz: Number((total.bytes / tgzBytes).toFixed(3)), seconds: seconds(t0), perRelease }
}

function print (r) {
  const d = r['debian-4']
  if (d !== undefined) {
    console.log('\n## debian-4 through docker-registry (bytes: the registry\'s access log)\n')
    const e = d.pullEmpty
    const range = (b) => b.runs.length > 1 ? ` (${b.min.toFixed(2)}–${b.max.toFixed(2)})` : ''
    console.log(`| pull bookworm-python3 | with bookworm local: MiB, requests, s | into nothing: MiB, requests, s${e.rounds > 1 ? ` (median of ${e.rounds} interleaved rounds, min–max)` : ''} |`)
    console.log('|---|---|---|')
    for (const [k, label] of [['tessera', 'tessera pull'], ['oci', 'skopeo copy, layered `oci`'], ['ociFlat', 'skopeo copy, one-layer `oci-flat`'], ['umoci', 'skopeo copy, layered `oci`, then umoci unpack (decompresses, checks diff IDs, unpacks)'], ['podman', 'podman pull (decompresses, checks diff IDs, unpacks)']]) {
      const a = d.pullWithBase[k]
      const b = e[k]
      if (b === undefined) continue
      console.log(`| ${label} | ${a !== undefined ? `${mib(a.bytes)}, ${a.requests}, ${a.seconds.toFixed(1)}` : '–'} | ${mib(b.bytes)}, ${b.requests}, ${b.seconds.toFixed(2)}${range(b)} |`)
    }
    if (e.podmanSkipped !== undefined) console.log(`\npodman left out: ${e.podmanSkipped}`)
    if (e.umociSkipped !== undefined) console.log(`\nskopeo copy + umoci unpack left out: ${e.umociSkipped}`)
    console.log(`\nwith bookworm local, tessera / oci-flat bytes: ${d.pullWithBase.ratioToFlat} (target ≤ 0.3); tessera / oci: ${d.pullWithBase.ratioToOci}`)
    console.log(`into nothing, tessera / skopeo (oci) time: ${d.pullEmpty.timeRatioToOci} (target ≤ 1)${d.pullEmpty.timeRatioToUmoci !== undefined ? `; tessera / skopeo + umoci unpack: ${d.pullEmpty.timeRatioToUmoci}` : ''}${d.pullEmpty.timeRatioToPodman !== undefined ? `; tessera / podman pull: ${d.pullEmpty.timeRatioToPodman}` : ''}`)
    console.log(`pushes: tessera ${d.push.tessera.seconds.toFixed(1)} s (${d.push.tessera.packs} packs for python3, ${d.push.tessera.reusedPacks} reused from bookworm, ${mib(d.push.tessera.uploadedBytes)} MiB sent), skopeo oci ${d.push.oci.seconds.toFixed(1)} s, oci-flat ${d.push.ociFlat.seconds.toFixed(1)} s`)
    console.log(`same root as import oci:: ${d.sameRoot}`)
  }
  const n = r['npm-ts-10']
  if (n !== undefined) {
    console.log('\n## npm-ts-10: ten releases pulled one after another\n')
    console.log(`${n.releases} releases: ${mib(n.pulledBytes)} MiB pulled in ${n.requests} requests (${n.seconds.toFixed(1)} s) against ${mib(n.tgzBytes)} MiB of .tgz: ${n.ratioToTgz}x; ${mib(n.pushedBytes)} MiB pushed`)
    console.log('\n| release | MiB | requests | chunks |\n|---|---|---|---|')
    for (const p of n.perRelease) console.log(`| ${p.version} | ${mib(p.bytes)} | ${p.requests} | ${p.chunks} |`)
  }
}
