/**
 * The registry client against a real docker-registry (distribution 2.8)
 * started by the test, behind a counting proxy that counts what goes over
 * the wire and misbehaves on demand: manifests, blobs, uploads and
 * mounts, ranged reads (multi-range, and every fallback), truncation,
 * wrong bytes, 429/5xx, stalls, hostile headers, tags and referrers.
 */
import { after, before, beforeEach, test } from 'node:test'
import assert from 'node:assert/strict'
import { createServer } from 'node:http'
import { once } from 'node:events'
import type { AddressInfo } from 'node:net'
import fc from 'fast-check'
import { addReferrer, type ByteRange } from '../../../src/distribution/client/index.js'
import { startRegistry, type RunningRegistry } from '../../helpers/registry.js'
import { startCountingProxy, type CountingProxy } from '../../helpers/counting-proxy.js'
import { missingTools } from '../../helpers/tools.js'
import { assertRanges, CONFIG, digestOf, OCI_MANIFEST, open, pushImage, randomBlob } from './fixture.js'

const skip = missingTools('docker-registry')
let registry: RunningRegistry
let proxy: CountingProxy
const blob = randomBlob(1024 * 1024 + 17, 3)
const blobDigest = digestOf(blob)

before(async () => {
  if (skip !== false) return
  registry = await startRegistry()
  proxy = await startCountingProxy(registry.url)
  await open(registry.host, 'lib/app').putBlob({ digest: blobDigest, size: blob.length }, blob)
})
after(async () => {
  await proxy?.close()
  await registry?.stop()
})
beforeEach(() => { if (skip === false) { proxy.rule = undefined; proxy.reset() } })

const t = (name: string, fn: () => Promise<void>): void => { test(name, skip === false ? {} : { skip }, fn) }
const code = (c: string) => (err: any): boolean => { assert.equal(err.code, c, err.message); assert.ok(!String(err.message).includes('\n'), 'one line'); return true }

t('blobs: upload with HEAD first, present, mount, streamed upload, verified GET and stream', async () => {
  const repo = open(proxy.host, 'lib/blobs')
  const data = randomBlob(300_000, 9)
  const d = digestOf(data)
  assert.equal(await repo.statBlob(d), undefined)
  assert.equal(await repo.putBlob({ digest: d, size: data.length }, data), 'uploaded')
  // the proxy's first client in this process pings it first (once: no later test sees a ping)
  assert.deepEqual(proxy.log.map((e) => e.route), ['GET /v2/', 'HEAD blob', 'HEAD blob', 'POST upload', 'PUT upload'])
  assert.equal(proxy.ofRoute('PUT upload')[0]!.bytesIn, data.length)
  proxy.reset()
  assert.equal(await repo.putBlob({ digest: d, size: data.length }, data), 'present')
  assert.deepEqual(proxy.log.map((e) => e.route), ['HEAD blob'])
  assert.equal(await repo.statBlob(d), data.length)

  proxy.reset()
  const other = open(proxy.host, 'lib/other')
  assert.equal(await other.putBlob({ digest: d, size: data.length }, data, { mountFrom: 'lib/blobs' }), 'mounted')
  assert.equal(proxy.counts().bytesIn, 0, 'a mount sends no bytes')
  assert.match(proxy.ofRoute('POST upload')[0]!.path, /mount=sha256%3A[0-9a-f]{64}&from=lib%2Fblobs/)
  assert.equal(await other.statBlob(d), data.length)
  // a mount from a repository without the blob falls back to an upload in the session the registry opened
  proxy.reset()
  const data2 = randomBlob(1000, 10)
  assert.equal(await open(proxy.host, 'lib/third').putBlob({ digest: digestOf(data2), size: data2.length }, data2, { mountFrom: 'lib/nothing' }), 'uploaded')
  assert.deepEqual(proxy.log.map((e) => e.route), ['HEAD blob', 'POST upload', 'PUT upload'])

  // a stream is sent by one PATCH and closed by a PUT
  proxy.reset()
  const streamed = randomBlob(200_000, 11)
  let calls = 0
  const body = (): AsyncIterable<Uint8Array> => { calls++; return (async function * () { for (let i = 0; i < streamed.length; i += 65536) yield streamed.subarray(i, i + 65536) })() }
  assert.equal(await repo.putBlob({ digest: digestOf(streamed), size: streamed.length }, body), 'uploaded')
  assert.equal(calls, 1)
  assert.deepEqual(proxy.log.map((e) => e.route), ['HEAD blob', 'POST upload', 'PATCH upload', 'PUT upload'])
  assert.equal(proxy.ofRoute('PATCH upload')[0]!.bytesIn, streamed.length)
  assert.ok(Buffer.from(await repo.getBlob(digestOf(streamed), streamed.length)).equals(streamed))

  const parts: Buffer[] = []
  for await (const c of repo.streamBlob(d, data.length)) parts.push(Buffer.from(c))
  assert.ok(Buffer.concat(parts).equals(data))
  await assert.rejects(repo.getBlob(digestOf('absent'), 6), code('ERR_REGISTRY_NOT_FOUND'))
  // the client's counters agree with the proxy's
  proxy.reset()
  const fresh = open(proxy.host, 'lib/blobs')
  await fresh.getBlob(d, data.length)
  await fresh.statBlob(digestOf('absent'))
  await fresh.putBlob({ digest: digestOf('tiny'), size: 4 }, Buffer.from('tiny'))
  const c = proxy.counts()
  assert.deepEqual(fresh.counters, { requests: c.requests, bytesReceived: c.bytesOut, bytesSent: c.bytesIn })
})

