/**
 * What a zstd implementation provides to tessera. Frames from any backend
 * decode with any other (they are standard zstd frames); the bytes of a
 * frame may differ between backends and versions, which the format allows
 * (docs/FORMAT.md §6: the digest is of the uncompressed bytes).
 *
 * @module
 */

/** A zstd implementation. */
export interface ZstdBackend {
  /** For messages and the benchmark. */
  readonly name: string
  /**
   * One frame, with its content size, at `level`. With `headroom`, the
   * frame starts at that offset of the array returned, and the bytes before
   * it are the caller's to fill (a header, without a second copy).
   */
  compress (bytes: Uint8Array, level: number, headroom?: number): Uint8Array
  /**
   * Decompress one frame whose header declared `size` bytes (already
   * checked against the caller's limit). Throws if the frame is corrupt or
   * yields another size. With `into` (at least `size` bytes), a backend may
   * decompress into it and return its first `size` bytes (a reused buffer:
   * no allocation per frame).
   */
  decompress (frame: Uint8Array, size: number, into?: Uint8Array): Uint8Array
}
