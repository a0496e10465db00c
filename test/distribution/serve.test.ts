/**
 * `tessera serve` speaking tessera's registry format (docs/FORMAT.md
 * §11), with real parts: images built by umoci, pushed with skopeo to a
 * `tessera serve` started by the test, read back with skopeo and with
 * tessera's own client (pull, lazy remote reads) behind a counting proxy.
 *
 * - An image pushed as layers is offered as a tessera referrer: its
 *   metadata and packs verify by §11.2 and §11.3 (checked here from the
 *   bytes served), its snapshot has the root `import oci:` gives, the
 *   answers are stable, the fallback tag lists it, another repository
 *   holding the image links the same manifest, and a pull and a lazy
 *   read through tessera's client give the same root and bytes.
 * - A tessera image pushed with `pushSnapshot` is stored once (the
 *   store's chunk figures barely move after the same image's layers),
 *   and comes back byte for byte through skopeo and through a pull.
 * - A hostile pack blob pushed over HTTP is kept and served as pushed.
 */
import { after, before, test } from 'node:test'
import assert from 'node:assert/strict'
import { execFileSync } from 'node:child_process'
import { createHash } from 'node:crypto'
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { fileURLToPath } from 'node:url'
import { join } from 'node:path'
import { openRepository } from '../../src/distribution/client/index.js'
import { checkManifestAgainstMetadata, parseTesseraManifest } from '../../src/distribution/manifest.js'
import { decodeMetadataBlob } from '../../src/distribution/metadata.js'
import { pullSnapshot, pushSnapshot, RemoteSnapshot } from '../../src/distribution/index.js'
import { SnapshotReader } from '../../src/exporter/snapshot-reader.js'
import { openStore, decodeStored } from '../../src/store/index.js'
import { loadZstd } from '../../src/store/zstd.js'
import { runTessera } from '../helpers/cli.js'
import { startCountingProxy } from '../helpers/counting-proxy.js'
import { lcgBytes } from '../helpers/fixture.js'
import { startServe, type RunningServe } from '../helpers/serve.js'
import { missingTools } from '../helpers/tools.js'
import { projectTree, umociInit, umociLayer } from '../helpers/umoci.js'

const TESSERA = 'application/vnd.tessera.snapshot.v1'
const repoRoot = fileURLToPath(new URL('../../../', import.meta.url))
const OCI_MANIFEST = 'application/vnd.oci.image.manifest.v1+json'
const skip = missingTools('umoci', 'skopeo')
const t = (name: string, fn: () => Promise<void>): void => { test(name, skip === false ? {} : { skip }, fn) }

let root = ''
let layout = ''
let policy = ''
let importedRoot = ''
let serve: RunningServe
const tool = lcgBytes(3 * 1024 * 1024, 78)

const sh = (cmd: string, args: string[]): string => execFileSync(cmd, args, { maxBuffer: 64 * 1024 * 1024, stdio: ['ignore', 'pipe', 'pipe'] }).toString()
const skopeo = (...args: string[]): string => sh('skopeo', ['--policy', policy, ...args])
const sha256 = (b: Uint8Array): string => `sha256:${createHash('sha256').update(b).digest('hex')}`
const json = <T>(r: { code: number | null, stdout: Buffer, stderr: string }): T => {
  assert.equal(r.code, 0, r.stderr)
  return JSON.parse(r.stdout.toString()) as T
}

async function collect (stream: AsyncIterable<Uint8Array>): Promise<Buffer> {
  const parts: Uint8Array[] = []
  for await (const p of stream) parts.push(p)
  return Buffer.concat(parts)
}

async function get (url: string, headers: Record<string, string> = {}): Promise<{ status: number, headers: Headers, body: Buffer }> {
  const r = await fetch(url, { headers })
  return { status: r.status, headers: r.headers, body: Buffer.from(await r.arrayBuffer()) }
}