t('uploads refuse wrong bytes before sending them, and a wrong stream never completes', async () => {
  const repo = open(proxy.host, 'lib/wrong')
  const data = randomBlob(5000, 12)
  await assert.rejects(repo.putBlob({ digest: digestOf('other'), size: data.length }, data), code('ERR_INTEGRITY'))
  await assert.rejects(repo.putBlob({ digest: digestOf(data), size: data.length + 1 }, data), code('ERR_INTEGRITY'))
  assert.equal(proxy.counts().requests, 0)
  const claimed = digestOf(data)
  const wrong = Buffer.from(data)
  wrong[100] = wrong[100]! ^ 1
  await assert.rejects(repo.putBlob({ digest: claimed, size: data.length }, () => (async function * () { yield wrong })()), code('ERR_INTEGRITY'))
  assert.equal(proxy.ofRoute('PUT upload').length, 0, 'the upload is never closed')
  assert.equal(await repo.statBlob(claimed), undefined)
})

t('manifests: round trip by tag and digest, limits, too large for the registry, wrong bytes', async () => {
  const repo = open(proxy.host, 'lib/app')
  const { digest, bytes } = await pushImage(repo, 'v1', [blob])
  const byTag = await repo.getManifest('v1')
  assert.deepEqual({ ...byTag, bytes: Buffer.from(byTag.bytes) }, { mediaType: OCI_MANIFEST, digest, bytes })
  const byDigest = await repo.getManifest(digest)
  assert.equal(byDigest.digest, digest)
  assert.match(proxy.ofRoute('GET manifest')[0]!.path, /\/manifests\/v1$/)
  await assert.rejects(repo.getManifest('v1', { maxBytes: 100 }), code('ERR_REGISTRY_TOO_LARGE'))
  await assert.rejects(repo.getManifest('nope'), code('ERR_REGISTRY_NOT_FOUND'))
  await assert.rejects(repo.getManifest('bad tag!'), code('ERR_INVALID_REFERENCE'))

  // the registry's own 4 MiB limit: a 400 MANIFEST_INVALID "request body too large"
  const big = Buffer.from(JSON.stringify({ ...JSON.parse(bytes.toString()), annotations: { pad: 'x'.repeat(4_300_000) } }))
  await assert.rejects(repo.putManifest('big', OCI_MANIFEST, big), code('ERR_MANIFEST_TOO_LARGE'))
  assert.equal(proxy.ofRoute('PUT manifest').at(-1)!.status, 400)
  // and a 413 from a proxy in front of it
  proxy.rule = (r) => r.route === 'PUT manifest' ? { respond: { status: 413, body: 'Request Entity Too Large' } } : undefined
  await assert.rejects(repo.putManifest('big', OCI_MANIFEST, bytes), code('ERR_MANIFEST_TOO_LARGE'))
  // other refusals keep the registry's code
  proxy.rule = undefined
  const unknownLayer = Buffer.from(JSON.stringify({ ...JSON.parse(bytes.toString()), layers: [{ mediaType: 'application/octet-stream', digest: digestOf('nothing'), size: 7 }] }))
  await assert.rejects(repo.putManifest('v2', OCI_MANIFEST, unknownLayer), (err: any) => err.code === 'ERR_REGISTRY_REJECTED' && err.registryCodes.includes('MANIFEST_BLOB_UNKNOWN'))

  // one flipped byte: by digest it fails the digest, by tag the Docker-Content-Digest
  proxy.rule = (r) => r.route === 'GET manifest' ? { flipByteAt: 30 } : undefined
  // the message names the reference as it is written: repo@digest, repo:tag
  await assert.rejects(repo.getManifest(digest), (err: any) => err.code === 'ERR_INTEGRITY' && err.message.startsWith(`manifest lib/app@${digest}: `))
  await assert.rejects(repo.getManifest('v1'), (err: any) => err.code === 'ERR_INTEGRITY' && err.message.startsWith('manifest lib/app:v1: '))
  // a Content-Length past the limit is refused before the body is read
  proxy.rule = (r) => r.route === 'GET manifest' ? { respond: { status: 200, headers: { 'content-type': OCI_MANIFEST, 'content-length': '999999999' }, body: '' } } : undefined
  await assert.rejects(repo.getManifest('v1'), code('ERR_REGISTRY_TOO_LARGE'))
})

