/**
 * FastCDC through `fastcdc-wasm` 0.1.0, which compiles `fastcdc` (fastcdc-rs)
 * 1.0.5 — its `Cargo.toml` asks for `fastcdc = "1.0.5"` and the panic
 * messages inside `fastcdc_wasm_bg.wasm` name `fastcdc-1.0.5/src/lib.rs`.
 * `get_chunks(bytes, min, avg, max)` runs `fastcdc::FastCDC::new` over
 * `bytes` and returns the chunk start offsets followed by `bytes.length`.
 *
 * ## The algorithm compiled in (fastcdc-rs 1.0.5, the "ronomon" variant)
 *
 * For a chunk starting at `s` with `r` bytes left in the input:
 *
 * 1. if `r ≤ min` the chunk is the rest of the input;
 * 2. otherwise let `n = min(r, max)`, `h = 0`, and scan `i = s+min … s+n-1`:
 *    `h = (h >>> 1) + GEAR[byte[i]]` (31-bit gear table, shift RIGHT);
 *    cut after byte `i` if `h & maskS == 0` while `i - s < c`, or
 *    `h & maskL == 0` once `i - s ≥ c`;
 * 3. if nothing matched, the chunk is `n` bytes long.
 *
 * where `bits = round(log2(avg))`, `maskS = 2^(bits+1) − 1`,
 * `maskL = 2^(bits−1) − 1` (normalized chunking level 1, low-bit masks) and
 * `c = avg − min(avg, min + ⌈min/2⌉)` (ronomon's `centerSize`: with the
 * defaults the hard mask applies from 16 KiB to 40 KiB, not up to `avg`).
 *
 * ## Why cutting in windows gives the boundaries of one call
 *
 * The cut of a chunk depends only on the bytes from its start `s` up to
 * `s + min(r, max)`, and the hash restarts at 0 for every chunk. Run the
 * same algorithm on a window `[s, e)` that is a prefix of the remaining
 * input (not the end of the input), with `L = e − s`:
 *
 * - A cut found by a mask at `p < e` is exact: positions before `p` are
 *   scanned with the same hash values and the same mask in both runs (the
 *   hard/easy switch `c` only depends on `min` and `avg`; the window only
 *   truncates the scan), and the full run stops at the first match too.
 * - If `L > max`, a forced cut at `s + max < e` is exact (`n = max` in both).
 * - A chunk ending exactly at `e` with length `max` is exact for the same
 *   reason (`n = max` in both runs, same bytes scanned).
 * - A chunk ending at `e` shorter than `max` is NOT known: more input could
 *   move its end (rule 1 or 3 applied to a truncated `r`). It is kept and cut
 *   again from `s` when the next window, which starts at `s`, is full or the
 *   input ends.
 *
 * By induction over chunks (each window starts at a true boundary) every
 * emitted boundary is a boundary of the one-call result, and at the end of
 * input the last window is cut with the real `r`. A window of at least `max`
 * bytes always yields at least one exact chunk, so cutting always progresses.
 *
 * `fastcdc-wasm` copies its input into wasm memory and back after the call
 * (same bytes), and traps on parameters outside fastcdc-rs bounds, which
 * may leave the wasm instance unusable: parameters are validated first.
 * Windows bound both the JS buffer and the wasm memory (which never shrinks).
 *
 * @module
 */
import fastcdcWasm from 'fastcdc-wasm'
import { InvalidArgumentError, throwIfAborted } from '../errors.js'
import type { Chunker } from './index.js'
import { DEFAULT_CHUNKER_PARAMS, validateChunkerParams } from './params.js'
import type { ChunkerParams } from './params.js'

const getChunks: (bytes: Uint8Array, min: number, avg: number, max: number) => Uint32Array = fastcdcWasm.get_chunks

const MiB = 1024 * 1024
/** Smallest first allocation of a streaming window (grown by doubling). */
const INITIAL_CAPACITY = 64 * 1024
/** Largest window accepted as a tuning option (wasm32 memory is small). */
const WINDOW_SIZE_LIMIT = 1024 * MiB

