import { test } from 'node:test'
import assert from 'node:assert/strict'
import { mkdtemp, rm, symlink, truncate, unlink, writeFile, appendFile, readFile, mkdir } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { gunzipSync } from 'node:zlib'
import { openOciLayout } from '../../src/oci/layout-source.js'
import { MEDIA_TYPES } from '../../src/oci/types.js'
import type { OciAmbiguousReferenceError, OciPlatformNotFoundError, OciReferenceNotFoundError } from '../../src/oci/errors.js'
import {
  BASE_FILES, TOP_FILES, addTag, blobFile, buildLayout, collect, copyLayout, digestOf, flipByte, readBlob, readIndex,
  readJsonBlob, rejectsWith, tagDescriptor, tarNames, writeBlob, writeIndex, type JsonDescriptor
} from './helpers.js'
import { missingTools } from '../helpers/tools.js'
import { runTessera } from '../helpers/cli.js'

const skip = missingTools('umoci')
const work = await mkdtemp(join(tmpdir(), 'tessera-oci-layout-'))
test.after(async () => { await rm(work, { recursive: true, force: true }) })
const layout = skip === false ? await buildLayout(work) : ''
let copies = 0
const fresh = async (): Promise<string> => await copyLayout(layout, join(work, `copy-${++copies}`))

test('a tag selects its image; manifest, config and layers are those of the layout', { skip }, async () => {
  const desc = await tagDescriptor(layout, 'top')
  const manifest = await readJsonBlob(layout, desc.digest)
  const img = await openOciLayout(layout, { reference: 'top' })
  try {
    assert.equal(img.manifestDigest, desc.digest)
    assert.equal(img.manifestMediaType, MEDIA_TYPES.ociManifest)
    assert.equal(img.configDigest, manifest.config.digest)
    assert.equal(digestOf(img.config), manifest.config.digest)
    assert.equal(img.reference, 'top')
    assert.deepEqual(img.layers.map((l) => l.descriptor), manifest.layers)
    const names: string[] = []
    for (const layer of img.layers) {
      const bytes = await collect(layer.open())
      assert.ok(bytes.equals(await readBlob(layout, layer.descriptor.digest)))
      names.push(...tarNames(gunzipSync(bytes), work))
    }
    for (const p of [...Object.keys(BASE_FILES), ...Object.keys(TOP_FILES)]) assert.ok(names.some((n) => n.endsWith(p)), p)
  } finally {
    await img.close()
  }
  const base = await openOciLayout(layout, { reference: 'base' })
  assert.equal(base.layers.length, 1)
  assert.equal(base.manifestDigest, (await tagDescriptor(layout, 'base')).digest)
})

test('no reference with several images is ambiguous and lists the tags; an unknown tag lists them too', { skip }, async () => {
  const amb = await rejectsWith(openOciLayout(layout), 'ERR_OCI_AMBIGUOUS_REFERENCE', /"base", "top"/) as OciAmbiguousReferenceError
  assert.deepEqual(amb.available, ['base', 'top'])
  const nf = await rejectsWith(openOciLayout(layout, { reference: 'nope' }), 'ERR_OCI_REFERENCE_NOT_FOUND', /"nope".*"base", "top"/) as OciReferenceNotFoundError
  assert.deepEqual(nf.available, ['base', 'top'])
})

test('no reference with one image takes it', { skip }, async () => {
  const l = await fresh()
  const index = await readIndex(l)
  index.manifests = index.manifests.filter((m) => m.annotations?.['org.opencontainers.image.ref.name'] === 'base')
  await writeIndex(l, index)
  const img = await openOciLayout(l)
  assert.equal(img.reference, 'base')
  assert.equal(img.manifestDigest, index.manifests[0]?.digest)
})

