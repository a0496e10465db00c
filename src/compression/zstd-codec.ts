/**
 * Recreating a zstd layer with `zstd-codec` 0.1.5 (libzstd compiled to
 * wasm, pinned in package-lock.json): its streaming compressor at a level
 * from 1 to 8, which writes a frame without content size or checksum.
 * Its libzstd is older than the `zstd` command's (1.5.x), whose output
 * differs at the same level even without a checksum (measured on a 2.9 MB
 * tar at levels 1–8): in practice only layers written by zstd-codec are
 * recreated; others are kept whole.
 * Frames whose header asks for either (the `zstd` command writes a
 * checksum by default) cannot come from it and are given up at once;
 * otherwise levels are tried on a prefix, stopping at the first byte that
 * differs.
 *
 * @module
 */
import { createRequire } from 'node:module'
import { UnsupportedError, throwIfAborted } from '../errors.js'

const require = createRequire(import.meta.url)

/** Name of the implementation as recipes record it. */
export const ZSTD_IMPLEMENTATION = 'zstd-codec@0.1.5'

interface StreamBinding {
  begin (level?: number): boolean
  transform (bytes: Uint8Array, cb: (out: Uint8Array) => void): boolean
  end (cb: (out: Uint8Array) => void): boolean
  delete (): void
}
interface ZstdModule {
  ZstdCompressStreamBinding: new () => StreamBinding
  ZstdDecompressStreamBinding: new () => StreamBinding
}

let loading: Promise<{ module: ZstdModule } | undefined> | undefined

/**
 * The wasm module (wrapped: the Emscripten module is a thenable, which a
 * promise or an async function would wait on forever), or undefined when
 * zstd-codec is not installed at 0.1.5.
 */
async function zstdModule (): Promise<{ module: ZstdModule } | undefined> {
  loading ??= new Promise((resolve) => {
    try {
      const pkg = require('zstd-codec/package.json') as { version?: string }
      if (pkg.version !== '0.1.5') { resolve(undefined); return }
      const mod = require('zstd-codec/lib/module.js') as { run (f: (m: ZstdModule) => void): void }
      mod.run((m) => resolve({ module: m }))
    } catch {
      resolve(undefined)
    }
  })
  return await loading
}

async function requireModule (implementation: string): Promise<{ module: ZstdModule }> {
  const m = implementation === ZSTD_IMPLEMENTATION ? await zstdModule() : undefined
  if (m === undefined) throw new UnsupportedError(`zstd implementation ${implementation} is not available: install it at exactly that version`)
  return m
}

/**
 * Levels tried, most common first. Levels above 8 need more memory than
 * zstd-codec's wasm build has (it aborts with OOM), so they are not tried.
 */
const LEVELS = [3, 1, 2, 4, 5, 6, 7, 8]
const INPUT_STEP = 128 * 1024

/**
 * Why a zstd frame header rules out zstd-codec's streaming compressor, or
 * undefined if it may have made it: it must declare neither a content size
 * nor a checksum nor a dictionary, and not be a single segment.
 */
export function zstdFrameObstacle (frame: Uint8Array): string | undefined {
  if (frame.length < 6) return 'zstd frame too short'
  const fhd = frame[4]!
  if ((fhd & 0x04) !== 0) return 'zstd frame has a content checksum (as the zstd command writes by default)'
  if ((fhd >> 6) !== 0 || (fhd & 0x20) !== 0) return 'zstd frame declares its content size'
  if ((fhd & 0x03) !== 0) return 'zstd frame uses a dictionary'
  return undefined
}

class Mismatch extends Error {}

/**
 * The level at which zstd-codec turns `data` (a prefix of the input, or
 * all of it when `complete`) into output that starts `frame` (equals it
 * when `complete`); undefined if none does.
 */
export async function findZstdLevel (data: Uint8Array, frame: Uint8Array, complete: boolean, signal?: AbortSignal): Promise<number | undefined> {
  if (zstdFrameObstacle(frame) !== undefined) return undefined
  const m = (await zstdModule())?.module
  if (m === undefined) return undefined
  for (const level of LEVELS) {
    throwIfAborted(signal)
    const s = new m.ZstdCompressStreamBinding()
    let pos = 0
    const cb = (out: Uint8Array): void => {
      if (pos + out.length > frame.length) throw new Mismatch()
      for (let i = 0; i < out.length; i++) if (out[i] !== frame[pos + i]) throw new Mismatch()
      pos += out.length
    }
    try {
      if (!s.begin(level)) continue
      let ok = true
      for (let off = 0; off < data.length && ok; off += INPUT_STEP) ok = s.transform(data.subarray(off, Math.min(data.length, off + INPUT_STEP)), cb)
      if (!ok) continue
      if (!complete) return level
      if (s.end(cb) && pos === frame.length) return level
    } catch (err) {
      if (!(err instanceof Mismatch)) return undefined // the wasm instance failed (OOM): give up
    } finally {
      s.delete()
    }
  }
  return undefined
}

/** Compress a stream into one zstd frame with `implementation` at `level`. */
export async function * zstdStream (source: AsyncIterable<Uint8Array>, _size: number, implementation: string, level: number, signal?: AbortSignal): AsyncGenerator<Uint8Array> {
  const m = (await requireModule(implementation)).module
  const s = new m.ZstdCompressStreamBinding()
  try {
    let out: Uint8Array[] = []
    const cb = (b: Uint8Array): void => { out.push(b.slice()) }
    if (!s.begin(level)) throw new Error('zstd: cannot start compressing')
    for await (const piece of source) {
      throwIfAborted(signal)
      for (let off = 0; off < piece.length; off += INPUT_STEP) {
        if (!s.transform(piece.subarray(off, Math.min(piece.length, off + INPUT_STEP)), cb)) throw new Error('zstd: compressing failed')
      }
      if (out.length > 0) { const o = out; out = []; yield * o }
    }
    if (!s.end(cb)) throw new Error('zstd: compressing failed')
    yield * out
  } finally {
    s.delete()
  }
}

/** A zstd decompressor over a stream (zstd-codec; output copied out of wasm memory). */
export async function * zstdDecompressStream (source: AsyncIterable<Uint8Array> | Iterable<Uint8Array>, signal?: AbortSignal): AsyncGenerator<Uint8Array> {
  const m = (await zstdModule())?.module
  if (m === undefined) throw new UnsupportedError('zstd-codec 0.1.5 is not available')
  const s = new m.ZstdDecompressStreamBinding()
  try {
    let out: Uint8Array[] = []
    const cb = (b: Uint8Array): void => { out.push(b.slice()) }
    if (!s.begin()) throw new ZstdDataError('zstd: cannot start decompressing')
    for await (const piece of source) {
      throwIfAborted(signal)
      for (let off = 0; off < piece.length; off += INPUT_STEP) {
        if (!s.transform(piece.subarray(off, Math.min(piece.length, off + INPUT_STEP)), cb)) throw new ZstdDataError('zstd: data does not decompress')
        if (out.length > 0) { const o = out; out = []; yield * o }
      }
    }
    if (!s.end(cb)) throw new ZstdDataError('zstd: data does not decompress')
    yield * out
  } finally {
    s.delete()
  }
}

/** Bytes that are not a valid zstd stream (internal: decomposition turns it into `whole`). */
export class ZstdDataError extends Error {}
