/**
 * zstd for stored objects. Uses the native backend (`zstd-napi`) where it
 * is installed and loads, else the portable wasm one (`zstd-codec`); both
 * write standard frames that either reads. `TESSERA_ZSTD=portable` forces
 * the portable backend (tests cross-check the two).
 * {@link loadZstd} must be awaited before the synchronous functions are used.
 *
 * @module
 */
import { IntegrityError } from '../errors.js'
import type { ZstdBackend } from './zstd-backend.js'
import { zstdFrameContentSize } from './zstd-frame.js'
import { loadNativeZstd } from './zstd-native.js'
import { loadPortableZstd } from './zstd-portable.js'

let backend: ZstdBackend | undefined

/** Pick and load the backend (once per thread). */
export async function loadZstd (): Promise<ZstdBackend> {
  if (backend !== undefined) return backend
  const native = process.env.TESSERA_ZSTD === 'portable' ? undefined : loadNativeZstd()
  backend = native ?? await loadPortableZstd()
  return backend
}

function ready (): ZstdBackend {
  if (backend === undefined) throw new Error('zstd is not loaded: await loadZstd() first')
  return backend
}

/**
 * Compress to one zstd frame that records its content size. With
 * `headroom`, the frame starts at that offset and the bytes before it are
 * left for the caller (see {@link ZstdBackend.compress}).
 */
export function zstdCompress (bytes: Uint8Array, level = 3, headroom = 0): Uint8Array {
  return ready().compress(bytes, level, headroom)
}

/**
 * Decompress one zstd frame. The frame must declare its content size, and
 * that size must not exceed `maxSize` (checked before any allocation, so a
 * small hostile frame cannot claim gigabytes). With `into`, the result may
 * be a view of it (see {@link ZstdBackend.decompress}).
 */
export function zstdDecompress (frame: Uint8Array, maxSize: number, into?: Uint8Array): Uint8Array {
  const z = ready()
  const size = zstdFrameContentSize(frame)
  if (size === undefined || size === 0) throw new IntegrityError('zstd frame without a content size, or corrupt')
  if (size > maxSize) throw new IntegrityError(`zstd frame claims ${size} bytes, more than the limit of ${maxSize}`)
  try {
    return z.decompress(frame, size, into)
  } catch (err) {
    throw new IntegrityError('zstd frame does not decompress to its declared size', { cause: err })
  }
}

/** The content size a zstd frame header declares, or null when it declares none or is unreadable. */
export function zstdContentSize (frame: Uint8Array): number | null {
  return zstdFrameContentSize(frame) ?? null
}