test('a digest reference selects a manifest; a tag equal to a digest string does not hijack it', { skip }, async () => {
  const top = await tagDescriptor(layout, 'top')
  const img = await openOciLayout(layout, { reference: top.digest })
  assert.equal(img.manifestDigest, top.digest)
  assert.equal(img.reference, top.digest)
  await rejectsWith(openOciLayout(layout, { reference: 'sha256:' + '0'.repeat(64) }), 'ERR_OCI_REFERENCE_NOT_FOUND')

  const l = await fresh()
  const base = await tagDescriptor(l, 'base')
  await addTag(l, top.digest, base) // a tag spelled like top's digest, pointing at base
  assert.equal((await openOciLayout(l, { reference: top.digest })).manifestDigest, top.digest)
})

test('a corrupted layer opens, and fails with ERR_OCI_BLOB_MISMATCH only when read', { skip }, async () => {
  const l = await fresh()
  const top = await readJsonBlob(l, (await tagDescriptor(l, 'top')).digest)
  const layerDigest: string = top.layers[1].digest
  await flipByte(blobFile(l, layerDigest), 40)
  const img = await openOciLayout(l, { reference: 'top' })
  await collect(img.layers[0]!.open()) // the other layer is fine
  const err = await rejectsWith(collect(img.layers[1]!.open()), 'ERR_OCI_BLOB_MISMATCH', /layer 1 does not match its digest/)
  assert.equal((err as unknown as { digest: string }).digest, layerDigest)
})

test('a layer blob longer or shorter than its descriptor fails when read', { skip }, async () => {
  const l = await fresh()
  const top = await readJsonBlob(l, (await tagDescriptor(l, 'top')).digest)
  await appendFile(blobFile(l, top.layers[0].digest), Buffer.alloc(10 * 1024 * 1024))
  await truncate(blobFile(l, top.layers[1].digest), top.layers[1].size - 1)
  const img = await openOciLayout(l, { reference: 'top' })
  let seen = 0
  await rejectsWith(async () => { for await (const c of img.layers[0]!.open()) seen += c.length }, 'ERR_OCI_BLOB_MISMATCH', /longer/)
  assert.ok(seen <= top.layers[0].size, 'nothing past the declared size is passed on')
  await rejectsWith(collect(img.layers[1]!.open()), 'ERR_OCI_BLOB_MISMATCH', /shorter/)
})

test('a corrupted manifest or config fails when the image is opened', { skip }, async () => {
  const l1 = await fresh()
  const topDesc = await tagDescriptor(l1, 'top')
  await flipByte(blobFile(l1, topDesc.digest), 5)
  await rejectsWith(openOciLayout(l1, { reference: 'top' }), 'ERR_OCI_BLOB_MISMATCH', /manifest/)
  const l2 = await fresh()
  const top = await readJsonBlob(l2, topDesc.digest)
  await flipByte(blobFile(l2, top.config.digest), 3)
  await rejectsWith(openOciLayout(l2, { reference: 'top' }), 'ERR_OCI_BLOB_MISMATCH', /config/)
})

test('a missing blob is ERR_OCI_MISSING_BLOB naming its digest', { skip }, async () => {
  const l = await fresh()
  const topDesc = await tagDescriptor(l, 'top')
  const top = await readJsonBlob(l, topDesc.digest)
  await unlink(blobFile(l, top.layers[1].digest))
  const err = await rejectsWith(openOciLayout(l, { reference: 'top' }), 'ERR_OCI_MISSING_BLOB')
  assert.ok(err.message.includes(top.layers[1].digest))
  assert.equal((err as unknown as { digest: string }).digest, top.layers[1].digest)
  await unlink(blobFile(l, topDesc.digest))
  const err2 = await rejectsWith(openOciLayout(l, { reference: 'top' }), 'ERR_OCI_MISSING_BLOB')
  assert.ok(err2.message.includes(topDesc.digest))
})

