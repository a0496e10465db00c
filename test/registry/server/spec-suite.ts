/**
 * The distribution spec's behaviour, checked with plain `fetch` against
 * `tessera serve`'s server over a given store: uploads (monolithic,
 * chunked, streamed), their errors (and that they leave the store as it
 * was), blob ranges, manifests, tags with pagination, referrers, names,
 * limits and authentication. Run by the `spec-*.test.ts` files, once per
 * store implementation.
 */
import { test } from 'node:test'
import assert from 'node:assert/strict'
import { createHash, randomUUID } from 'node:crypto'
import { request as httpRequest } from 'node:http'
import { hashPassword } from '../../../src/registry/server/index.js'
import { lcgBytes } from '../../helpers/fixture.js'
import { digestOf, errorCode, imageManifest, pushBlob, putManifest, startServer, type Running, type StoreUnderTest } from './helpers.js'

const OCI_MANIFEST = 'application/vnd.oci.image.manifest.v1+json'
const OCI_INDEX = 'application/vnd.oci.image.index.v1+json'

/** A raw HTTP request, for headers `fetch` will not send as given (a lying Content-Length). */
async function rawRequest (url: string, method: string, path: string, headers: Record<string, string>, body: Buffer): Promise<{ status: number, body: string, headers: Record<string, unknown> }> {
  const u = new URL(url)
  return await new Promise((resolve, reject) => {
    const req = httpRequest({ host: u.hostname, port: u.port, method, path, headers }, (res) => {
      const parts: Buffer[] = []
      res.on('data', (d: Buffer) => parts.push(d))
      res.on('end', () => resolve({ status: res.statusCode!, body: Buffer.concat(parts).toString(), headers: res.headers }))
    })
    req.on('error', reject)
    req.end(body)
  })
}

/** Push a small image (config + one layer) to `repository:tag`; returns the digests. */
async function pushImage (url: string, repository: string, tag: string, seed = 1, extra: Record<string, unknown> = {}): Promise<{ manifest: string, config: string, layer: string, body: string }> {
  const configBytes = JSON.stringify({ architecture: 'amd64', os: 'linux', seed })
  const layerBytes = lcgBytes(5000 + seed, seed)
  const config = await pushBlob(url, repository, configBytes)
  const layer = await pushBlob(url, repository, layerBytes)
  const body = imageManifest({ digest: config, size: Buffer.byteLength(configBytes) }, [{ digest: layer, size: layerBytes.length }], extra)
  const r = await putManifest(url, repository, tag, body)
  assert.equal(r.status, 201, await r.text())
  return { manifest: r.headers.get('docker-content-digest')!, config, layer, body }
}