t('getRanges: hundreds of ranges in one multi-range request, counted by the proxy', async () => {
  const repo = open(proxy.host, 'lib/app')
  const ranges: ByteRange[] = []
  for (let i = 0; i < 200; i++) ranges.push({ offset: i * 5200 + (i % 7), length: 100 + (i % 50) })
  ranges.push({ offset: 5, length: 10 }, { offset: 5, length: 10 }, { offset: 0, length: 0 }, { offset: blob.length - 3, length: 3 })
  await assertRanges(repo.getRanges(blobDigest, blob.length, ranges), ranges, blob)
  const gets = proxy.ofRoute('GET blob')
  assert.equal(gets.length, 1, 'one request')
  assert.equal(gets[0]!.status, 206)
  assert.equal(gets[0]!.range!.split(',').length, 201, 'every range (but the one inside another) in its header')
  assert.ok(gets[0]!.bytesOut < 60_000, `only the ranges went over the wire (${gets[0]!.bytesOut})`)
  assert.equal(repo.rangeMode, 'multi')
  assert.equal(repo.counters.requests, proxy.counts().requests)
  assert.equal(repo.counters.bytesReceived, proxy.counts().bytesOut)

  // more ranges than one request takes: batches of at most 1000 ranges and 32 KiB of header
  const large = randomBlob(2500 * 5000, 5)
  await repo.putBlob({ digest: digestOf(large), size: large.length }, large)
  proxy.reset()
  const many: ByteRange[] = []
  for (let i = 0; i < 2500; i++) many.push({ offset: i * 5000, length: 10 })
  await assertRanges(repo.getRanges(digestOf(large), large.length, many), many, large)
  const batches = proxy.ofRoute('GET blob')
  assert.ok(batches.length >= 3 && batches.length <= 5, `${batches.length} requests`)
  assert.equal(batches.reduce((n, e) => n + e.range!.split(',').length, 0), 2500)
  for (const e of batches) assert.ok(e.range!.split(',').length <= 1000 && e.range!.length <= 32 * 1024)
})

t('getRanges property: arbitrary ranges come back exactly once with the right bytes', async () => {
  const repo = open(proxy.host, 'lib/app')
  const arb = fc.array(fc.nat(blob.length).chain((offset) => fc.nat(Math.min(blob.length - offset, 70_000)).map((length) => ({ offset, length }))), { maxLength: 40 })
  await fc.assert(fc.asyncProperty(arb, async (ranges) => {
    proxy.reset()
    await assertRanges(repo.getRanges(blobDigest, blob.length, ranges), ranges, blob)
    assert.ok(proxy.ofRoute('GET blob').length <= 1)
  }), { numRuns: 25 })
})