test('unsupported layer and config media types', { skip }, async () => {
  const l = await fresh()
  const top = await readJsonBlob(l, (await tagDescriptor(l, 'top')).digest)
  const odd = { ...top, layers: [top.layers[0], { ...top.layers[1], mediaType: 'application/vnd.example.layer.v1+tar' }] }
  await addTag(l, 'odd', await writeBlob(l, odd, MEDIA_TYPES.ociManifest))
  const e = await rejectsWith(openOciLayout(l, { reference: 'odd' }), 'ERR_OCI_UNSUPPORTED_MEDIA_TYPE', /layer 1/)
  assert.equal((e as unknown as { mediaType: string }).mediaType, 'application/vnd.example.layer.v1+tar')
  const artifact = { ...top, config: { mediaType: 'application/vnd.oci.empty.v1+json', digest: digestOf(Buffer.from('{}')), size: 2 } }
  await writeBlob(l, '{}', 'application/vnd.oci.empty.v1+json')
  await addTag(l, 'artifact', await writeBlob(l, artifact, MEDIA_TYPES.ociManifest))
  await rejectsWith(openOciLayout(l, { reference: 'artifact' }), 'ERR_OCI_UNSUPPORTED_MEDIA_TYPE', /config media type/)
  await addTag(l, 'weird', await writeBlob(l, 'x', 'application/octet-stream'))
  await rejectsWith(openOciLayout(l, { reference: 'weird' }), 'ERR_OCI_UNSUPPORTED_MEDIA_TYPE')
})

test('a manifest with 100,000 layers is refused quickly with ERR_OCI_INVALID', { skip }, async () => {
  const l = await fresh()
  const top = await readJsonBlob(l, (await tagDescriptor(l, 'top')).digest)
  const huge = Buffer.from(`{"schemaVersion":2,"mediaType":"${MEDIA_TYPES.ociManifest}","config":${JSON.stringify(top.config)},"layers":[${Array(100_000).fill(JSON.stringify(top.layers[0])).join(',')}]}`)
  await addTag(l, 'huge', await writeBlob(l, huge, MEDIA_TYPES.ociManifest))
  let t = performance.now()
  await rejectsWith(openOciLayout(l, { reference: 'huge' }), 'ERR_OCI_INVALID', /above the 4194304-byte limit/)
  assert.ok(performance.now() - t < 500, 'refused from the declared size')
  t = performance.now()
  await rejectsWith(openOciLayout(l, { reference: 'huge', limits: { maxManifestBytes: 64 * 1024 * 1024 } }), 'ERR_OCI_INVALID', /100000 layers, above the limit of 1000/)
  assert.ok(performance.now() - t < 10_000)
})

test('an index.json above the limit is refused without reading it', { skip }, async () => {
  const l = await fresh()
  const index = await readIndex(l)
  await writeIndex(l, JSON.stringify({ ...index, padding: 'x'.repeat(5 * 1024 * 1024) }))
  await rejectsWith(openOciLayout(l, { reference: 'base' }), 'ERR_OCI_INVALID', /index\.json is \d+ bytes, above the 4194304-byte limit/)
})

test('a digest with ../ never reaches a file outside blobs/sha256', { skip }, async () => {
  const l = await fresh()
  const topDesc = await tagDescriptor(l, 'top')
  // a valid manifest outside blobs/: a naive join(blobs, "sha256", hex) would find it
  await writeFile(join(l, 'evil'), await readBlob(l, topDesc.digest))
  for (const digest of ['sha256:../../evil', 'sha256:../../../' + 'a'.repeat(55), 'sha256:' + topDesc.digest.slice(7).toUpperCase(), 'sha256:/etc/passwd', 'sha512:../../evil']) {
    const index = await readIndex(l)
    index.manifests = [{ ...topDesc, digest }]
    await writeIndex(l, index)
    const err = await rejectsWith(openOciLayout(l), 'ERR_OCI_INVALID')
    assert.match(err.message, /digest/)
  }
  // in a manifest's layers too
  const top = await readJsonBlob(l, topDesc.digest)
  const evil = { ...top, layers: [{ ...top.layers[0], digest: 'sha256:../../../evil' }] }
  await writeIndex(l, { schemaVersion: 2, manifests: [await writeBlob(l, evil, MEDIA_TYPES.ociManifest)] })
  await rejectsWith(openOciLayout(l), 'ERR_OCI_INVALID', /not a sha256 digest/)
})

