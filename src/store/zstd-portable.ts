/**
 * zstd through `zstd-codec` (Emscripten/wasm): the portable backend, which
 * needs no native build. {@link loadPortableZstd} must be awaited before
 * the synchronous functions are used.
 *
 * @module
 */
import { createRequire } from 'node:module'
import type { ZstdBackend } from './zstd-backend.js'

const require = createRequire(import.meta.url)

interface ZstdSimple {
  compress (bytes: Uint8Array, level?: number): Uint8Array | null
  decompress (bytes: Uint8Array): Uint8Array | null
}
interface ZstdBinding { Simple: new () => ZstdSimple }

let loading: Promise<ZstdBackend> | undefined

/** Instantiate the zstd wasm module (once) and return the backend over it. */
export async function loadPortableZstd (): Promise<ZstdBackend> {
  loading ??= new Promise<ZstdBackend>((resolve) => {
    const { ZstdCodec } = require('zstd-codec') as { ZstdCodec: { run (cb: (z: ZstdBinding) => void): void } }
    ZstdCodec.run((z) => {
      const simple = new z.Simple()
      resolve({
        name: 'zstd-codec (wasm)',
        compress (bytes, level, headroom = 0) {
          const out = simple.compress(bytes, level)
          if (out === null) throw new Error('zstd compression failed')
          if (headroom === 0) return out
          const framed = new Uint8Array(headroom + out.length)
          framed.set(out, headroom)
          return framed
        },
        decompress (frame, size) {
          const out = simple.decompress(frame)
          if (out === null || out.length !== size) throw new Error('zstd frame does not decompress to its declared size')
          return out
        }
      })
    })
  })
  return await loading
}
