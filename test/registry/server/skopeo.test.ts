/**
 * Acceptance of `tessera serve` with real clients: images built by umoci
 * (a base layer from a real tree and an upper layer) are pushed with
 * `skopeo copy` as OCI manifests and as Docker v2s2, as a multi-platform
 * index, to a second repository (blobs mounted, not uploaded again), and
 * pulled back; every manifest, config and layer is compared byte for byte
 * with what was pushed.
 */
import { test } from 'node:test'
import assert from 'node:assert/strict'
import { execFileSync, spawn, spawnSync, type ChildProcess } from 'node:child_process'
import { createHash } from 'node:crypto'
import { mkdtemp, readdir, readFile, rm, writeFile } from 'node:fs/promises'
import { once } from 'node:events'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { lcgBytes } from '../../helpers/fixture.js'
import { skipUnless } from '../../helpers/tools.js'
import { projectTree, umociInit, umociLayer, umociTag } from '../../helpers/umoci.js'

const bin = fileURLToPath(new URL('../../../../bin/tessera', import.meta.url))
const skip = skipUnless(['umoci', 'skopeo'], process.getuid?.() !== 0 && 'needs root')

const root = await mkdtemp(join(tmpdir(), 'tessera-serve-skopeo-'))
const policy = join(root, 'policy.json')
const layout = join(root, 'layout')
const store = join(root, 'store')
let server: ChildProcess | undefined
let host = ''
let log = ''

test.after(async () => {
  if (server !== undefined && server.exitCode === null) server.kill('SIGKILL')
  await rm(root, { recursive: true, force: true })
})

const sh = (cmd: string, args: string[]): string => execFileSync(cmd, args, { maxBuffer: 64 * 1024 * 1024, stdio: ['ignore', 'pipe', 'pipe'] }).toString()
const skopeo = (...args: string[]): string => sh('skopeo', ['--policy', policy, ...args])
const sha256 = (b: Uint8Array): string => `sha256:${createHash('sha256').update(b).digest('hex')}`
const blobPath = (dir: string, digest: string): string => join(dir, 'blobs', 'sha256', digest.slice(7))

interface Descriptor { mediaType: string, digest: string, size: number }

/** Every blob reachable from `digest` in an OCI layout: the manifest or index, child manifests, configs, layers. */
async function reachable (dir: string, digest: string, out = new Map<string, Buffer>()): Promise<Map<string, Buffer>> {
  const bytes = await readFile(blobPath(dir, digest))
  assert.equal(sha256(bytes), digest, `${dir}: ${digest} has the bytes it names`)
  out.set(digest, bytes)
  const doc = JSON.parse(bytes.toString()) as { manifests?: Descriptor[], config?: Descriptor, layers?: Descriptor[] }
  for (const m of doc.manifests ?? []) await reachable(dir, m.digest, out)
  for (const d of [...(doc.config !== undefined ? [doc.config] : []), ...(doc.layers ?? [])]) {
    const blob = await readFile(blobPath(dir, d.digest))
    assert.equal(sha256(blob), d.digest)
    assert.equal(blob.length, d.size)
    out.set(d.digest, blob)
  }
  return out
}

/** The digest a tag of an OCI layout points to. */
async function tagDigest (dir: string, tag: string): Promise<string> {
  const index = JSON.parse(await readFile(join(dir, 'index.json'), 'utf8')) as { manifests: Array<Descriptor & { annotations?: Record<string, string> }> }
  const entry = index.manifests.find((m) => m.annotations?.['org.opencontainers.image.ref.name'] === tag)
  assert.ok(entry !== undefined, `tag ${tag} in ${dir}`)
  return entry.digest
}

/** Assert the pulled layout holds exactly the blobs of the original under `tag`, byte for byte. */
async function assertSameImage (original: string, originalTag: string, pulled: string, pulledTag: string): Promise<Map<string, Buffer>> {
  const a = await reachable(original, await tagDigest(original, originalTag))
  const b = await reachable(pulled, await tagDigest(pulled, pulledTag))
  assert.deepEqual([...b.keys()].sort(), [...a.keys()].sort(), 'the same manifest, config and layer digests')
  for (const [digest, bytes] of a) assert.ok(bytes.equals(b.get(digest)!), `${digest} byte for byte`)
  return a
}

