/**
 * `getRanges`: many ranges of one blob in as few requests as the registry
 * allows.
 *
 * The ranges are coalesced into spans and batches (`./ranges.ts`). Each
 * repository remembers what its registry does with ranges, starting at
 * `multi`:
 * - **multi**: one `Range: bytes=a-b,c-d,...` request per batch. A 206
 *   `multipart/byteranges` answer is parsed strictly (`./multipart.ts`); a
 *   206 with one `Content-Range` is taken as one part. Each part must be
 *   one span asked for, or several consecutive spans of the batch
 *   coalesced (RFC 9110 lets a server merge), of this blob's size, and not
 *   seen before; spans a server leaves out are asked for again. A 400,
 *   413, 416 or 431 halves the batch when its header is long (a proxy
 *   header limit), else moves the repository to single ranges (GCS
 *   refuses multi-range). A 200 is the whole blob: it is read once,
 *   bounded by the blob's size and checked against its digest, every
 *   outstanding range is cut from it as it streams past, and the
 *   repository moves to single ranges.
 * - **single**: one range per request (spans coalesced with a wider gap,
 *   since a request costs a round trip), up to `maxConcurrency` at once.
 *   A 400/416, or a 200, moves the repository to whole blobs.
 * - **whole**: one GET of the whole blob, streamed and cut as above.
 *
 * Failures of a body half way (resets, stalls, truncation) retry what is
 * still missing, at most `retries` rounds without progress; nothing is
 * yielded twice. Ranges of length 0 are yielded at once; each requested
 * range is yielded exactly once (duplicates in the request are yielded
 * once per entry), in any order, as a view on the received bytes.
 *
 * @module
 */
import { createHash } from 'node:crypto'
import { IntegrityError, throwIfAborted } from '../../errors.js'
import { parseDigest } from '../../hash/digest.js'
import { repoPath, type RepositoryContext } from './context.js'
import { RegistryNotFoundError, RegistryProtocolError, RegistryTooLargeError, RegistryTruncatedError, quoteRemote } from './errors.js'
import { isRetryable, type HttpResponse } from './http.js'
import { byterangesBoundary, parseByteranges, type BytePart } from './multipart.js'
import { batchSpans, checkRanges, coalesce, DEFAULT_RANGE_PLAN, parseContentRange, rangeHeaderValue, type RangePlan, type Span } from './ranges.js'
import { errorFromResponse } from './response-error.js'
import type { ByteRange, CallOptions } from './types.js'

/** What a registry does with ranges, as learnt. */
export type RangeMode = 'multi' | 'single' | 'whole'

/** The mutable range state a repository keeps across calls. */
export interface RangeState {
  mode: RangeMode
  plan: RangePlan
}

/** A fresh state: multi-range, default plan. */
export function initialRangeState (): RangeState {
  return { mode: 'multi', plan: { ...DEFAULT_RANGE_PLAN } }
}

/** Gap merged in single-range mode (a request saved is worth more bytes). */
const SINGLE_GAP = 64 * 1024
/** Under this header length a refused multi-range request means "no multi-range", not "header too long". */
const SMALL_HEADER = 8 * 1024

type Outcome = 'ok' | 'refused' | 'whole'

interface Job {
  ctx: RepositoryContext
  digest: string
  size: number
  what: string
  signal: AbortSignal | undefined
}

/** Send one ranged GET for `spans`; resolves with the answer whose status the caller interprets. */
async function rangedGet (job: Job, spans: readonly Span[]): Promise<HttpResponse> {
  const res = await job.ctx.session.request({
    method: 'GET',
    target: repoPath(job.ctx, `blobs/${job.digest}`),
    headers: { range: rangeHeaderValue(spans), 'accept-encoding': 'identity' },
    scopes: job.ctx.pull,
    signal: job.signal
  })
  if (res.status === 404) throw new RegistryNotFoundError((await errorFromResponse(res, 'GET', job.what)).message, { status: 404 })
  return res
}

