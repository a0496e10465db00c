/**
 * Offering images pushed as layers in tessera's format
 * (`src/registry/offer/`), on the registry store over a memory store:
 * layers made by GNU tar, gzipped by Node's zlib (kept as a recipe) and in
 * two gzip members (kept whole); the reference root is `import oci:` of the same
 * image written as an OCI layout. Checks the snapshot, the packs and the
 * metadata, one build for concurrent and repeated requests, another
 * repository linking the same records, a deleted blob rebuilt to the same
 * digests, what is never offered, and that gc keeps everything offered.
 */
import { test } from 'node:test'
import assert from 'node:assert/strict'
import { execFile } from 'node:child_process'
import { createHash } from 'node:crypto'
import { mkdir, readFile, writeFile } from 'node:fs/promises'
import { join } from 'node:path'
import { promisify } from 'node:util'
import { gzipSync } from 'node:zlib'
import { MemoryLevel } from 'memory-level'
import { checkManifestAgainstMetadata, parseTesseraManifest } from '../../../src/distribution/manifest.js'
import { decodeMetadataBlob } from '../../../src/distribution/metadata.js'
import { gc } from '../../../src/maintenance/gc.js'
import { importImage } from '../../../src/oci/import.js'
import { openOciLayout } from '../../../src/oci/layout-source.js'
import { createSnapshotOffers } from '../../../src/registry/offer/index.js'
import { openMemoryStore } from '../../../src/store/index.js'
import { loadZstd } from '../../../src/store/zstd.js'
import { lcgBytes } from '../../helpers/fixture.js'
import { missingTools } from '../../helpers/tools.js'
import { collect, digestOf, json, openFixture, removeTempDirs, streamOf, tempDir, type Fixture } from '../backend/helpers.js'

test.after(removeTempDirs)

const run = promisify(execFile)
const skip = missingTools('tar')
const TESSERA = 'application/vnd.tessera.snapshot.v1'
const memory = async (): Promise<MemoryLevel<Uint8Array, Uint8Array>> => new MemoryLevel({ keyEncoding: 'view', valueEncoding: 'view' })

/** A tar by GNU tar of a directory `edit` fills. */
async function tarOf (edit: (dir: string) => Promise<void>): Promise<Buffer> {
  const dir = await tempDir('tessera-offer-tree-')
  await edit(dir)
  const out = join(await tempDir('tessera-offer-tar-'), 'layer.tar')
  await run('tar', ['--sort=name', '--owner=0', '--group=0', '--numeric-owner', '--mtime=@0', '-C', dir, '-cf', out, '.'])
  return await readFile(out)
}

/** A gzip stream of two members: a valid layer whose compression no writer recreates (kept whole). */
function twoMembers (bytes: Buffer): Buffer {
  return Buffer.concat([gzipSync(bytes.subarray(0, 10_240)), gzipSync(bytes.subarray(10_240))])
}

interface Image { config: Uint8Array, layers: Uint8Array[], manifest: Uint8Array, digest: string }

/** Two layers: a base (zlib gzip, reproduced) and an upper one (two gzip members, kept whole) with a whiteout. */
async function makeImage (seed: number): Promise<Image> {
  const base = await tarOf(async (d) => {
    await mkdir(join(d, 'bin'))
    await writeFile(join(d, 'bin', 'tool'), lcgBytes(400_000, seed))
    await writeFile(join(d, 'bin', 'gone'), lcgBytes(70_000, seed + 1))
    await writeFile(join(d, 'motd'), 'hello\n')
  })
  const upper = await tarOf(async (d) => {
    await mkdir(join(d, 'bin'))
    await writeFile(join(d, 'bin', '.wh.gone'), '')
    await writeFile(join(d, 'bin', 'new'), lcgBytes(300_000, seed + 2))
  })
  const layers = [gzipSync(base), twoMembers(upper)]
  const config = json({ architecture: 'amd64', os: 'linux', rootfs: { type: 'layers', diff_ids: [digestOf(base), digestOf(upper)] } })
  const manifest = json({
    schemaVersion: 2,
    mediaType: 'application/vnd.oci.image.manifest.v1+json',
    config: { mediaType: 'application/vnd.oci.image.config.v1+json', digest: digestOf(config), size: config.length },
    layers: layers.map((l) => ({ mediaType: 'application/vnd.oci.image.layer.v1.tar+gzip', digest: digestOf(l), size: l.length }))
  })
  return { config, layers, manifest, digest: digestOf(manifest) }
}