t('getRanges: a 200 where 206 was asked is used whole, checked, and single ranges come next', async () => {
  const repo = open(proxy.host, 'lib/app')
  const ranges: ByteRange[] = [{ offset: 10, length: 100 }, { offset: 500_000, length: 1000 }, { offset: blob.length - 10, length: 10 }]
  proxy.rule = (r) => r.route === 'GET blob' ? { dropRequestHeaders: ['range'] } : undefined
  await assertRanges(repo.getRanges(blobDigest, blob.length, ranges), ranges, blob)
  assert.deepEqual(proxy.ofRoute('GET blob').map((e) => e.status), [200])
  assert.equal(repo.rangeMode, 'single')
  // the next read: single ranges, still ignored: whole blobs from then on
  proxy.reset()
  await assertRanges(repo.getRanges(blobDigest, blob.length, ranges), ranges, blob)
  assert.equal(repo.rangeMode, 'whole')
  proxy.reset()
  await assertRanges(repo.getRanges(blobDigest, blob.length, ranges), ranges, blob)
  assert.deepEqual(proxy.ofRoute('GET blob').map((e) => [e.status, e.range]), [[200, undefined]])
  // a whole body with a wrong byte fails its digest
  const wrong = open(proxy.host, 'lib/app')
  proxy.rule = (r) => r.route === 'GET blob' ? { dropRequestHeaders: ['range'], flipByteAt: 700_000 } : undefined
  await assert.rejects(assertRanges(wrong.getRanges(blobDigest, blob.length, ranges), ranges, blob), code('ERR_INTEGRITY'))
  // a whole body longer than the blob is refused as it arrives
  proxy.rule = (r) => r.route === 'GET blob' ? { dropRequestHeaders: ['range'], replaceBody: (b) => Buffer.concat([b, Buffer.from('extra')]) } : undefined
  await assert.rejects(assertRanges(open(proxy.host, 'lib/app').getRanges(blobDigest, blob.length, ranges), ranges, blob), code('ERR_REGISTRY_TOO_LARGE'))
})

t('getRanges: a registry refusing multi-range (GCS-like 400) gets single ranges, then whole blobs', async () => {
  const repo = open(proxy.host, 'lib/app')
  const ranges: ByteRange[] = [{ offset: 0, length: 10 }, { offset: 300_000, length: 50 }, { offset: 600_000, length: 5000 }, { offset: 900_000, length: 1 }]
  proxy.rule = (r) => r.route === 'GET blob' && (r.headers.range ?? '').includes(',') ? { respond: { status: 400, headers: { 'content-type': 'application/xml' }, body: '<Error><Code>InvalidArgument</Code></Error>' } } : undefined
  await assertRanges(repo.getRanges(blobDigest, blob.length, ranges), ranges, blob)
  const gets = proxy.ofRoute('GET blob')
  assert.deepEqual(gets.map((e) => e.status), [400, 206, 206, 206, 206])
  assert.equal(repo.rangeMode, 'single')
  // no ranges at all (416 to every one): the whole blob
  proxy.reset()
  proxy.rule = (r) => r.route === 'GET blob' && r.headers.range !== undefined ? { respond: { status: 416 } } : undefined
  await assertRanges(repo.getRanges(blobDigest, blob.length, ranges), ranges, blob)
  assert.equal(repo.rangeMode, 'whole')
  assert.deepEqual(proxy.ofRoute('GET blob').at(-1)!.range, undefined)
})

