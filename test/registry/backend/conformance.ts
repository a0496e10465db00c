/**
 * The registry store suite, run against memory-level and classic-level.
 */
import { test } from 'node:test'
import assert from 'node:assert/strict'
import { randomBytes } from 'node:crypto'
import { chunkBuffer } from '../../../src/chunker/index.js'
import { sha256 } from '../../../src/hash/index.js'
import { encodeStored } from '../../../src/store/stored-object.js'
import { registryChunkRoots } from '../../../src/registry/backend/index.js'
import { decodeBlobRecord, encodeBlobRecord } from '../../../src/registry/backend/records.js'
import { code, collect, digestOf, dump, filesIn, imageIndex, imageManifest, json, openFixture, streamOf, type DbFactory } from './helpers.js'

const OCI_MANIFEST = 'application/vnd.oci.image.manifest.v1+json'
const OCI_INDEX = 'application/vnd.oci.image.index.v1+json'

/** Stored size of incompressible bytes cut into chunks: one codec byte per chunk. */
const storedSizeOf = (bytes: Uint8Array): number => bytes.length + chunkBuffer(bytes).length

/** The raw key of a sublevel entry: `!name!` + key. */
const rawKey = (sublevel: string, key: Uint8Array): Uint8Array => Buffer.concat([Buffer.from(`!${sublevel}!`), key])