async function push (f: Fixture, repository: string, image: Image, tag = 'v1'): Promise<void> {
  for (const b of [image.config, ...image.layers]) await f.registry.blobs.putBlob(streamOf(b), { digest: digestOf(b), size: b.length }, { repository })
  await f.registry.putManifest(repository, tag, 'application/vnd.oci.image.manifest.v1+json', image.manifest)
}

/** The root `import oci:` gives for the image, from a layout on disk. */
async function layoutRoot (image: Image): Promise<string> {
  const dir = await tempDir('tessera-offer-layout-')
  await mkdir(join(dir, 'blobs', 'sha256'), { recursive: true })
  for (const b of [image.config, ...image.layers, image.manifest]) await writeFile(join(dir, 'blobs', 'sha256', digestOf(b).slice(7)), b)
  await writeFile(join(dir, 'oci-layout'), JSON.stringify({ imageLayoutVersion: '1.0.0' }))
  await writeFile(join(dir, 'index.json'), JSON.stringify({ schemaVersion: 2, manifests: [{ mediaType: 'application/vnd.oci.image.manifest.v1+json', digest: image.digest, size: image.manifest.length, annotations: { 'org.opencontainers.image.ref.name': 'v1' } }] }))
  const store = await openMemoryStore()
  try {
    return (await importImage(store, await openOciLayout(dir, { reference: 'v1' }), { name: 'ref' })).root
  } finally {
    await store.close()
  }
}

const t = (name: string, fn: () => Promise<void>): void => { test(name, skip === false ? {} : { skip }, fn) }

t('an image is offered with the root of `import oci:`, its packs made of the chunks the store holds', async () => {
  await loadZstd()
  const f = await openFixture(memory)
  const lines: string[] = []
  const offers = createSnapshotOffers(f.registry, f.store, { onLog: (l) => lines.push(l) })
  try {
    const image = await makeImage(3)
    await push(f, 'lib/app', image)
    assert.equal((await f.registry.blobs.statBlob(digestOf(image.layers[0]!)))?.storage, 'reproduced')
    assert.equal((await f.registry.blobs.statBlob(digestOf(image.layers[1]!)))?.storage, 'whole')
    const before = await f.store.stats()
    const [a, b] = await Promise.all([offers.offer('lib/app', image.digest), offers.offer('lib/app', image.digest)])
    assert.ok(a !== undefined && b !== undefined)
    assert.equal(a.digest, b.digest)
    assert.equal(a.artifactType, TESSERA)
    assert.equal(lines.filter((l) => l.startsWith('offering')).length, 1, 'one build for both requests')
    assert.equal(a.annotations?.['tessera.snapshot.root'], await layoutRoot(image))
    assert.deepEqual((await f.registry.listReferrers('lib/app', image.digest, { artifactType: TESSERA })).map((d) => d.digest), [a.digest])

    const stored = (await f.registry.getManifest('lib/app', a.digest))!
    const manifest = parseTesseraManifest(stored.bytes, 'offered')
    assert.equal(manifest.subject?.digest, image.digest)
    const metadata = decodeMetadataBlob(await collect(f.registry.blobs.getBlob(manifest.metadata.digest)))
    checkManifestAgainstMetadata(manifest, metadata, 'offered')
    for (const p of manifest.packs) {
      assert.equal((await f.registry.blobs.statBlob(p.digest))?.storage, 'pack')
      assert.equal(digestOf(await collect(f.registry.blobs.getBlob(p.digest))), p.digest)
    }
    // The layers' chunks were there; the whole layer's file contents were
    // not (it is kept as FastCDC cuts of its gzip bytes), so only those are new.
    const after = await f.store.stats()
    assert.ok(after.chunkBytes - before.chunkBytes < 300_000 + 70_000 + manifest.metadata.size + 100_000, `${after.chunkBytes - before.chunkBytes} new chunk bytes`)
    assert.equal(await offers.offer('lib/app', image.digest).then((d) => d?.digest), a.digest, 'asked again: the same')
    assert.equal(lines.filter((l) => l.startsWith('offering')).length, 1)

    // gc keeps everything offered (the import's own trees and snapshot are not refs: the metadata blob has them).
    await gc(f.store)
    for (const d of [manifest.metadata, ...manifest.packs]) assert.equal(digestOf(await collect(f.registry.blobs.getBlob(d.digest))), d.digest, `${d.digest} after gc`)
  } finally {
    await offers.close()
    await f.close()
  }
})