/** A checker of parts against a batch: a part is one span, or consecutive spans, not seen before. */
function partChecker (job: Job, batch: readonly Span[]): (start: number, end: number, size: number | undefined) => void {
  const byStart = new Map(batch.map((s, i) => [s.start, i]))
  const seen = new Set<number>()
  return (start, end, size) => {
    const bad = (why: string): never => { throw new RegistryProtocolError(`GET ${job.what}: a part ${start}-${end - 1} ${why}`, { status: 206 }) }
    if (size !== undefined && size !== job.size) bad(`names a blob of ${size} bytes, not ${job.size}`)
    const i = byStart.get(start)
    if (i === undefined) bad('was not asked for')
    let j = i!
    while (j < batch.length && batch[j]!.end < end) j++
    if (j >= batch.length || batch[j]!.end !== end) bad('was not asked for')
    for (let k = i!; k <= j; k++) if (seen.has(k)) bad('came twice')
    for (let k = i!; k <= j; k++) seen.add(k)
  }
}

/** The parts of a 206 answer to `batch`. */
async function * partsOf (job: Job, res: HttpResponse, batch: readonly Span[]): AsyncGenerator<BytePart> {
  const check = partChecker(job, batch)
  const contentType = res.header('content-type')
  if (contentType !== undefined && /^\s*multipart\//i.test(contentType)) {
    const boundary = byterangesBoundary(contentType)
    if (boundary === undefined) { res.discard(); throw new RegistryProtocolError(`GET ${job.what}: a 206 answer of type ${quoteRemote(contentType, 100)} without a usable boundary`, { status: 206 }) }
    yield * parseByteranges(res.body(), boundary, check, `GET ${job.what}`)
    return
  }
  const header = res.header('content-range')
  const cr = parseContentRange(header)
  if (cr === undefined) { res.discard(); throw new RegistryProtocolError(`GET ${job.what}: a 206 answer without a valid Content-Range (${quoteRemote(header ?? '(none)', 80)})`, { status: 206 }) }
  try { check(cr.start, cr.end, cr.size) } catch (err) { res.discard(); throw err }
  const length = cr.end - cr.start
  const declared = res.contentLength
  if (declared !== undefined && declared !== length) { res.discard(); throw new RegistryProtocolError(`GET ${job.what}: Content-Length ${declared} for Content-Range ${cr.start}-${cr.end - 1}`, { status: 206 }) }
  const bytes = new Uint8Array(new SharedArrayBuffer(length))
  let at = 0
  for await (const chunk of res.body()) {
    if (at + chunk.length > length) throw new RegistryTooLargeError(`GET ${job.what}: the part ${cr.start}-${cr.end - 1} is longer than its Content-Range`, { status: 206 })
    bytes.set(chunk, at)
    at += chunk.length
  }
  if (at < length) throw new RegistryTruncatedError(`GET ${job.what}: the part ${cr.start}-${cr.end - 1} ended after ${at} of ${length} bytes`, { status: 206 })
  yield { start: cr.start, end: cr.end, bytes }
}

/**
 * A 200 answer: the whole blob, streamed once; yields the bytes of each of
 * `spans` (sorted, disjoint) as they pass, and checks length and digest.
 */