t('getRanges: hostile 206 answers are protocol errors', async () => {
  const ranges: ByteRange[] = [{ offset: 0, length: 10 }, { offset: 300_000, length: 50 }]
  const hostile: Array<[string, NonNullable<typeof proxy.rule>]> = [
    ['a Content-Range not asked for', (r) => r.route === 'GET blob' ? { respond: { status: 206, headers: { 'content-range': 'bytes 1-10/1048593' }, body: 'x'.repeat(10) } } : undefined],
    ['a Content-Length that is not the Content-Range', (r) => r.route === 'GET blob' ? { respond: { status: 206, headers: { 'content-range': 'bytes 0-9/1048593' }, body: 'x'.repeat(9) } } : undefined],
    ['a 206 without Content-Range', (r) => r.route === 'GET blob' ? { respond: { status: 206, headers: { 'content-type': 'application/octet-stream' }, body: 'x'.repeat(10) } } : undefined],
    ['a multipart type without boundary', (r) => r.route === 'GET blob' ? { setResponseHeaders: { 'content-type': 'multipart/byteranges' } } : undefined],
    ['a multipart answer with the wrong boundary', (r) => r.route === 'GET blob' ? { setResponseHeaders: { 'content-type': 'multipart/byteranges; boundary=nottheone' } } : undefined],
    ['another blob size', (r) => r.route === 'GET blob' ? { rewritePath: r.path, replaceBody: (b) => Buffer.from(b.toString('latin1').replace(/\/1048593/g, '/1048594'), 'latin1') } : undefined]
  ]
  for (const [name, rule] of hostile) {
    proxy.rule = rule
    await assert.rejects(assertRanges(open(proxy.host, 'lib/app', { retries: 1 }).getRanges(blobDigest, blob.length, ranges), ranges, blob), code('ERR_REGISTRY_PROTOCOL'), name)
  }
})

t('truncated bodies: ERR_REGISTRY_TRUNCATED after the retries, resumed when the next try succeeds', async () => {
  proxy.rule = (r) => r.route === 'GET blob' ? { truncateAt: 1000 } : undefined
  await assert.rejects(open(proxy.host, 'lib/app', { retries: 2 }).getBlob(blobDigest, blob.length), code('ERR_REGISTRY_TRUNCATED'))
  assert.equal(proxy.ofRoute('GET blob').length, 3)
  const ranges: ByteRange[] = [{ offset: 0, length: 5000 }, { offset: 300_000, length: 50 }]
  await assert.rejects(assertRanges(open(proxy.host, 'lib/app', { retries: 1 }).getRanges(blobDigest, blob.length, ranges), ranges, blob), code('ERR_REGISTRY_TRUNCATED'))
  // cut once: the stream resumes at the byte it stopped at, nothing read twice
  proxy.reset()
  proxy.rule = (r) => r.route === 'GET blob' && r.nth === 0 ? { truncateAt: 400_000 } : undefined
  const got = Buffer.from(await open(proxy.host, 'lib/app').getBlob(blobDigest, blob.length))
  assert.ok(got.equals(blob))
  assert.deepEqual(proxy.ofRoute('GET blob').map((e) => e.range), [undefined, 'bytes=400000-'])
  assert.equal(proxy.counts().bytesOut, blob.length)
  // ranges: a cut multipart answer is asked again, only for what is missing
  proxy.reset()
  proxy.rule = (r) => r.route === 'GET blob' && r.nth === 0 ? { truncateAt: 5300 } : undefined
  await assertRanges(open(proxy.host, 'lib/app').getRanges(blobDigest, blob.length, ranges), ranges, blob)
  assert.deepEqual(proxy.ofRoute('GET blob').map((e) => e.range), ['bytes=0-4999,300000-300049', 'bytes=300000-300049'])
})

t('wrong bytes in whole blobs are ERR_INTEGRITY, for getBlob and at the end of streamBlob', async () => {
  proxy.rule = (r) => r.route === 'GET blob' ? { flipByteAt: 123_456 } : undefined
  await assert.rejects(open(proxy.host, 'lib/app').getBlob(blobDigest, blob.length), code('ERR_INTEGRITY'))
  let seen = 0
  await assert.rejects((async () => { for await (const c of open(proxy.host, 'lib/app').streamBlob(blobDigest, blob.length)) seen += c.length })(), code('ERR_INTEGRITY'))
  assert.equal(seen, blob.length, 'the error comes at the end of the stream')
  // a body longer or shorter than the descriptor's size
  proxy.rule = undefined
  await assert.rejects(open(proxy.host, 'lib/app').getBlob(blobDigest, blob.length - 1), code('ERR_REGISTRY_TOO_LARGE'))
  await assert.rejects(open(proxy.host, 'lib/app').getBlob(blobDigest, blob.length + 1), code('ERR_REGISTRY_TRUNCATED'))
})

