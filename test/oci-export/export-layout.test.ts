import { test } from 'node:test'
import assert from 'node:assert/strict'
import { createHash } from 'node:crypto'
import { mkdir, mkdtemp, readdir, readFile, rm, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { gunzipSync } from 'node:zlib'
import { openMemoryStore } from '../../src/store/open.js'
import { importDirectory } from '../../src/importer/directory.js'
import { SnapshotReader } from '../../src/exporter/snapshot-reader.js'
import { exportTar } from '../../src/exporter/tar.js'
import { IMAGE_ANNOTATIONS } from '../../src/oci/annotations.js'
import {
  buildImageConfig, EPOCH, exportOciLayout, FLATTEN_CREATED_BY, hostArchitecture,
  type ExportOciLayoutResult, type OciLayerCompression
} from '../../src/oci/export-layout.js'
import { buildTree, describe, IMAGE_CONFIG, run } from './helpers.js'
import { skipUnless } from '../helpers/tools.js'
import { type LocalObjectStore } from '../../src/store/index.js'

const isRoot = process.getuid?.() === 0
const skip = skipUnless(['umoci', 'skopeo', 'zstd', 'getfattr', 'setfattr', 'mkfifo', 'mknod'], !isRoot && 'needs root (owners, device nodes, umoci unpack)')

const work = await mkdtemp(join(tmpdir(), 'tessera-oci-export-'))
test.after(async () => {
  await fixture?.store.close()
  await rm(work, { recursive: true, force: true })
})

const expectCode = (code: string) => (err: unknown): boolean => { assert.equal((err as { code?: string }).code, code, String(err)); return true }
const sha256hex = (b: Uint8Array): string => createHash('sha256').update(b).digest('hex')
const blob = async (layout: string, digest: string): Promise<Buffer> => await readFile(join(layout, 'blobs', 'sha256', digest.slice(7)))
const readJson = async (path: string): Promise<any> => JSON.parse(await readFile(path, 'utf8'))

let counter = 0
const fresh = (name: string): string => join(work, `${name}-${++counter}`)

/** The source tree, its snapshot in a memory store, and a policy for skopeo. */
interface Fixture { src: string, store: LocalObjectStore, reader: SnapshotReader, policy: string }
let fixture: Fixture | undefined
async function getFixture (): Promise<Fixture> {
  if (fixture !== undefined) return fixture
  const src = join(work, 'src')
  await mkdir(src)
  await buildTree(src)
  const store = await openMemoryStore()
  await importDirectory(store, src, {
    name: 'app',
    annotations: [
      [IMAGE_ANNOTATIONS.config, JSON.stringify(IMAGE_CONFIG)],
      [IMAGE_ANNOTATIONS.reference, 'example.invalid/app:1.0'],
      ['org.opencontainers.image.source', 'https://example.invalid/app']
    ]
  })
  const policy = join(work, 'policy.json')
  await writeFile(policy, JSON.stringify({ default: [{ type: 'insecureAcceptAnything' }] }))
  fixture = { src, store, reader: await SnapshotReader.open(store, 'app'), policy }
  return fixture
}

/** Unpack LAYOUT:TAG with umoci and check that its rootfs describes exactly like the source tree. */
async function assertUnpacksToSource (layout: string, tag: string, src: string): Promise<void> {
  const bundle = fresh('bundle')
  await run('umoci', ['unpack', '--image', `${layout}:${tag}`, bundle])
  const expected = await describe(src)
  const actual = await describe(join(bundle, 'rootfs'))
  assert.deepEqual(actual, expected)
  // The comparison covers what it should.
  assert.equal(expected['usr/bin/tool']!.mode, '0o4755')
  assert.deepEqual(expected['etc/passwd']!.links, ['data/passwd-copy', 'etc/passwd', 'etc/passwd-'])
  assert.equal(expected['run/ctl.fifo']!.type, 'fifo')
  assert.equal(expected['dev/null']!.type, 'char')
  assert.equal(expected['usr/bin/up']!.target, '../../etc/passwd')
  assert.equal(expected['etc/app.conf']!.xattrs!['user.binary'], '000102feff')
  assert.equal(expected['etc/app.conf']!.mtimeNs, '1650000000123456000')
  assert.equal(expected['empty/nested-empty']!.type, 'dir')
  assert.ok(expected['data/big.bin']!.size! > 1024 * 1024)
}

/** Checks every compression shares: index entry, manifest, config and the layer's diff_id. */
async function assertImage (layout: string, tag: string, r: ExportOciLayoutResult, tar: Buffer, decompress: (b: Buffer) => Buffer | Promise<Buffer>): Promise<void> {
  assert.deepEqual(await readJson(join(layout, 'oci-layout')), { imageLayoutVersion: '1.0.0' })
  const index = await readJson(join(layout, 'index.json'))
  const entry = index.manifests.find((m: any) => m.annotations?.['org.opencontainers.image.ref.name'] === tag)
  assert.deepEqual(entry, r.manifest)
  assert.deepEqual(entry.platform, { architecture: IMAGE_CONFIG.architecture, os: 'linux' })
  const layerBytes = await blob(layout, r.layer.digest)
  assert.equal(layerBytes.length, r.layer.size)
  assert.equal(`sha256:${sha256hex(layerBytes)}`, r.layer.digest)
  const uncompressed = await decompress(layerBytes)
  assert.ok(uncompressed.equals(tar), 'the layer decompresses to the snapshot tar')
  assert.equal(r.diffId, `sha256:${sha256hex(tar)}`)
  const manifestBytes = await blob(layout, r.manifest.digest)
  assert.equal(manifestBytes.length, r.manifest.size)
  const manifest = JSON.parse(manifestBytes.toString())
  assert.deepEqual(manifest, {
    schemaVersion: 2,
    mediaType: 'application/vnd.oci.image.manifest.v1+json',
    config: { mediaType: 'application/vnd.oci.image.config.v1+json', digest: r.config.digest, size: r.config.size },
    layers: [{ mediaType: r.layer.mediaType, digest: r.layer.digest, size: r.layer.size }],
    annotations: { 'org.opencontainers.image.source': 'https://example.invalid/app' }
  })
  const config = JSON.parse((await blob(layout, r.config.digest)).toString())
  const reader = (await getFixture()).reader
  assert.deepEqual(config, {
    ...IMAGE_CONFIG,
    rootfs: { type: 'layers', diff_ids: [r.diffId] },
    history: [
      ...IMAGE_CONFIG.history.map((h) => ({ ...h, empty_layer: true })),
      { created: IMAGE_CONFIG.created, created_by: FLATTEN_CREATED_BY, comment: reader.digest }
    ]
  })
  assert.deepEqual(Object.keys(config), ['created', 'author', 'architecture', 'os', 'config', 'rootfs', 'history'])

  // skopeo reads the image, its config and the raw manifest.
  const { policy } = await getFixture()
  const inspect = JSON.parse((await run('skopeo', ['--policy', policy, 'inspect', `oci:${layout}:${tag}`])).stdout.toString())
  assert.equal(inspect.Digest, r.manifest.digest)
  assert.deepEqual(inspect.Env, IMAGE_CONFIG.config.Env)
  assert.deepEqual(inspect.Labels, IMAGE_CONFIG.config.Labels)
  assert.deepEqual(inspect.Layers, [r.layer.digest])
  assert.equal(inspect.Architecture, IMAGE_CONFIG.architecture)
  assert.equal(inspect.Os, 'linux')
  const inspectConfig = JSON.parse((await run('skopeo', ['--policy', policy, 'inspect', '--config', `oci:${layout}:${tag}`])).stdout.toString())
  assert.deepEqual(inspectConfig.config.Cmd, IMAGE_CONFIG.config.Cmd)
  assert.deepEqual(inspectConfig.config.Entrypoint, IMAGE_CONFIG.config.Entrypoint)
  const raw = (await run('skopeo', ['--policy', policy, 'inspect', '--raw', `oci:${layout}:${tag}`])).stdout
  assert.ok(raw.equals(manifestBytes), 'skopeo inspect --raw gives the manifest blob byte for byte')
}

async function snapshotTar (reader: SnapshotReader): Promise<Buffer> {
  const parts: Uint8Array[] = []
  for await (const piece of exportTar(reader)) parts.push(piece)
  return Buffer.concat(parts)
}

test('gzip: umoci unpacks the exported image to the source tree; skopeo reads manifest and config', { skip }, async () => {
  const { src, reader } = await getFixture()
  const layout = fresh('gzip')
  const progress: number[] = []
  const r = await exportOciLayout(reader, layout, { tag: '1.0', onProgress: (p) => progress.push(p.layerBytes) })
  assert.equal(r.layer.mediaType, 'application/vnd.oci.image.layer.v1.tar+gzip')
  assert.equal(r.tag, '1.0')
  assert.equal(progress.at(-1), r.layer.size)
  const layerBytes = await blob(layout, r.layer.digest)
  // Fixed gzip header: deflate, no flags (no name), mtime 0, XFL 0, OS 3 (Unix).
  assert.equal(layerBytes.subarray(0, 10).toString('hex'), '1f8b0800000000000003')
  await assertImage(layout, '1.0', r, await snapshotTar(reader), (b) => gunzipSync(b))
  await assertUnpacksToSource(layout, '1.0', src)
  // umoci sees the history: two source entries kept as empty layers, plus the flattened one.
  const stat = JSON.parse((await run('umoci', ['stat', '--image', `${layout}:1.0`, '--json'])).stdout.toString())
  assert.equal(stat.history.length, 3)
  assert.deepEqual(stat.history.map((h: any) => h.empty_layer === true), [true, true, false])
  assert.equal(stat.history[2].layer.digest, r.layer.digest)
  // No temporary files are left behind.
  assert.deepEqual((await readdir(join(layout, 'blobs'))).sort(), ['sha256'])
  assert.deepEqual((await readdir(layout)).sort(), ['blobs', 'index.json', 'oci-layout'])
})

test('none: the layer blob is the tar itself, its digest is the diff_id, and umoci unpacks it', { skip }, async () => {
  const { src, reader } = await getFixture()
  const layout = fresh('none')
  const r = await exportOciLayout(reader, layout, { compression: 'none' })
  assert.equal(r.tag, 'latest')
  assert.equal(r.layer.mediaType, 'application/vnd.oci.image.layer.v1.tar')
  assert.equal(r.layer.digest, r.diffId)
  await assertImage(layout, 'latest', r, await snapshotTar(reader), (b) => b)
  await assertUnpacksToSource(layout, 'latest', src)
})

test('zstd: the layer decompresses with the zstd CLI to the tar; skopeo converts it and umoci unpacks the result', { skip }, async () => {
  // umoci 0.4.7 (Debian) refuses +zstd layers on unpack ("blob is not correct
  // mediatype"), so the unpack check goes through a skopeo copy that
  // recompresses the layer as gzip (skopeo decompresses and verifies the zstd blob).
  const { src, reader, policy } = await getFixture()
  const layout = fresh('zstd')
  const r = await exportOciLayout(reader, layout, { compression: 'zstd', tag: 'z' })
  assert.equal(r.layer.mediaType, 'application/vnd.oci.image.layer.v1.tar+zstd')
  const layerBytes = await blob(layout, r.layer.digest)
  assert.equal(layerBytes.readUInt32LE(0), 0xfd2fb528, 'zstd frame magic')
  await assertImage(layout, 'z', r, await snapshotTar(reader), async (b) => (await run('zstd', ['-d', '-q', '-c'], { input: b })).stdout)
  await run('zstd', ['-t', '-q', join(layout, 'blobs', 'sha256', r.layer.digest.slice(7))])

  const converted = fresh('zstd-as-gzip')
  await run('skopeo', ['--policy', policy, 'copy', '--dest-compress', '--dest-compress-format', 'gzip', `oci:${layout}:z`, `oci:${converted}:z`])
  const manifest = JSON.parse((await run('skopeo', ['--policy', policy, 'inspect', '--raw', `oci:${converted}:z`])).stdout.toString())
  assert.equal(manifest.layers[0].mediaType, 'application/vnd.oci.image.layer.v1.tar+gzip')
  assert.equal(manifest.config.digest, r.config.digest, 'the config (with the diff_id) is carried over unchanged')
  await assertUnpacksToSource(converted, 'z', src)
})

test('reproducible: two exports of one snapshot to fresh layouts give identical digests, for every compression', { skip }, async () => {
  const { src, reader } = await getFixture()
  const results = new Map<OciLayerCompression, ExportOciLayoutResult>()
  for (const compression of ['gzip', 'zstd', 'none'] as const) {
    const a = await exportOciLayout(reader, fresh(`repro-${compression}-a`), { compression })
    const b = await exportOciLayout(reader, fresh(`repro-${compression}-b`), { compression })
    assert.deepEqual(b, a, compression)
    results.set(compression, a)
  }
  // The config does not depend on the compression: it names the uncompressed layer.
  assert.equal(results.get('gzip')!.config.digest, results.get('none')!.config.digest)
  assert.equal(results.get('zstd')!.config.digest, results.get('none')!.config.digest)

  // The same tree stored with other chunker params gives the same tar and
  // the same compressed layer (the compressors see fixed-size blocks, not
  // the store's chunks); the config differs only by the snapshot digest in history.
  const store2 = await openMemoryStore()
  try {
    await importDirectory(store2, src, { name: 'app', params: { min: 4096, avg: 8192, max: 32768, inlineMax: 64 }, annotations: reader.snapshot.annotations })
    const reader2 = await SnapshotReader.open(store2, 'app')
    assert.notEqual(reader2.digest, reader.digest)
    for (const compression of ['gzip', 'zstd'] as const) {
      const c = await exportOciLayout(reader2, fresh(`repro-${compression}-c`), { compression })
      assert.equal(c.diffId, results.get(compression)!.diffId)
      assert.deepEqual(c.layer, results.get(compression)!.layer, compression)
    }
  } finally {
    await store2.close()
  }
})

test('adding to an existing layout: a second tag is added, the same tag is replaced, other index fields survive', { skip }, async () => {
  const { reader, policy } = await getFixture()
  const layout = fresh('multi')
  const first = await exportOciLayout(reader, layout, { tag: 'v1' })
  // Another tool's entry and index annotations must survive.
  const index0 = await readJson(join(layout, 'index.json'))
  index0.annotations = { 'com.example.note': 'kept' }
  const foreign = { mediaType: 'application/vnd.oci.image.manifest.v1+json', digest: `sha512:${'c'.repeat(128)}`, size: 7 }
  index0.manifests.push(foreign)
  await writeFile(join(layout, 'index.json'), JSON.stringify(index0))

  const second = await exportOciLayout(reader, layout, { tag: 'v2', compression: 'none' })
  let index = await readJson(join(layout, 'index.json'))
  assert.deepEqual(index.manifests, [first.manifest, foreign, second.manifest])
  assert.deepEqual(index.annotations, { 'com.example.note': 'kept' })
  index.manifests.splice(1, 1)
  await writeFile(join(layout, 'index.json'), JSON.stringify(index))
  const ls = (await run('umoci', ['ls', '--layout', layout])).stdout.toString().split('\n').filter((l) => l !== '').sort()
  assert.deepEqual(ls, ['v1', 'v2'])
  for (const [tag, r] of [['v1', first], ['v2', second]] as const) {
    const inspect = JSON.parse((await run('skopeo', ['--policy', policy, 'inspect', `oci:${layout}:${tag}`])).stdout.toString())
    assert.equal(inspect.Digest, r.manifest.digest)
  }

  // Re-exporting v1 with zstd replaces its entry (last), keeps v2.
  const third = await exportOciLayout(reader, layout, { tag: 'v1', compression: 'zstd' })
  index = await readJson(join(layout, 'index.json'))
  assert.deepEqual(index.manifests, [second.manifest, third.manifest])
  assert.deepEqual(index.annotations, { 'com.example.note': 'kept' })
  // Blobs are shared: the config of all three is the same blob.
  assert.equal(third.config.digest, first.config.digest)
  const inspect = JSON.parse((await run('skopeo', ['--policy', policy, 'inspect', `oci:${layout}:v1`])).stdout.toString())
  assert.equal(inspect.Digest, third.manifest.digest)

  // A layout written by another tool (skopeo) is added to as well.
  const other = fresh('skopeo-made')
  await run('skopeo', ['--policy', policy, 'copy', `oci:${layout}:v2`, `oci:${other}:from-skopeo`])
  const mine = await exportOciLayout(reader, other, { tag: 'from-tessera' })
  const otherIndex = await readJson(join(other, 'index.json'))
  assert.deepEqual(otherIndex.manifests.map((m: any) => m.annotations['org.opencontainers.image.ref.name']), ['from-skopeo', 'from-tessera'])
  assert.deepEqual(otherIndex.manifests[1], mine.manifest)
  await run('umoci', ['unpack', '--image', `${other}:from-tessera`, fresh('bundle-other')])
})

test('refuses a non-empty directory that is not a layout, and other unusable targets, before writing anything', { skip }, async () => {
  const { reader } = await getFixture()
  const notLayout = fresh('not-layout')
  await mkdir(notLayout)
  await writeFile(join(notLayout, 'precious.txt'), 'do not touch')
  await assert.rejects(exportOciLayout(reader, notLayout), expectCode('ERR_NOT_OCI_LAYOUT'))
  assert.deepEqual(await readdir(notLayout), ['precious.txt'])

  const file = fresh('a-file')
  await writeFile(file, 'x')
  await assert.rejects(exportOciLayout(reader, file), expectCode('ERR_NOT_OCI_LAYOUT'))

  const badVersion = fresh('bad-version')
  await mkdir(badVersion)
  await writeFile(join(badVersion, 'oci-layout'), JSON.stringify({ imageLayoutVersion: '2.0.0' }))
  await assert.rejects(exportOciLayout(reader, badVersion), expectCode('ERR_NOT_OCI_LAYOUT'))

  const badIndex = fresh('bad-index')
  await mkdir(badIndex)
  await writeFile(join(badIndex, 'oci-layout'), JSON.stringify({ imageLayoutVersion: '1.0.0' }))
  await writeFile(join(badIndex, 'index.json'), '{"schemaVersion": 2, "manifests": "nope"}')
  await assert.rejects(exportOciLayout(reader, badIndex), expectCode('ERR_NOT_OCI_LAYOUT'))
  assert.deepEqual((await readdir(badIndex)).sort(), ['index.json', 'oci-layout'])

  for (const tag of ['', 'has space', '-lead', 'a//b', 'trail.']) {
    await assert.rejects(exportOciLayout(reader, fresh('bad-tag'), { tag }), expectCode('ERR_INVALID_ARGUMENT'), tag)
  }
  await assert.rejects(exportOciLayout(reader, fresh('bad-comp'), { compression: 'bzip2' as OciLayerCompression }), expectCode('ERR_INVALID_ARGUMENT'))

  // An existing empty directory is fine.
  const empty = fresh('empty-dir')
  await mkdir(empty)
  const r = await exportOciLayout(reader, empty, { tag: 'example.invalid/app:1.0-rc1', compression: 'none' })
  assert.equal(r.manifest.annotations?.['org.opencontainers.image.ref.name'], 'example.invalid/app:1.0-rc1')
})

test('without an image config annotation: a minimal config for the host architecture', { skip }, async () => {
  const { src, policy } = await getFixture()
  const store = await openMemoryStore()
  try {
    await importDirectory(store, src, { name: 'bare' })
    const reader = await SnapshotReader.open(store, 'bare')
    const layout = fresh('bare')
    const r = await exportOciLayout(reader, layout, { compression: 'none' })
    const config = JSON.parse((await blob(layout, r.config.digest)).toString())
    assert.deepEqual(config, {
      architecture: hostArchitecture(),
      os: 'linux',
      config: {},
      rootfs: { type: 'layers', diff_ids: [r.diffId] },
      history: [{ created: EPOCH, created_by: FLATTEN_CREATED_BY, comment: reader.digest }]
    })
    assert.deepEqual(r.manifest.platform, { architecture: hostArchitecture(), os: 'linux' })
    const manifest = JSON.parse((await blob(layout, r.manifest.digest)).toString())
    assert.equal(manifest.annotations, undefined)
    const inspect = JSON.parse((await run('skopeo', ['--policy', policy, 'inspect', `oci:${layout}:latest`])).stdout.toString())
    assert.equal(inspect.Architecture, hostArchitecture())
    await run('umoci', ['unpack', '--image', `${layout}:latest`, fresh('bundle-bare')])

    // An explicit platform for the minimal config.
    const arm = await exportOciLayout(reader, fresh('bare-arm'), { compression: 'none', platform: { architecture: 'arm64', os: 'linux', variant: 'v8' } })
    assert.deepEqual(arm.manifest.platform, { architecture: 'arm64', os: 'linux', variant: 'v8' })
  } finally {
    await store.close()
  }
})

test('an unusable config annotation is refused before the layout is created', { skip }, async () => {
  const { src } = await getFixture()
  const store = await openMemoryStore()
  try {
    for (const [i, value] of ['not json', '[1,2]', JSON.stringify({ os: 'linux' }), JSON.stringify({ architecture: 'amd64', os: 'linux', history: {} })].entries()) {
      await importDirectory(store, join(src, 'etc'), { name: `bad${i}`, annotations: [[IMAGE_ANNOTATIONS.config, value]] })
      const layout = fresh('bad-config')
      await assert.rejects(exportOciLayout(await SnapshotReader.open(store, `bad${i}`), layout), expectCode('ERR_INVALID_IMAGE_CONFIG'), value)
      await assert.rejects(readdir(layout), { code: 'ENOENT' })
    }
  } finally {
    await store.close()
  }
})

test('an aborted export and a missing zstd leave no temporary blob and no index entry', { skip }, async () => {
  const { reader } = await getFixture()
  const layout = fresh('abort')
  const first = await exportOciLayout(reader, layout, { tag: 'keep', compression: 'none' })
  const indexBefore = await readFile(join(layout, 'index.json'))
  for (const compression of ['gzip', 'zstd', 'none'] as const) {
    const controller = new AbortController()
    await assert.rejects(exportOciLayout(reader, layout, {
      tag: 'aborted',
      compression,
      signal: controller.signal,
      onProgress: (p) => { if (p.files >= 3) controller.abort() }
    }), expectCode('ERR_ABORTED'), compression)
    assert.deepEqual(await readdir(join(layout, 'blobs')), ['sha256'], compression)
    assert.ok((await readFile(join(layout, 'index.json'))).equals(indexBefore))
  }

  // A failed first export leaves nothing: no layout where there was none.
  const fresher = fresh('abort-fresh')
  const controller = new AbortController()
  await assert.rejects(exportOciLayout(reader, fresher, { signal: controller.signal, onProgress: () => controller.abort() }), expectCode('ERR_ABORTED'))
  await assert.rejects(readdir(fresher), (err: NodeJS.ErrnoException) => err.code === 'ENOENT')

  const savedPath = process.env.PATH
  process.env.PATH = join(work, 'no-such-bin')
  try {
    await assert.rejects(exportOciLayout(reader, layout, { tag: 'nozstd', compression: 'zstd' }), expectCode('ERR_UNSUPPORTED'))
  } finally {
    process.env.PATH = savedPath
  }
  assert.deepEqual(await readdir(join(layout, 'blobs')), ['sha256'])
  assert.ok((await readFile(join(layout, 'index.json'))).equals(indexBefore))
  assert.equal(JSON.parse(indexBefore.toString()).manifests[0].digest, first.manifest.digest)
})

test('buildImageConfig keeps unknown fields after the known ones, and a __proto__ key as data', () => {
  const diffId = `sha256:${'a'.repeat(64)}` as const
  const snap = `sha256:${'b'.repeat(64)}` as const
  const source = JSON.parse('{"zzz":1,"os":"linux","__proto__":{"x":1},"architecture":"riscv64","variant":"rva20","history":[{"created_by":"a","empty_layer":false}]}')
  const out = buildImageConfig(source, diffId, snap, { architecture: 'amd64', os: 'linux' })
  assert.equal(JSON.stringify(out), JSON.stringify({
    architecture: 'riscv64',
    os: 'linux',
    variant: 'rva20',
    rootfs: { type: 'layers', diff_ids: [diffId] },
    history: [{ created_by: 'a', empty_layer: true }, { created: EPOCH, created_by: FLATTEN_CREATED_BY, comment: snap }],
    zzz: 1
  }).replace(/}$/, ',"__proto__":{"x":1}}'))
  assert.equal(Object.getPrototypeOf(out), Object.prototype)
})
