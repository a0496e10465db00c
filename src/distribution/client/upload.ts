/**
 * Uploading a blob (`putBlob`):
 * 1. HEAD: a blob the repository has is not sent again (`'present'`);
 * 2. with `mountFrom`, a cross-repository mount `POST
 *    .../blobs/uploads/?mount=DIGEST&from=REPO` (token scopes: push on this
 *    repository, pull on `REPO`): 201 is `'mounted'`; a 202 is the upload
 *    session the registry opened instead, and the upload goes on in it;
 * 3. else `POST .../blobs/uploads/` opens a session, then
 *    - bytes: one monolithic `PUT <location>?digest=` with the body;
 *    - a stream: one streamed `PATCH <location>` (chunked transfer
 *      encoding, as docker pushes), then `PUT <location>?digest=` closing it.
 *
 * What is sent is checked first: bytes against the digest and size before
 * anything is sent, a stream as it passes (a stream longer, shorter or of
 * another digest than the descriptor aborts the PATCH with `ERR_INTEGRITY`,
 * so the session is never closed on wrong bytes). The answer's
 * `Docker-Content-Digest`, when present, must be the digest. A failure that
 * may pass (5xx, reset, timeout) restarts the upload from the POST, at
 * most `retries` times; the stream function is called again for each try.
 *
 * @module
 */
import { createHash } from 'node:crypto'
import { IntegrityError } from '../../errors.js'
import { parseDigest } from '../../hash/digest.js'
import { statBlob } from './blobs.js'
import { repoPath, type RepositoryContext } from './context.js'
import { RegistryProtocolError, quoteRemote } from './errors.js'
import { isRetryable, type HttpResponse } from './http.js'
import { errorFromResponse } from './response-error.js'
import type { CallOptions } from './types.js'

/** How `putBlob` ended. */
export type PutBlobResult = 'uploaded' | 'present' | 'mounted'