t('429 with Retry-After is waited for, then succeeds; a Retry-After past the cap fails at once', async () => {
  const repo = open(proxy.host, 'lib/app')
  proxy.rule = (r) => r.route === 'HEAD blob' && r.nth < 2 ? { respond: { status: 429, headers: { 'retry-after': '1' } } } : undefined
  const start = Date.now()
  assert.equal(await repo.statBlob(blobDigest), blob.length)
  assert.ok(Date.now() - start >= 1900, 'waited Retry-After twice')
  assert.deepEqual(proxy.ofRoute('HEAD blob').map((e) => e.status), [429, 429, 200])
  proxy.reset()
  proxy.rule = (r) => r.route === 'HEAD blob' ? { respond: { status: 429, headers: { 'retry-after': '3600' }, body: '{"errors":[{"code":"TOOMANYREQUESTS","message":"slow down"}]}' } } : undefined
  await assert.rejects(repo.statBlob(blobDigest), code('ERR_REGISTRY_RATE_LIMITED'))
  assert.equal(proxy.counts().requests, 1)
  proxy.rule = (r) => r.route === 'GET manifest' ? { respond: { status: 429 } } : undefined
  await assert.rejects(open(proxy.host, 'lib/app', { retries: 2 }).getManifest('v1'), code('ERR_REGISTRY_RATE_LIMITED'))
})

t('5xx are retried a bounded number of times, then ERR_REGISTRY_UNAVAILABLE', async () => {
  proxy.rule = (r) => r.route === 'GET manifest' ? { respond: { status: 503, body: 'down' } } : undefined
  await assert.rejects(open(proxy.host, 'lib/app', { retries: 3 }).getManifest('v1'), code('ERR_REGISTRY_UNAVAILABLE'))
  assert.equal(proxy.ofRoute('GET manifest').length, 4)
  proxy.reset()
  proxy.rule = (r) => r.route === 'GET manifest' && r.nth === 0 ? { respond: { status: 502 } } : undefined
  assert.equal((await open(proxy.host, 'lib/app').getManifest('v1')).mediaType, OCI_MANIFEST)
  // nothing listening: unavailable, after the retries
  const closed = createServer()
  closed.listen(0, '127.0.0.1')
  await once(closed, 'listening')
  const port = (closed.address() as AddressInfo).port
  closed.close()
  await assert.rejects(open(`127.0.0.1:${port}`, 'lib/app', { retries: 1 }).statBlob(blobDigest), code('ERR_REGISTRY_UNAVAILABLE'))
})

t('stalls are timeouts: no headers, or a body that stops', async () => {
  proxy.rule = (r) => r.route === 'GET blob' ? { stallAt: 1000 } : undefined
  await assert.rejects(open(proxy.host, 'lib/app', { timeoutMs: 300, retries: 1 }).getBlob(blobDigest, blob.length), (err: any) => code('ERR_REGISTRY_UNAVAILABLE')(err) && /stalled \(less than 1024 bytes in 300 ms\)/.test(err.message))
  // a body that drips a byte at a time is a stall too
  proxy.rule = (r) => r.route === 'GET manifest' ? { dripMs: 20 } : undefined
  await pushImage(open(registry.host, 'lib/drip'), 'v1')
  await assert.rejects(open(proxy.host, 'lib/drip', { timeoutMs: 300, retries: 0 }).getManifest('v1'), (err: any) => code('ERR_REGISTRY_UNAVAILABLE')(err) && /stalled/.test(err.message))
  proxy.rule = (r) => r.route === 'HEAD blob' ? { delayMs: 5000 } : undefined
  const start = Date.now()
  await assert.rejects(open(proxy.host, 'lib/app', { timeoutMs: 300, retries: 0 }).statBlob(blobDigest), (err: any) => code('ERR_REGISTRY_UNAVAILABLE')(err) && /no response headers/.test(err.message))
  assert.ok(Date.now() - start < 4000)
  // an abort ends a stalled read at once
  proxy.rule = (r) => r.route === 'GET blob' ? { stallAt: 1000 } : undefined
  const ac = new AbortController()
  setTimeout(() => ac.abort(), 200)
  await assert.rejects(open(proxy.host, 'lib/app', { timeoutMs: 60_000 }).getBlob(blobDigest, blob.length, { signal: ac.signal }), code('ERR_ABORTED'))
})