/**
 * Tuning of the windowed cutting. Changes memory use and speed, never the
 * boundaries.
 */
export interface ChunkerTuning {
  /**
   * Bytes handed to `fastcdc-wasm` per call, an integer from `max` to 1 GiB.
   * Default: {@link defaultWindowSize}.
   */
  readonly windowSize?: number
}

/** Options of {@link chunkStream}. */
export interface ChunkStreamOptions extends ChunkerTuning {
  /** Chunker parameters; default {@link DEFAULT_CHUNKER_PARAMS}. */
  readonly params?: ChunkerParams
  /** Cancels the stream: the generator then throws `AbortedError` (`ERR_ABORTED`). */
  readonly signal?: AbortSignal
}

/**
 * The default window for `max`: `max(1 MiB, min(4·max, max + 16 MiB))`.
 * Four times `max` keeps re-cutting of the unfinished tail (< `max` bytes
 * per window) cheap; the cap bounds memory for very large `max`.
 */
export function defaultWindowSize (max: number): number {
  return Math.max(MiB, Math.min(4 * max, max + 16 * MiB))
}

function resolveWindowSize (params: Readonly<ChunkerParams>, tuning: ChunkerTuning | undefined): number {
  const size = tuning?.windowSize
  if (size === undefined) return defaultWindowSize(params.max)
  if (!Number.isSafeInteger(size) || size < params.max || size > WINDOW_SIZE_LIMIT) {
    throw new InvalidArgumentError(`windowSize must be an integer from max (${params.max}) to ${WINDOW_SIZE_LIMIT}, got ${String(size)}`)
  }
  return size
}

function assertBytes (bytes: unknown): asserts bytes is Uint8Array {
  if (!(bytes instanceof Uint8Array)) {
    throw new InvalidArgumentError(`chunker input must be a Uint8Array, got ${bytes === null ? 'null' : typeof bytes}`)
  }
}

/**
 * Cut one window and return how many of its chunks are final (see the module
 * comment): all of them at the end of input, otherwise all but a last chunk
 * that ends at the window end and is shorter than `max`.
 */
function cutWindow (window: Uint8Array, p: Readonly<ChunkerParams>, eof: boolean): { offsets: Uint32Array, final: number } {
  const offsets = getChunks(window, p.min, p.avg, p.max)
  let final = offsets.length - 1
  if (!eof && final > 0 && window.length - offsets[final - 1]! < p.max) final--
  return { offsets, final }
}

/**
 * Chunk lengths of a whole buffer, in order; `[]` for an empty buffer.
 * The result equals one `get_chunks` call over `bytes`, but is computed in
 * windows of `subarray`s so large buffers do not grow the wasm memory.
 *
 * @param bytes - the input; not modified (fastcdc-wasm writes the same bytes back).
 * @param params - chunker parameters, default {@link DEFAULT_CHUNKER_PARAMS}.
 * @param tuning - optional window size.
 * @throws `InvalidChunkerParamsError` for invalid `params`.
 */
export function chunkBuffer (bytes: Uint8Array, params: ChunkerParams = DEFAULT_CHUNKER_PARAMS, tuning?: ChunkerTuning): number[] {
  const p = validateChunkerParams(params)
  const windowSize = resolveWindowSize(p, tuning)
  assertBytes(bytes)
  const lengths: number[] = []
  let pos = 0
  while (pos < bytes.length) {
    const end = Math.min(bytes.length, pos + windowSize)
    const { offsets, final } = cutWindow(bytes.subarray(pos, end), p, end === bytes.length)
    for (let i = 0; i < final; i++) lengths.push(offsets[i + 1]! - offsets[i]!)
    pos += offsets[final]!
  }
  return lengths
}

/** The streaming FastCDC chunker behind {@link createChunker}. */
class FastCdcChunker implements Chunker {
  readonly params: Readonly<ChunkerParams>
  readonly #windowSize: number
  /** Window buffer; bytes `[0, #length)` are the unfinished input, starting at a true boundary. */
  #buffer = new Uint8Array(0)
  #length = 0

  constructor (params: Readonly<ChunkerParams>, windowSize: number) {
    this.params = params
    this.#windowSize = windowSize
  }

