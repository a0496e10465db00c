/**
 * zstd through `zstd-napi` (the C library as a Node-API addon, built from
 * source at install time): about 2x the compression and 3x the
 * decompression speed of the wasm build. An optional dependency: where it
 * did not build, {@link loadNativeZstd} returns undefined and tessera uses
 * the portable backend.
 *
 * @module
 */
import { createRequire } from 'node:module'
import type { ZstdBackend } from './zstd-backend.js'

const require = createRequire(import.meta.url)

interface Binding {
  CCtx: new () => { compress (dst: Uint8Array, src: Uint8Array, level: number): number }
  DCtx: new () => { decompress (dst: Uint8Array, src: Uint8Array): number }
  compressBound (size: number): number
  versionString (): string
}

let backend: ZstdBackend | undefined | null

/** Largest compression buffer a thread keeps between calls. */
const SCRATCH_MAX = 4 * 1024 * 1024

/** The native backend, or undefined if the addon is not installed or does not load. */
export function loadNativeZstd (): ZstdBackend | undefined {
  if (backend !== undefined) return backend ?? undefined
  let binding: Binding
  try {
    binding = require('zstd-napi/binding') as Binding
  } catch {
    backend = null
    return undefined
  }
  // One context each per thread, reused: creating one per call costs more
  // than compressing a small chunk.
  const cctx = new binding.CCtx()
  const dctx = new binding.DCtx()
  // The compressor writes into this buffer, reused, and only the frame is
  // copied out: no allocation of a worst-case buffer per chunk. It grows
  // up to SCRATCH_MAX; bigger objects (large trees) get a buffer of their own.
  let scratch = Buffer.allocUnsafeSlow(0)
  backend = {
    name: `zstd-napi (zstd ${binding.versionString()})`,
    compress (bytes, level, headroom = 0) {
      const need = headroom + binding.compressBound(bytes.length)
      if (scratch.length < need && need <= SCRATCH_MAX) scratch = Buffer.allocUnsafeSlow(Math.min(SCRATCH_MAX, Math.max(need, scratch.length * 2)))
      const out = scratch.length >= need ? scratch : Buffer.allocUnsafeSlow(need)
      const n = cctx.compress(out.subarray(headroom, need), bytes, level)
      return new Uint8Array(out.buffer, out.byteOffset, headroom + n).slice()
    },
    decompress (frame, size, into) {
      const out = into !== undefined && into.length >= size ? into.subarray(0, size) : new Uint8Array(size)
      const n = dctx.decompress(out, frame)
      if (n !== size) throw new Error('zstd frame does not decompress to its declared size')
      return out
    }
  }
  return backend
}