/** Run the suite against databases made by `factory`. */
export function registryStoreConformance (label: string, factory: DbFactory): void {
  test(`${label}: a blob round trips through chunks, whole and in ranges`, async () => {
    const f = await openFixture(factory)
    try {
      const bytes = randomBytes(700_000)
      const digest = digestOf(bytes)
      assert.equal(await f.registry.blobs.statBlob(digest), undefined)
      const info = await f.registry.blobs.putBlob(streamOf(bytes), { digest, size: bytes.length })
      assert.deepEqual(info, { digest, size: bytes.length, storage: 'whole' })
      assert.deepEqual(await f.registry.blobs.statBlob(digest), info)
      assert.ok((await collect(f.registry.blobs.getBlob(digest))).equals(bytes))
      const lengths = chunkBuffer(bytes)
      assert.ok(lengths.length > 2, 'the blob spans several chunks')
      const boundary = lengths[0]!
      for (const [start, end] of [[0, 1], [0, bytes.length], [boundary - 10, boundary + 10], [boundary, boundary + 1], [12345, 654321], [bytes.length - 1, bytes.length], [500, 500]] as const) {
        const got = await collect(f.registry.blobs.getBlob(digest, { range: { start, end } }))
        assert.ok(got.equals(bytes.subarray(start, end)), `range [${start}, ${end})`)
      }
      for (const range of [{ start: -1, end: 2 }, { start: 5, end: 4 }, { start: 0, end: bytes.length + 1 }, { start: 0.5, end: 2 }]) {
        await assert.rejects(collect(f.registry.blobs.getBlob(digest, { range })), code('ERR_INVALID_RANGE'))
      }
      const listed = []
      for await (const b of f.registry.blobs.listBlobs()) listed.push(b)
      assert.deepEqual(listed, [info])
      await assert.rejects(collect(f.registry.blobs.getBlob(digestOf(Buffer.from('absent')))), code('ERR_REGISTRY_BLOB_UNKNOWN'))
      assert.throws(() => f.registry.blobs.getBlob('sha256:nothex'), code('ERR_REGISTRY_DIGEST_INVALID'))
      // An empty blob is a blob too.
      const empty = new Uint8Array(0)
      await f.registry.blobs.putBlob(streamOf(empty), { digest: digestOf(empty), size: 0 })
      assert.equal((await collect(f.registry.blobs.getBlob(digestOf(empty)))).length, 0)
      assert.deepEqual(await filesIn(f.tempDirectory), [], 'no spool file is left')
    } finally { await f.close() }
  })

  test(`${label}: identical blobs and identical runs of bytes are stored once`, async () => {
    const f = await openFixture(factory)
    try {
      const bytes = randomBytes(600_000)
      const digest = digestOf(bytes)
      await f.registry.blobs.putBlob(streamOf(bytes), { digest }, { repository: 'a/b' })
      const before = await dump(f.db)
      const chunksBefore = (await f.store.stats()).chunks
      const again = await f.registry.blobs.putBlob(streamOf(bytes, 13), { digest, size: bytes.length }, { repository: 'a/b' })
      assert.equal(again.digest, digest)
      assert.deepEqual(await dump(f.db), before, 'a repeated put changes nothing')
      // A blob sharing its first 400 kB stores only what differs.
      const other = Buffer.concat([bytes.subarray(0, 400_000), randomBytes(100_000)])
      await f.registry.blobs.putBlob(streamOf(other), { digest: digestOf(other) }, { repository: 'a/c' })
      const added = (await f.store.stats()).chunks - chunksBefore
      assert.ok(added < chunkBuffer(other).length, `only new chunks are added (${added})`)
      const { overall, repositories } = await f.registry.stats()
      assert.equal(overall.pushedBytes, bytes.length + other.length)
      assert.ok(overall.storedBytes < storedSizeOf(bytes) + storedSizeOf(other), 'shared chunks are counted once')
      assert.equal(overall.storedBytes, repositories['a/b']!.storedBytes + repositories['a/c']!.storedBytes)
    } finally { await f.close() }
  })

  test(`${label}: a wrong digest or size stores nothing and leaves no file`, async () => {
    const f = await openFixture(factory)
    try {
      const kept = randomBytes(1000)
      await f.registry.blobs.putBlob(streamOf(kept), { digest: digestOf(kept) }, { repository: 'r' })
      const before = await dump(f.db)
      const bytes = randomBytes(300_000)
      const digest = digestOf(bytes)
      const wrong = digestOf(Buffer.from('something else'))
      await assert.rejects(f.registry.blobs.putBlob(streamOf(bytes), { digest: wrong }, { repository: 'r' }), (err: any) => {
        assert.equal(err.code, 'ERR_REGISTRY_DIGEST_INVALID')
        assert.equal(err.actualDigest, digest)
        return true
      })
      await assert.rejects(f.registry.blobs.putBlob(streamOf(bytes), { digest, size: bytes.length - 1 }), code('ERR_REGISTRY_SIZE_INVALID'))
      await assert.rejects(f.registry.blobs.putBlob(streamOf(bytes), { digest, size: bytes.length + 1 }), code('ERR_REGISTRY_SIZE_INVALID'))
      await assert.rejects(f.registry.blobs.putBlob(streamOf(bytes), { digest, size: -1 }), code('ERR_REGISTRY_SIZE_INVALID'))
      await assert.rejects(f.registry.blobs.putBlob(streamOf(bytes), { digest: 'sha256:ABC' }), code('ERR_REGISTRY_DIGEST_INVALID'))
      await assert.rejects(f.registry.blobs.putBlob(streamOf(bytes), { digest: `sha512:${'a'.repeat(128)}` }), code('ERR_REGISTRY_DIGEST_INVALID'))
      await assert.rejects(f.registry.blobs.putBlob(streamOf(bytes), { digest }, { repository: 'Upper/Case' }), code('ERR_REGISTRY_NAME_INVALID'))
      const controller = new AbortController()
      controller.abort()
      await assert.rejects(f.registry.blobs.putBlob(streamOf(bytes), { digest }, { signal: controller.signal }), code('ERR_ABORTED'))
      async function * failing (): AsyncIterable<Uint8Array> { yield bytes.subarray(0, 1000); throw new Error('connection reset') }
      await assert.rejects(f.registry.blobs.putBlob(failing(), { digest }), /connection reset/)
      assert.deepEqual(await dump(f.db), before, 'the database is unchanged')
      assert.deepEqual(await filesIn(f.tempDirectory), [], 'no spool file is left')
      assert.equal(await f.registry.blobs.statBlob(digest), undefined)
    } finally { await f.close() }
  })

  test(`${label}: putBlobFile stores a finished upload in place, verified like putBlob, and leaves the file to its owner`, async () => {
    const f = await openFixture(factory)
    try {
      const { writeFile, mkdtemp, rm } = await import('node:fs/promises')
      const { join } = await import('node:path')
      const { tmpdir } = await import('node:os')
      const dir = await mkdtemp(join(tmpdir(), 'tessera-upload-'))
      try {
        const bytes = randomBytes(300_000)
        const digest = digestOf(bytes)
        const path = join(dir, 'session')
        await writeFile(path, bytes)
        const before = await dump(f.db)
        await assert.rejects(f.registry.blobs.putBlobFile!(path, { digest: digestOf(Buffer.from('other')) }, { repository: 'r' }), code('ERR_REGISTRY_DIGEST_INVALID'))
        await assert.rejects(f.registry.blobs.putBlobFile!(path, { digest, size: bytes.length - 1 }), code('ERR_REGISTRY_SIZE_INVALID'))
        await assert.rejects(f.registry.blobs.putBlobFile!(path, { digest, size: bytes.length + 1 }), code('ERR_REGISTRY_SIZE_INVALID'))
        assert.deepEqual(await dump(f.db), before, 'the database is unchanged')
        const info = await f.registry.blobs.putBlobFile!(path, { digest, size: bytes.length }, { repository: 'r' })
        assert.equal(info.digest, digest)
        assert.ok((await collect(f.registry.blobs.getBlob(digest))).equals(bytes))
        assert.deepEqual(await filesIn(dir), ['session'], 'the upload file is the caller\'s to delete')
        assert.deepEqual(await filesIn(f.tempDirectory), [], 'nothing was spooled')
      } finally { await rm(dir, { recursive: true, force: true }) }
    } finally { await f.close() }
  })

  test(`${label}: manifests need their blobs in the repository and are served as pushed`, async () => {
    const f = await openFixture(factory)
    try {
      const config = json({ architecture: 'amd64', os: 'linux' })
      const layer = randomBytes(5000)
      const manifest = imageManifest(config, [layer])
      const digest = digestOf(manifest)
      const before = await dump(f.db)
      await assert.rejects(f.registry.putManifest('lib/app', 'v1', OCI_MANIFEST, manifest), (err: any) => {
        assert.equal(err.code, 'ERR_REGISTRY_MANIFEST_BLOB_UNKNOWN')
        assert.deepEqual(err.missing, [digestOf(config), digestOf(layer)])
        return true
      })
      assert.deepEqual(await dump(f.db), before)
      await f.registry.blobs.putBlob(streamOf(config), { digest: digestOf(config) }, { repository: 'lib/app' })
      // Stored, but pushed to another repository: not visible here yet.
      await f.registry.blobs.putBlob(streamOf(layer), { digest: digestOf(layer) }, { repository: 'other' })
      await assert.rejects(f.registry.putManifest('lib/app', 'v1', OCI_MANIFEST, manifest), code('ERR_REGISTRY_MANIFEST_BLOB_UNKNOWN'))
      await f.registry.linkBlob('lib/app', digestOf(layer))
      // A descriptor with the wrong size is invalid.
      const wrongSize = json({ ...JSON.parse(Buffer.from(manifest).toString()), layers: [{ mediaType: 'application/vnd.oci.image.layer.v1.tar+gzip', digest: digestOf(layer), size: 4999 }] })
      await assert.rejects(f.registry.putManifest('lib/app', 'v1', OCI_MANIFEST, wrongSize), code('ERR_REGISTRY_MANIFEST_INVALID'))
      await assert.rejects(f.registry.putManifest('lib/app', digestOf(Buffer.from('x')), OCI_MANIFEST, manifest), code('ERR_REGISTRY_DIGEST_INVALID'))
      await assert.rejects(f.registry.putManifest('lib/app', '-bad', OCI_MANIFEST, manifest), code('ERR_REGISTRY_TAG_INVALID'))
      await assert.rejects(f.registry.putManifest('lib/app', 'a'.repeat(129), OCI_MANIFEST, manifest), code('ERR_REGISTRY_TAG_INVALID'))
      await assert.rejects(f.registry.putManifest('lib//app', 'v1', OCI_MANIFEST, manifest), code('ERR_REGISTRY_NAME_INVALID'))
      await assert.rejects(f.registry.putManifest('lib/app', 'v1', OCI_INDEX, manifest), code('ERR_REGISTRY_MANIFEST_INVALID'))
      await assert.rejects(f.registry.putManifest('lib/app', 'v1', OCI_MANIFEST, json({ schemaVersion: 2, mediaType: OCI_MANIFEST, layers: [] })), code('ERR_REGISTRY_MANIFEST_INVALID'))
      await assert.rejects(f.registry.putManifest('lib/app', 'v1', OCI_MANIFEST, new Uint8Array(Buffer.from('{not json'))), code('ERR_REGISTRY_MANIFEST_INVALID'))
      assert.equal(await f.registry.putManifest('lib/app', 'v1', `${OCI_MANIFEST}; charset=utf-8`, manifest), digest)
      const byTag = await f.registry.getManifest('lib/app', 'v1')
      assert.deepEqual(byTag, { digest, mediaType: OCI_MANIFEST, bytes: manifest })
      assert.deepEqual(await f.registry.getManifest('lib/app', digest), byTag)
      assert.equal(await f.registry.getManifest('other', digest), undefined, 'not linked in another repository')
      assert.equal(await f.registry.getManifest('lib/app', 'v2'), undefined)
      // By digest, with odd formatting kept byte for byte.
      const odd = new Uint8Array(Buffer.from(`  ${Buffer.from(manifest).toString()}\n\n`))
      assert.equal(await f.registry.putManifest('lib/app', digestOf(odd), OCI_MANIFEST, odd), digestOf(odd))
      assert.ok(Buffer.from((await f.registry.getManifest('lib/app', digestOf(odd)))!.bytes).equals(odd))
      // Unknown media types are kept if they are JSON.
      const other = json({ anything: true })
      assert.equal(await f.registry.putManifest('lib/app', 'x', 'application/vnd.example+json', other), digestOf(other))
      // An index needs its manifests.
      const index = imageIndex([manifest, odd])
      assert.equal(await f.registry.putManifest('lib/app', 'multi', OCI_INDEX, index), digestOf(index))
      const orphan = imageIndex([imageManifest(config, [])])
      await assert.rejects(f.registry.putManifest('lib/app', 'multi2', OCI_INDEX, orphan), code('ERR_REGISTRY_MANIFEST_BLOB_UNKNOWN'))
      assert.deepEqual(await f.registry.listRepositories(), ['lib/app', 'other'])
    } finally { await f.close() }
  })

  test(`${label}: the manifest size limit`, async () => {
    const f = await openFixture(factory, { maxManifestBytes: 100 })
    try {
      const big = json({ pad: 'x'.repeat(100) })
      await assert.rejects(f.registry.putManifest('r', 't', 'application/json', big), code('ERR_REGISTRY_MANIFEST_INVALID'))
      const small = json({ pad: 'x' })
      assert.equal(await f.registry.putManifest('r', 't', 'application/json', small), digestOf(small))
    } finally { await f.close() }
  })

  test(`${label}: tags are listed in order, paginated`, async () => {
    const f = await openFixture(factory)
    try {
      const doc = json({ hello: 1 })
      await assert.rejects(f.registry.listTags('nobody'), code('ERR_REGISTRY_NAME_UNKNOWN'))
      for (const tag of ['v2', 'latest', 'V1', '1.0', '_x', 'v10']) await f.registry.putManifest('repo', tag, 'application/json', doc)
      await f.registry.putManifest('repo-b', 'zzz', 'application/json', doc)
      await f.registry.putManifest('rep', 'aaa', 'application/json', doc)
      const all = ['1.0', 'V1', '_x', 'latest', 'v10', 'v2']
      assert.deepEqual(await f.registry.listTags('repo'), all)
      assert.deepEqual(await f.registry.listTags('repo', { n: 2 }), ['1.0', 'V1'])
      assert.deepEqual(await f.registry.listTags('repo', { n: 2, last: 'V1' }), ['_x', 'latest'])
      assert.deepEqual(await f.registry.listTags('repo', { last: 'v10' }), ['v2'])
      assert.deepEqual(await f.registry.listTags('repo', { last: 'v2' }), [])
      assert.deepEqual(await f.registry.listTags('repo', { n: 0 }), [])
      assert.deepEqual(await f.registry.listRepositories(), ['rep', 'repo', 'repo-b'])
    } finally { await f.close() }
  })

  test(`${label}: referrers are indexed by subject, per repository`, async () => {
    const f = await openFixture(factory)
    try {
      const config = json({ os: 'linux' })
      await f.registry.blobs.putBlob(streamOf(config), { digest: digestOf(config) }, { repository: 'r' })
      const image = imageManifest(config, [])
      const subject = { mediaType: OCI_MANIFEST, digest: digestOf(image), size: image.length }
      const empty = json({})
      await f.registry.blobs.putBlob(streamOf(empty), { digest: digestOf(empty) }, { repository: 'r' })
      const sig = json({
        schemaVersion: 2,
        mediaType: OCI_MANIFEST,
        artifactType: 'application/vnd.example.sig',
        config: { mediaType: 'application/vnd.oci.empty.v1+json', digest: digestOf(empty), size: empty.length },
        layers: [],
        subject,
        annotations: { 'org.example': 'yes' }
      })
      const sbom = json({
        schemaVersion: 2,
        mediaType: OCI_MANIFEST,
        config: { mediaType: 'application/vnd.example.sbom', digest: digestOf(empty), size: empty.length },
        layers: [],
        subject
      })
      // The subject need not be present.
      await f.registry.putManifest('r', digestOf(sig), OCI_MANIFEST, sig)
      await f.registry.putManifest('r', image.length > 0 ? 'img' : 'x', OCI_MANIFEST, image)
      await f.registry.putManifest('r', digestOf(sbom), OCI_MANIFEST, sbom)
      const all = await f.registry.listReferrers('r', subject.digest)
      const expected = [
        { mediaType: OCI_MANIFEST, digest: digestOf(sig), size: sig.length, artifactType: 'application/vnd.example.sig', annotations: { 'org.example': 'yes' } },
        { mediaType: OCI_MANIFEST, digest: digestOf(sbom), size: sbom.length, artifactType: 'application/vnd.example.sbom' }
      ].sort((a, b) => a.digest < b.digest ? -1 : 1)
      assert.deepEqual(all, expected)
      assert.deepEqual(await f.registry.listReferrers('r', subject.digest, { artifactType: 'application/vnd.example.sbom' }), [expected.find((e) => e.digest === digestOf(sbom))])
      assert.deepEqual(await f.registry.listReferrers('elsewhere', subject.digest), [])
      assert.deepEqual(await f.registry.listReferrers('r', digestOf(sig)), [])
      assert.equal(await f.registry.deleteManifest('r', digestOf(sig)), true)
      assert.deepEqual(await f.registry.listReferrers('r', subject.digest), [expected.find((e) => e.digest === digestOf(sbom))])
    } finally { await f.close() }
  })

  test(`${label}: deleting tags, manifests and blobs removes records, not chunks`, async () => {
    const f = await openFixture(factory)
    try {
      const config = json({ os: 'linux' })
      const layer = randomBytes(100_000)
      for (const b of [config, layer]) await f.registry.blobs.putBlob(streamOf(b), { digest: digestOf(b) }, { repository: 'a' })
      await f.registry.linkBlob('b', digestOf(config))
      await f.registry.linkBlob('b', digestOf(layer))
      await assert.rejects(f.registry.linkBlob('b', digestOf(Buffer.from('nope'))), code('ERR_REGISTRY_BLOB_UNKNOWN'))
      const manifest = imageManifest(config, [layer])
      const digest = digestOf(manifest)
      await f.registry.putManifest('a', 'one', OCI_MANIFEST, manifest)
      await f.registry.putManifest('a', 'two', OCI_MANIFEST, manifest)
      await f.registry.putManifest('b', 'one', OCI_MANIFEST, manifest)
      assert.equal(await f.registry.deleteManifest('a', 'one'), true)
      assert.equal(await f.registry.deleteManifest('a', 'one'), false)
      assert.equal(await f.registry.getManifest('a', 'one'), undefined)
      assert.equal((await f.registry.getManifest('a', digest))?.digest, digest)
      assert.equal(await f.registry.deleteManifest('a', digest), true)
      assert.equal(await f.registry.getManifest('a', 'two'), undefined, 'tags of a deleted manifest go with it')
      assert.equal(await f.registry.deleteManifest('a', digest), false)
      assert.equal((await f.registry.getManifest('b', 'one'))?.digest, digest, 'another repository keeps it')
      assert.deepEqual(await f.registry.listTags('a'), [])
      // Blobs: unlink hides from one repository, delete removes everywhere.
      assert.equal(await f.registry.unlinkBlob('a', digestOf(layer)), true)
      assert.equal(await f.registry.unlinkBlob('a', digestOf(layer)), false)
      assert.equal(await f.registry.hasBlobLink('a', digestOf(layer)), false)
      assert.equal(await f.registry.hasBlobLink('b', digestOf(layer)), true)
      const chunks = []
      for await (const c of registryChunkRoots(f.store)) chunks.push(Buffer.from(c).toString('hex'))
      assert.equal(await f.registry.blobs.deleteBlob(digestOf(layer)), true)
      assert.equal(await f.registry.blobs.deleteBlob(digestOf(layer)), false)
      assert.equal(await f.registry.hasBlobLink('b', digestOf(layer)), false)
      assert.equal(await f.registry.blobs.statBlob(digestOf(layer)), undefined)
      for (const c of chunks) assert.ok(await f.store.hasChunk(Buffer.from(c, 'hex')), 'chunks stay until gc')
      const after = []
      for await (const c of registryChunkRoots(f.store)) after.push(Buffer.from(c).toString('hex'))
      assert.ok(after.length < chunks.length, 'the deleted blob is no longer a gc root')
      await assert.rejects(collect(f.registry.blobs.getBlob(digestOf(layer))), code('ERR_REGISTRY_BLOB_UNKNOWN'))
    } finally { await f.close() }
  })

  test(`${label}: stats add up per repository and overall`, async () => {
    const f = await openFixture(factory)
    try {
      const x = randomBytes(200_000)
      const y = randomBytes(70_000)
      await f.registry.blobs.putBlob(streamOf(x), { digest: digestOf(x) }, { repository: 'p' })
      await f.registry.blobs.putBlob(streamOf(y), { digest: digestOf(y) }, { repository: 'q' })
      await f.registry.linkBlob('q', digestOf(x))
      await f.registry.linkBlob('q', digestOf(x))
      const doc = json({ a: 1 })
      await f.registry.putManifest('p', 't', 'application/json', doc)
      await f.registry.putManifest('q', 't', 'application/json', doc)
      let s = await f.registry.stats()
      const sx = storedSizeOf(x)
      const sy = storedSizeOf(y)
      assert.deepEqual(s.overall, { pushedBytes: x.length + y.length + doc.length, storedBytes: sx + sy + doc.length, reproducedBlobs: 0, wholeBlobs: 2, wholeLayers: 0 })
      assert.deepEqual(s.repositories.p, { pushedBytes: x.length + doc.length, storedBytes: sx + doc.length, reproducedBlobs: 0, wholeBlobs: 1, wholeLayers: 0 })
      assert.deepEqual(s.repositories.q, { pushedBytes: x.length + y.length + doc.length, storedBytes: sy, reproducedBlobs: 0, wholeBlobs: 2, wholeLayers: 0 })
      await f.registry.unlinkBlob('q', digestOf(x))
      await f.registry.deleteManifest('p', digestOf(doc))
      s = await f.registry.stats()
      assert.deepEqual(s.repositories.q, { pushedBytes: y.length + doc.length, storedBytes: sy, reproducedBlobs: 0, wholeBlobs: 1, wholeLayers: 0 })
      assert.deepEqual(s.repositories.p, { pushedBytes: x.length, storedBytes: sx + doc.length, reproducedBlobs: 0, wholeBlobs: 1, wholeLayers: 0 })
      await f.registry.deleteManifest('q', digestOf(doc))
      await f.registry.blobs.deleteBlob(digestOf(x))
      s = await f.registry.stats()
      assert.deepEqual(s.overall, { pushedBytes: y.length, storedBytes: sy, reproducedBlobs: 0, wholeBlobs: 1, wholeLayers: 0 })
      assert.equal(s.repositories.p, undefined, 'an emptied repository is not listed')
    } finally { await f.close() }
  })

  test(`${label}: a corrupted or missing chunk, or a wrong chunk list, is ERR_INTEGRITY`, async () => {
    const f = await openFixture(factory)
    try {
      const bytes = randomBytes(400_000)
      const digest = digestOf(bytes)
      await f.registry.blobs.putBlob(streamOf(bytes), { digest })
      await f.store.flush()
      const lengths = chunkBuffer(bytes)
      // Swap two chunks in the record: each chunk is fine, the blob is not.
      const key = rawKey('gb', Buffer.from(digest.slice(7), 'hex'))
      const original = await f.db.get(key)
      const record = decodeBlobRecord(original!)
      assert.equal(record.body.storage, 'whole')
      if (record.body.storage !== 'whole') return
      const swapped = Buffer.concat([record.body.chunks.subarray(32, 64), record.body.chunks.subarray(0, 32), record.body.chunks.subarray(64)])
      await f.db.put(key, encodeBlobRecord({ ...record, body: { ...record.body, chunks: swapped, lengths: [lengths[1]!, lengths[0]!, ...lengths.slice(2)] } }))
      const seen: number[] = []
      await assert.rejects((async () => { for await (const p of f.registry.blobs.getBlob(digest)) seen.push(p.length) })(), code('ERR_INTEGRITY'))
      assert.ok(seen.reduce((a, b) => a + b, 0) < bytes.length, 'the last piece is withheld')
      await f.db.put(key, original!)
      assert.ok((await collect(f.registry.blobs.getBlob(digest))).equals(bytes))
      // A chunk whose stored bytes changed.
      const first = record.body.chunks.subarray(0, 32)
      const chunkKey = rawKey('c', first)
      const bad = Buffer.from(bytes.subarray(0, lengths[0]!))
      bad[100] = bad[100]! ^ 1
      await f.db.put(chunkKey, encodeStored(bad, { level: 0 }))
      await assert.rejects(collect(f.registry.blobs.getBlob(digest)), code('ERR_INTEGRITY'))
      await assert.rejects(collect(f.registry.blobs.getBlob(digest, { range: { start: 0, end: 10 } })), code('ERR_INTEGRITY'))
      assert.equal((await collect(f.registry.blobs.getBlob(digest, { range: { start: lengths[0]!, end: lengths[0]! + 10 } }))).length, 10, 'other chunks still read')
      // A missing chunk.
      await f.db.del(chunkKey)
      await assert.rejects(collect(f.registry.blobs.getBlob(digest)), code('ERR_INTEGRITY'))
      assert.ok(sha256.digest(bad).length === 32)
    } finally { await f.close() }
  })

  test(`${label}: a corrupted manifest record is ERR_INTEGRITY`, async () => {
    const f = await openFixture(factory)
    try {
      const doc = json({ a: 1 })
      const digest = await f.registry.putManifest('r', 't', 'application/json', doc)
      const key = rawKey('gm', Buffer.from(digest.slice(7), 'hex'))
      const { encodeManifestRecord } = await import('../../../src/registry/backend/records.js')
      await f.db.put(key, encodeManifestRecord({ mediaType: 'application/json', bytes: json({ a: 2 }), owner: 'r' }))
      await assert.rejects(f.registry.getManifest('r', 't'), code('ERR_INTEGRITY'))
    } finally { await f.close() }
  })

  test(`${label}: concurrent identical puts store a blob once; manifests racing blobs stay consistent`, async () => {
    const f = await openFixture(factory)
    try {
      const bytes = randomBytes(500_000)
      const digest = digestOf(bytes)
      const repos = ['r1', 'r2', 'r3', 'r4', 'r1']
      const infos = await Promise.all(repos.map(async (repository) => await f.registry.blobs.putBlob(streamOf(bytes, 3000 + repository.length), { digest }, { repository })))
      for (const info of infos) assert.deepEqual(info, { digest, size: bytes.length, storage: 'whole' })
      const s = await f.registry.stats()
      assert.equal(s.overall.pushedBytes, bytes.length)
      assert.equal(s.overall.storedBytes, storedSizeOf(bytes), 'stored once, attributed once')
      assert.equal(s.overall.wholeBlobs, 1)
      for (const r of ['r1', 'r2', 'r3', 'r4']) {
        assert.equal(await f.registry.hasBlobLink(r, digest), true)
        assert.equal(s.repositories[r]!.pushedBytes, bytes.length)
      }
      assert.equal((await f.store.stats()).chunks, chunkBuffer(bytes).length)
      // Different blobs sharing runs of bytes, pushed at once: each chunk is paid for once.
      const parts = [randomBytes(150_000), randomBytes(150_000), randomBytes(150_000)]
      const mixes = [[0, 1], [1, 2], [0, 2], [2, 1, 0], [0]].map((order) => Buffer.concat(order.map((i) => parts[i]!)))
      await Promise.all(mixes.map(async (m, i) => await f.registry.blobs.putBlob(streamOf(m, 4096), { digest: digestOf(m) }, { repository: `mix${i}` })))
      const mixed = await f.registry.stats()
      assert.equal(mixed.overall.storedBytes, (await f.store.stats()).storedBytes, 'stored bytes of the blobs are those of the chunk store')
      assert.equal(Object.values(mixed.repositories).reduce((a, r) => a + r.storedBytes, 0), mixed.overall.storedBytes)
      // A manifest racing its blobs: rejected or accepted, never half-stored.
      const config = json({ race: true })
      const manifest = imageManifest(config, [bytes])
      const results = await Promise.allSettled([
        f.registry.putManifest('r5', 'v', OCI_MANIFEST, manifest),
        f.registry.blobs.putBlob(streamOf(config), { digest: digestOf(config) }, { repository: 'r5' }),
        f.registry.linkBlob('r5', digest),
        f.registry.putManifest('r5', 'v', OCI_MANIFEST, manifest)
      ])
      for (const r of results) if (r.status === 'rejected') assert.equal(r.reason.code, 'ERR_REGISTRY_MANIFEST_BLOB_UNKNOWN')
      const ok = results.filter((r, i) => (i === 0 || i === 3) && r.status === 'fulfilled').length
      assert.equal((await f.registry.getManifest('r5', 'v')) !== undefined, ok > 0)
      await f.registry.putManifest('r5', 'v', OCI_MANIFEST, manifest)
      const doc = await Promise.all([1, 2, 3].map(async () => await f.registry.putManifest('r6', 'same', 'application/json', json({ n: 1 }))))
      assert.equal(new Set(doc).size, 1)
      const after = await f.registry.stats()
      assert.equal(after.overall.pushedBytes, bytes.length + mixes.reduce((a, m) => a + m.length, 0) + config.length + manifest.length + json({ n: 1 }).length)
    } finally { await f.close() }
  })
}