  push (bytes: Uint8Array): Uint8Array[] {
    assertBytes(bytes)
    const out: Uint8Array[] = []
    let offset = 0
    while (offset < bytes.length) {
      const n = Math.min(bytes.length - offset, this.#windowSize - this.#length)
      this.#reserve(this.#length + n)
      this.#buffer.set(bytes.subarray(offset, offset + n), this.#length)
      this.#length += n
      offset += n
      if (this.#length === this.#windowSize) this.#cut(false, out)
    }
    return out
  }

  finish (): Uint8Array[] {
    const out: Uint8Array[] = []
    if (this.#length > 0) this.#cut(true, out)
    this.#buffer = new Uint8Array(0)
    this.#length = 0
    return out
  }

  /** Grow the buffer (doubling, up to the window size) to hold `needed` bytes. */
  #reserve (needed: number): void {
    if (needed <= this.#buffer.length) return
    const size = Math.min(this.#windowSize, Math.max(needed, 2 * this.#buffer.length, INITIAL_CAPACITY))
    const grown = new Uint8Array(size)
    grown.set(this.#buffer.subarray(0, this.#length))
    this.#buffer = grown
  }

  /** Emit the final chunks of the buffered bytes and keep the unfinished tail at the front. */
  #cut (eof: boolean, out: Uint8Array[]): void {
    const window = this.#buffer.subarray(0, this.#length)
    const { offsets, final } = cutWindow(window, this.params, eof)
    for (let i = 0; i < final; i++) out.push(window.slice(offsets[i]!, offsets[i + 1]!))
    const keep = offsets[final]!
    this.#buffer.copyWithin(0, keep, this.#length)
    this.#length -= keep
  }
}

/**
 * A streaming chunker. Holds at most one window (default
 * {@link defaultWindowSize}, 1 MiB for the default parameters) plus the chunks
 * returned by the current `push`, whatever the size of the input.
 *
 * @param params - chunker parameters, default {@link DEFAULT_CHUNKER_PARAMS}.
 * @param tuning - optional window size.
 * @throws `InvalidChunkerParamsError` for invalid `params`;
 *   `InvalidArgumentError` for an invalid `windowSize`.
 */
export function createChunker (params: ChunkerParams = DEFAULT_CHUNKER_PARAMS, tuning?: ChunkerTuning): Chunker {
  const p = validateChunkerParams(params)
  return new FastCdcChunker(p, resolveWindowSize(p, tuning))
}

/**
 * Chunk a stream of reads (for example a `fs.ReadStream`) into chunks with
 * the FORMAT.md §2 boundaries, whatever the read sizes. Memory stays at one
 * window plus one read plus that read's chunks, so inputs of any size stream.
 *
 * Parameters are checked when `chunkStream` is called. The signal is checked
 * before each read is chunked and before each chunk is yielded; an abort
 * throws `AbortedError` (`ERR_ABORTED`) and closes `source`.
 *
 * @param source - the input's bytes in order, as `Uint8Array` pieces.
 * @param options - parameters, abort signal, window size.
 * @returns an async generator of chunks, each a fresh `Uint8Array`.
 */
export function chunkStream (
  source: AsyncIterable<Uint8Array> | Iterable<Uint8Array>,
  options: ChunkStreamOptions = {}
): AsyncGenerator<Uint8Array, void, undefined> {
  const chunker = createChunker(options.params, options)
  return runChunkStream(chunker, source, options.signal)
}

async function * runChunkStream (
  chunker: Chunker,
  source: AsyncIterable<Uint8Array> | Iterable<Uint8Array>,
  signal: AbortSignal | undefined
): AsyncGenerator<Uint8Array, void, undefined> {
  throwIfAborted(signal)
  for await (const piece of source) {
    throwIfAborted(signal)
    for (const chunk of chunker.push(piece)) {
      throwIfAborted(signal)
      yield chunk
    }
  }
  throwIfAborted(signal)
  for (const chunk of chunker.finish()) {
    throwIfAborted(signal)
    yield chunk
  }
}
