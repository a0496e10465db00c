/**
 * Recreating a gzip stream bit for bit: the member header is kept as it
 * is, the deflate stream is recreated by a pinned implementation with the
 * parameters found by {@link findDeflateParams}, and the trailer (CRC-32,
 * ISIZE) is computed from the data.
 *
 * The search compresses only a prefix of the data with each candidate and
 * stops a candidate at its first output byte that differs from the stream,
 * so a stream no candidate makes (GNU gzip, say) is given up after a block
 * or so per candidate.
 *
 * Streams from Go writers are recreated by ports ({@link findGzipParams}):
 * pgzip (umoci) in `klauspost-pgzip/`, Go's `compress/gzip` (docker) in
 * `go-compress-flate/`. Their member headers give them away (OS 255, MTIME
 * `00 09 6e 88` for pgzip, 0 for `compress/gzip`), so a header that is
 * exactly one of theirs tries that writer first; other OS-255 headers try
 * the Go writers after the zlib ones, other headers not at all: the search
 * for other streams is not slowed down.
 *
 * @module
 */
import { createRequire } from 'node:module'
import zlib from 'node:zlib'
import { blockDeflateImplementation, blockDeflateImplementations, deflateImplementations, deflateImplementation } from './deflate-impl.js'
import type { DeflateImplementation, RawDeflater, ZlibParams } from './deflate-impl.js'
import type { BlockDeflateParams, DeflateParams } from './params.js'
import { throwIfAborted } from '../errors.js'

const require = createRequire(import.meta.url)

/** Largest gzip member header accepted (FEXTRA, FNAME, FCOMMENT included). */
export const GZIP_HEADER_MAX = 65536

/** The fields of a gzip member header (RFC 1952). */
export interface GzipHeader {
  /** Bytes of the header, FHCRC included. */
  length: number
  flags: number
  mtime: number
  /** Extra flags: 2 = slowest/best, 4 = fastest, as zlib writes them. */
  xfl: number
  os: number
  extra?: Uint8Array
  name?: Uint8Array
  comment?: Uint8Array
}

/**
 * Parse the gzip member header at the start of `buf`. Returns undefined
 * when `buf` does not start with a valid header that ends within it
 * (wrong magic, method other than deflate, reserved flag bits set, too long).
 */
export function parseGzipHeader (buf: Uint8Array): GzipHeader | undefined {
  if (buf.length < 10 || buf[0] !== 0x1f || buf[1] !== 0x8b || buf[2] !== 8) return undefined
  const flags = buf[3]!
  if ((flags & 0xe0) !== 0) return undefined
  const header: GzipHeader = { length: 10, flags, mtime: (buf[4]! | (buf[5]! << 8) | (buf[6]! << 16) | (buf[7]! << 24)) >>> 0, xfl: buf[8]!, os: buf[9]! }
  let pos = 10
  if ((flags & 4) !== 0) {
    if (pos + 2 > buf.length) return undefined
    const n = buf[pos]! | (buf[pos + 1]! << 8)
    if (pos + 2 + n > buf.length) return undefined
    header.extra = buf.slice(pos + 2, pos + 2 + n)
    pos += 2 + n
  }
  const zeroTerminated = (): Uint8Array | undefined => {
    const end = buf.indexOf(0, pos)
    if (end < 0) return undefined
    const s = buf.slice(pos, end)
    pos = end + 1
    return s
  }
  if ((flags & 8) !== 0) { const s = zeroTerminated(); if (s === undefined) return undefined; header.name = s }
  if ((flags & 16) !== 0) { const s = zeroTerminated(); if (s === undefined) return undefined; header.comment = s }
  if ((flags & 2) !== 0) pos += 2
  if (pos > buf.length || pos > GZIP_HEADER_MAX) return undefined
  header.length = pos
  return header
}

const CRC_TABLE = (() => {
  const t = new Int32Array(256)
  for (let n = 0; n < 256; n++) {
    let c = n
    for (let k = 0; k < 8; k++) c = (c & 1) !== 0 ? 0xedb88320 ^ (c >>> 1) : c >>> 1
    t[n] = c
  }
  return t
})()

const nativeCrc32 = (zlib as unknown as { crc32?: (data: Uint8Array, value?: number) => number }).crc32

/**
 * Incremental CRC-32 (gzip's): `crc32(b, crc32(a))` is the CRC of `a` then
 * `b`. Uses `zlib.crc32` where Node.js has it (CRC-32 is fully specified,
 * so any correct implementation gives the same value).
 */
export function crc32 (bytes: Uint8Array, crc = 0): number {
  if (nativeCrc32 !== undefined) return nativeCrc32(bytes, crc)
  return crc32Portable(bytes, crc)
}

/** CRC-32 in JS, table driven. */
export function crc32Portable (bytes: Uint8Array, crc = 0): number {
  let c = ~crc
  for (let i = 0; i < bytes.length; i++) c = CRC_TABLE[(c ^ bytes[i]!) & 0xff]! ^ (c >>> 8)
  return ~c >>> 0
}

