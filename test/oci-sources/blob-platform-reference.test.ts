import { test } from 'node:test'
import assert from 'node:assert/strict'
import { readVerifiedBlob, verifiedStream } from '../../src/oci/blob.js'
import {
  defaultPlatform, formatPlatform, isAttestationManifest, normalizePlatform, parsePlatform, platformMatches
} from '../../src/oci/platform.js'
import { normalizeDockerReference, parseImageLocation } from '../../src/oci/reference.js'
import { OciBlobMismatchError } from '../../src/oci/errors.js'
import { collect, digestOf, rejectsWith } from './helpers.js'

const data = Buffer.from('0123456789abcdef'.repeat(100))
const expected = { digest: digestOf(data), size: data.length }

async function * chunks (bytes: Uint8Array, size: number): AsyncGenerator<Uint8Array> {
  for (let i = 0; i < bytes.length; i += size) yield bytes.subarray(i, i + size)
}

test('verifiedStream passes verified bytes through', async () => {
  assert.ok((await collect(verifiedStream(chunks(data, 7), expected, 'blob'))).equals(data))
  assert.equal((await collect(verifiedStream([], { digest: digestOf(Buffer.alloc(0)), size: 0 }, 'empty'))).length, 0)
})

test('verifiedStream: a longer blob fails at the first extra byte, without reading on', async () => {
  let pulled = 0
  let returned = false
  const endless: AsyncIterable<Uint8Array> = {
    [Symbol.asyncIterator] () {
      return {
        async next () { pulled++; return { done: false, value: new Uint8Array(100) } },
        async return () { returned = true; return { done: true, value: undefined } }
      }
    }
  }
  const got: Uint8Array[] = []
  const err = await rejectsWith(async () => { for await (const c of verifiedStream(endless, { digest: expected.digest, size: 250 }, 'blob')) got.push(c) }, 'ERR_OCI_BLOB_MISMATCH', /longer/)
  assert.ok(err instanceof OciBlobMismatchError)
  assert.equal(err.receivedSize, 300)
  assert.equal(pulled, 3)
  assert.ok(returned, 'the source is closed')
  assert.equal(got.reduce((n, c) => n + c.length, 0), 200, 'bytes past the size are not passed on')
})

test('verifiedStream: a short blob or a different digest fails at the end', async () => {
  await rejectsWith(collect(verifiedStream(chunks(data.subarray(1), 50), expected, 'blob')), 'ERR_OCI_BLOB_MISMATCH', /shorter/)
  const bad = Buffer.from(data)
  bad[500] = (bad[500] ?? 0) ^ 1
  const err = await rejectsWith(collect(verifiedStream(chunks(bad, 64), expected, 'layer 3')), 'ERR_OCI_BLOB_MISMATCH', /layer 3 does not match/) as OciBlobMismatchError
  assert.equal(err.actualDigest, digestOf(bad))
  assert.equal(err.digest, expected.digest)
})

test('verifiedStream honours an abort signal', async () => {
  const ac = new AbortController()
  ac.abort()
  await rejectsWith(collect(verifiedStream(chunks(data, 10), expected, 'blob', { signal: ac.signal })), 'ERR_ABORTED')
})

test('readVerifiedBlob: whole blob, cap checked from the declared size', async () => {
  assert.ok(Buffer.from(await readVerifiedBlob(chunks(data, 33), expected, 'config', { maxBytes: 4096 })).equals(data))
  let read = false
  const src = (async function * () { read = true; yield data })()
  await rejectsWith(readVerifiedBlob(src, expected, 'config', { maxBytes: 100 }), 'ERR_OCI_INVALID', /above the 100-byte limit/)
  assert.equal(read, false)
})

test('parsePlatform', () => {
  assert.deepEqual(parsePlatform('linux/amd64'), { os: 'linux', architecture: 'amd64' })
  assert.deepEqual(parsePlatform('linux/arm64/v8'), { os: 'linux', architecture: 'arm64', variant: 'v8' })
  for (const bad of ['linux', 'linux/', '/amd64', 'linux/amd64/v8/x', 'Linux/amd64', 'linux/amd 64', '', 'linux//v7']) {
    assert.throws(() => parsePlatform(bad), { code: 'ERR_INVALID_ARGUMENT' }, bad)
  }
  assert.equal(formatPlatform({ os: 'linux', architecture: 'arm', variant: 'v7' }), 'linux/arm/v7')
})