async function buildImages (): Promise<void> {
  await writeFile(policy, JSON.stringify({ default: [{ type: 'insecureAcceptAnything' }] }))
  // The base layer: a real tree (this project's sources and docs) and a large binary.
  umociInit(layout, 'app')
  await umociLayer(layout, 'app', root, projectTree)
  umociTag(layout, 'app', 'other')
  // The upper layer: a changed file, a new one, a removed one.
  await umociLayer(layout, 'app', root, async (rf) => {
    await writeFile(join(rf, 'usr', 'bin', 'tool'), lcgBytes(3 * 1024 * 1024, 78))
    await writeFile(join(rf, 'etc-new'), 'upper layer\n')
    await rm(join(rf, 'usr', 'share', 'doc', 'tessera', 'CLI.md'))
  })
  // A second image for the index: the same base, another upper layer.
  await umociLayer(layout, 'other', root, async (rf) => { await writeFile(join(rf, 'etc-new'), 'the other platform\n') })
  // An image index over both, as a multi-platform image.
  const platforms = [['app', 'amd64'], ['other', 'arm64']] as const
  const manifests = []
  for (const [tag, architecture] of platforms) {
    const digest = await tagDigest(layout, tag)
    manifests.push({ mediaType: 'application/vnd.oci.image.manifest.v1+json', digest, size: (await readFile(blobPath(layout, digest))).length, platform: { os: 'linux', architecture } })
  }
  const indexBytes = Buffer.from(JSON.stringify({ schemaVersion: 2, mediaType: 'application/vnd.oci.image.index.v1+json', manifests }))
  const indexDigest = sha256(indexBytes)
  await writeFile(blobPath(layout, indexDigest), indexBytes)
  const top = JSON.parse(await readFile(join(layout, 'index.json'), 'utf8'))
  top.manifests.push({ mediaType: 'application/vnd.oci.image.index.v1+json', digest: indexDigest, size: indexBytes.length, annotations: { 'org.opencontainers.image.ref.name': 'multi' } })
  await writeFile(join(layout, 'index.json'), JSON.stringify(top))
}

async function startServe (): Promise<void> {
  server = spawn(bin, ['--store', store, 'serve', '--port', '0'], { stdio: ['ignore', 'pipe', 'pipe'] })
  server.stderr!.on('data', (d: Buffer) => { log += d.toString() })
  const [first] = await once(server.stdout!, 'data') as [Buffer]
  const url = first.toString().trim()
  assert.match(url, /^http:\/\/127\.0\.0\.1:\d+$/)
  host = url.slice('http://'.length)
}

test('skopeo pushes umoci images as OCI and as v2s2, pulls them back identical', { skip }, async () => {
  await buildImages()
  await startServe()
  skopeo('copy', '--dest-tls-verify=false', `oci:${layout}:app`, `docker://${host}/lib/app:oci`)
  const pulled = join(root, 'pulled-oci')
  skopeo('copy', '--src-tls-verify=false', `docker://${host}/lib/app:oci`, `oci:${pulled}:back`)
  const blobs = await assertSameImage(layout, 'app', pulled, 'back')
  assert.equal(blobs.size, 4, 'manifest, config and two layers')

  // Docker v2s2: skopeo converts the manifest and config; the layers go as they are.
  const digestFile = join(root, 'v2s2.digest')
  skopeo('copy', '--dest-tls-verify=false', '--format', 'v2s2', '--digestfile', digestFile, `oci:${layout}:app`, `docker://${host}/lib/app-docker:v2s2`)
  const pushedDigest = (await readFile(digestFile, 'utf8')).trim()
  const dir = join(root, 'pulled-v2s2')
  skopeo('copy', '--src-tls-verify=false', `docker://${host}/lib/app-docker:v2s2`, `dir:${dir}`)
  const manifestBytes = await readFile(join(dir, 'manifest.json'))
  assert.equal(sha256(manifestBytes), pushedDigest, 'the v2s2 manifest is served as pushed')
  const manifest = JSON.parse(manifestBytes.toString()) as { mediaType: string, config: Descriptor, layers: Descriptor[] }
  assert.equal(manifest.mediaType, 'application/vnd.docker.distribution.manifest.v2+json')
  for (const d of [manifest.config, ...manifest.layers]) {
    const bytes = await readFile(join(dir, d.digest.slice(7)))
    assert.equal(sha256(bytes), d.digest)
  }
  const originalLayers = [...blobs.keys()].filter((d) => manifest.layers.some((l) => l.digest === d))
  assert.equal(originalLayers.length, 2, 'the v2s2 image has the original layer blobs')
  for (const d of originalLayers) assert.ok(blobs.get(d)!.equals(await readFile(join(dir, d.slice(7)))))
  const raw = skopeo('inspect', '--raw', '--tls-verify=false', `docker://${host}/lib/app-docker@${pushedDigest}`)
  assert.equal(sha256(Buffer.from(raw)), pushedDigest, 'by digest too')
})

test('skopeo copy --all pushes a multi-platform index and pulls it back identical', { skip }, async () => {
  skopeo('copy', '--all', '--dest-tls-verify=false', `oci:${layout}:multi`, `docker://${host}/lib/multi:latest`)
  const pulled = join(root, 'pulled-multi')
  skopeo('copy', '--all', '--src-tls-verify=false', `docker://${host}/lib/multi:latest`, `oci:${pulled}:multi`)
  const blobs = await assertSameImage(layout, 'multi', pulled, 'multi')
  assert.equal(blobs.size, 1 + 2 * 2 + 3, 'index, two manifests and configs, three distinct layers')
})

