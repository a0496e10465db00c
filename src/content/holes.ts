/**
 * Finding a file's holes (docs/FORMAT.md §2.1) as its bytes stream past:
 * the file is seen in 4096-byte blocks from offset 0, and a run of zero
 * blocks of at least 64 KiB is a hole; everything else is data, in order.
 *
 * Zeros the source already knows to be zeros (the holes of a sparse tar
 * entry, of a sparse file) are given as a count and are never allocated,
 * read or scanned: only the blocks at their edges, shared with data, are
 * looked at. A data block is scanned only until its first non-zero byte,
 * so ordinary data costs a byte or two per block.
 *
 * @module
 */
import { HOLE_BLOCK, HOLE_MIN } from '../format/entry.js'

/** Where {@link HoleSplitter} sends the file, in order. */
export interface HoleSink {
  /** Data bytes: a view valid only during the call (copy what you keep). */
  data (bytes: Uint8Array): void
  /** A hole of `length` zero bytes (at least {@link HOLE_MIN}). */
  hole (length: number): void
}

const ZERO_BLOCK = Buffer.alloc(HOLE_BLOCK)
/** Zero bytes handed out as data for a run of zero blocks shorter than a hole (never written to). */
const ZEROS = new Uint8Array(HOLE_MIN)

function isZeroBlock (bytes: Uint8Array, at: number): boolean {
  if (bytes[at] !== 0 || bytes[at + HOLE_BLOCK - 1] !== 0) return false
  return Buffer.from(bytes.buffer, bytes.byteOffset + at, HOLE_BLOCK).equals(ZERO_BLOCK)
}

/**
 * Splits one file's bytes into data and holes by the rule of
 * docs/FORMAT.md §2.1. Feed the file with {@link push} (bytes) and
 * {@link zeros} (known zeros) in any pieces, then call {@link finish}.
 * The output does not depend on how the file is cut into pieces.
 */
export class HoleSplitter {
  /** The current incomplete block and how much of it is filled. */
  readonly #block = new Uint8Array(HOLE_BLOCK)
  #fill = 0
  /** Whether the incomplete block is zeros so far. */
  #partialZero = true
  /** Zero blocks seen and not yet sent (a hole, or data if the run stays short). */
  #zeroRun = 0
  /** Zero bytes sent as holes, in total. */
  holeBytes = 0

  constructor (private readonly sink: HoleSink) {}

  /** The next bytes of the file. */
  push (bytes: Uint8Array): void {
    let i = 0
    if (this.#fill > 0) {
      const n = Math.min(HOLE_BLOCK - this.#fill, bytes.length)
      this.#fillPartial(bytes.subarray(0, n))
      i = n
      if (this.#fill === HOLE_BLOCK) this.#completePartial()
    }
    // whole blocks, straight from the piece: runs of data blocks go out as one view
    let span = i
    for (; i + HOLE_BLOCK <= bytes.length; i += HOLE_BLOCK) {
      if (isZeroBlock(bytes, i)) {
        if (span < i) this.#data(bytes.subarray(span, i))
        this.#zeroRun += HOLE_BLOCK
        span = i + HOLE_BLOCK
      } else if (this.#zeroRun > 0) {
        this.#flushRun()
      }
    }
    if (span < i) this.#data(bytes.subarray(span, i))
    if (i < bytes.length) this.#fillPartial(bytes.subarray(i))
  }

  /** The next `n` bytes of the file, known to be zeros (not given). */
  zeros (n: number): void {
    if (this.#fill > 0) {
      const t = Math.min(HOLE_BLOCK - this.#fill, n)
      this.#block.fill(0, this.#fill, this.#fill + t)
      this.#fill += t
      n -= t
      if (this.#fill === HOLE_BLOCK) this.#completePartial()
    }
    const whole = n - (n % HOLE_BLOCK)
    this.#zeroRun += whole
    const rest = n - whole
    if (rest > 0) {
      this.#block.fill(0, 0, rest)
      this.#fill = rest
      this.#partialZero = true
    }
  }

  /** The end of the file: its last (short) block and any pending run go out. */
  finish (): void {
    if (this.#fill > 0) {
      if (this.#partialZero) {
        this.#zeroRun += this.#fill
      } else {
        this.#flushRun()
        this.sink.data(this.#block.subarray(0, this.#fill))
      }
      this.#fill = 0
      this.#partialZero = true
    }
    this.#flushRun()
  }

  #fillPartial (bytes: Uint8Array): void {
    this.#block.set(bytes, this.#fill)
    this.#fill += bytes.length
    if (this.#partialZero) for (const c of bytes) if (c !== 0) { this.#partialZero = false; break }
  }

  #completePartial (): void {
    if (this.#partialZero) {
      this.#zeroRun += HOLE_BLOCK
    } else {
      this.#flushRun()
      this.sink.data(this.#block)
    }
    this.#fill = 0
    this.#partialZero = true
  }

  #data (bytes: Uint8Array): void {
    this.#flushRun()
    this.sink.data(bytes)
  }

  /** Send the pending zero blocks: a hole when long enough, else data. */
  #flushRun (): void {
    let run = this.#zeroRun
    if (run === 0) return
    this.#zeroRun = 0
    if (run >= HOLE_MIN) {
      this.holeBytes += run
      this.sink.hole(run)
      return
    }
    while (run > 0) {
      const n = Math.min(run, ZEROS.length)
      this.sink.data(ZEROS.subarray(0, n))
      run -= n
    }
  }
}