t('requests are bounded by maxConcurrency, and a request waiting for a slot can be aborted', async () => {
  const repo = open(proxy.host, 'lib/app', { maxConcurrency: 2 })
  proxy.rule = (r) => r.route === 'HEAD blob' ? { delayMs: 100 } : undefined
  const sizes = await Promise.all(Array.from({ length: 8 }, async () => await repo.statBlob(blobDigest)))
  assert.deepEqual(sizes, Array(8).fill(blob.length))
  assert.equal(proxy.counts().maxInFlight, 2)
  // connections are reused: HEADs, small error bodies, whole bodies and cut-short ones
  proxy.rule = undefined
  proxy.reset()
  const reuse = open(proxy.host, 'lib/app', { maxConcurrency: 1 })
  for (let i = 0; i < 5; i++) {
    await reuse.statBlob(blobDigest)
    await reuse.statBlob(digestOf(`absent ${i}`))
    await assert.rejects(reuse.getManifest(`absent${i}`), code('ERR_REGISTRY_NOT_FOUND'))
    await reuse.getBlob(blobDigest, blob.length)
  }
  assert.equal(proxy.counts().requests, 20)
  assert.ok(proxy.counts().connections <= 2, `${proxy.counts().connections} connections (one is the TLS probe)`)
  // one slot, held by a stalled body: a second request waits, and its abort ends the wait
  proxy.rule = (r) => r.route === 'GET blob' ? { stallAt: 10 } : undefined
  const single = open(proxy.host, 'lib/app', { maxConcurrency: 1, timeoutMs: 60_000 })
  const holder = new AbortController()
  const stalled = single.getBlob(blobDigest, blob.length, { signal: holder.signal })
  while (proxy.ofRoute('GET blob').length === 0 && proxy.counts().maxInFlight < 1) await new Promise((resolve) => setTimeout(resolve, 10))
  const waiter = new AbortController()
  const waiting = single.statBlob(blobDigest, { signal: waiter.signal })
  waiter.abort()
  await assert.rejects(waiting, code('ERR_ABORTED'))
  holder.abort()
  await assert.rejects(stalled, code('ERR_ABORTED'))
  // the slot is free again
  proxy.rule = undefined
  assert.equal(await single.statBlob(blobDigest), blob.length)
})

t('redirects are followed, without Authorization on another host', async () => {
  const seen: Array<string | undefined> = []
  const storage = createServer((req, res) => { seen.push(req.headers.authorization); res.writeHead(200, { 'content-length': String(blob.length) }).end(blob) })
  storage.listen(0, '127.0.0.1')
  await once(storage, 'listening')
  const port = (storage.address() as AddressInfo).port
  try {
    proxy.rule = (r) => r.route === 'GET blob' ? { respond: { status: 307, headers: { location: `http://127.0.0.1:${port}/bucket/blob?sig=1` } } } : undefined
    const repo = open(proxy.host, 'lib/app', { credentials: 'u:p' })
    assert.ok(Buffer.from(await repo.getBlob(blobDigest, blob.length)).equals(blob))
    assert.deepEqual(seen, [undefined])
    proxy.rule = (r) => r.route === 'GET blob' ? { respond: { status: 302, headers: { location: r.path } } } : undefined
    await assert.rejects(repo.getBlob(blobDigest, blob.length), code('ERR_REGISTRY_PROTOCOL'))
  } finally {
    storage.close()
  }
})

