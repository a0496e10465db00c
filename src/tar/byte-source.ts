/**
 * The byte stream under the tar reader: reads exact lengths across chunk
 * boundaries, hands out views of the source's chunks for content, skips
 * without allocating, and serialises readers that share it.
 *
 * @module
 */
import { InvalidArgumentError, throwIfAborted } from '../errors.js'

const EMPTY = new Uint8Array(0)

/** Bytes read by {@link ByteSource.readExact}: `got < bytes.length` means the input ended first. */
export interface ExactRead {
  bytes: Uint8Array
  got: number
}

/** @internal */
export class ByteSource {
  private readonly it: Iterator<Uint8Array> | AsyncIterator<Uint8Array>
  private chunk: Uint8Array = EMPTY
  private pos = 0
  private ended = false
  private tail: Promise<unknown> = Promise.resolve()
  /** Bytes consumed so far: the archive offset of the next byte. */
  offset = 0

  constructor (source: AsyncIterable<Uint8Array> | Iterable<Uint8Array>) {
    if (typeof source !== 'object' || source === null) throw new InvalidArgumentError('a tar source must be an iterable of Uint8Array')
    if (Symbol.asyncIterator in source) this.it = source[Symbol.asyncIterator]()
    else if (Symbol.iterator in source) this.it = source[Symbol.iterator]()
    else throw new InvalidArgumentError('a tar source must be an iterable of Uint8Array')
  }

  /**
   * Run `fn` after every function passed before it has settled, so that
   * content reads and the reader's own skipping never interleave.
   */
  exclusive<T> (fn: () => Promise<T>): Promise<T> {
    const run = this.tail.then(fn)
    this.tail = run.then(() => undefined, () => undefined)
    return run
  }

  /** Make sure unread bytes are buffered; false at the end of the input. */
  private async fill (): Promise<boolean> {
    while (this.pos >= this.chunk.length) {
      if (this.ended) return false
      const r = await this.it.next()
      if (r.done === true) {
        this.ended = true
        this.chunk = EMPTY
        this.pos = 0
        return false
      }
      const c: unknown = r.value
      if (!(c instanceof Uint8Array)) throw new InvalidArgumentError('tar source chunks must be Uint8Array')
      this.chunk = c
      this.pos = 0
    }
    return true
  }

  /** Up to `max` (> 0) bytes as a view of a source chunk, or `undefined` at the end of the input. */
  async read (max: number): Promise<Uint8Array | undefined> {
    if (!(await this.fill())) return undefined
    const n = Math.min(max, this.chunk.length - this.pos)
    const out = this.chunk.subarray(this.pos, this.pos + n)
    this.pos += n
    this.offset += n
    return out
  }

  /** Exactly `n` bytes in a new array, unless the input ends first (see {@link ExactRead}). */
  async readExact (n: number): Promise<ExactRead> {
    const bytes = new Uint8Array(n)
    let got = 0
    while (got < n) {
      const part = await this.read(n - got)
      if (part === undefined) break
      bytes.set(part, got)
      got += part.length
    }
    return { bytes, got }
  }

  /**
   * Discard `n` bytes; returns how many were discarded (fewer when the input ends).
   *
   * @throws AbortedError (`ERR_ABORTED`) when `signal` is aborted
   */
  async skip (n: number, signal?: AbortSignal): Promise<number> {
    let done = 0
    while (done < n) {
      throwIfAborted(signal)
      const part = await this.read(n - done)
      if (part === undefined) break
      done += part.length
    }
    return done
  }

  /** Read and discard everything up to the end of the input. */
  async drain (signal?: AbortSignal): Promise<void> {
    do throwIfAborted(signal)
    while (await this.read(Number.MAX_SAFE_INTEGER) !== undefined)
  }

  /** Tell the source no more bytes are wanted (its `return()`), unless it has ended. */
  async close (): Promise<void> {
    if (this.ended) return
    this.ended = true
    this.chunk = EMPTY
    await this.it.return?.()
  }
}
