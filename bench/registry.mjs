#!/usr/bin/env node
// Registry benchmark (not part of CI): start `tessera serve` on a fresh
// store, push the four debian-4 images with skopeo, and print JSON: the sum
// of the distinct manifest/config/layer bytes pushed, the store's size on
// disk (du -sb), their ratio, layer blobs reproduced from chunks versus kept
// whole, and the wall time.
//
//   node bench/registry.mjs [OCI_LAYOUT] [--decompress] [--label TEXT]     (or TESSERA_REGISTRY_CORPUS=...)
//
// --label adds TEXT to the description of the layers in the output.
//
// --decompress first rewrites the images with their layers as plain tars
// (gunzipped, media type ...layer.v1.tar; configs unchanged, their diff_ids
// already name the plain tars) in a temporary layout, and pushes those: the
// case of a client that does not compress, where every layer is a tar
// tessera can take apart whatever compressor made the original.
//
// The layout defaults to bench/corpus/debian-4/oci (made by
// `npm run bench:corpus`); it is only read.
import { execFileSync, spawn } from 'node:child_process'
import { once } from 'node:events'
import { createReadStream, createWriteStream } from 'node:fs'
import { createHash } from 'node:crypto'
import { mkdir, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises'
import { pipeline } from 'node:stream/promises'
import { createGunzip } from 'node:zlib'
import { tmpdir } from 'node:os'
import { join, resolve } from 'node:path'
import { fileURLToPath } from 'node:url'

const repoRoot = fileURLToPath(new URL('..', import.meta.url))
const args = process.argv.slice(2)
const decompress = args.includes('--decompress')
const labelAt = args.indexOf('--label')
const label = labelAt >= 0 ? args[labelAt + 1] : undefined
const positional = args.filter((a, i) => !a.startsWith('--') && i !== labelAt + 1)
const source = resolve(positional[0] ?? process.env.TESSERA_REGISTRY_CORPUS ?? join(repoRoot, 'bench/corpus/debian-4/oci'))
const TAGS = ['bookworm', 'trixie', 'bookworm-python3', 'bookworm-nodejs']
// The CLI under test: bench/run.mjs passes its frozen copy.
const bin = process.env.TESSERA_BIN || join(repoRoot, 'bin/tessera')

const work = await mkdtemp(join(tmpdir(), 'tessera-registry-bench-'))
const corpus = decompress ? await decompressedLayout(source, join(work, 'plain')) : source

/** A copy of the images of `from` with every gzip layer gunzipped; returns its path. */
async function decompressedLayout (from, to) {
  await mkdir(join(to, 'blobs', 'sha256'), { recursive: true })
  await writeFile(join(to, 'oci-layout'), '{"imageLayoutVersion":"1.0.0"}')
  const top = JSON.parse(await readFile(join(from, 'index.json'), 'utf8'))
  const done = new Map()
  const put = async (bytes) => {
    const digest = `sha256:${createHash('sha256').update(bytes).digest('hex')}`
    await writeFile(join(to, 'blobs', 'sha256', digest.slice(7)), bytes)
    return { digest, size: bytes.length }
  }
  for (const entry of top.manifests) {
    const manifest = JSON.parse(await readFile(join(from, 'blobs', 'sha256', entry.digest.slice(7)), 'utf8'))
    await put(await readFile(join(from, 'blobs', 'sha256', manifest.config.digest.slice(7))))
    for (const layer of manifest.layers) {
      if (!done.has(layer.digest)) {
        const tmp = join(to, 'layer.tmp')
        const hash = createHash('sha256')
        let size = 0
        await pipeline(createReadStream(join(from, 'blobs', 'sha256', layer.digest.slice(7))), createGunzip(), async function * (chunks) {
          for await (const c of chunks) { hash.update(c); size += c.length; yield c }
        }, createWriteStream(tmp))
        const digest = `sha256:${hash.digest('hex')}`
        await rm(join(to, 'blobs', 'sha256', digest.slice(7)), { force: true })
        await pipeline(createReadStream(tmp), createWriteStream(join(to, 'blobs', 'sha256', digest.slice(7))))
        await rm(tmp)
        done.set(layer.digest, { mediaType: 'application/vnd.oci.image.layer.v1.tar', digest, size })
      }
    }
    const plain = { ...manifest, layers: manifest.layers.map((l) => ({ ...l, ...done.get(l.digest) })) }
    const written = await put(Buffer.from(JSON.stringify(plain)))
    entry.digest = written.digest
    entry.size = written.size
  }
  await writeFile(join(to, 'index.json'), JSON.stringify(top))
  return to
}
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
const layoutBytes = [...distinct.values()].reduce((a, b) => a + b, 0)

const started = process.hrtime.bigint()
const server = spawn(bin, ['--store', store, 'serve', '--port', '0'], { stdio: ['ignore', 'pipe', 'ignore'] })
const [first] = await once(server.stdout, 'data')
const url = first.toString().trim()
const host = url.slice('http://'.length)
const perImage = {}
try {
  for (const tag of TAGS) {
    const t0 = process.hrtime.bigint()
    execFileSync('skopeo', ['--policy', policy, 'copy', '--quiet', '--dest-tls-verify=false', ...(decompress ? ['--dest-decompress', '--preserve-digests'] : []), `oci:${corpus}:${tag}`, `docker://${host}/debian:${tag}`], { stdio: ['ignore', 'ignore', 'inherit'] })
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
const pushedBytes = layoutBytes

console.log(JSON.stringify({
  corpus: source,
  images: TAGS,
  layers: (decompress ? 'pushed decompressed (plain tar)' : 'pushed as in the layout') + (label !== undefined ? ` ${label}` : ''),
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
