/**
 * Whole blobs: HEAD, GET into memory, GET as a stream.
 *
 * Every body is bounded by the size the caller gives (the descriptor's):
 * a declared `Content-Length` other than that size is refused before the
 * body is read, bytes past it are `ERR_REGISTRY_TOO_LARGE`, a body that ends
 * early `ERR_REGISTRY_TRUNCATED`, and bytes of another digest
 * `ERR_INTEGRITY`. A body that fails half way (reset, stall, truncation)
 * is fetched again, at most `retries` times: `getBlob` from the start,
 * `streamBlob` from where it stopped (`Range: bytes=N-`), so a consumer
 * never sees a byte twice.
 *
 * @module
 */
import { createHash, type Hash } from 'node:crypto'
import { IntegrityError, throwIfAborted } from '../../errors.js'
import { parseDigest } from '../../hash/digest.js'
import { repoPath, type RepositoryContext } from './context.js'
import { RegistryNotFoundError, RegistryProtocolError, RegistryTooLargeError, RegistryTruncatedError, quoteRemote } from './errors.js'
import { concatBytes, isRetryable, type HttpResponse } from './http.js'
import { parseContentRange } from './ranges.js'
import { errorFromResponse } from './response-error.js'
import type { CallOptions } from './types.js'

function checkSize (size: number): void {
  if (!Number.isSafeInteger(size) || size < 0) throw new RangeError(`a blob size must be a non-negative integer, got ${String(size)}`)
}

/** HEAD a blob: its size, or undefined when the repository lacks it. */
export async function statBlob (ctx: RepositoryContext, digest: string, options: CallOptions = {}): Promise<number | undefined> {
  parseDigest(digest)
  const res = await ctx.session.request({ method: 'HEAD', target: repoPath(ctx, `blobs/${digest}`), scopes: ctx.pull, signal: options.signal })
  const what = `blob ${digest} in ${ctx.name}`
  if (res.status === 404) { res.discard(); return undefined }
  if (res.status !== 200) throw await errorFromResponse(res, 'HEAD', what)
  res.discard()
  const length = res.contentLength
  if (length === undefined) throw new RegistryProtocolError(`HEAD ${what}: no valid Content-Length`, { status: 200 })
  const claimed = res.header('docker-content-digest')?.trim()
  if (claimed !== undefined && claimed.startsWith('sha256:') && claimed !== digest) throw new RegistryProtocolError(`HEAD ${what}: the registry answers for digest ${quoteRemote(claimed, 80)}`)
  return length
}

/** GET a blob's answer (200 or, from `from` > 0, 206), its status checked. */
async function openBlob (ctx: RepositoryContext, digest: string, size: number, from: number, signal: AbortSignal | undefined): Promise<{ res: HttpResponse, skip: number }> {
  const what = `blob ${digest} in ${ctx.name}`
  const headers: Record<string, string> = { 'accept-encoding': 'identity' }
  if (from > 0) headers.range = `bytes=${from}-`
  const res = await ctx.session.request({ method: 'GET', target: repoPath(ctx, `blobs/${digest}`), headers, scopes: ctx.pull, signal })
  if (res.status === 404) throw new RegistryNotFoundError((await errorFromResponse(res, 'GET', what)).message, { status: 404 })
  if (res.status === 206 && from > 0) {
    const cr = parseContentRange(res.header('content-range'))
    if (cr === undefined || cr.start !== from || cr.end !== size || (cr.size !== undefined && cr.size !== size)) {
      res.discard()
      throw new RegistryProtocolError(`GET ${what} from byte ${from}: the answer's Content-Range ${quoteRemote(res.header('content-range') ?? '(none)', 80)} is not bytes ${from}-${size - 1}/${size}`, { status: 206 })
    }
    return { res, skip: 0 }
  }
  if (res.status !== 200) throw await errorFromResponse(res, 'GET', what)
  const declared = res.contentLength
  if (declared !== undefined && declared !== size) {
    res.discard()
    const Class = declared > size ? RegistryTooLargeError : RegistryTruncatedError
    throw new Class(`GET ${what}: the registry declares ${declared} bytes, the blob has ${size}`, { status: 200 })
  }
  return { res, skip: from }
}

/** The bytes of a blob from `from`, as chunks, hashing into `hash`; stops with the right error past `size`. */
async function * blobChunks (res: HttpResponse, skip: number, from: number, size: number, hash: Hash, what: string): AsyncGenerator<Uint8Array> {
  let at = from - skip
  for await (let chunk of res.body()) {
    if (skip > 0) {
      const drop = Math.min(skip, chunk.length)
      skip -= drop
      at += drop
      chunk = chunk.subarray(drop)
      if (chunk.length === 0) continue
    }
    if (at + chunk.length > size) throw new RegistryTooLargeError(`GET ${what}: more than the ${size} bytes of the blob`)
    at += chunk.length
    hash.update(chunk)
    yield chunk
  }
  if (at < size) throw new RegistryTruncatedError(`GET ${what}: the body ended after ${at} of ${size} bytes`)
}

/** GET a whole blob of known size, verified against its digest. */
export async function getBlob (ctx: RepositoryContext, digest: string, size: number, options: CallOptions = {}): Promise<Uint8Array> {
  parseDigest(digest)
  checkSize(size)
  const parts: Uint8Array[] = []
  for await (const chunk of streamBlob(ctx, digest, size, options)) parts.push(chunk)
  return concatBytes(parts, size)
}

/** GET a blob as a stream, resuming after failures; `ERR_INTEGRITY` at the end if the digest does not match. */
export async function * streamBlob (ctx: RepositoryContext, digest: string, size: number, options: CallOptions = {}): AsyncGenerator<Uint8Array> {
  parseDigest(digest)
  checkSize(size)
  const what = `blob ${digest} in ${ctx.name}`
  const hash = createHash('sha256')
  let at = 0
  let failures = 0
  for (;;) {
    throwIfAborted(options.signal)
    const { res, skip } = await openBlob(ctx, digest, size, at, options.signal)
    try {
      for await (const chunk of blobChunks(res, skip, at, size, hash, what)) {
        at += chunk.length
        yield chunk
      }
      break
    } catch (err) {
      if (!isRetryable(err) || ++failures > ctx.session.options.retries) throw err
      await ctx.session.backoff(failures, options.signal)
    }
  }
  const actual = `sha256:${hash.digest('hex')}`
  if (actual !== digest) throw new IntegrityError(`GET ${what}: the registry sent bytes of digest ${actual}`)
}