test('pushing the image to a second repository mounts its blobs instead of uploading them', { skip }, async () => {
  const before = log.length
  skopeo('copy', '--dest-tls-verify=false', `oci:${layout}:app`, `docker://${host}/team/copy:oci`)
  await new Promise((resolve) => setTimeout(resolve, 200)) // the server's log lines of the last requests
  const lines = log.slice(before).split('\n')
  const manifest = JSON.parse((await readFile(blobPath(layout, await tagDigest(layout, 'app')))).toString()) as { layers: Descriptor[] }
  const mounted = lines.map((l) => /POST \/v2\/team\/copy\/blobs\/uploads\/\?\S*mount=sha256%3A([0-9a-f]{64})\S* 201 /.exec(l)?.[1]).filter((d) => d !== undefined).map((hex) => `sha256:${hex}`)
  const uploaded = lines.map((l) => /PUT \/v2\/team\/copy\/blobs\/uploads\/\S*digest=sha256%3A([0-9a-f]{64})/.exec(l)?.[1]).filter((d) => d !== undefined).map((hex) => `sha256:${hex}`)
  // skopeo mounts the blobs it has seen elsewhere on the registry: the layers (it does not record configs).
  for (const layer of manifest.layers) {
    assert.ok(mounted.includes(layer.digest), `layer ${layer.digest} mounted:\n${lines.join('\n')}`)
    assert.ok(!uploaded.includes(layer.digest), `layer ${layer.digest} not uploaded again`)
  }
  const pulled = join(root, 'pulled-copy')
  skopeo('copy', '--src-tls-verify=false', `docker://${host}/team/copy:oci`, `oci:${pulled}:back`)
  await assertSameImage(layout, 'app', pulled, 'back')
})

test('skopeo list-tags lists the tags; SIGTERM shuts the server down cleanly', { skip }, async () => {
  skopeo('copy', '--dest-tls-verify=false', `oci:${layout}:app`, `docker://${host}/lib/app:second`)
  const tags = JSON.parse(skopeo('list-tags', '--tls-verify=false', `docker://${host}/lib/app`)) as { Tags: string[] }
  assert.deepEqual(tags.Tags, ['oci', 'second'])
  const stats = await (await fetch(`http://${host}/tessera/stats`)).json() as { overall: { pushedBytes: number, storedBytes: number, reproducedBlobs: number, wholeLayers: number }, repositories: Record<string, unknown> }
  assert.ok(stats.overall.pushedBytes > 3 * 1024 * 1024)
  // umoci's pgzip layers (base, two upper layers) are rebuilt from chunks, none kept whole
  assert.equal(stats.overall.wholeLayers, 0)
  assert.equal(stats.overall.reproducedBlobs, 3)
  assert.deepEqual(Object.keys(stats.repositories).sort(), ['lib/app', 'lib/app-docker', 'lib/multi', 'team/copy'])
  server!.kill('SIGTERM')
  const [code] = await once(server!, 'exit') as [number | null]
  assert.equal(code, 0)
  assert.match(log, /SIGTERM, shutting down/)
  assert.deepEqual(await readdir(join(store, 'uploads')), [], 'no upload file left')
})

test('with --auth, skopeo pushes with basic credentials and is refused without them', { skip }, async () => {
  const hash = execFileSync(bin, ['serve', '--hash-password'], { input: 'pa55word\n' }).toString().trim()
  const authFile = join(root, 'auth.json')
  await writeFile(authFile, JSON.stringify({ users: [{ username: 'alice', password: hash }] }))
  const authed = spawn(bin, ['--store', join(root, 'store-auth'), 'serve', '--port', '0', '--auth', authFile], { stdio: ['ignore', 'pipe', 'ignore'] })
  try {
    const [first] = await once(authed.stdout!, 'data') as [Buffer]
    const authHost = first.toString().trim().slice('http://'.length)
    assert.throws(() => skopeo('copy', '--dest-tls-verify=false', `oci:${layout}:app`, `docker://${authHost}/lib/app:v1`), /unauthorized|authentication required/i)
    assert.throws(() => skopeo('copy', '--dest-tls-verify=false', '--dest-creds', 'alice:wrong', `oci:${layout}:app`, `docker://${authHost}/lib/app:v1`), /unauthorized|invalid credentials/i)
    skopeo('copy', '--dest-tls-verify=false', '--dest-creds', 'alice:pa55word', `oci:${layout}:app`, `docker://${authHost}/lib/app:v1`)
    const pulled = join(root, 'pulled-auth')
    skopeo('copy', '--src-tls-verify=false', '--src-creds', 'alice:pa55word', `docker://${authHost}/lib/app:v1`, `oci:${pulled}:back`)
    await assertSameImage(layout, 'app', pulled, 'back')
  } finally {
    authed.kill('SIGTERM')
    await once(authed, 'exit')
  }
})