t('another repository links the same records; a deleted blob is built again to the same digests', async () => {
  await loadZstd()
  const f = await openFixture(memory)
  const lines: string[] = []
  const offers = createSnapshotOffers(f.registry, f.store, { onLog: (l) => lines.push(l) })
  try {
    const image = await makeImage(4)
    await push(f, 'lib/app', image)
    const first = (await offers.offer('lib/app', image.digest))!
    await push(f, 'team/copy', image)
    assert.equal((await offers.offer('team/copy', image.digest))?.digest, first.digest)
    assert.equal(lines.filter((l) => l.startsWith('offering')).length, 1, 'linked, not built again')
    const manifest = parseTesseraManifest((await f.registry.getManifest('team/copy', first.digest))!.bytes, 'offered')
    for (const d of [manifest.metadata, ...manifest.packs]) assert.ok(await f.registry.hasBlobLink('team/copy', d.digest))

    // A pack deleted from the registry: the next repository gets a new build, with the same digests.
    assert.ok(await f.registry.blobs.deleteBlob(manifest.packs[0]!.digest))
    await push(f, 'other/third', image)
    assert.equal((await offers.offer('other/third', image.digest))?.digest, first.digest)
    assert.equal(lines.filter((l) => l.startsWith('offering')).length, 2, 'built again')
    assert.equal(digestOf(await collect(f.registry.blobs.getBlob(manifest.packs[0]!.digest))), manifest.packs[0]!.digest)
  } finally {
    await offers.close()
    await f.close()
  }
})

t('artifacts, configs without matching diff_ids, missing layers and bad layers are not offered', async () => {
  await loadZstd()
  const f = await openFixture(memory)
  const lines: string[] = []
  const offers = createSnapshotOffers(f.registry, f.store, { onLog: (l) => lines.push(l) })
  try {
    const image = await makeImage(5)
    for (const b of [image.config, ...image.layers]) await f.registry.blobs.putBlob(streamOf(b), { digest: digestOf(b), size: b.length }, { repository: 'lib/x' })
    const put = async (doc: unknown): Promise<string> => await f.registry.putManifest('lib/x', 'v', 'application/vnd.oci.image.manifest.v1+json', json(doc))
    const base = JSON.parse(Buffer.from(image.manifest).toString()) as Record<string, any>
    const cases: Array<[string, unknown, RegExp]> = [
      ['an artifact', { ...base, artifactType: 'application/vnd.example' }, /artifact/],
      ['a config of another type', { ...base, config: { ...base.config, mediaType: 'application/vnd.example.config' } }, /not an image config/],
      ['diff_ids that do not match the layers', { ...base, layers: base.layers.slice(0, 1) }, /2 diff_ids for 1 layers/],
      ['a layer of another media type', { ...base, layers: [base.layers[0], { ...base.layers[1], mediaType: 'application/octet-stream' }] }, /media type application\/octet-stream/],
      ['layers in the wrong order', { ...base, layers: [base.layers[1], base.layers[0]] }, /ERR_/]
    ]
    for (const [label, doc, reason] of cases) {
      const digest = await put(doc)
      assert.equal(await offers.offer('lib/x', digest), undefined, label)
      const said = lines.filter((l) => l.includes(digest))
      assert.equal(said.length, 1, `${label}: ${said.join(' | ')}`)
      assert.match(said[0]!, reason, label)
      assert.equal(await offers.offer('lib/x', digest), undefined, label)
      assert.equal(lines.filter((l) => l.includes(digest)).length, 1, `${label}: remembered, not tried again`)
    }
    assert.equal(await offers.offer('lib/x', digestOf(json('no such manifest'))), undefined)
    assert.equal(await offers.offer('lib/nothing', image.digest), undefined, 'a manifest not in the repository')
  } finally {
    await offers.close()
    await f.close()
  }
})