test('platform normalisation and matching', () => {
  assert.deepEqual(normalizePlatform({ os: 'Linux', architecture: 'aarch64' }), { os: 'linux', architecture: 'arm64', variant: 'v8' })
  assert.deepEqual(normalizePlatform({ os: 'linux', architecture: 'x86_64' }), { os: 'linux', architecture: 'amd64' })
  assert.deepEqual(normalizePlatform({ os: 'linux', architecture: 'armhf' }), { os: 'linux', architecture: 'arm', variant: 'v7' })
  assert.ok(platformMatches(parsePlatform('linux/arm64'), { os: 'linux', architecture: 'arm64', variant: 'v8' }))
  assert.ok(platformMatches(parsePlatform('linux/arm64/v8'), { os: 'linux', architecture: 'arm64' }))
  assert.ok(platformMatches(parsePlatform('linux/amd64'), { os: 'linux', architecture: 'amd64', variant: 'v1' }))
  assert.ok(platformMatches(parsePlatform('linux/arm'), { os: 'linux', architecture: 'arm', variant: 'v7' }))
  assert.ok(!platformMatches(parsePlatform('linux/amd64'), { os: 'linux', architecture: 'amd64', variant: 'v3' }))
  assert.ok(!platformMatches(parsePlatform('linux/arm/v6'), { os: 'linux', architecture: 'arm', variant: 'v7' }))
  assert.ok(!platformMatches(parsePlatform('linux/amd64'), { os: 'windows', architecture: 'amd64' }))
})

test('default platform follows the host architecture', () => {
  assert.deepEqual(defaultPlatform('x64'), { os: 'linux', architecture: 'amd64' })
  assert.deepEqual(defaultPlatform('arm64'), { os: 'linux', architecture: 'arm64', variant: 'v8' })
  assert.deepEqual(defaultPlatform('something-else'), { os: 'linux', architecture: 'amd64' })
  assert.equal(defaultPlatform().os, 'linux')
})

test('attestation manifests are recognised', () => {
  const d = { mediaType: 'application/vnd.oci.image.manifest.v1+json', digest: digestOf(data), size: 1 }
  assert.ok(isAttestationManifest({ ...d, platform: { os: 'unknown', architecture: 'unknown' } }))
  assert.ok(isAttestationManifest({ ...d, annotations: { 'vnd.docker.reference.type': 'attestation-manifest' } }))
  assert.ok(!isAttestationManifest({ ...d, platform: { os: 'linux', architecture: 'amd64' } }))
  assert.ok(!isAttestationManifest(d))
})

test('parseImageLocation splits at the first colon, as containers/image does', () => {
  const D = 'sha256:' + 'e'.repeat(64)
  assert.deepEqual(parseImageLocation('oci:/srv/layout'), { transport: 'oci', path: '/srv/layout' })
  assert.deepEqual(parseImageLocation('oci:/srv/layout:'), { transport: 'oci', path: '/srv/layout' })
  assert.deepEqual(parseImageLocation('oci:/srv/layout:v1.0'), { transport: 'oci', path: '/srv/layout', reference: 'v1.0' })
  assert.deepEqual(parseImageLocation(`oci:rel/dir:${D}`), { transport: 'oci', path: 'rel/dir', reference: D })
  assert.deepEqual(parseImageLocation('oci:/a:example.com/img:tag'), { transport: 'oci', path: '/a', reference: 'example.com/img:tag' })
  assert.deepEqual(parseImageLocation('docker-archive:/tmp/a.tar'), { transport: 'docker-archive', path: '/tmp/a.tar' })
  assert.deepEqual(parseImageLocation('docker-archive:/tmp/a.tar:localhost:5000/img:tag'),
    { transport: 'docker-archive', path: '/tmp/a.tar', reference: 'localhost:5000/img:tag' })
  assert.deepEqual(parseImageLocation('docker-archive:a.tar:@1'), { transport: 'docker-archive', path: 'a.tar', reference: '@1' })
  for (const bad of ['dir:/x', '/x', 'oci:', 'oci::tag', 'oci:/x:bad tag', 'oci:/x:-lead', 'docker-archive:/a.tar:img/UPPER',
    `docker-archive:/a.tar:img@${D}`, 'docker-archive:/a.tar:@x']) {
    assert.throws(() => parseImageLocation(bad), { code: 'ERR_INVALID_ARGUMENT' }, bad)
  }
})

test('docker references normalise as docker does', () => {
  assert.equal(normalizeDockerReference('busybox'), 'docker.io/library/busybox:latest')
  assert.equal(normalizeDockerReference('busybox:1.36'), 'docker.io/library/busybox:1.36')
  assert.equal(normalizeDockerReference('index.docker.io/library/busybox'), 'docker.io/library/busybox:latest')
  assert.equal(normalizeDockerReference('me/app:v1'), 'docker.io/me/app:v1')
  assert.equal(normalizeDockerReference('example.com/img:base'), 'example.com/img:base')
  assert.equal(normalizeDockerReference('localhost/img'), 'localhost/img:latest')
  assert.equal(normalizeDockerReference('localhost:5000/a/b:c'), 'localhost:5000/a/b:c')
  for (const bad of ['Busybox', 'a/B', 'img:', 'img:-x', 'e'.repeat(64), '', 'a//b']) {
    assert.throws(() => normalizeDockerReference(bad), { code: 'ERR_INVALID_ARGUMENT' }, bad)
  }
})
