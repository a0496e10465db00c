/**
 * The registry client against `tessera serve` (in process, over a memory
 * store), a second, independent registry implementation: it has the
 * referrers API and tag paging that distribution 2.8 lacks, and answers a
 * multi-range request with one multipart/byteranges 206.
 */
import { after, before, beforeEach, test } from 'node:test'
import assert from 'node:assert/strict'
import { MemoryLevel } from 'memory-level'
import { openRegistryStore } from '../../../src/registry/backend/index.js'
import { openLevelStore } from '../../../src/store/index.js'
import { mkdtemp, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { addReferrer, type ByteRange } from '../../../src/distribution/client/index.js'
import { startServer, type Running } from '../../registry/server/helpers.js'
import { startCountingProxy, type CountingProxy } from '../../helpers/counting-proxy.js'
import { assertRanges, digestOf, OCI_MANIFEST, open, pushImage, randomBlob } from './fixture.js'

let server: Running
let proxy: CountingProxy
const blob = randomBlob(600_000, 31)
const blobDigest = digestOf(blob)

before(async () => {
  const spool = await mkdtemp(join(tmpdir(), 'tessera-client-serve-'))
  const store = await openLevelStore(new MemoryLevel<Uint8Array, Uint8Array>({ keyEncoding: 'view', valueEncoding: 'view' }) as any, {})
  const registry = await openRegistryStore(store, { tempDirectory: spool })
  server = await startServer({ registry, dump: async () => [], close: async () => { await store.close(); await rm(spool, { recursive: true, force: true }) } })
  proxy = await startCountingProxy(server.url)
})
after(async () => {
  await proxy?.close()
  await server?.stop()
})
beforeEach(() => { proxy.rule = undefined; proxy.reset() })

test('uploads, mounts and verified reads work against tessera serve too', async () => {
  const repo = open(proxy.host, 'lib/app')
  assert.equal(await repo.putBlob({ digest: blobDigest, size: blob.length }, blob), 'uploaded')
  assert.equal(await repo.putBlob({ digest: blobDigest, size: blob.length }, blob), 'present')
  assert.equal(await open(proxy.host, 'lib/copy').putBlob({ digest: blobDigest, size: blob.length }, blob, { mountFrom: 'lib/app' }), 'mounted')
  const streamed = randomBlob(100_000, 32)
  assert.equal(await repo.putBlob({ digest: digestOf(streamed), size: streamed.length }, () => (async function * () { yield streamed.subarray(0, 5); yield streamed.subarray(5) })()), 'uploaded')
  assert.ok(Buffer.from(await repo.getBlob(digestOf(streamed), streamed.length)).equals(streamed))
  const { digest, bytes } = await pushImage(repo, 'v1', [blob])
  const got = await repo.getManifest(digest)
  assert.ok(Buffer.from(got.bytes).equals(bytes))
})

test('getRanges: a multi-range request is answered by one multipart/byteranges 206', async () => {
  const repo = open(proxy.host, 'lib/app')
  await repo.putBlob({ digest: blobDigest, size: blob.length }, blob)
  proxy.reset()
  const ranges: ByteRange[] = [{ offset: 1, length: 10 }, { offset: 200_000, length: 500 }, { offset: 599_000, length: 1000 }]
  await assertRanges(repo.getRanges(blobDigest, blob.length, ranges), ranges, blob)
  assert.deepEqual(proxy.ofRoute('GET blob').map((e) => e.status), [206])
  assert.ok(proxy.counts().bytesOut < 2000, 'only the ranges')
  assert.equal(repo.rangeMode, 'multi')
})

test('getRanges: a whole-blob answer to a multi-range request (a registry ignoring ranges) is used, then single ranges', async () => {
  const repo = open(proxy.host, 'lib/app')
  await repo.putBlob({ digest: blobDigest, size: blob.length }, blob)
  proxy.reset()
  let dropped = false
  proxy.rule = (r) => {
    if (r.route !== 'GET blob' || dropped) return undefined
    dropped = true
    return { dropRequestHeaders: ['range'] }
  }
  const ranges: ByteRange[] = [{ offset: 1, length: 10 }, { offset: 200_000, length: 500 }, { offset: 599_000, length: 1000 }]
  await assertRanges(repo.getRanges(blobDigest, blob.length, ranges), ranges, blob)
  assert.deepEqual(proxy.ofRoute('GET blob').map((e) => e.status), [200])
  assert.equal(repo.rangeMode, 'single')
  proxy.reset()
  await assertRanges(repo.getRanges(blobDigest, blob.length, ranges), ranges, blob)
  assert.deepEqual(proxy.ofRoute('GET blob').map((e) => e.status), [206, 206, 206])
  assert.ok(proxy.counts().bytesOut < 2000, 'only the ranges')
  assert.equal(repo.rangeMode, 'single')
})

test('tags are paged by Link', async () => {
  const repo = open(proxy.host, 'lib/tags')
  const tags = Array.from({ length: 12 }, (_, i) => `v${String(i).padStart(2, '0')}`)
  await pushImage(repo, tags[0]!)
  const manifest = (await repo.getManifest(tags[0]!)).bytes
  for (const tag of tags.slice(1)) await repo.putManifest(tag, OCI_MANIFEST, manifest)
  proxy.reset()
  proxy.rule = (r) => r.route === 'GET tags' ? { rewritePath: r.path.replace('n=1000', 'n=5') } : undefined
  assert.deepEqual(await repo.listTags(), tags)
  assert.deepEqual(proxy.ofRoute('GET tags').map((e) => e.path.replace(/^\/v2\/lib\/tags\/tags\/list/, '')), ['?n=1000', '?n=5&last=v04', '?n=5&last=v09'])
})

test('referrers come from the API, filtered; addReferrer then writes nothing', async () => {
  const repo = open(proxy.host, 'lib/refs')
  const subject = await pushImage(repo, 'v1')
  const subjectDescriptor = { mediaType: OCI_MANIFEST, digest: subject.digest, size: subject.bytes.length }
  const sig = await pushImage(repo, 'sig', [], { artifactType: 'application/vnd.test.sig', subject: subjectDescriptor })
  await pushImage(repo, 'sbom', [], { artifactType: 'application/vnd.test.sbom', subject: subjectDescriptor })
  proxy.reset()
  const all = await repo.listReferrers(subject.digest)
  assert.deepEqual(all.map((d) => d.artifactType).sort(), ['application/vnd.test.sbom', 'application/vnd.test.sig'])
  const sigs = await repo.listReferrers(subject.digest, { artifactType: 'application/vnd.test.sig' })
  assert.deepEqual(sigs.map((d) => d.digest), [sig.digest])
  assert.deepEqual(proxy.log.map((e) => [e.route, e.status]), [['GET referrers', 200], ['GET referrers', 200]])
  proxy.reset()
  assert.equal(await addReferrer(repo, subject.digest, sigs[0]!), 'listed')
  assert.equal(proxy.ofRoute('PUT manifest').length, 0)
})
