/**
 * Recycled receive buffers for the parts of ranged answers. A part is
 * received into shared memory (the verifying workers read it without a
 * copy); fresh memory costs a page fault per 4 KiB page on first touch,
 * which for a pull of 100 MB is a good part of its CPU. A caller that
 * knows when it is done with a part's bytes gives the buffer back, and the
 * next part is received into it.
 *
 * @module
 */
import type { PartAllocator } from './types.js'

/** Parts up to this size are received into recycled buffers (bigger ones into their own). */
export const PART_SLOT_BYTES = 1024 * 1024
/** Free buffers kept for reuse. */
const MAX_FREE = 32

/** A free list of shared part buffers of {@link PART_SLOT_BYTES}. */
export class PartBuffers implements PartAllocator {
  readonly #free: SharedArrayBuffer[] = []
  /** Buffers this pool handed out and not yet got back. */
  readonly #out = new WeakSet<SharedArrayBuffer>()

  /** A view of `length` bytes of shared memory: of a recycled buffer when it fits in one. */
  take (length: number): Uint8Array {
    if (length > PART_SLOT_BYTES) return new Uint8Array(new SharedArrayBuffer(length))
    const buffer = this.#free.pop() ?? new SharedArrayBuffer(PART_SLOT_BYTES)
    this.#out.add(buffer)
    return new Uint8Array(buffer, 0, length)
  }

  /**
   * Give back the buffer of a part taken from this pool, once nothing
   * reads its bytes any more; a buffer of another origin is ignored.
   */
  give (buffer: ArrayBufferLike): void {
    if (!(buffer instanceof SharedArrayBuffer) || !this.#out.has(buffer)) return
    this.#out.delete(buffer)
    if (this.#free.length < MAX_FREE) this.#free.push(buffer)
  }
}
