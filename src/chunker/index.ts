/**
 * Chunking contract (docs/FORMAT.md §2). The content of a regular file is
 * cut into chunks by FastCDC with parameters {@link ChunkerParams}; the
 * boundaries are those of one `fastcdc-wasm` call over the whole file, and
 * every way of feeding the file (one buffer, a stream of reads of any sizes)
 * MUST give exactly those boundaries.
 *
 * - An empty input has no chunks; no chunk is empty.
 * - Every chunk is at most `max` bytes and at least `min` bytes, except the
 *   last chunk of an input, which may be shorter.
 * - Parameters are checked by {@link validateChunkerParams} before use;
 *   invalid ones throw `InvalidChunkerParamsError` (`ERR_INVALID_CHUNKER_PARAMS`).
 *
 * The one strategy is `fastcdc.ts` ({@link chunkBuffer}, {@link createChunker},
 * {@link chunkStream}), re-exported here.
 *
 * @module
 */
import type { ChunkerParams } from './params.js'

/**
 * A streaming chunker for one input at a time: feed the input's bytes in
 * pieces of any size with {@link Chunker.push}, then call
 * {@link Chunker.finish}. The chunks returned, in order, concatenate to the
 * input and have exactly the FORMAT.md §2 boundaries.
 */
export interface Chunker {
  /** The validated parameters this chunker cuts with. */
  readonly params: Readonly<ChunkerParams>
  /**
   * Feed the next piece of the input. Returns the chunks completed so far
   * (possibly none). Each returned array is owned by the caller: the chunker
   * never reads or writes it again. `bytes` is copied; the caller may reuse it.
   */
  push (bytes: Uint8Array): Uint8Array[]
  /**
   * End the input and return its remaining chunks (none if the input was
   * empty). The chunker is then empty and may be used for another input.
   */
  finish (): Uint8Array[]
}

export * from './params.js'
export * from './fastcdc.js'