/** Two layers by umoci: a real tree and a big binary, then a change, an addition and a removal. */
async function buildImage (): Promise<void> {
  umociInit(layout, 'app')
  await umociLayer(layout, 'app', root, projectTree)
  await umociLayer(layout, 'app', root, async (rf) => {
    await writeFile(join(rf, 'usr', 'bin', 'tool'), tool)
    await writeFile(join(rf, 'etc-new'), 'upper layer\n')
    await rm(join(rf, 'usr', 'share', 'doc', 'tessera', 'CLI.md'))
  })
}

before(async () => {
  if (skip !== false) return
  await loadZstd()
  root = await mkdtemp(join(tmpdir(), 'tessera-serve-format-'))
  layout = join(root, 'layout')
  policy = join(root, 'policy.json')
  await writeFile(policy, JSON.stringify({ default: [{ type: 'insecureAcceptAnything' }] }))
  await buildImage()
  importedRoot = json<{ root: string }>(runTessera(['import', `oci:${layout}:app`, '--name', 'app', '--json'], { store: join(root, 'reference') })).root
  serve = await startServe(join(root, 'serve'))
  skopeo('copy', '--dest-tls-verify=false', `oci:${layout}:app`, `docker://${serve.host}/lib/app:v1`)
})

after(async () => {
  await serve?.stop()
  if (root !== '') await rm(root, { recursive: true, force: true })
})

/** The digest of the manifest a tag names. */
async function manifestDigest (url: string, repository: string, tag: string): Promise<string> {
  const r = await fetch(`${url}/v2/${repository}/manifests/${tag}`, { method: 'HEAD', headers: { accept: OCI_MANIFEST } })
  assert.equal(r.status, 200)
  return r.headers.get('docker-content-digest')!
}

async function tesseraReferrers (url: string, repository: string, subject: string): Promise<Array<{ digest: string, artifactType?: string, annotations?: Record<string, string> }>> {
  const r = await get(`${url}/v2/${repository}/referrers/${subject}?artifactType=${encodeURIComponent(TESSERA)}`)
  assert.equal(r.status, 200)
  assert.equal(r.headers.get('oci-filters-applied'), 'artifactType')
  return (JSON.parse(r.body.toString()) as { manifests: Array<{ digest: string, artifactType?: string }> }).manifests
}

