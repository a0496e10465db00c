#!/usr/bin/env node
// Registry benchmark (not part of CI): start `tessera serve` on a fresh
// store, push the four debian-4 images with skopeo, and print JSON: the sum
// of the distinct manifest/config/layer bytes pushed, the store's size on
// disk (du -sb), their ratio, layer blobs reproduced from chunks versus kept
// whole, and the wall time.
//
//   node bench/registry.mjs [OCI_LAYOUT]     (or TESSERA_REGISTRY_CORPUS=...)
//
// The layout defaults to bench/corpus/debian-4/oci (made by
// `npm run bench:corpus`); it is only read.
import { execFileSync, spawn } from 'node:child_process'
import { once } from 'node:events'
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join, resolve } from 'node:path'
import { fileURLToPath } from 'node:url'

const repoRoot = fileURLToPath(new URL('..', import.meta.url))
const corpus = resolve(process.argv[2] ?? process.env.TESSERA_REGISTRY_CORPUS ?? join(repoRoot, 'bench/corpus/debian-4/oci'))
const TAGS = ['bookworm', 'trixie', 'bookworm-python3', 'bookworm-nodejs']
const bin = join(repoRoot, 'bin/tessera')

const work = await mkdtemp(join(tmpdir(), 'tessera-registry-bench-'))
const store = join(work, 'store')
const policy = join(work, 'policy.json')
await writeFile(policy, JSON.stringify({ default: [{ type: 'insecureAcceptAnything' }] }))

async function blobJson (digest) {
  return JSON.parse(await readFile(join(corpus, 'blobs', 'sha256', digest.slice(7)), 'utf8'))
}

// What is pushed: every distinct manifest, config and layer of the four tags.
const index = JSON.parse(await readFile(join(corpus, 'index.json'), 'utf8'))
const distinct = new Map()
let layers = 0
for (const tag of TAGS) {
  const entry = index.manifests.find((m) => m.annotations?.['org.opencontainers.image.ref.name'] === tag)
  if (entry === undefined) throw new Error(`${corpus} has no tag ${tag}`)
  distinct.set(entry.digest, entry.size)
  const manifest = await blobJson(entry.digest)
  distinct.set(manifest.config.digest, manifest.config.size)
  for (const l of manifest.layers) {
    if (!distinct.has(l.digest)) layers++
    distinct.set(l.digest, l.size)
  }
}
const pushedBytes = [...distinct.values()].reduce((a, b) => a + b, 0)

const started = process.hrtime.bigint()
const server = spawn(bin, ['--store', store, 'serve', '--port', '0'], { stdio: ['ignore', 'pipe', 'ignore'] })
const [first] = await once(server.stdout, 'data')
const url = first.toString().trim()
const host = url.slice('http://'.length)
const perImage = {}
try {
  for (const tag of TAGS) {
    const t0 = process.hrtime.bigint()
    execFileSync('skopeo', ['--policy', policy, 'copy', '--quiet', '--dest-tls-verify=false', `oci:${corpus}:${tag}`, `docker://${host}/debian:${tag}`], { stdio: ['ignore', 'ignore', 'inherit'] })
    perImage[tag] = Number(process.hrtime.bigint() - t0) / 1e9
    process.stderr.write(`pushed ${tag} in ${perImage[tag].toFixed(1)} s\n`)
  }
  var stats = await (await fetch(`${url}/tessera/stats`)).json()
} finally {
  server.kill('SIGTERM')
  await once(server, 'exit')
}
const seconds = Number(process.hrtime.bigint() - started) / 1e9
const storeBytes = Number(execFileSync('du', ['-sb', store]).toString().split('\t')[0])
await rm(work, { recursive: true, force: true })

console.log(JSON.stringify({
  corpus,
  images: TAGS,
  distinctBlobs: distinct.size,
  distinctLayers: layers,
  pushedBytes,
  storeBytes,
  ratio: Number((pushedBytes / storeBytes).toFixed(3)),
  reproducedBlobs: stats.overall.reproducedBlobs,
  wholeBlobs: stats.overall.wholeBlobs,
  wholeLayers: stats.overall.wholeLayers,
  registryStats: stats.overall,
  seconds: Number(seconds.toFixed(1)),
  pushSeconds: perImage
}, null, 2))
