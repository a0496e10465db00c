import { test } from 'node:test'
import assert from 'node:assert/strict'
import { mkdir, mkdtemp, readFile, readdir, readlink, rename, rm, symlink, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { gzipSync, gunzipSync } from 'node:zlib'
import { openDockerArchive } from '../../src/oci/docker-archive-source.js'
import { openOciLayout } from '../../src/oci/layout-source.js'
import { MEDIA_TYPES } from '../../src/oci/types.js'
import type { OciAmbiguousReferenceError, OciMissingBlobError } from '../../src/oci/errors.js'
import {
  buildLayout, collect, digestOf, flipByte, readBlob, readJsonBlob, rejectsWith, run, skopeo, tagDescriptor
} from './helpers.js'
import { missingTools } from '../helpers/tools.js'

const skip = missingTools('umoci', 'skopeo')
const work = await mkdtemp(join(tmpdir(), 'tessera-docker-archive-'))
test.after(async () => { await rm(work, { recursive: true, force: true }) })

let layout = ''
let single = '' // top, tagged example.com/img:top
let baseTar = '' // base, tagged example.com/img:base
if (skip === false) {
  layout = await buildLayout(work)
  single = join(work, 'single.tar')
  baseTar = join(work, 'base.tar')
  skopeo(['copy', '--quiet', `oci:${layout}:top`, `docker-archive:${single}:example.com/img:top`])
  skopeo(['copy', '--quiet', `oci:${layout}:base`, `docker-archive:${baseTar}:example.com/img:base`])
}

let dirs = 0
/** Extract an archive into a fresh directory. */
async function extract (archive: string): Promise<string> {
  const dir = join(work, `x-${++dirs}`)
  await mkdir(dir)
  run('tar', ['-xf', archive, '-C', dir])
  return dir
}
/** Tar a directory's top-level entries (sorted) in a given format. */
async function pack (dir: string, format: 'gnu' | 'posix' | 'ustar' = 'gnu', names?: string[]): Promise<string> {
  const out = join(work, `packed-${++dirs}.tar`)
  run('tar', ['-cf', out, `--format=${format}`, '-C', dir, ...(names ?? (await readdir(dir)).sort())])
  return out
}
async function readManifestJson (dir: string): Promise<Array<{ Config: string, RepoTags: string[] | null, Layers: string[] }>> {
  return JSON.parse(await readFile(join(dir, 'manifest.json'), 'utf8'))
}
/** Offset of the header of the member `name` in a plain tar (a ustar name, 512-aligned). */
function headerOffset (tar: Buffer, name: string): number {
  let at = tar.indexOf(name)
  while (at >= 0 && at % 512 !== 0) at = tar.indexOf(name, at + 1)
  assert.ok(at >= 0, `member ${name} not found`)
  return at
}

test('skopeo\'s archive of an OCI image: same config, layers are the decompressed OCI layers', { skip }, async () => {
  const oci = await openOciLayout(layout, { reference: 'top' })
  const img = await openDockerArchive(single)
  try {
    assert.equal(img.reference, 'example.com/img:top')
    assert.equal(img.configDigest, oci.configDigest)
    assert.ok(Buffer.from(img.config).equals(Buffer.from(oci.config)))
    assert.equal(img.manifestMediaType, MEDIA_TYPES.dockerManifest)
    const config = JSON.parse(Buffer.from(img.config).toString())
    assert.deepEqual(img.layers.map((l) => l.descriptor.digest), config.rootfs.diff_ids)
    assert.equal(img.layers.length, oci.layers.length)
    for (const [i, layer] of img.layers.entries()) {
      assert.equal(layer.descriptor.mediaType, MEDIA_TYPES.ociLayer)
      const bytes = await collect(layer.open())
      assert.equal(bytes.length, layer.descriptor.size)
      const ociBytes = gunzipSync(await collect(oci.layers[i]!.open()))
      assert.ok(bytes.equals(ociBytes), `layer ${i} holds the decompressed OCI layer`)
      assert.equal(digestOf(bytes), layer.descriptor.digest)
    }
  } finally {
    await img.close()
  }
})

test('the synthesized manifest digest is the one skopeo reports', { skip }, async () => {
  for (const archive of [single, baseTar]) {
    const raw = skopeo(['inspect', '--raw', `docker-archive:${archive}`])
    const img = await openDockerArchive(archive)
    assert.equal(img.manifestDigest, digestOf(raw))
    await img.close()
  }
})

test('references: RepoTags (normalised), @N; unknown ones list the tags', { skip }, async () => {
  const img = await openDockerArchive(single, { reference: 'example.com/img:top' })
  assert.equal(img.reference, 'example.com/img:top')
  await img.close()
  const nf = await rejectsWith(openDockerArchive(single, { reference: 'example.com/img:nope' }), 'ERR_OCI_REFERENCE_NOT_FOUND', /"example\.com\/img:top"/)
  assert.ok(nf.message.includes('example.com/img:nope'))
  await rejectsWith(openDockerArchive(single, { reference: '@1' }), 'ERR_OCI_REFERENCE_NOT_FOUND')
  assert.equal((await openDockerArchive(single, { reference: '@0' })).configDigest, (await openDockerArchive(single)).configDigest)
  await rejectsWith(openDockerArchive(single, { reference: `img@sha256:${'a'.repeat(64)}` }), 'ERR_INVALID_ARGUMENT')
  await rejectsWith(openDockerArchive(single, { reference: 'Bad Ref' }), 'ERR_INVALID_ARGUMENT')

  const bb = join(work, 'busybox.tar')
  skopeo(['copy', '--quiet', `oci:${layout}:base`, `docker-archive:${bb}:busybox`])
  for (const ref of ['busybox', 'busybox:latest', 'docker.io/library/busybox:latest', 'index.docker.io/library/busybox']) {
    const b = await openDockerArchive(bb, { reference: ref })
    assert.equal(b.reference, ref)
    await b.close()
  }
  await rejectsWith(openDockerArchive(bb, { reference: 'busybox:other' }), 'ERR_OCI_REFERENCE_NOT_FOUND')
})

test('an archive with two images needs a reference', { skip }, async () => {
  const dir = await extract(single)
  const other = await extract(baseTar)
  const both = [...await readManifestJson(dir), ...await readManifestJson(other)]
  for (const f of await readdir(other)) if (f !== 'manifest.json' && f !== 'repositories') await rename(join(other, f), join(dir, f)).catch(() => {})
  await writeFile(join(dir, 'manifest.json'), JSON.stringify(both))
  const two = join(work, 'two.tar')
  run('tar', ['-cf', two, '-C', dir, '.']) // members named ./x
  const amb = await rejectsWith(openDockerArchive(two), 'ERR_OCI_AMBIGUOUS_REFERENCE', /"example\.com\/img:top", "example\.com\/img:base"/) as OciAmbiguousReferenceError
  assert.deepEqual(amb.available, ['example.com/img:top', 'example.com/img:base'])
  const base = await openDockerArchive(two, { reference: 'example.com/img:base' })
  assert.equal(base.layers.length, 1)
  assert.equal(base.configDigest, (await readJsonBlob(layout, (await tagDescriptor(layout, 'base')).digest)).config.digest)
  await collect(base.layers[0]!.open())
  await base.close()
  const top = await openDockerArchive(two, { reference: '@0' })
  assert.equal(top.layers.length, 2)
  await top.close()
})

test('docker-save style layer paths (<id>/layer.tar symlinks), PAX headers and GNU long names', { skip }, async () => {
  const dir = await extract(single)
  const items = await readManifestJson(dir)
  const entries = await readdir(dir, { withFileTypes: true })
  // skopeo writes <id>/layer.tar -> ../<diffid>.tar; point manifest.json at the links
  const links = new Map<string, string>()
  for (const e of entries) {
    if (!e.isDirectory()) continue
    const target = await readlink(join(dir, e.name, 'layer.tar'))
    links.set(target.replace('../', ''), `${e.name}/layer.tar`)
  }
  items[0]!.Layers = items[0]!.Layers.map((l) => links.get(l) ?? assert.fail(`no link to ${l}`))
  await writeFile(join(dir, 'manifest.json'), JSON.stringify(items))
  const reference = await openDockerArchive(single)
  for (const format of ['posix', 'gnu'] as const) {
    const img = await openDockerArchive(await pack(dir, format))
    assert.equal(img.configDigest, reference.configDigest)
    assert.equal(img.manifestDigest, reference.manifestDigest)
    for (const [i, l] of img.layers.entries()) assert.ok((await collect(l.open())).equals(await collect(reference.layers[i]!.open())))
    await img.close()
  }
  // a layer name longer than 100 bytes (GNU 'L' record or PAX path)
  const long = 'd'.repeat(150) + '.layer'
  const file = [...links].find(([, link]) => link === items[0]!.Layers[1])![0]
  await rename(join(dir, file), join(dir, long))
  items[0]!.Layers[1] = long
  await writeFile(join(dir, 'manifest.json'), JSON.stringify(items))
  for (const format of ['posix', 'gnu'] as const) {
    const img = await openDockerArchive(await pack(dir, format))
    assert.equal(img.layers[1]!.descriptor.digest, reference.layers[1]!.descriptor.digest)
    await collect(img.layers[1]!.open())
    await img.close()
  }
  await reference.close()
})

test('an old GNU sparse member with extension blocks does not derail the index', { skip }, async () => {
  const dir = await extract(single)
  const { open } = await import('node:fs/promises')
  const f = await open(join(dir, 'aaa-sparse.bin'), 'w')
  for (let i = 0; i < 10; i++) await f.write(Buffer.from('data'), 0, 4, i * 1024 * 1024)
  await f.truncate(11 * 1024 * 1024)
  await f.close()
  const out = join(work, 'sparse.tar')
  const rest = (await readdir(dir)).filter((n) => n !== 'aaa-sparse.bin').sort()
  run('tar', ['-cf', out, '--format=oldgnu', '--sparse', '-C', dir, 'aaa-sparse.bin', ...rest])
  const bytes = await readFile(out)
  assert.equal(String.fromCharCode(bytes[156]!), 'S')
  assert.notEqual(bytes[482], 0, 'the sparse map has extension blocks')
  const img = await openDockerArchive(out)
  const reference = await openDockerArchive(single)
  assert.equal(img.manifestDigest, reference.manifestDigest)
  for (const l of img.layers) await collect(l.open())
  await img.close()
  await reference.close()
})

test('a gzip-compressed layer member is presented as stored, with the gzip media type', { skip }, async () => {
  const dir = await extract(single)
  const items = await readManifestJson(dir)
  const plain = await readFile(join(dir, items[0]!.Layers[0]!))
  const gz = gzipSync(plain)
  await writeFile(join(dir, 'layer0.tar.gz'), gz)
  items[0]!.Layers[0] = 'layer0.tar.gz'
  await writeFile(join(dir, 'manifest.json'), JSON.stringify(items))
  const img = await openDockerArchive(await pack(dir))
  assert.deepEqual(img.layers[0]!.descriptor, { mediaType: MEDIA_TYPES.ociLayerGzip, digest: digestOf(gz), size: gz.length })
  assert.ok(gunzipSync(await collect(img.layers[0]!.open())).equals(plain))
  assert.equal(img.layers[1]!.descriptor.mediaType, MEDIA_TYPES.ociLayer)
  await img.close()
})

test('a truncated archive is ERR_OCI_INVALID', { skip }, async () => {
  const bytes = await readFile(single)
  const manifestAt = headerOffset(bytes, 'manifest.json')
  for (const size of [100, 512 + 1000, Math.floor(bytes.length / 2), manifestAt, manifestAt + 600, bytes.length - 1100]) {
    const p = join(work, `truncated-${size}.tar`)
    await writeFile(p, bytes.subarray(0, size))
    const err = await rejectsWith(openDockerArchive(p), 'ERR_OCI_INVALID')
    assert.match(err.message, size === manifestAt ? /no manifest\.json/ : /truncated/, `cut at ${size}`)
  }
  // an archive cut right after its last member (no end marker) is still whole
  const whole = join(work, 'no-marker.tar')
  const end = bytes.length - 1024
  assert.ok(bytes.subarray(end).every((b) => b === 0))
  await writeFile(whole, bytes.subarray(0, end))
  await (await openDockerArchive(whole)).close()
  const empty = join(work, 'empty.tar')
  await writeFile(empty, '')
  await rejectsWith(openDockerArchive(empty), 'ERR_OCI_INVALID', /no manifest\.json/)
  await rejectsWith(openDockerArchive(join(work, 'absent.tar')), 'ERR_NOT_FOUND')
})

test('a corrupted layer opens, and fails when read; a corrupted config fails at once', { skip }, async () => {
  const bytes = await readFile(single)
  const items = JSON.parse(execTarCat(single, 'manifest.json'))
  const layerAt = headerOffset(bytes, items[0].Layers[1])
  const p = join(work, 'corrupt-layer.tar')
  await writeFile(p, bytes)
  await flipByte(p, layerAt + 512 + 700)
  const img = await openDockerArchive(p)
  await collect(img.layers[0]!.open())
  await rejectsWith(collect(img.layers[1]!.open()), 'ERR_OCI_BLOB_MISMATCH', /layer 1 does not match its digest/)
  await img.close()

  const q = join(work, 'corrupt-config.tar')
  await writeFile(q, bytes)
  await flipByte(q, headerOffset(bytes, items[0].Config) + 512 + 20)
  await rejectsWith(openDockerArchive(q), 'ERR_OCI_BLOB_MISMATCH', /config/)
})

function execTarCat (archive: string, member: string): string {
  return run('tar', ['-xOf', archive, member]).toString()
}

test('missing members, lying names, escaping paths and links, duplicates', { skip }, async () => {
  const dir = await extract(single)
  const items = await readManifestJson(dir)
  const config = JSON.parse(await readFile(join(dir, items[0]!.Config), 'utf8'))
  const write = async (m: unknown): Promise<string> => { await writeFile(join(dir, 'manifest.json'), JSON.stringify(m)); return await pack(dir) }

  const missing = await rejectsWith(openDockerArchive(await write([{ ...items[0], Layers: [items[0]!.Layers[0], 'nope.tar'] }])), 'ERR_OCI_MISSING_BLOB', /nope\.tar/) as OciMissingBlobError
  assert.equal(missing.digest, config.rootfs.diff_ids[1])
  await rejectsWith(openDockerArchive(await write([{ ...items[0], Config: 'nope.json' }])), 'ERR_OCI_MISSING_BLOB')
  // a layer file named by another digest than the config's diff ID
  await rejectsWith(openDockerArchive(await write([{ ...items[0], Layers: [items[0]!.Layers[1], items[0]!.Layers[0]] }])), 'ERR_OCI_BLOB_MISMATCH', /its name says/)
  await rejectsWith(openDockerArchive(await write([{ ...items[0], Layers: [items[0]!.Layers[0]] }])), 'ERR_OCI_INVALID', /1 layers but config .* has 2 diff IDs/)
  await rejectsWith(openDockerArchive(await write([{ ...items[0], Layers: ['../../../etc/passwd', items[0]!.Layers[1]] }])), 'ERR_OCI_INVALID', /not a relative path inside the archive/)
  await rejectsWith(openDockerArchive(await write([{ ...items[0], Layers: ['/etc/passwd', items[0]!.Layers[1]] }])), 'ERR_OCI_INVALID', /not a relative path/)
  await symlink('/etc/passwd', join(dir, 'abs-link.tar'))
  await symlink('../../outside.tar', join(dir, 'rel-link.tar'))
  await symlink('loop-b.tar', join(dir, 'loop-a.tar'))
  await symlink('loop-a.tar', join(dir, 'loop-b.tar'))
  await rejectsWith(openDockerArchive(await write([{ ...items[0], Layers: ['abs-link.tar', items[0]!.Layers[1]] }])), 'ERR_OCI_INVALID', /links outside/)
  await rejectsWith(openDockerArchive(await write([{ ...items[0], Layers: ['rel-link.tar', items[0]!.Layers[1]] }])), 'ERR_OCI_INVALID', /links outside/)
  await rejectsWith(openDockerArchive(await write([{ ...items[0], Layers: ['loop-a.tar', items[0]!.Layers[1]] }])), 'ERR_OCI_INVALID', /too many levels/)
  await rejectsWith(openDockerArchive(await write('{"not":"a list"}')), 'ERR_OCI_INVALID', /manifest\.json/)

  // two members with the same name
  const dup = await write(items)
  run('tar', ['-rf', dup, '-C', dir, 'manifest.json'])
  await rejectsWith(openDockerArchive(dup), 'ERR_OCI_INVALID', /two members named "manifest\.json"/)
})

test('archive limits: members and layers', { skip }, async () => {
  await rejectsWith(openDockerArchive(single, { limits: { maxArchiveEntries: 3 } }), 'ERR_OCI_INVALID', /more than 3 members/)
  await rejectsWith(openDockerArchive(single, { limits: { maxLayers: 1 } }), 'ERR_OCI_INVALID', /2 layers, above the limit of 1/)
})

test('skopeo reads back what it wrote, and the OCI copy matches', { skip }, async () => {
  const out = join(work, 'from-archive')
  skopeo(['copy', '--quiet', `docker-archive:${single}`, `oci:${out}:back`])
  const a = await openDockerArchive(single)
  const b = await openOciLayout(out, { reference: 'back' })
  // skopeo rewrites the config for the OCI manifest, but keeps the diff IDs
  const diffIds = JSON.parse(Buffer.from(b.config).toString()).rootfs.diff_ids
  assert.deepEqual(diffIds, a.layers.map((l) => l.descriptor.digest))
  assert.equal(digestOf(await readBlob(out, b.configDigest)), b.configDigest)
  await a.close()
})

test('an aborted signal and a closed source', { skip }, async () => {
  const ac = new AbortController()
  ac.abort()
  await rejectsWith(openDockerArchive(single, { signal: ac.signal }), 'ERR_ABORTED')
  const img = await openDockerArchive(single)
  await rejectsWith(collect(img.layers[0]!.open({ signal: ac.signal })), 'ERR_ABORTED')
  await img.close()
  await rejectsWith(collect(img.layers[0]!.open()), 'ERR_INVALID_ARGUMENT', /closed/)
})