t('an image pushed as layers is offered as a tessera referrer whose metadata and packs verify', async () => {
  const image = await manifestDigest(serve.url, 'lib/app', 'v1')
  const listed = await tesseraReferrers(serve.url, 'lib/app', image)
  assert.equal(listed.length, 1, serve.log().split('\n').filter((l) => /offer/.test(l)).join('\n'))
  assert.equal(listed[0]!.artifactType, TESSERA)
  assert.equal(listed[0]!.annotations?.['tessera.snapshot.root'], importedRoot, 'the root `import oci:` gives')
  const digest = listed[0]!.digest
  const m = await get(`${serve.url}/v2/lib/app/manifests/${digest}`, { accept: OCI_MANIFEST })
  assert.equal(m.status, 200)
  assert.equal(sha256(m.body), digest)
  const manifest = parseTesseraManifest(m.body, 'the offered manifest')
  assert.equal(manifest.subject?.digest, image)
  assert.equal(manifest.root, importedRoot)

  // §11.2: the metadata decodes and checks (trees, chunk table, records inside their packs).
  const metaBlob = await get(`${serve.url}/v2/lib/app/blobs/${manifest.metadata.digest}`)
  assert.equal(sha256(metaBlob.body), manifest.metadata.digest)
  const metadata = decodeMetadataBlob(metaBlob.body)
  checkManifestAgainstMetadata(manifest, metadata, 'the offered manifest')
  assert.ok(metadata.packs.length >= 1)
  // §11.3: each pack is a pack file whose listed records hold their chunks.
  let listedChunks = 0
  for (const pack of metadata.packs) {
    const p = await get(`${serve.url}/v2/lib/app/blobs/${sha256Hex(pack.digest)}`)
    assert.equal(p.status, 200)
    assert.equal(p.body.length, pack.size)
    assert.equal(sha256(p.body), sha256Hex(pack.digest))
    assert.equal(p.body.subarray(0, 8).toString('latin1'), 'tspack1\n')
    for (let j = 0; j < pack.offsets.length; j++) {
      const at = pack.offsets[j]!
      const d = pack.chunks.subarray(32 * j, 32 * j + 32)
      assert.ok(p.body.subarray(at - 36, at - 4).equals(Buffer.from(d)), 'the record header names the chunk')
      assert.equal(p.body.readUInt32LE(at - 4), pack.storedLengths[j])
      const bytes = decodeStored(p.body.subarray(at, at + pack.storedLengths[j]!), d, 'chunk', pack.lengths[j]!)
      assert.equal(bytes.length, pack.lengths[j])
      listedChunks++
    }
    // A range of records, as a puller asks for it, is those bytes.
    const j = Math.floor(pack.offsets.length / 2)
    const start = pack.offsets[j]! - 36
    const end = pack.offsets[j]! + pack.storedLengths[j]!
    const ranged = await get(`${serve.url}/v2/lib/app/blobs/${sha256Hex(pack.digest)}`, { range: `bytes=${start}-${end - 1}` })
    assert.equal(ranged.status, 206)
    assert.ok(ranged.body.equals(p.body.subarray(start, end)))
  }
  assert.equal(listedChunks, metadata.chunks.size)

  // Stable: the same answers again, and through the fallback tag and an unfiltered listing.
  assert.deepEqual((await tesseraReferrers(serve.url, 'lib/app', image)).map((d) => d.digest), [digest])
  const all = JSON.parse((await get(`${serve.url}/v2/lib/app/referrers/${image}`)).body.toString()) as { manifests: Array<{ digest: string }> }
  assert.deepEqual(all.manifests.map((d) => d.digest), [digest])
  const fallback = await get(`${serve.url}/v2/lib/app/manifests/sha256-${image.slice(7)}`, { accept: 'application/vnd.oci.image.index.v1+json' })
  assert.equal(fallback.status, 200)
  assert.equal(fallback.headers.get('content-type'), 'application/vnd.oci.image.index.v1+json')
  assert.deepEqual((JSON.parse(fallback.body.toString()) as { manifests: Array<{ digest: string }> }).manifests.map((d) => d.digest), [digest])
  assert.equal((await get(`${serve.url}/v2/lib/app/manifests/sha256-${'0'.repeat(64)}`)).status, 404, 'no referrers, no fallback tag')
  const tags = JSON.parse((await get(`${serve.url}/v2/lib/app/tags/list`)).body.toString()) as { tags: string[] }
  assert.deepEqual(tags.tags, ['v1'], 'nothing offered shows as a tag')

  // Another repository with the same image links the same manifest; nothing is built twice.
  skopeo('copy', '--dest-tls-verify=false', `oci:${layout}:app`, `docker://${serve.host}/team/copy:v1`)
  assert.deepEqual((await tesseraReferrers(serve.url, 'team/copy', image)).map((d) => d.digest), [digest])
  assert.equal(serve.log().match(/offering \S+ in tessera's format/g)?.length, 1, serve.log())
})

const sha256Hex = (d: Uint8Array): string => `sha256:${Buffer.from(d).toString('hex')}`

t('tessera pulls the offered image to the root of `import oci:`, and reads it lazily', async () => {
  const proxy = await startCountingProxy(serve.url)
  try {
    const store = await openStore(join(root, 'pulled'))
    try {
      const repo = openRepository(`docker://${proxy.host}/lib/app:v1`, { tlsVerify: false })
      const pulled = await pullSnapshot(store, repo, { name: 'app' })
      assert.equal(pulled.kind, 'tessera')
      assert.equal(pulled.image, await manifestDigest(serve.url, 'lib/app', 'v1'))
      assert.notEqual(pulled.manifest, pulled.image)
      assert.equal(pulled.root, importedRoot)
      const reader = await SnapshotReader.open(store, 'app')
      assert.ok((await collect(reader.readFile('/usr/bin/tool'))).equals(tool))
    } finally {
      await store.close()
    }
    // The CLI the same way: `pull`, then `cat` of the image where it is
    // (straight to serve: the proxy runs in this process, which waits for the CLI).
    const cliPull = json<{ root: string, image: string }>(runTessera(['pull', `docker://${serve.host}/lib/app:v1`, '--name', 'app', '--tls-verify=false', '--json'], { store: join(root, 'pulled-cli') }))
    assert.equal(cliPull.root, importedRoot)
    assert.equal(cliPull.image, await manifestDigest(serve.url, 'lib/app', 'v1'))
    const cat = runTessera(['cat', `docker://${serve.host}/lib/app:v1`, '/usr/bin/tool', '--offset', '2000000', '--length', '5000', '--tls-verify=false', '--no-cache'], { store: join(root, 'no-store') })
    assert.equal(cat.code, 0, cat.stderr)
    assert.ok(cat.stdout.equals(tool.subarray(2_000_000, 2_005_000)))
    proxy.reset()
    const remote = await RemoteSnapshot.open(openRepository(`docker://${proxy.host}/lib/app:v1`, { tlsVerify: false }))
    assert.equal(remote.root, importedRoot)
    const reader = await SnapshotReader.open(remote, remote.reference)
    const piece = await collect(reader.readFile('/usr/bin/tool', { offset: 1_000_000, length: 4096 }))
    assert.ok(piece.equals(tool.subarray(1_000_000, 1_004_096)))
    const blobBytes = proxy.counts().byRoute['GET blob']?.bytesOut ?? 0
    const metadataSize = remote.metadata.packs.length > 0 ? (await get(`${serve.url}/v2/lib/app/manifests/${remote.manifestDigest}`, { accept: OCI_MANIFEST })) : undefined
    const metadataBytes = parseTesseraManifest(metadataSize!.body, 'offered').metadata.size
    assert.ok(blobBytes < metadataBytes + 600 * 1024, `a 4 KiB read fetched ${blobBytes} blob bytes (the ${metadataBytes}-byte metadata and a chunk or two)`)
    // Reads of several files at once: their chunks come in multi-range GETs, answered 206 multipart.
    proxy.reset()
    const names = ['/usr/share/doc/tessera/FORMAT.md', '/usr/share/doc/tessera/API.md', '/usr/src/tessera/index.ts', '/usr/src/tessera/errors.ts']
    const read = await Promise.all(names.map(async (n) => await collect(reader.readFile(n))))
    for (const [i, n] of names.entries()) assert.ok(read[i]!.equals(await readFile(join(repoRoot, n.replace('/usr/share/doc/tessera/', 'docs/').replace('/usr/src/tessera/', 'src/')))), n)
    const gets = proxy.log.filter((e) => e.route === 'GET blob')
    assert.ok(gets.some((e) => e.range?.includes(',') === true && e.status === 206), JSON.stringify(gets.map((e) => [e.range, e.status])))
    assert.ok(gets.every((e) => e.status === 206), 'no whole blob')
  } finally {
    await proxy.close()
  }
})

t('a tessera image pushed to serve is stored once, and comes back byte for byte', async () => {
  const serveStore = join(root, 'serve-push')
  // The image's layers first, as skopeo pushes them; then the figures of the store.
  let s = await startServe(serveStore)
  skopeo('copy', '--dest-tls-verify=false', `oci:${layout}:app`, `docker://${s.host}/lib/app:v1`)
  assert.equal(await s.stop(), 0)
  const before = json<{ chunks: number, chunkBytes: number, storedBytes: number }>(runTessera(['stats', '--json'], { store: serveStore }))

  s = await startServe(serveStore)
  let pushedPacks = 0
  let packBytes = 0
  let metadataBytes = 0
  let manifestDigestPushed = ''
  try {
    const local = await openStore(join(root, 'reference'))
    try {
      const result = await pushSnapshot(local, 'app', openRepository(`docker://${s.host}/lib/pushed:v1`, { tlsVerify: false }))
      pushedPacks = result.uploadedPacks
      manifestDigestPushed = result.manifest
      assert.equal(result.root, importedRoot)
    } finally {
      await local.close()
    }
    assert.ok(pushedPacks >= 1, 'packs were uploaded')
    const m = parseTesseraManifest((await get(`${s.url}/v2/lib/pushed/manifests/v1`, { accept: OCI_MANIFEST })).body, 'pushed')
    for (const p of m.packs) packBytes += p.size
    metadataBytes = m.metadata.size
    const stats = await (await fetch(`${s.url}/tessera/stats`)).json() as { repositories: Record<string, { reproducedBlobs: number, storedBytes: number }> }
    assert.equal(stats.repositories['lib/pushed']!.reproducedBlobs, m.packs.length, 'every pack kept as a pack recipe')

    // Back through skopeo, byte for byte.
    const out = join(root, 'pulled-skopeo')
    skopeo('copy', '--src-tls-verify=false', `docker://${s.host}/lib/pushed:v1`, `oci:${out}:v1`)
    const index = JSON.parse(await readFile(join(out, 'index.json'), 'utf8')) as { manifests: Array<{ digest: string }> }
    assert.equal(index.manifests[0]!.digest, manifestDigestPushed, 'the same manifest')
    for (const d of [m.metadata, ...m.packs]) {
      const bytes = await readFile(join(out, 'blobs', 'sha256', d.digest.slice(7)))
      assert.equal(sha256(bytes), d.digest)
      assert.equal(bytes.length, d.size)
    }
    // And through a pull into an empty store.
    const store = await openStore(join(root, 'pulled-pushed'))
    try {
      const pulled = await pullSnapshot(store, openRepository(`docker://${s.host}/lib/pushed:v1`, { tlsVerify: false }), { name: 'app' })
      assert.equal(pulled.kind, 'tessera')
      assert.equal(pulled.root, importedRoot)
    } finally {
      await store.close()
    }
  } finally {
    assert.equal(await s.stop(), 0)
  }
  const afterPush = json<{ chunks: number, chunkBytes: number, storedBytes: number }>(runTessera(['stats', '--json'], { store: serveStore }))
  // The packs' chunks were all there (from the layers): only the metadata
  // blob (kept whole) and the recipes' small streams are new.
  assert.equal(afterPush.chunks - before.chunks <= 2 + 2 * pushedPacks + Math.ceil(metadataBytes / 16384), true, `${afterPush.chunks - before.chunks} new chunks`)
  assert.ok(afterPush.chunkBytes - before.chunkBytes < metadataBytes + packBytes / 100, `chunk bytes grew by ${afterPush.chunkBytes - before.chunkBytes} for ${packBytes} bytes of packs and ${metadataBytes} of metadata`)
  assert.ok(afterPush.storedBytes - before.storedBytes < metadataBytes + packBytes / 100, `stored bytes grew by ${afterPush.storedBytes - before.storedBytes}`)
})

t('a hostile pack blob pushed over HTTP is kept as pushed and served byte for byte', async () => {
  const record = (digest: Buffer, stored: Buffer, declared = stored.length): Buffer => {
    const h = Buffer.alloc(36)
    digest.copy(h)
    h.writeUInt32LE(declared, 32)
    return Buffer.concat([h, stored])
  }
  const good = Buffer.concat([Buffer.from([0]), lcgBytes(2000, 5)])
  const goodDigest = createHash('sha256').update(good.subarray(1)).digest()
  for (const blob of [
    Buffer.concat([Buffer.from('tspack1\n'), record(goodDigest, good), record(Buffer.alloc(32, 9), good)]),
    Buffer.concat([Buffer.from('tspack1\n'), record(goodDigest, good, 0xffffffff)]),
    Buffer.concat([Buffer.from('tspack1\n'), record(goodDigest, good)]).subarray(0, 1000)
  ]) {
    const digest = sha256(blob)
    const r = await fetch(`${serve.url}/v2/lib/hostile/blobs/uploads/?digest=${digest}`, { method: 'POST', body: blob, headers: { 'content-type': 'application/octet-stream' } })
    assert.equal(r.status, 201)
    const back = await get(`${serve.url}/v2/lib/hostile/blobs/${digest}`)
    assert.ok(back.body.equals(blob))
  }
  const stats = await (await fetch(`${serve.url}/tessera/stats`)).json() as { repositories: Record<string, { wholeBlobs: number, reproducedBlobs: number }> }
  assert.deepEqual([stats.repositories['lib/hostile']!.wholeBlobs, stats.repositories['lib/hostile']!.reproducedBlobs], [3, 0])
})

t('what serve offered survives gc and a restart: listed at once, pulled whole, fsck clean', async () => {
  const image = await manifestDigest(serve.url, 'lib/app', 'v1')
  const offered = (await tesseraReferrers(serve.url, 'lib/app', image))[0]!.digest
  assert.equal(await serve.stop(), 0)
  const store = join(root, 'serve')
  const collected = json<{ deleted: { chunks: number, trees: number } }>(runTessera(['gc', '--json'], { store }))
  assert.ok(collected.deleted.trees > 0, 'the import\'s own trees were not refs: gc took them (the metadata blob has them)')
  const fsck = runTessera(['fsck'], { store })
  assert.equal(fsck.code, 0, fsck.stdout.toString() + fsck.stderr)
  serve = await startServe(store)
  assert.deepEqual((await tesseraReferrers(serve.url, 'lib/app', image)).map((d) => d.digest), [offered])
  assert.doesNotMatch(serve.log(), /offering/, 'nothing built again')
  const pulled = await openStore(join(root, 'pulled-after-gc'))
  try {
    const result = await pullSnapshot(pulled, openRepository(`docker://${serve.host}/lib/app:v1`, { tlsVerify: false }), { name: 'app' })
    assert.equal(result.manifest, offered)
    assert.equal(result.root, importedRoot)
  } finally {
    await pulled.close()
  }
  const check = runTessera(['fsck'], { store: join(root, 'pulled-after-gc') })
  assert.equal(check.code, 0, check.stdout.toString())
})

t('with --offer-on-push, the tessera form is built after the push without anyone asking for it', async () => {
  const s = await startServe(join(root, 'serve-eager'), ['--offer-on-push'])
  try {
    skopeo('copy', '--dest-tls-verify=false', `oci:${layout}:app`, `docker://${s.host}/lib/app:v1`)
    const image = await manifestDigest(s.url, 'lib/app', 'v1')
    // An unfiltered listing builds nothing: it shows the offer once the background build is done.
    let listed: Array<{ digest: string, artifactType?: string }> = []
    for (const deadline = Date.now() + 120_000; listed.length === 0 && Date.now() < deadline;) {
      listed = (JSON.parse((await get(`${s.url}/v2/lib/app/referrers/${image}`)).body.toString()) as { manifests: typeof listed }).manifests
      if (listed.length === 0) await new Promise((resolve) => setTimeout(resolve, 200))
    }
    assert.equal(listed.length, 1, s.log())
    assert.equal(listed[0]!.artifactType, TESSERA)
    assert.deepEqual((await tesseraReferrers(s.url, 'lib/app', image)).map((d) => d.digest), [listed[0]!.digest])
    assert.equal(s.log().match(/offering \S+ in tessera's format/g)?.length, 1)
  } finally {
    assert.equal(await s.stop(), 0)
  }
})