/** `location` with `name=value` added to its query, the rest of it untouched. */
export function withQuery (location: URL, name: string, value: string): URL {
  const href = location.href.replace(/#.*$/, '')
  return new URL(`${href}${location.search === '' ? '?' : '&'}${name}=${encodeURIComponent(value)}`)
}

function locationOf (res: HttpResponse, what: string): URL {
  const location = res.header('location')
  res.discard()
  if (location === undefined) throw new RegistryProtocolError(`${what}: HTTP ${res.status} without a Location`, { status: res.status })
  try {
    const url = new URL(location, res.url)
    if (url.protocol !== 'http:' && url.protocol !== 'https:') throw new Error('not http')
    return url
  } catch {
    throw new RegistryProtocolError(`${what}: an invalid Location ${quoteRemote(location, 120)}`, { status: res.status })
  }
}

function checkDigestHeader (res: HttpResponse, digest: string, what: string): void {
  const claimed = res.header('docker-content-digest')?.trim()
  if (claimed !== undefined && claimed.startsWith('sha256:') && claimed !== digest) {
    throw new RegistryProtocolError(`${what}: the registry says it stored ${quoteRemote(claimed, 80)}`, { status: res.status })
  }
}

/** A stream checked against the descriptor as it passes. */
async function * verified (source: AsyncIterable<Uint8Array>, digest: string, size: number): AsyncGenerator<Uint8Array> {
  const hash = createHash('sha256')
  let n = 0
  for await (const chunk of source) {
    n += chunk.length
    if (n > size) throw new IntegrityError(`the stream of blob ${digest} is longer than its ${size} bytes`)
    hash.update(chunk)
    yield chunk
  }
  if (n !== size) throw new IntegrityError(`the stream of blob ${digest} has ${n} bytes, not ${size}`)
  const actual = `sha256:${hash.digest('hex')}`
  if (actual !== digest) throw new IntegrityError(`the stream of blob ${digest} has digest ${actual}`)
}

async function openSession (ctx: RepositoryContext, digest: string, mountFrom: string | undefined, signal: AbortSignal | undefined): Promise<URL | 'mounted'> {
  if (mountFrom !== undefined && mountFrom !== ctx.name) {
    const what = `mounting blob ${digest} from ${mountFrom} into ${ctx.name}`
    const res = await ctx.session.request({
      method: 'POST',
      target: repoPath(ctx, `blobs/uploads/?mount=${encodeURIComponent(digest)}&from=${encodeURIComponent(mountFrom)}`),
      headers: { 'content-length': '0' },
      scopes: [...ctx.push, `repository:${mountFrom}:pull`],
      signal,
      retry: true
    })
    if (res.status === 201) { checkDigestHeader(res, digest, what); res.discard(); return 'mounted' }
    if (res.status === 202) return locationOf(res, what)
    throw await errorFromResponse(res, 'POST', what)
  }
  const what = `starting an upload of blob ${digest} to ${ctx.name}`
  const res = await ctx.session.request({ method: 'POST', target: repoPath(ctx, 'blobs/uploads/'), headers: { 'content-length': '0' }, scopes: ctx.push, signal, retry: true })
  if (res.status !== 202) throw await errorFromResponse(res, 'POST', what)
  return locationOf(res, what)
}

async function upload (ctx: RepositoryContext, location: URL, digest: string, size: number, body: Uint8Array | (() => AsyncIterable<Uint8Array>), signal: AbortSignal | undefined): Promise<void> {
  const what = `uploading blob ${digest} to ${ctx.name}`
  let target = location
  if (typeof body === 'function') {
    const res = await ctx.session.request({
      method: 'PATCH',
      target: location,
      headers: { 'content-type': 'application/octet-stream' },
      body: () => verified(body(), digest, size),
      scopes: ctx.push,
      signal,
      retry: false
    })
    if (res.status !== 202 && res.status !== 204) throw await errorFromResponse(res, 'PATCH', what)
    target = res.header('location') !== undefined ? locationOf(res, what) : (res.discard(), location)
  }
  const res = await ctx.session.request({
    method: 'PUT',
    target: withQuery(target, 'digest', digest),
    headers: { 'content-type': 'application/octet-stream' },
    body: body instanceof Uint8Array ? body : new Uint8Array(0),
    scopes: ctx.push,
    signal,
    retry: false
  })
  if (res.status !== 201 && res.status !== 204) throw await errorFromResponse(res, 'PUT', what)
  checkDigestHeader(res, digest, what)
  res.discard()
}

/** See the module comment. */
export async function putBlob (ctx: RepositoryContext, descriptor: { digest: string, size: number }, body: Uint8Array | (() => AsyncIterable<Uint8Array>), options: CallOptions & { mountFrom?: string } = {}): Promise<PutBlobResult> {
  const digest = parseDigest(descriptor.digest)
  const size = descriptor.size
  if (!Number.isSafeInteger(size) || size < 0) throw new RangeError(`a blob size must be a non-negative integer, got ${String(size)}`)
  if (body instanceof Uint8Array) {
    if (body.length !== size) throw new IntegrityError(`blob ${digest} has ${body.length} bytes, not ${size}`)
    const actual = `sha256:${createHash('sha256').update(body).digest('hex')}`
    if (actual !== digest) throw new IntegrityError(`the bytes given for blob ${digest} have digest ${actual}`)
  }
  const present = await statBlob(ctx, digest, options)
  if (present !== undefined) {
    if (present !== size) throw new RegistryProtocolError(`${ctx.name} has blob ${digest} with ${present} bytes, not ${size}`)
    return 'present'
  }
  for (let failures = 0; ; failures++) {
    try {
      const session = await openSession(ctx, digest, options.mountFrom, options.signal)
      if (session === 'mounted') return 'mounted'
      await upload(ctx, session, digest, size, body, options.signal)
      return 'uploaded'
    } catch (err) {
      if (!isRetryable(err) || failures >= ctx.session.options.retries) throw err
      await ctx.session.backoff(failures + 1, options.signal)
    }
  }
}