/** The 8-byte gzip trailer of data with this CRC and length. */
export function gzipTrailer (crc: number, length: number): Uint8Array {
  const t = new Uint8Array(8)
  const dv = new DataView(t.buffer)
  dv.setUint32(0, crc >>> 0, true)
  dv.setUint32(4, length % 2 ** 32, true)
  return t
}

/** Candidate parameters, most likely first (the XFL byte hints at the level). */
export function deflateCandidates (xfl: number): DeflateParams[] {
  const first = xfl === 2 ? 9 : xfl === 4 ? 1 : 6
  const levels = [first, ...[6, 9, 1, 2, 3, 4, 5, 7, 8].filter((l) => l !== first)]
  const out: DeflateParams[] = []
  for (const impl of deflateImplementations()) {
    for (const memLevel of [8, 9]) {
      for (const level of levels) out.push({ implementation: impl.name, level, windowBits: 15, memLevel, strategy: 0 })
    }
  }
  return out
}

const zlibParams = (p: DeflateParams): ZlibParams => ({ level: p.level, windowBits: p.windowBits, memLevel: p.memLevel, strategy: p.strategy })

/** Output piece size while searching: small, so a mismatch shows early. */
const SEARCH_CHUNK = 4096
const SEARCH_INPUT_STEP = 32 * 1024

class Mismatch extends Error {}
/** The output reached the end of a partial stream with every byte equal. */
class ProbeEnd extends Error {}

/**
 * Does `params` turn `data` into a stream starting with `deflated`? When
 * `complete`, `data` is all the input and `deflated` the whole deflate
 * stream, and the output must equal it; otherwise `data` is a prefix of
 * the input and the output so far must be a prefix of `deflated` (output
 * going past the end of `deflated` counts as a match if it agrees up to
 * there: a block can end a few bytes past where the prefix was cut).
 */
export function deflateMatches (impl: DeflateImplementation, params: DeflateParams, data: Uint8Array, deflated: Uint8Array, complete: boolean): boolean {
  return streamMatches((chunkSize, onData) => impl.create(zlibParams(params), chunkSize, onData), data, deflated, complete)
}

/** {@link deflateMatches} for a level-and-block-size implementation (a Go writer). */
export function blockDeflateMatches (params: BlockDeflateParams, data: Uint8Array, deflated: Uint8Array, complete: boolean): boolean {
  const impl = blockDeflateImplementation(params.implementation)
  return streamMatches((chunkSize, onData) => impl.create(params, chunkSize, onData), data, deflated, complete)
}

type MakeDeflater = (chunkSize: number, onData: (bytes: Uint8Array) => void) => RawDeflater

function streamMatches (make: MakeDeflater, data: Uint8Array, deflated: Uint8Array, complete: boolean): boolean {
  let pos = 0
  const onData = (out: Uint8Array): void => {
    const n = Math.min(out.length, deflated.length - pos)
    for (let i = 0; i < n; i++) if (out[i] !== deflated[pos + i]) throw new Mismatch()
    pos += n
    if (n < out.length) throw complete ? new Mismatch() : new ProbeEnd()
  }
  try {
    const d = make(SEARCH_CHUNK, onData)
    for (let off = 0; off < data.length; off += SEARCH_INPUT_STEP) d.push(data.subarray(off, Math.min(data.length, off + SEARCH_INPUT_STEP)), false)
    if (complete) {
      d.push(new Uint8Array(0), true)
      return pos === deflated.length
    }
    return true
  } catch (err) {
    if (err instanceof Mismatch) return false
    if (err instanceof ProbeEnd) return true
    throw err
  }
}

/**
 * The first candidate that recreates the start of a deflate stream:
 * `data` is the uncompressed prefix, `deflated` the compressed bytes it
 * came from (the whole stream when `complete`). Undefined if none does.
 */
export function findDeflateParams (xfl: number, data: Uint8Array, deflated: Uint8Array, complete: boolean, signal?: AbortSignal): DeflateParams | undefined {
  for (const params of deflateCandidates(xfl)) {
    throwIfAborted(signal)
    if (deflateMatches(deflateImplementation(params.implementation), params, data, deflated, complete)) return params
  }
  return undefined
}

/**
 * Level-and-block-size candidates for a member header, most likely first:
 * those of the Go writers whose own header (no field set) it is, then, for
 * `all`, every other level and block size of writers that write its OS
 * byte (Go writes 255). Only levels whose XFL byte matches are tried.
 */
export function blockDeflateCandidates (header: GzipHeader, headerBytes: Uint8Array, all: boolean): BlockDeflateParams[] {
  const out: BlockDeflateParams[] = []
  for (const impl of blockDeflateImplementations()) {
    for (const level of impl.levels) {
      const own = impl.header(level)
      if (own[8] !== header.xfl || own[9] !== header.os) continue
      const exact = headerBytes.length === own.length && own.every((b, i) => b === headerBytes[i])
      if (exact !== !all) continue
      for (const blockSize of impl.blockSizes) out.push({ implementation: impl.name, level, blockSize })
    }
  }
  return out
}