test('symbolic links in blobs/ are refused', { skip }, async () => {
  const l = await fresh()
  const top = await readJsonBlob(l, (await tagDescriptor(l, 'top')).digest)
  const p = blobFile(l, top.layers[1].digest)
  const outside = join(work, `outside-${copies}`)
  await writeFile(outside, await readFile(p))
  await unlink(p)
  await symlink(outside, p)
  await rejectsWith(openOciLayout(l, { reference: 'top' }), 'ERR_OCI_INVALID', /symbolic link/)

  const l2 = await fresh()
  const real = join(work, `blobs-elsewhere-${copies}`)
  await copyLayout(join(l2, 'blobs'), real)
  await rm(join(l2, 'blobs'), { recursive: true })
  await symlink(real, join(l2, 'blobs'))
  await rejectsWith(openOciLayout(l2, { reference: 'top' }), 'ERR_OCI_INVALID', /symbolic link/)
})

test('oci-layout must exist and say 1.0.0; a missing layout is ERR_NOT_FOUND', { skip }, async () => {
  const l = await fresh()
  await writeFile(join(l, 'oci-layout'), '{"imageLayoutVersion":"2.0.0"}')
  await rejectsWith(openOciLayout(l, { reference: 'base' }), 'ERR_UNSUPPORTED', /2\.0\.0/)
  await unlink(join(l, 'oci-layout'))
  await rejectsWith(openOciLayout(l, { reference: 'base' }), 'ERR_OCI_INVALID', /no oci-layout/)
  await rejectsWith(openOciLayout(join(work, 'does-not-exist')), 'ERR_NOT_FOUND')
  const l2 = await fresh()
  await writeIndex(l2, '{"schemaVersion":2,"manifests":[],"manifests":[]}')
  await rejectsWith(openOciLayout(l2), 'ERR_OCI_INVALID', /duplicate/)
  await writeIndex(l2, { schemaVersion: 2, manifests: [] })
  await rejectsWith(openOciLayout(l2), 'ERR_OCI_INVALID', /lists no image/)
})

/** A layout whose tag "multi" is an index of base (amd64), top (arm64/v8) and an attestation. */
async function multiPlatformLayout (): Promise<{ l: string, base: JsonDescriptor, top: JsonDescriptor, index: JsonDescriptor }> {
  const l = await fresh()
  const base = await tagDescriptor(l, 'base')
  const top = await tagDescriptor(l, 'top')
  const strip = (d: JsonDescriptor): JsonDescriptor => ({ mediaType: d.mediaType, digest: d.digest, size: d.size })
  const attestation = await writeBlob(l, '{"not":"an image"}', MEDIA_TYPES.ociManifest)
  const index = await writeBlob(l, {
    schemaVersion: 2,
    mediaType: MEDIA_TYPES.ociIndex,
    manifests: [
      { ...strip(attestation), platform: { os: 'unknown', architecture: 'unknown' }, annotations: { 'vnd.docker.reference.type': 'attestation-manifest' } },
      { ...strip(base), platform: { os: 'linux', architecture: 'amd64' } },
      { ...strip(top), platform: { os: 'linux', architecture: 'arm64', variant: 'v8' } }
    ]
  }, MEDIA_TYPES.ociIndex)
  await addTag(l, 'multi', index)
  return { l, base, top, index }
}