async function * cutWhole (job: Job, res: HttpResponse, spans: readonly Span[]): AsyncGenerator<BytePart> {
  const declared = res.contentLength
  if (declared !== undefined && declared !== job.size) {
    res.discard()
    const Class = declared > job.size ? RegistryTooLargeError : RegistryTruncatedError
    throw new Class(`GET ${job.what}: a 200 answer declaring ${declared} bytes for a blob of ${job.size}`, { status: 200 })
  }
  const hash = createHash('sha256')
  let at = 0
  let next = 0
  let cur: { span: Span, bytes: Uint8Array } | undefined
  for await (const chunk of res.body()) {
    if (at + chunk.length > job.size) throw new RegistryTooLargeError(`GET ${job.what}: a 200 answer longer than the blob's ${job.size} bytes`, { status: 200 })
    hash.update(chunk)
    const chunkEnd = at + chunk.length
    while (next < spans.length || cur !== undefined) {
      if (cur === undefined) {
        const s = spans[next]!
        if (s.start >= chunkEnd) break
        cur = { span: s, bytes: new Uint8Array(s.end - s.start) }
        next++
      }
      const { span, bytes } = cur
      const from = Math.max(span.start, at)
      const to = Math.min(span.end, chunkEnd)
      if (to > from) bytes.set(chunk.subarray(from - at, to - at), from - span.start)
      if (span.end > chunkEnd) break
      yield { start: span.start, end: span.end, bytes }
      cur = undefined
    }
    at = chunkEnd
  }
  if (at < job.size) throw new RegistryTruncatedError(`GET ${job.what}: a 200 answer ended after ${at} of ${job.size} bytes`, { status: 200 })
  const actual = `sha256:${hash.digest('hex')}`
  if (actual !== job.digest) throw new IntegrityError(`GET ${job.what}: the registry sent bytes of digest ${actual}`)
}

/** One request for `batch`; a 200 (the whole blob) delivers all of `outstanding`, or is dropped when that is undefined. */
async function * fetchBatch (job: Job, batch: readonly Span[], outstanding: readonly Span[] | undefined): AsyncGenerator<BytePart, Outcome> {
  const res = await rangedGet(job, batch)
  if (res.status === 206) {
    yield * partsOf(job, res, batch)
    return 'ok'
  }
  if (res.status === 200) {
    // the whole blob: used when the caller can take every outstanding range from it, else dropped
    if (outstanding !== undefined) yield * cutWhole(job, res, outstanding)
    else res.discard()
    return 'whole'
  }
  if ([400, 413, 416, 431].includes(res.status)) {
    res.discard()
    return 'refused'
  }
  throw await errorFromResponse(res, 'GET', `GET ${job.what} (${batch.length} range${batch.length === 1 ? '' : 's'})`)
}

/** The whole blob, cut into `spans`. */
async function * fetchWhole (job: Job, spans: readonly Span[]): AsyncGenerator<BytePart> {
  const res = await job.ctx.session.request({ method: 'GET', target: repoPath(job.ctx, `blobs/${job.digest}`), headers: { 'accept-encoding': 'identity' }, scopes: job.ctx.pull, signal: job.signal })
  if (res.status === 404) throw new RegistryNotFoundError((await errorFromResponse(res, 'GET', job.what)).message, { status: 404 })
  if (res.status !== 200) throw await errorFromResponse(res, 'GET', `GET ${job.what}`)
  yield * cutWhole(job, res, spans)
}

/** Buffered single-range requests, `width` at once, yielded as they complete. */
async function * fetchSingles (job: Job, spans: readonly Span[], width: number): AsyncGenerator<BytePart, Outcome> {
  type Result = { parts: BytePart[], outcome: Outcome, error?: unknown }
  const run = async (span: Span): Promise<Result> => {
    const parts: BytePart[] = []
    try {
      const it = fetchBatch(job, [span], undefined)
      for (;;) {
        const r = await it.next()
        if (r.done === true) return { parts, outcome: r.value }
        parts.push(r.value)
      }
    } catch (error) {
      return { parts, outcome: 'ok', error }
    }
  }
  const queue = [...spans]
  const running = new Map<number, Promise<[number, Result]>>()
  let id = 0
  let outcome: Outcome = 'ok'
  let failure: unknown
  const start = (): void => {
    const span = queue.shift()
    if (span === undefined) return
    const n = id++
    running.set(n, run(span).then((r) => [n, r]))
  }
  for (let i = 0; i < width; i++) start()
  while (running.size > 0) {
    const [n, r] = await Promise.race(running.values())
    running.delete(n)
    for (const p of r.parts) yield p
    if (r.error !== undefined) {
      if (!isRetryable(r.error)) { failure = r.error; queue.length = 0 } else failure ??= r.error
    } else if (r.outcome !== 'ok') {
      outcome = r.outcome
      queue.length = 0
    }
    start()
  }
  if (failure !== undefined && !isRetryable(failure)) throw failure
  if (failure !== undefined && outcome === 'ok') throw failure
  return outcome
}