t('hostile answers: injected 401/404, bad Location, a huge error body', async () => {
  const repo = open(proxy.host, 'lib/app')
  proxy.rule = (r) => r.route === 'HEAD blob' ? { respond: { status: 401 } } : undefined
  await assert.rejects(repo.statBlob(blobDigest), code('ERR_REGISTRY_AUTH'))
  proxy.rule = (r) => r.route === 'GET manifest' ? { respond: { status: 404, body: JSON.stringify({ errors: [{ code: 'MANIFEST_UNKNOWN', message: 'x'.repeat(100_000) }] }) } } : undefined
  await assert.rejects(repo.getManifest('v1'), (err: any) => code('ERR_REGISTRY_NOT_FOUND')(err) && err.message.length < 400)
  proxy.rule = (r) => r.route === 'POST upload' ? { setResponseHeaders: { location: 'ftp://elsewhere/x' } } : undefined
  const data = randomBlob(100, 77)
  await assert.rejects(repo.putBlob({ digest: digestOf(data), size: data.length }, data), code('ERR_REGISTRY_PROTOCOL'))
  proxy.rule = (r) => r.route === 'HEAD blob' ? { respond: { status: 200, headers: { 'content-length': 'lots' } } } : undefined
  await assert.rejects(repo.statBlob(blobDigest), code('ERR_REGISTRY_PROTOCOL'))
})

t('tags are listed (distribution 2.8 ignores n and sends them in one page)', async () => {
  const repo = open(proxy.host, 'lib/tags')
  const tags = Array.from({ length: 23 }, (_, i) => `t${String(i).padStart(2, '0')}`)
  await pushImage(repo, tags[0]!)
  const manifest = (await repo.getManifest(tags[0]!)).bytes
  for (const tag of tags.slice(1)) await repo.putManifest(tag, OCI_MANIFEST, manifest)
  proxy.reset()
  assert.deepEqual((await repo.listTags()).sort(), tags)
  assert.equal(proxy.ofRoute('GET tags').length, 1)
  proxy.rule = (r) => r.route === 'GET tags' ? { replaceBody: () => Buffer.from('{"tags":["ok","bad tag"]}') } : undefined
  await assert.rejects(repo.listTags(), code('ERR_REGISTRY_PROTOCOL'))
  proxy.rule = (r) => r.route === 'GET tags' ? { setResponseHeaders: { link: `<${r.path}>; rel="next"` } } : undefined
  await assert.rejects(repo.listTags(), code('ERR_REGISTRY_PROTOCOL'))
})

t('referrers: distribution 2.8 has no API, so the sha256-<hex> tag is read and written', async () => {
  const repo = open(proxy.host, 'lib/refs')
  const subject = await pushImage(repo, 'v1')
  assert.deepEqual(await repo.listReferrers(subject.digest), [])
  assert.deepEqual(proxy.ofRoute('GET referrers').map((e) => e.status), [404])
  const a = await pushImage(repo, 'sig', [], { artifactType: 'application/vnd.test.sig', subject: { mediaType: OCI_MANIFEST, digest: subject.digest, size: subject.bytes.length } })
  const b = await pushImage(repo, 'sbom', [], { artifactType: 'application/vnd.test.sbom', subject: { mediaType: OCI_MANIFEST, digest: subject.digest, size: subject.bytes.length } })
  const da = { mediaType: OCI_MANIFEST, digest: a.digest, size: a.bytes.length, artifactType: 'application/vnd.test.sig' }
  const db = { mediaType: OCI_MANIFEST, digest: b.digest, size: b.bytes.length, artifactType: 'application/vnd.test.sbom', annotations: { k: 'v' } }
  assert.equal(await addReferrer(repo, subject.digest, da), 'tagged')
  assert.equal(await addReferrer(repo, subject.digest, db), 'tagged')
  assert.equal(await addReferrer(repo, subject.digest, da), 'listed')
  assert.deepEqual(await repo.listReferrers(subject.digest), [da, db])
  assert.deepEqual(await repo.listReferrers(subject.digest, { artifactType: 'application/vnd.test.sbom' }), [db])
  assert.ok((await repo.listTags()).includes(`sha256-${subject.digest.slice(7)}`))
  // a hostile fallback index is a protocol error, not a crash
  proxy.rule = (r) => r.route === 'GET manifest' && r.path.includes('/sha256-') ? { replaceBody: () => Buffer.from('{"manifests":[{"digest":"nope"}]}'), setResponseHeaders: { 'docker-content-digest': null } } : undefined
  await assert.rejects(repo.listReferrers(subject.digest), code('ERR_REGISTRY_PROTOCOL'))
  void CONFIG
})