test('nested index: the platform is chosen, attestations skipped, absent platforms listed', { skip }, async () => {
  const { l, base, top, index } = await multiPlatformLayout()
  assert.equal((await openOciLayout(l, { reference: 'multi', platform: 'linux/amd64' })).manifestDigest, base.digest)
  assert.equal((await openOciLayout(l, { reference: 'multi', platform: 'linux/arm64' })).manifestDigest, top.digest)
  assert.equal((await openOciLayout(l, { reference: 'multi', platform: { os: 'linux', architecture: 'arm64', variant: 'v8' } })).manifestDigest, top.digest)
  const err = await rejectsWith(openOciLayout(l, { reference: 'multi', platform: 'linux/s390x' }), 'ERR_OCI_PLATFORM_NOT_FOUND', /"linux\/amd64", "linux\/arm64\/v8"/) as OciPlatformNotFoundError
  assert.deepEqual(err.available, ['linux/amd64', 'linux/arm64/v8'])
  // by the index's digest, and by a nested manifest's digest
  assert.equal((await openOciLayout(l, { reference: index.digest, platform: 'linux/arm64' })).manifestDigest, top.digest)
  await rejectsWith(openOciLayout(l, { reference: 'multi', platform: 'linux' }), 'ERR_INVALID_ARGUMENT')
  // only untagged per-platform entries in index.json: a platform choice, not an ambiguity
  const idx = await readJsonBlob(l, index.digest)
  await writeIndex(l, idx)
  assert.equal((await openOciLayout(l, { platform: 'linux/amd64' })).manifestDigest, base.digest)
})

test('a digest reference finds a manifest listed only in a nested index', { skip }, async () => {
  const { l, top } = await multiPlatformLayout()
  const index = await readIndex(l)
  const multi = index.manifests.find((m) => m.annotations?.['org.opencontainers.image.ref.name'] === 'multi')!
  await writeIndex(l, { ...index, manifests: [multi] })
  const img = await openOciLayout(l, { reference: top.digest })
  assert.equal(img.manifestDigest, top.digest)
  // The nested index lists it as linux/arm64/v8: a platform asked for must be that one.
  assert.equal((await openOciLayout(l, { reference: top.digest, platform: 'linux/arm64' })).manifestDigest, top.digest)
  await rejectsWith(openOciLayout(l, { reference: top.digest, platform: 'linux/amd64' }), 'ERR_OCI_PLATFORM_NOT_FOUND', /available: "linux\/arm64\/v8"/)
})

/** A copy of the layout whose `base` image's config says `platform` (a new config, manifest and index entry). */
async function retargeted (platform: { os: string, architecture: string, variant?: string }): Promise<string> {
  const l = await fresh()
  const desc = await tagDescriptor(l, 'base')
  const manifest = await readJsonBlob(l, desc.digest)
  const config = { ...await readJsonBlob(l, manifest.config.digest), ...platform }
  manifest.config = await writeBlob(l, config, manifest.config.mediaType)
  const moved = await writeBlob(l, manifest, desc.mediaType)
  await writeIndex(l, { schemaVersion: 2, manifests: [{ ...moved, annotations: desc.annotations }] })
  return l
}