/** What recreated a gzip member's deflate stream: a zlib port or a Go-style writer. */
export type GzipParams =
  | { kind: 'gzip', deflate: DeflateParams }
  | { kind: 'gzip-blocks', deflate: BlockDeflateParams }

/**
 * The first candidate that recreates the start of a deflate stream, zlib
 * ports and Go ports alike, in the order the header suggests (see the
 * module comment). Arguments as {@link findDeflateParams}.
 */
export function findGzipParams (header: GzipHeader, headerBytes: Uint8Array, data: Uint8Array, deflated: Uint8Array, complete: boolean, signal?: AbortSignal): GzipParams | undefined {
  const tryBlocks = (all: boolean): GzipParams | undefined => {
    for (const params of blockDeflateCandidates(header, headerBytes, all)) {
      throwIfAborted(signal)
      if (blockDeflateMatches(params, data, deflated, complete)) return { kind: 'gzip-blocks', deflate: params }
    }
    return undefined
  }
  const own = tryBlocks(false)
  if (own !== undefined) return own
  const zlib = findDeflateParams(header.xfl, data, deflated, complete, signal)
  if (zlib !== undefined) return { kind: 'gzip', deflate: zlib }
  return tryBlocks(true)
}

/**
 * Deflate a stream with `params`: the gzip member (header given, trailer
 * computed) as pieces of about 64 KiB.
 */
export async function * gzipStream (source: AsyncIterable<Uint8Array>, header: Uint8Array, params: DeflateParams, signal?: AbortSignal): AsyncGenerator<Uint8Array> {
  const impl = deflateImplementation(params.implementation)
  yield * memberStream(source, header, (chunkSize, onData) => impl.create(zlibParams(params), chunkSize, onData), signal)
}

/** {@link gzipStream} for a level-and-block-size implementation (a Go writer). */
export async function * gzipBlocksStream (source: AsyncIterable<Uint8Array>, header: Uint8Array, params: BlockDeflateParams, signal?: AbortSignal): AsyncGenerator<Uint8Array> {
  const impl = blockDeflateImplementation(params.implementation)
  yield * memberStream(source, header, (chunkSize, onData) => impl.create(params, chunkSize, onData), signal)
}

async function * memberStream (source: AsyncIterable<Uint8Array>, header: Uint8Array, make: MakeDeflater, signal: AbortSignal | undefined): AsyncGenerator<Uint8Array> {
  let out: Uint8Array[] = []
  const d = make(64 * 1024, (b) => { out.push(b) })
  yield header
  let crc = 0
  let length = 0
  for await (const piece of source) {
    throwIfAborted(signal)
    crc = crc32(piece, crc)
    length += piece.length
    d.push(piece, false)
    if (out.length > 0) { const o = out; out = []; yield * o }
  }
  d.push(new Uint8Array(0), true)
  yield * out
  yield gzipTrailer(crc, length)
}

interface PakoInflate {
  push (data: Uint8Array, flush: boolean): boolean
  onData: (chunk: Uint8Array) => void
  onEnd: (status: number) => void
  ended: boolean
  strm: { avail_in: number, avail_out: number, next_out: number, output: Uint8Array }
}

/** What {@link inflatePrefix} got from the start of a raw deflate stream. */
export interface InflatedPrefix {
  /** The uncompressed bytes (at least `limit` unless the stream ended or broke first). */
  data: Uint8Array
  /** True when the deflate stream ended within the input. */
  ended: boolean
  /** Compressed bytes the stream used when it ended (else the input length). */
  consumed: number
  /** True when the bytes are not valid deflate data. */
  broken: boolean
}

/**
 * Inflate the start of a raw deflate stream, stopping soon after `limit`
 * output bytes (a bound against decompression bombs). Inflating is fully
 * specified, so any correct inflater gives these bytes.
 */
export function inflatePrefix (deflated: Uint8Array, limit: number): InflatedPrefix {
  const { Inflate } = require('pako-2.1.0') as { Inflate: new (o: Record<string, unknown>) => PakoInflate }
  const inf = new Inflate({ raw: true, chunkSize: 64 * 1024 })
  const out: Uint8Array[] = []
  let total = 0
  inf.onData = (b) => { out.push(b); total += b.length }
  let endStatus = 0
  inf.onEnd = (status) => { endStatus = status }
  let pushed = 0
  const STEP = 16 * 1024
  while (pushed < deflated.length && total < limit && !inf.ended) {
    const piece = deflated.subarray(pushed, Math.min(deflated.length, pushed + STEP))
    pushed += piece.length
    inf.push(piece, false)
  }
  const broken = inf.ended && endStatus !== 0
  const strm = inf.strm
  // output not yet handed out (pako emits only full buffers until the end)
  if (!inf.ended && strm.next_out > 0 && strm.avail_out > 0) out.push(strm.output.subarray(0, strm.next_out))
  const data = new Uint8Array(Buffer.concat(out))
  return { data, ended: inf.ended && !broken, consumed: inf.ended ? pushed - strm.avail_in : pushed, broken }
}
