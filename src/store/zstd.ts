/**
 * zstd through `zstd-codec` (Emscripten/wasm, no native build). The module
 * is instantiated once, lazily; {@link loadZstd} must be awaited before the
 * synchronous functions are used.
 *
 * @module
 */
import { createRequire } from 'node:module'
import { IntegrityError } from '../errors.js'

const require = createRequire(import.meta.url)

interface ZstdSimple {
  compress (bytes: Uint8Array, level?: number): Uint8Array | null
  decompress (bytes: Uint8Array): Uint8Array | null
}
interface ZstdGeneric {
  contentSize (bytes: Uint8Array): number | null
}
interface ZstdBinding { Simple: new () => ZstdSimple, Generic: new () => ZstdGeneric }

let simple: ZstdSimple | undefined
let generic: ZstdGeneric | undefined
let loading: Promise<void> | undefined

/** Instantiate the zstd wasm module (once). */
export async function loadZstd (): Promise<void> {
  if (simple !== undefined) return
  loading ??= new Promise<void>((resolve) => {
    const { ZstdCodec } = require('zstd-codec') as { ZstdCodec: { run (cb: (z: ZstdBinding) => void): void } }
    ZstdCodec.run((z) => {
      simple = new z.Simple()
      generic = new z.Generic()
      resolve()
    })
  })
  await loading
}

function ready (): { simple: ZstdSimple, generic: ZstdGeneric } {
  if (simple === undefined || generic === undefined) throw new Error('zstd is not loaded: await loadZstd() first')
  return { simple, generic }
}

/** Compress to one zstd frame that records its content size. */
export function zstdCompress (bytes: Uint8Array, level = 3): Uint8Array {
  const out = ready().simple.compress(bytes, level)
  if (out === null) throw new Error('zstd compression failed')
  return out
}

/**
 * Decompress one zstd frame. The frame must declare its content size, and
 * that size must not exceed `maxSize` (checked before any allocation, so a
 * small hostile frame cannot claim gigabytes).
 */
export function zstdDecompress (frame: Uint8Array, maxSize: number): Uint8Array {
  const z = ready()
  const size = frame.length >= 4 ? z.generic.contentSize(frame) : null
  if (size === null || size === 0) throw new IntegrityError('zstd frame without a content size, or corrupt')
  if (size > maxSize) throw new IntegrityError(`zstd frame claims ${size} bytes, more than the limit of ${maxSize}`)
  let out: Uint8Array | null
  try {
    out = z.simple.decompress(frame)
  } catch (err) {
    throw new IntegrityError('zstd frame does not decompress', { cause: err })
  }
  if (out === null || out.length !== size) throw new IntegrityError('zstd frame does not decompress to its declared size')
  return out
}

/** The content size a zstd frame header declares, or null when it declares none or is unreadable. */
export function zstdContentSize (frame: Uint8Array): number | null {
  if (frame.length < 4) return null
  try {
    return ready().generic.contentSize(frame)
  } catch {
    return null
  }
}