test('a platform asked for must be the platform of a single-platform image', { skip }, async () => {
  const arm = await retargeted({ os: 'linux', architecture: 'arm64', variant: 'v8' })
  // Not asked: taken whatever its platform (an image for another machine may be imported to export it again).
  assert.ok((await openOciLayout(arm)).manifestDigest.startsWith('sha256:'))
  for (const platform of ['linux/arm64', 'linux/arm64/v8', { os: 'linux', architecture: 'aarch64' }]) {
    assert.ok((await openOciLayout(arm, { platform })).manifestDigest.startsWith('sha256:'), JSON.stringify(platform))
  }
  const err = await rejectsWith(openOciLayout(arm, { platform: 'linux/amd64' }), 'ERR_OCI_PLATFORM_NOT_FOUND',
    /^image "base" \(of one platform\) has no image for platform "linux\/amd64"; available: "linux\/arm64\/v8"$/) as OciPlatformNotFoundError
  assert.deepEqual(err.available, ['linux/arm64/v8'])
  await rejectsWith(openOciLayout(await retargeted({ os: 'linux', architecture: 'amd64' }), { platform: 'linux/arm64' }), 'ERR_OCI_PLATFORM_NOT_FOUND', /available: "linux\/amd64"/)
  await rejectsWith(openOciLayout(await retargeted({ os: 'windows', architecture: 'amd64' }), { platform: 'linux/amd64' }), 'ERR_OCI_PLATFORM_NOT_FOUND', /available: "windows\/amd64"/)
  await rejectsWith(openOciLayout(await retargeted({ os: '', architecture: '' }), { platform: 'linux/amd64' }), 'ERR_OCI_PLATFORM_NOT_FOUND', /\(no platform in its config\)/)
  // The CLI's --platform: one line, nothing imported.
  const store = join(work, 'platform-store')
  const refused = runTessera(['import', `oci:${arm}`, '--name', 'x', '--platform', 'linux/amd64'], { store })
  assert.equal(refused.code, 1)
  assert.equal(refused.stderr, 'tessera: ERR_OCI_PLATFORM_NOT_FOUND: image "base" (of one platform) has no image for platform "linux/amd64"; available: "linux/arm64/v8"\n')
  assert.equal(runTessera(['import', `oci:${arm}`, '--name', 'x', '--platform', 'linux/arm64'], { store }).code, 0)
  assert.deepEqual(JSON.parse(runTessera(['snapshots', '--json'], { store }).stdout.toString()).map((r: { name: string }) => r.name), ['x'])
})

test('indexes nested deeper than the limit are refused', { skip }, async () => {
  const l = await fresh()
  let d = await tagDescriptor(l, 'base')
  d = { mediaType: d.mediaType, digest: d.digest, size: d.size }
  for (let i = 0; i < 8; i++) {
    d = await writeBlob(l, { schemaVersion: 2, mediaType: MEDIA_TYPES.ociIndex, manifests: [d] }, MEDIA_TYPES.ociIndex)
  }
  await addTag(l, 'deep', d)
  await rejectsWith(openOciLayout(l, { reference: 'deep' }), 'ERR_OCI_INVALID', /nested deeper than the limit of 8/)
  assert.ok((await openOciLayout(l, { reference: 'deep', limits: { maxIndexDepth: 9 } })).manifestDigest.startsWith('sha256:'))
})

test('a tag naming several different images without platforms is ambiguous', { skip }, async () => {
  const l = await fresh()
  const index = await readIndex(l)
  for (const m of index.manifests) m.annotations = { 'org.opencontainers.image.ref.name': 'same' }
  await writeIndex(l, index)
  await rejectsWith(openOciLayout(l, { reference: 'same' }), 'ERR_OCI_AMBIGUOUS_REFERENCE')
})

test('an aborted signal stops opening and reading', { skip }, async () => {
  const ac = new AbortController()
  ac.abort()
  await rejectsWith(openOciLayout(layout, { reference: 'top', signal: ac.signal }), 'ERR_ABORTED')
  const img = await openOciLayout(layout, { reference: 'top' })
  await rejectsWith(collect(img.layers[0]!.open({ signal: ac.signal })), 'ERR_ABORTED')
  await img.close()
  await rejectsWith(collect(img.layers[0]!.open()), 'ERR_INVALID_ARGUMENT', /closed/)
})

test('a layout written by skopeo reads the same', { skip: missingTools('umoci', 'skopeo') }, async () => {
  const { skopeo } = await import('./helpers.js')
  const out = join(work, 'skopeo-layout')
  await mkdir(out)
  skopeo(['copy', '--quiet', `oci:${layout}:top`, `oci:${out}:copied`])
  const a = await openOciLayout(layout, { reference: 'top' })
  const b = await openOciLayout(out, { reference: 'copied' })
  assert.equal(b.configDigest, a.configDigest)
  assert.deepEqual(b.layers.map((x) => x.descriptor.digest), a.layers.map((x) => x.descriptor.digest))
})