/** Register the spec tests against stores made by `makeStore`. */
export function specSuite (label: string, makeStore: () => Promise<StoreUnderTest>): void {
  async function withServer (fn: (s: Running) => Promise<void>, options: Parameters<typeof startServer>[1] = {}): Promise<void> {
    const s = await startServer(await makeStore(), options)
    try { await fn(s) } finally { await s.stop() }
  }

  test(`${label}: /v2/ answers 200 {} with the API version header`, async () => {
    await withServer(async ({ url }) => {
      const r = await fetch(`${url}/v2/`)
      assert.equal(r.status, 200)
      assert.equal(r.headers.get('docker-distribution-api-version'), 'registry/2.0')
      assert.deepEqual(await r.json(), {})
      const nf = await fetch(`${url}/v3/`)
      assert.equal(nf.status, 404)
    })
  })

  test(`${label}: monolithic POST stores a blob; HEAD has the headers and no body; GET gives the bytes`, async () => {
    await withServer(async ({ url }) => {
      const bytes = lcgBytes(100_000, 3)
      const digest = digestOf(bytes)
      const r = await fetch(`${url}/v2/lib/app/blobs/uploads/?digest=${digest}`, { method: 'POST', body: bytes, headers: { 'content-type': 'application/octet-stream' } })
      assert.equal(r.status, 201)
      assert.equal(r.headers.get('location'), `/v2/lib/app/blobs/${digest}`)
      assert.equal(r.headers.get('docker-content-digest'), digest)
      const head = await fetch(`${url}/v2/lib/app/blobs/${digest}`, { method: 'HEAD' })
      assert.equal(head.status, 200)
      assert.equal(head.headers.get('content-length'), String(bytes.length))
      assert.equal(head.headers.get('docker-content-digest'), digest)
      assert.equal((await head.arrayBuffer()).byteLength, 0)
      const get = await fetch(`${url}/v2/lib/app/blobs/${digest}`)
      assert.equal(get.status, 200)
      assert.ok(Buffer.from(await get.arrayBuffer()).equals(bytes))
      // Visible only in the repository it was pushed to.
      const other = await fetch(`${url}/v2/other/blobs/${digest}`)
      assert.equal(other.status, 404)
      assert.equal(await errorCode(other), 'BLOB_UNKNOWN')
    })
  })

  test(`${label}: chunked upload with PATCH and Content-Range; out-of-order chunk is 416 and changes nothing`, async () => {
    await withServer(async ({ url, uploadFiles }) => {
      const bytes = lcgBytes(30_000, 5)
      const digest = digestOf(bytes)
      const start = await fetch(`${url}/v2/a/b/c/blobs/uploads/`, { method: 'POST' })
      assert.equal(start.status, 202)
      const location = start.headers.get('location')!
      const uuid = start.headers.get('docker-upload-uuid')!
      assert.equal(location, `/v2/a/b/c/blobs/uploads/${uuid}`)
      assert.equal(start.headers.get('range'), '0-0')
      assert.deepEqual(await uploadFiles(), [uuid])
      const patch = async (from: number, to: number): Promise<Response> => await fetch(url + location, {
        method: 'PATCH',
        body: bytes.subarray(from, to),
        headers: { 'content-type': 'application/octet-stream', 'content-range': `${from}-${to - 1}` }
      })
      const p1 = await patch(0, 10_000)
      assert.equal(p1.status, 202)
      assert.equal(p1.headers.get('range'), '0-9999')
      assert.equal(p1.headers.get('location'), location)
      const skipped = await patch(20_000, 30_000)
      assert.equal(skipped.status, 416)
      assert.equal(skipped.headers.get('range'), '0-9999')
      const again = await patch(0, 10_000)
      assert.equal(again.status, 416)
      const status = await fetch(url + location)
      assert.equal(status.status, 204)
      assert.equal(status.headers.get('range'), '0-9999')
      assert.equal((await patch(10_000, 20_000)).headers.get('range'), '0-19999')
      // The last chunk comes with the PUT.
      const put = await fetch(`${url}${location}?digest=${digest}`, { method: 'PUT', body: bytes.subarray(20_000), headers: { 'content-type': 'application/octet-stream', 'content-range': '20000-29999' } })
      assert.equal(put.status, 201, await put.text())
      assert.equal(put.headers.get('location'), `/v2/a/b/c/blobs/${digest}`)
      assert.equal(put.headers.get('docker-content-digest'), digest)
      const get = await fetch(`${url}/v2/a/b/c/blobs/${digest}`)
      assert.ok(Buffer.from(await get.arrayBuffer()).equals(bytes))
      assert.deepEqual(await uploadFiles(), [], 'the session file is gone')
      const gone = await fetch(url + location)
      assert.equal(gone.status, 404)
      assert.equal(await errorCode(gone), 'BLOB_UPLOAD_UNKNOWN')
    })
  })

  test(`${label}: streamed PATCH without Content-Range, then PUT with no body`, async () => {
    await withServer(async ({ url }) => {
      const bytes = lcgBytes(70_000, 9)
      const start = await fetch(`${url}/v2/streamed/blobs/uploads/`, { method: 'POST' })
      const location = start.headers.get('location')!
      const body = new ReadableStream<Uint8Array>({
        start (controller) {
          for (let i = 0; i < bytes.length; i += 7000) controller.enqueue(bytes.subarray(i, i + 7000))
          controller.close()
        }
      })
      const p = await fetch(url + location, { method: 'PATCH', body, duplex: 'half', headers: { 'content-type': 'application/octet-stream' } } as RequestInit)
      assert.equal(p.status, 202)
      assert.equal(p.headers.get('range'), `0-${bytes.length - 1}`)
      const put = await fetch(`${url}${location}?digest=${digestOf(bytes)}`, { method: 'PUT' })
      assert.equal(put.status, 201)
      const get = await fetch(`${url}/v2/streamed/blobs/${digestOf(bytes)}`)
      assert.ok(Buffer.from(await get.arrayBuffer()).equals(bytes))
    })
  })

  test(`${label}: a wrong digest is DIGEST_INVALID and stores nothing; a malformed one too`, async () => {
    await withServer(async ({ url, store, uploadFiles }) => {
      await pushImage(url, 'repo', 'v1')
      const before = await store.dump()
      const bytes = lcgBytes(20_000, 21)
      const wrong = digestOf('something else')
      const mono = await fetch(`${url}/v2/repo/blobs/uploads/?digest=${wrong}`, { method: 'POST', body: bytes })
      assert.equal(mono.status, 400)
      assert.equal(await errorCode(mono), 'DIGEST_INVALID')
      const start = await fetch(`${url}/v2/repo/blobs/uploads/`, { method: 'POST' })
      const location = start.headers.get('location')!
      assert.equal((await fetch(url + location, { method: 'PATCH', body: bytes })).status, 202)
      const put = await fetch(`${url}${location}?digest=${wrong}`, { method: 'PUT' })
      assert.equal(put.status, 400)
      assert.equal(await errorCode(put), 'DIGEST_INVALID')
      const malformed = await fetch(`${url}/v2/repo/blobs/uploads/?digest=sha256:xyz`, { method: 'POST', body: bytes })
      assert.equal(await errorCode(malformed), 'DIGEST_INVALID')
      const noDigest = await fetch(`${url}${(await fetch(`${url}/v2/repo/blobs/uploads/`, { method: 'POST' })).headers.get('location')!}`, { method: 'PUT' })
      assert.equal(await errorCode(noDigest), 'DIGEST_INVALID')
      const badGet = await fetch(`${url}/v2/repo/blobs/sha256:abc`)
      assert.equal(badGet.status, 400)
      assert.equal(await errorCode(badGet), 'DIGEST_INVALID')
      assert.deepEqual(await store.dump(), before, 'the store is unchanged')
      assert.equal((await uploadFiles()).length, 1, 'only the still-open session without a digest is left')
    })
  })

  test(`${label}: wrong sizes are SIZE_INVALID and leave the session where it was`, async () => {
    await withServer(async ({ url, store }) => {
      const before = await store.dump()
      const bytes = lcgBytes(1000, 22)
      const start = await fetch(`${url}/v2/repo/blobs/uploads/`, { method: 'POST' })
      const location = start.headers.get('location')!
      // Content-Range says 100 bytes, 50 come.
      const short = await fetch(url + location, { method: 'PATCH', body: bytes.subarray(0, 50), headers: { 'content-range': '0-99' } })
      assert.equal(short.status, 400)
      assert.equal(await errorCode(short), 'SIZE_INVALID')
      assert.equal((await fetch(url + location)).headers.get('range'), '0-0')
      // Content-Length says 60, Content-Range 50 (sent raw: fetch computes the length itself).
      const lying = await rawRequest(url, 'PATCH', location, { 'content-range': '0-49', 'content-length': '60' }, bytes.subarray(0, 60))
      assert.equal(lying.status, 400)
      assert.match(lying.body, /SIZE_INVALID/)
      const ok = await fetch(url + location, { method: 'PATCH', body: bytes.subarray(0, 50), headers: { 'content-range': '0-49' } })
      assert.equal(ok.headers.get('range'), '0-49')
      assert.deepEqual(await store.dump(), before)
    })
  })

  test(`${label}: a client that goes away mid-chunk leaves the session where it was`, async () => {
    await withServer(async ({ url, store }) => {
      const before = await store.dump()
      const bytes = lcgBytes(200_000, 24)
      const start = await fetch(`${url}/v2/repo/blobs/uploads/`, { method: 'POST' })
      const location = start.headers.get('location')!
      const u = new URL(url)
      await new Promise<void>((resolve) => {
        const req = httpRequest({ host: u.hostname, port: u.port, method: 'PATCH', path: location, headers: { 'content-length': String(bytes.length), 'content-range': `0-${bytes.length - 1}` } })
        req.on('error', () => resolve())
        req.write(bytes.subarray(0, 100_000), () => { req.destroy(); resolve() })
      })
      // Once the server has noticed, the whole chunk can be sent again from 0.
      let patched: Response | undefined
      for (let i = 0; i < 100; i++) {
        patched = await fetch(url + location, { method: 'PATCH', body: bytes, headers: { 'content-range': `0-${bytes.length - 1}` } })
        if (patched.status !== 416) break
        await new Promise((resolve) => setTimeout(resolve, 50))
      }
      assert.equal(patched!.status, 202)
      assert.equal(patched!.headers.get('range'), `0-${bytes.length - 1}`)
      assert.deepEqual(await store.dump(), before)
      const put = await fetch(`${url}${location}?digest=${digestOf(bytes)}`, { method: 'PUT' })
      assert.equal(put.status, 201, await put.text())
      assert.ok(Buffer.from(await (await fetch(`${url}/v2/repo/blobs/${digestOf(bytes)}`)).arrayBuffer()).equals(bytes))
    })
  })

  test(`${label}: unknown uploads are BLOB_UPLOAD_UNKNOWN, also from another repository; DELETE cancels`, async () => {
    await withServer(async ({ url, uploadFiles }) => {
      for (const id of [randomUUID(), 'not-a-uuid']) {
        for (const method of ['GET', 'PATCH', 'PUT', 'DELETE']) {
          const r = await fetch(`${url}/v2/repo/blobs/uploads/${id}?digest=${digestOf('x')}`, { method, ...(method === 'PATCH' || method === 'PUT' ? { body: 'x' } : {}) })
          assert.equal(r.status, 404, `${method} ${id}`)
          assert.equal(await errorCode(r), 'BLOB_UPLOAD_UNKNOWN')
        }
      }
      const start = await fetch(`${url}/v2/repo/blobs/uploads/`, { method: 'POST' })
      const uuid = start.headers.get('docker-upload-uuid')!
      const elsewhere = await fetch(`${url}/v2/other/blobs/uploads/${uuid}`)
      assert.equal(await errorCode(elsewhere), 'BLOB_UPLOAD_UNKNOWN')
      const del = await fetch(`${url}/v2/repo/blobs/uploads/${uuid}`, { method: 'DELETE' })
      assert.equal(del.status, 204)
      assert.deepEqual(await uploadFiles(), [])
      assert.equal((await fetch(`${url}/v2/repo/blobs/uploads/${uuid}`)).status, 404)
    })
  })

  test(`${label}: uploads above the limit are 413 SIZE_INVALID and store nothing`, async () => {
    await withServer(async ({ url, store }) => {
      const before = await store.dump()
      const bytes = lcgBytes(5000, 23)
      const mono = await fetch(`${url}/v2/repo/blobs/uploads/?digest=${digestOf(bytes)}`, { method: 'POST', body: bytes })
      assert.equal(mono.status, 413)
      assert.equal(await errorCode(mono), 'SIZE_INVALID')
      const start = await fetch(`${url}/v2/repo/blobs/uploads/`, { method: 'POST' })
      const location = start.headers.get('location')!
      assert.equal((await fetch(url + location, { method: 'PATCH', body: bytes.subarray(0, 3000) })).status, 202)
      const over = await fetch(url + location, { method: 'PATCH', body: bytes.subarray(3000) })
      assert.equal(over.status, 413)
      assert.equal(await errorCode(over), 'SIZE_INVALID')
      // Streamed without a length: cut off when the limit is passed.
      const streamed = new ReadableStream<Uint8Array>({ start (c) { c.enqueue(bytes.subarray(3000, 4000)); c.enqueue(bytes.subarray(4000)); c.close() } })
      const over2 = await fetch(url + location, { method: 'PATCH', body: streamed, duplex: 'half' } as RequestInit).catch(() => undefined)
      if (over2 !== undefined) assert.equal(over2.status, 413)
      assert.equal((await fetch(url + location)).headers.get('range'), '0-2999', 'the session keeps its bytes')
      assert.deepEqual(await store.dump(), before)
    }, { limits: { maxUploadBytes: 4096 } })
  })

  test(`${label}: manifests by tag and digest: GET, HEAD, PUT, DELETE`, async () => {
    await withServer(async ({ url }) => {
      const img = await pushImage(url, 'my/app', 'v1')
      assert.equal(img.manifest, digestOf(img.body))
      for (const ref of ['v1', img.manifest]) {
        const get = await fetch(`${url}/v2/my/app/manifests/${ref}`)
        assert.equal(get.status, 200)
        assert.equal(get.headers.get('content-type'), OCI_MANIFEST)
        assert.equal(get.headers.get('docker-content-digest'), img.manifest)
        assert.equal(await get.text(), img.body)
        const head = await fetch(`${url}/v2/my/app/manifests/${ref}`, { method: 'HEAD' })
        assert.equal(head.status, 200)
        assert.equal(head.headers.get('content-length'), String(Buffer.byteLength(img.body)))
        assert.equal(head.headers.get('docker-content-digest'), img.manifest)
        assert.equal((await head.arrayBuffer()).byteLength, 0)
      }
      // PUT by digest: the digest must match.
      const byDigest = await putManifest(url, 'my/app', img.manifest, img.body)
      assert.equal(byDigest.status, 201)
      assert.equal(byDigest.headers.get('location'), `/v2/my/app/manifests/${img.manifest}`)
      const mismatch = await putManifest(url, 'my/app', digestOf('other'), img.body)
      assert.equal(mismatch.status, 400)
      assert.equal(await errorCode(mismatch), 'DIGEST_INVALID')
      const unknown = await fetch(`${url}/v2/my/app/manifests/nope`)
      assert.equal(unknown.status, 404)
      assert.equal(await errorCode(unknown), 'MANIFEST_UNKNOWN')
      const invalid = await putManifest(url, 'my/app', 'v2', '{not json')
      assert.equal(invalid.status, 400)
      assert.equal(await errorCode(invalid), 'MANIFEST_INVALID')
      // DELETE the tag, then the manifest.
      assert.equal((await fetch(`${url}/v2/my/app/manifests/v1`, { method: 'DELETE' })).status, 202)
      assert.equal((await fetch(`${url}/v2/my/app/manifests/v1`)).status, 404)
      assert.equal((await fetch(`${url}/v2/my/app/manifests/${img.manifest}`)).status, 200)
      assert.equal((await fetch(`${url}/v2/my/app/manifests/${img.manifest}`, { method: 'DELETE' })).status, 202)
      assert.equal((await fetch(`${url}/v2/my/app/manifests/${img.manifest}`)).status, 404)
      const again = await fetch(`${url}/v2/my/app/manifests/${img.manifest}`, { method: 'DELETE' })
      assert.equal(await errorCode(again), 'MANIFEST_UNKNOWN')
    })
  })

  test(`${label}: a manifest referencing a missing blob is MANIFEST_BLOB_UNKNOWN and stores nothing`, async () => {
    await withServer(async ({ url, store }) => {
      const configBytes = '{"os":"linux"}'
      const config = await pushBlob(url, 'repo', configBytes)
      const before = await store.dump()
      const body = imageManifest({ digest: config, size: configBytes.length }, [{ digest: digestOf('never pushed'), size: 12 }])
      const r = await putManifest(url, 'repo', 'v1', body)
      assert.equal(r.status, 400)
      assert.equal(await errorCode(r), 'MANIFEST_BLOB_UNKNOWN')
      // A blob of another repository is missing here too.
      const layer = await pushBlob(url, 'elsewhere', 'layer bytes')
      const before2 = await store.dump()
      const r2 = await putManifest(url, 'repo', 'v1', imageManifest({ digest: config, size: configBytes.length }, [{ digest: layer, size: 11 }]))
      assert.equal(await errorCode(r2), 'MANIFEST_BLOB_UNKNOWN')
      assert.deepEqual(await store.dump(), before2)
      assert.notDeepEqual(before, before2)
      assert.equal((await fetch(`${url}/v2/repo/manifests/v1`)).status, 404)
    })
  })

  test(`${label}: a manifest above the limit is 413 MANIFEST_INVALID`, async () => {
    await withServer(async ({ url, store }) => {
      const before = await store.dump()
      const big = JSON.stringify({ schemaVersion: 2, mediaType: OCI_MANIFEST, annotations: { pad: 'x'.repeat(3000) } })
      const r = await putManifest(url, 'repo', 'v1', big)
      assert.equal(r.status, 413)
      assert.equal(await errorCode(r), 'MANIFEST_INVALID')
      assert.deepEqual(await store.dump(), before)
    }, { limits: { maxManifestBytes: 2048 } })
  })

  test(`${label}: bad repository names are NAME_INVALID`, async () => {
    await withServer(async ({ url }) => {
      for (const name of ['Upper', 'a//b', 'a/-b', 'a..b', '_a', 'a'.repeat(41), 'x/' + 'a'.repeat(40)]) {
        const r = await fetch(`${url}/v2/${name}/tags/list`)
        assert.equal(r.status, 400, name)
        assert.equal(await errorCode(r), 'NAME_INVALID', name)
        const up = await fetch(`${url}/v2/${name}/blobs/uploads/`, { method: 'POST' })
        assert.equal(await errorCode(up), 'NAME_INVALID', name)
      }
      assert.equal((await fetch(`${url}/v2/a.b-c__d/e_f/blobs/uploads/`, { method: 'POST' })).status, 202)
    }, { limits: { maxNameLength: 40 } })
  })

  test(`${label}: blob ranges: 206 with Content-Range, suffix and open ranges, 416 past the end`, async () => {
    await withServer(async ({ url }) => {
      const bytes = lcgBytes(10_000, 31)
      const digest = await pushBlob(url, 'repo', bytes)
      const get = async (range: string): Promise<Response> => await fetch(`${url}/v2/repo/blobs/${digest}`, { headers: { range } })
      const cases: Array<[string, number, number]> = [['bytes=0-9', 0, 10], ['bytes=100-', 100, 10_000], ['bytes=-300', 9700, 10_000], ['bytes=9990-20000', 9990, 10_000], ['bytes=5000-5000', 5000, 5001]]
      for (const [range, start, end] of cases) {
        const r = await get(range)
        assert.equal(r.status, 206, range)
        assert.equal(r.headers.get('content-range'), `bytes ${start}-${end - 1}/10000`)
        assert.equal(r.headers.get('content-length'), String(end - start))
        assert.ok(Buffer.from(await r.arrayBuffer()).equals(bytes.subarray(start, end)), range)
      }
      for (const range of ['bytes=10000-', 'bytes=20000-30000', 'bytes=-0']) {
        const r = await get(range)
        assert.equal(r.status, 416, range)
        assert.equal(r.headers.get('content-range'), 'bytes */10000')
      }
      const whole = await get('items=0-5')
      assert.equal(whole.status, 200)
      assert.equal((await whole.arrayBuffer()).byteLength, 10_000)
    })
  })

  test(`${label}: cross-repository mount links a blob (201) or falls back to an upload (202)`, async () => {
    await withServer(async ({ url }) => {
      const bytes = lcgBytes(4000, 41)
      const digest = await pushBlob(url, 'source/repo', bytes)
      const mounted = await fetch(`${url}/v2/target/blobs/uploads/?mount=${digest}&from=source/repo`, { method: 'POST' })
      assert.equal(mounted.status, 201)
      assert.equal(mounted.headers.get('location'), `/v2/target/blobs/${digest}`)
      assert.equal(mounted.headers.get('docker-content-digest'), digest)
      assert.ok(Buffer.from(await (await fetch(`${url}/v2/target/blobs/${digest}`)).arrayBuffer()).equals(bytes))
      // Not in the repository named: an upload starts instead, and the blob stays invisible.
      const fallback = await fetch(`${url}/v2/third/blobs/uploads/?mount=${digest}&from=nowhere`, { method: 'POST' })
      assert.equal(fallback.status, 202)
      assert.match(fallback.headers.get('location')!, /^\/v2\/third\/blobs\/uploads\/[0-9a-f-]{36}$/)
      assert.equal((await fetch(`${url}/v2/third/blobs/${digest}`, { method: 'HEAD' })).status, 404)
      const bad = await fetch(`${url}/v2/third/blobs/uploads/?mount=${digest}&from=Bad`, { method: 'POST' })
      assert.equal(await errorCode(bad), 'NAME_INVALID')
      // DELETE unlinks from one repository only.
      assert.equal((await fetch(`${url}/v2/target/blobs/${digest}`, { method: 'DELETE' })).status, 202)
      assert.equal((await fetch(`${url}/v2/target/blobs/${digest}`, { method: 'HEAD' })).status, 404)
      assert.equal((await fetch(`${url}/v2/source/repo/blobs/${digest}`, { method: 'HEAD' })).status, 200)
    })
  })

  test(`${label}: tags/list in lexical order, paginated with n, last and Link`, async () => {
    await withServer(async ({ url }) => {
      const tags = ['v10', 'latest', 'v1', 'v2', 'beta', 'v1.1', 'Z']
      const img = await pushImage(url, 'lib/tags', tags[0]!)
      for (const t of tags.slice(1)) assert.equal((await putManifest(url, 'lib/tags', t, img.body)).status, 201)
      const sorted = [...tags].sort()
      const all = await fetch(`${url}/v2/lib/tags/tags/list`)
      assert.deepEqual(await all.json(), { name: 'lib/tags', tags: sorted })
      assert.equal(all.headers.get('link'), null)
      const seen: string[] = []
      let next: string | undefined = '/v2/lib/tags/tags/list?n=3'
      let pages = 0
      while (next !== undefined) {
        const r: Response = await fetch(url + next)
        const body = await r.json() as { tags: string[] }
        assert.ok(body.tags.length <= 3)
        seen.push(...body.tags)
        const link = r.headers.get('link')
        next = link === null ? undefined : /^<([^>]+)>; rel="next"$/.exec(link)![1]
        pages++
      }
      assert.deepEqual(seen, sorted)
      assert.equal(pages, 3)
      assert.deepEqual(await (await fetch(`${url}/v2/lib/tags/tags/list?n=2&last=v1`)).json(), { name: 'lib/tags', tags: ['v1.1', 'v10'] })
      assert.deepEqual(await (await fetch(`${url}/v2/lib/tags/tags/list?n=0`)).json(), { name: 'lib/tags', tags: [] })
      const unknown = await fetch(`${url}/v2/no/such/tags/list`)
      assert.equal(unknown.status, 404)
      assert.equal(await errorCode(unknown), 'NAME_UNKNOWN')
    })
  })

  test(`${label}: referrers: OCI-Subject on push, an index of referrers, artifactType filter`, async () => {
    await withServer(async ({ url }) => {
      const img = await pushImage(url, 'repo', 'v1')
      const subject = { mediaType: OCI_MANIFEST, digest: img.manifest, size: Buffer.byteLength(img.body) }
      const empty = '{}'
      const emptyDigest = await pushBlob(url, 'repo', empty)
      const artifact = (type: string): string => JSON.stringify({
        schemaVersion: 2,
        mediaType: OCI_MANIFEST,
        artifactType: type,
        config: { mediaType: 'application/vnd.oci.empty.v1+json', digest: emptyDigest, size: 2 },
        layers: [{ mediaType: 'application/vnd.oci.empty.v1+json', digest: emptyDigest, size: 2 }],
        subject,
        annotations: { 'org.example': type }
      })
      const sig = artifact('application/vnd.example.signature')
      const sbom = artifact('application/vnd.example.sbom')
      for (const body of [sig, sbom]) {
        const r = await putManifest(url, 'repo', digestOf(body), body)
        assert.equal(r.status, 201, await r.text())
        assert.equal(r.headers.get('oci-subject'), img.manifest)
      }
      const all = await fetch(`${url}/v2/repo/referrers/${img.manifest}`)
      assert.equal(all.status, 200)
      assert.equal(all.headers.get('content-type'), OCI_INDEX)
      const index = await all.json() as { schemaVersion: number, mediaType: string, manifests: Array<{ digest: string, artifactType: string, size: number, annotations?: Record<string, string> }> }
      assert.equal(index.schemaVersion, 2)
      assert.equal(index.mediaType, OCI_INDEX)
      assert.deepEqual(index.manifests.map((m) => m.digest).sort(), [digestOf(sig), digestOf(sbom)].sort())
      const sigEntry = index.manifests.find((m) => m.digest === digestOf(sig))!
      assert.equal(sigEntry.artifactType, 'application/vnd.example.signature')
      assert.equal(sigEntry.size, Buffer.byteLength(sig))
      const filtered = await fetch(`${url}/v2/repo/referrers/${img.manifest}?artifactType=application/vnd.example.sbom`)
      assert.equal(filtered.headers.get('oci-filters-applied'), 'artifactType')
      assert.deepEqual((await filtered.json() as typeof index).manifests.map((m) => m.digest), [digestOf(sbom)])
      const none = await fetch(`${url}/v2/repo/referrers/${digestOf('nothing')}`)
      assert.equal(none.status, 200)
      assert.deepEqual((await none.json() as typeof index).manifests, [])
      const bad = await fetch(`${url}/v2/repo/referrers/sha256:nope`)
      assert.equal(await errorCode(bad), 'DIGEST_INVALID')
    })
  })

  test(`${label}: an image index over two manifests, pushed and pulled by digest`, async () => {
    await withServer(async ({ url }) => {
      const a = await pushImage(url, 'multi', 'amd64', 51)
      const b = await pushImage(url, 'multi', 'arm64', 52)
      const index = JSON.stringify({
        schemaVersion: 2,
        mediaType: OCI_INDEX,
        manifests: [
          { mediaType: OCI_MANIFEST, digest: a.manifest, size: Buffer.byteLength(a.body), platform: { os: 'linux', architecture: 'amd64' } },
          { mediaType: OCI_MANIFEST, digest: b.manifest, size: Buffer.byteLength(b.body), platform: { os: 'linux', architecture: 'arm64' } }
        ]
      })
      const r = await putManifest(url, 'multi', 'latest', index, OCI_INDEX)
      assert.equal(r.status, 201, await r.text())
      const get = await fetch(`${url}/v2/multi/manifests/latest`)
      assert.equal(get.headers.get('content-type'), OCI_INDEX)
      assert.equal(await get.text(), index)
      const missing = JSON.stringify({ schemaVersion: 2, mediaType: OCI_INDEX, manifests: [{ mediaType: OCI_MANIFEST, digest: digestOf('absent'), size: 6 }] })
      assert.equal(await errorCode(await putManifest(url, 'multi', 'broken', missing, OCI_INDEX)), 'MANIFEST_BLOB_UNKNOWN')
    })
  })

  test(`${label}: authentication: 401 with challenges, basic and bearer accepted, pull-only denied writes`, async () => {
    const token = 'tok-' + createHash('sha256').update('seed').digest('hex').slice(0, 20)
    const auth = {
      realm: 'test',
      users: [{ username: 'alice', password: await hashPassword('s3cret'), access: 'push' as const }],
      tokens: [{ name: 'reader', sha256: createHash('sha256').update(token).digest('hex'), access: 'pull' as const }]
    }
    await withServer(async ({ url }) => {
      const anonymous = await fetch(`${url}/v2/`)
      assert.equal(anonymous.status, 401)
      assert.equal(await errorCode(anonymous), 'UNAUTHORIZED')
      assert.equal(anonymous.headers.get('www-authenticate'), 'Basic realm="test", Bearer realm="test"')
      const basic = (user: string, pass: string): Record<string, string> => ({ authorization: `Basic ${Buffer.from(`${user}:${pass}`).toString('base64')}` })
      assert.equal((await fetch(`${url}/v2/`, { headers: basic('alice', 'wrong') })).status, 401)
      assert.equal((await fetch(`${url}/v2/`, { headers: basic('bob', 's3cret') })).status, 401)
      assert.equal((await fetch(`${url}/v2/`, { headers: basic('alice', 's3cret') })).status, 200)
      const digest = await pushBlob(url, 'repo', 'authorized bytes', basic('alice', 's3cret'))
      const bearer = { authorization: `Bearer ${token}` }
      assert.equal((await fetch(`${url}/v2/repo/blobs/${digest}`, { headers: bearer })).status, 200)
      assert.equal((await fetch(`${url}/v2/repo/blobs/${digest}`, { headers: { authorization: 'Bearer wrong' } })).status, 401)
      const denied = await fetch(`${url}/v2/repo/blobs/uploads/`, { method: 'POST', headers: bearer })
      assert.equal(denied.status, 403)
      assert.equal(await errorCode(denied), 'DENIED')
      const anonymousWrite = await fetch(`${url}/v2/repo/blobs/uploads/?digest=${digestOf('x')}`, { method: 'POST', body: 'x' })
      assert.equal(anonymousWrite.status, 401)
    }, { auth })
  })

  test(`${label}: GET /tessera/stats answers the store's figures`, async () => {
    await withServer(async ({ url }) => {
      await pushImage(url, 'statsrepo', 'v1')
      const stats = await (await fetch(`${url}/tessera/stats`)).json() as { overall: { pushedBytes: number, wholeBlobs: number }, uploadsInProgress: number }
      assert.ok(stats.overall.pushedBytes > 5000)
      assert.ok(stats.overall.wholeBlobs >= 1)
      assert.equal(stats.uploadsInProgress, 0)
    })
  })
}
