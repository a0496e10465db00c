/**
 * The server's parts on their own: `Range` parsing against a model (fast-check),
 * upload chunk ranges, session expiry and cleanup, URL routing of names
 * with slashes, auth config checks and password hashes.
 */
import { test } from 'node:test'
import assert from 'node:assert/strict'
import { mkdtemp, readdir, rm, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { Readable } from 'node:stream'
import fc from 'fast-check'
import { hashPassword, parseAuthConfig, parseRangeHeader, routeUrl, verifyPassword } from '../../../src/registry/server/index.js'
import { MAX_RANGES, multipartAnswer } from '../../../src/registry/server/ranges.js'
import { byterangesBoundary, parseByteranges } from '../../../src/distribution/client/multipart.js'
import { parseChunkRange, rangeHeader, UploadSessions } from '../../../src/registry/server/uploads.js'

test('parseRangeHeader agrees with a model of RFC 9110 single byte ranges', () => {
  fc.assert(fc.property(fc.nat(1000), fc.option(fc.nat(1200)), fc.option(fc.nat(1200)), (size, first, last) => {
    if (first === null && last === null) return
    const header = `bytes=${first ?? ''}-${last ?? ''}`
    const got = parseRangeHeader(header, size)
    if (first === null) {
      if (last === 0 || size === 0) assert.deepEqual(got, { kind: 'unsatisfiable' })
      else assert.deepEqual(got, { kind: 'partial', range: { start: Math.max(0, size - last!), end: size } })
    } else if (first >= size) {
      assert.deepEqual(got, { kind: 'unsatisfiable' })
    } else if (last !== null && last < first) {
      assert.deepEqual(got, { kind: 'whole' })
    } else {
      assert.deepEqual(got, { kind: 'partial', range: { start: first, end: Math.min(size, last === null ? size : last + 1) } })
    }
  }))
  assert.deepEqual(parseRangeHeader(undefined, 10), { kind: 'whole' })
  assert.deepEqual(parseRangeHeader('lines=0-1', 10), { kind: 'whole' })
})

test('parseRangeHeader agrees with a model of RFC 9110 range sets: satisfiable ranges sorted, overlapping and touching ones merged', () => {
  const spec = fc.oneof(
    fc.tuple(fc.nat(1200), fc.option(fc.nat(1200))).map(([a, b]) => ({ text: `${a}-${b ?? ''}`, first: a, last: b })),
    fc.nat(1200).map((n) => ({ text: `-${n}`, first: null, last: n }))
  )
  fc.assert(fc.property(fc.nat(1000), fc.array(spec, { minLength: 1, maxLength: 8 }), fc.constantFrom(',', ', ', ' ,'), (size, specs, sep) => {
    const got = parseRangeHeader(`bytes=${specs.map((s) => s.text).join(sep)}`, size)
    if (specs.some((s) => s.first !== null && s.first < size && s.last !== null && s.last < s.first)) { assert.deepEqual(got, { kind: 'whole' }); return }
    const ranges = specs.flatMap((s) => {
      if (s.first === null) return s.last === 0 || size === 0 ? [] : [{ start: Math.max(0, size - s.last!), end: size }]
      if (s.first >= size) return []
      return [{ start: s.first, end: s.last === null ? size : Math.min(size, s.last + 1) }]
    }).sort((a, b) => a.start - b.start)
    if (ranges.length === 0) { assert.deepEqual(got, { kind: 'unsatisfiable' }); return }
    const merged: Array<{ start: number, end: number }> = []
    for (const r of ranges) {
      const last = merged.at(-1)
      if (last !== undefined && r.start <= last.end) last.end = Math.max(last.end, r.end)
      else merged.push({ ...r })
    }
    assert.deepEqual(got, merged.length === 1 ? { kind: 'partial', range: merged[0] } : { kind: 'multi', ranges: merged })
  }))
  assert.deepEqual(parseRangeHeader('bytes=0-1,3-4', 10), { kind: 'multi', ranges: [{ start: 0, end: 2 }, { start: 3, end: 5 }] })
  assert.deepEqual(parseRangeHeader('bytes=0-1,2-4', 10), { kind: 'partial', range: { start: 0, end: 5 } })
  assert.deepEqual(parseRangeHeader('bytes=0-1,x', 10), { kind: 'whole' })
  assert.deepEqual(parseRangeHeader(`bytes=${Array.from({ length: MAX_RANGES + 1 }, (_, i) => `${2 * i}-${2 * i}`).join(',')}`, 100_000), { kind: 'whole' })
})

test('a multipart/byteranges answer parses (with the client\'s strict parser) into exactly the ranges, however the bytes are cut', async () => {
  const blob = Buffer.from(Array.from({ length: 5000 }, (_, i) => (i * 7) % 251))
  await fc.assert(fc.asyncProperty(fc.array(fc.tuple(fc.nat(4999), fc.nat(300)), { minLength: 2, maxLength: 10 }), fc.integer({ min: 1, max: 700 }), async (pairs, cut) => {
    const parsed = parseRangeHeader(`bytes=${pairs.map(([a, n]) => `${a}-${a + n}`).join(',')}`, blob.length)
    if (parsed.kind !== 'multi') return
    const bytes = Buffer.concat(parsed.ranges.map((r) => blob.subarray(r.start, r.end)))
    const answer = multipartAnswer(parsed.ranges, blob.length, () => Readable.from(Array.from({ length: Math.ceil(bytes.length / cut) }, (_, i) => bytes.subarray(i * cut, (i + 1) * cut))))
    const parts: Buffer[] = []
    for await (const p of answer.body()) parts.push(Buffer.from(p))
    const body = Buffer.concat(parts)
    assert.equal(body.length, answer.length)
    const boundary = byterangesBoundary(answer.contentType)!
    const got = []
    for await (const part of parseByteranges(Readable.from([body]), boundary, () => {})) got.push(part)
    assert.deepEqual(got.map((p) => [p.start, p.end]), parsed.ranges.map((r) => [r.start, r.end]))
    for (const p of got) assert.ok(Buffer.from(p.bytes).equals(blob.subarray(p.start, p.end)))
  }), { numRuns: 100 })
})

test('parseChunkRange takes start-end with optional bytes prefix and rejects the rest with 416', () => {
  assert.deepEqual(parseChunkRange('0-99'), { start: 0, end: 99 })
  assert.deepEqual(parseChunkRange('bytes 100-199/*'), { start: 100, end: 199 })
  assert.equal(parseChunkRange(undefined), undefined)
  for (const bad of ['10-5', 'abc', '-5', '1-', '0-1e3']) {
    assert.throws(() => parseChunkRange(bad), (e: any) => e.specCode === 'BLOB_UPLOAD_INVALID' && e.status === 416, bad)
  }
  assert.equal(rangeHeader(0), '0-0')
  assert.equal(rangeHeader(10), '0-9')
})

test('routeUrl encodes the slashes of a repository name into one route segment', () => {
  assert.equal(routeUrl('/v2/a/b/c/manifests/latest?x=1'), '/v2/a%2Fb%2Fc/manifests/latest?x=1')
  assert.equal(routeUrl('/v2/a/manifests/blobs'), '/v2/a/manifests/blobs')
  assert.equal(routeUrl('/v2/x/blobs/y/blobs/uploads/'), '/v2/x%2Fblobs%2Fy/blobs/uploads/')
  assert.equal(routeUrl('/v2/a/tags/b/tags/list'), '/v2/a%2Ftags%2Fb/tags/list')
  assert.equal(routeUrl('/v2/'), '/v2/')
  assert.equal(routeUrl('/tessera/stats'), '/tessera/stats')
})

test('upload sessions: appends, cut back on failure, expire, leftover files removed at start', async () => {
  const dir = await mkdtemp(join(tmpdir(), 'tessera-sessions-'))
  try {
    await writeFile(join(dir, '00000000-0000-4000-8000-000000000000'), 'left by an earlier run')
    const sessions = new UploadSessions(dir, { maxUploadBytes: 100, maxUploadSessions: 2, uploadSessionTtlMs: 1000 })
    await sessions.start()
    assert.deepEqual(await readdir(dir), [])
    const s = await sessions.create('repo')
    await sessions.append(s, Readable.from([Buffer.alloc(40, 1)]))
    assert.equal(s.size, 40)
    await assert.rejects(sessions.append(s, Readable.from([Buffer.alloc(70, 2)])), (e: any) => e.specCode === 'SIZE_INVALID' && e.status === 413)
    assert.equal(s.size, 40)
    await sessions.create('repo')
    await assert.rejects(sessions.create('repo'), (e: any) => e.specCode === 'TOOMANYREQUESTS')
    assert.equal(await sessions.expire(s.touched + 500), 0)
    assert.equal(await sessions.expire(Date.now() + 5000), 2)
    assert.throws(() => sessions.get('repo', s.id), (e: any) => e.specCode === 'BLOB_UPLOAD_UNKNOWN')
    assert.deepEqual(await readdir(dir), [])
    await sessions.close()
  } finally {
    await rm(dir, { recursive: true, force: true })
  }
})

test('auth config: hashes verify, bad configs are refused with what is wrong', async () => {
  const hash = await hashPassword('pw')
  assert.match(hash, /^scrypt\$16384\$8\$1\$/)
  assert.equal(await verifyPassword('pw', hash), true)
  assert.equal(await verifyPassword('pW', hash), false)
  assert.notEqual(await hashPassword('pw'), hash, 'salted')
  assert.throws(() => parseAuthConfig({}), /nobody could log in/)
  assert.throws(() => parseAuthConfig({ users: [{ username: 'a', password: 'plain' }] }), /hash-password/)
  assert.throws(() => parseAuthConfig({ tokens: [{ sha256: 'xyz' }] }), /sha256/)
  assert.throws(() => parseAuthConfig({ users: [{ username: 'a', password: hash, access: 'admin' }] }), /access/)
  assert.throws(() => parseAuthConfig({ user: [] }), /unknown field/)
})