/** Iterate `it`, handing its return value to `done`; closes `it` when the consumer stops early. */
async function * each<T, R> (it: AsyncGenerator<T, R>, done: (value: R) => void): AsyncGenerator<T> {
  let finished = false
  try {
    for (;;) {
      const r = await it.next()
      if (r.done === true) { finished = true; done(r.value); return }
      yield r.value
    }
  } finally {
    if (!finished) await it.return(undefined as R)
  }
}

/** See the module comment. */
export async function * getRanges (ctx: RepositoryContext, state: RangeState, digest: string, size: number, ranges: readonly ByteRange[], options: CallOptions = {}): AsyncGenerator<{ range: ByteRange, bytes: Uint8Array }> {
  parseDigest(digest)
  checkRanges(ranges, size)
  const job: Job = { ctx, digest, size, what: `blob ${digest} in ${ctx.name}`, signal: options.signal }
  const pending = new Set<number>()
  for (let i = 0; i < ranges.length; i++) {
    const r = ranges[i]!
    if (r.length === 0) yield { range: r, bytes: new Uint8Array(0) }
    else pending.add(i)
  }
  let stalls = 0
  while (pending.size > 0) {
    throwIfAborted(options.signal)
    const before = pending.size
    const mode = state.mode
    let halved = false
    const spans = coalesce(ranges, mode === 'single' ? { gap: Math.max(SINGLE_GAP, state.plan.gap), maxSpan: state.plan.maxSpan } : state.plan, [...pending])
    const deliver = function * (part: BytePart): Generator<{ range: ByteRange, bytes: Uint8Array }> {
      for (const span of spans) {
        if (span.start < part.start || span.end > part.end) continue
        for (const i of span.requests) {
          if (!pending.has(i)) continue
          const r = ranges[i]!
          pending.delete(i)
          yield { range: r, bytes: part.bytes.subarray(r.offset - part.start, r.offset - part.start + r.length) }
        }
      }
    }
    let failure: unknown
    try {
      if (mode === 'whole') {
        for await (const part of fetchWhole(job, spans)) yield * deliver(part)
      } else if (mode === 'single') {
        const outcome = (value: Outcome): void => { if (value !== 'ok') state.mode = 'whole' }
        for await (const part of each(fetchSingles(job, spans, ctx.session.options.maxConcurrency), outcome)) yield * deliver(part)
      } else {
        for (const batch of batchSpans(spans, state.plan)) {
          const outstanding = spans.filter((s) => s.requests.some((i) => pending.has(i)))
          let outcome = 'ok' as Outcome
          for await (const part of each(fetchBatch(job, batch, outstanding), (v) => { outcome = v })) yield * deliver(part)
          if (outcome === 'whole') { state.mode = 'single'; break }
          if (outcome === 'refused') {
            const header = rangeHeaderValue(batch).length
            if (batch.length > 1 && header > SMALL_HEADER) {
              state.plan.maxHeaderBytes = Math.max(SMALL_HEADER, Math.floor(header / 2))
              state.plan.maxRanges = Math.max(1, Math.floor(batch.length / 2))
              halved = true
            } else {
              state.mode = batch.length > 1 ? 'single' : 'whole'
            }
            break
          }
          if (pending.size === 0) break
        }
      }
    } catch (err) {
      if (!isRetryable(err)) throw err
      failure = err
    }
    if (pending.size < before || halved || (failure === undefined && state.mode !== mode)) {
      stalls = 0
      continue
    }
    if (++stalls > ctx.session.options.retries) {
      if (failure !== undefined) throw failure
      throw new RegistryProtocolError(`GET ${job.what}: the registry answered without ${pending.size} of the ranges asked`)
    }
    await ctx.session.backoff(stalls, options.signal)
  }
}
