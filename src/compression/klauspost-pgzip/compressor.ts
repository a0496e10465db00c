/**
 * The `flate.Writer` of `klauspost/compress/flate` 1.15.12 (`deflate.go`)
 * for the fast levels: input gathered in 65535-byte windows, each window
 * run through the match finder and written as a stored, Huffman-only or
 * dynamic block (`storeFast`), sync flush and close as in Go. Only level 5
 * (= `DefaultCompression`) has its match finder ported.
 *
 * @module
 */
import { UnsupportedError } from '../../errors.js'
import { HuffmanBitWriter } from './bit-writer.js'
import { FastEncoderL5 } from './level5.js'
import { MAX_MATCH_OFFSET, MAX_STORE_BLOCK_SIZE, Tokens } from './tokens.js'

/** Levels whose match finder is ported (−1 is Go's `DefaultCompression`, i.e. 5). */
export const PORTED_LEVELS: readonly number[] = [-1, 5]

/** Go's `compressor` at a fast level, writing into an internal buffer. */
export class FlateCompressor {
  private readonly w = new HuffmanBitWriter()
  private readonly fast: FastEncoderL5
  private readonly window = new Uint8Array(MAX_STORE_BLOCK_SIZE)
  private windowEnd = 0
  private readonly tokens = new Tokens()
  private sync = false

  /** A compressor at `level`; throws `UnsupportedError` (`ERR_UNSUPPORTED`) for a level not ported. */
  constructor (level: number) {
    if (!PORTED_LEVELS.includes(level)) throw new UnsupportedError(`klauspost/compress/flate level ${level} is not ported (only ${PORTED_LEVELS.join(', ')})`)
    this.w.logNewTablePenalty = 7
    this.fast = new FastEncoderL5()
  }

  /** Go's `Writer.ResetDict`: a fresh stream whose matches may reach into `dict`. */
  resetDict (dict: Uint8Array | undefined): void {
    this.w.reset()
    this.sync = false
    this.fast.reset()
    this.windowEnd = 0
    this.tokens.reset()
    let d = dict ?? new Uint8Array(0)
    if (d.length > MAX_MATCH_OFFSET) d = d.subarray(d.length - MAX_MATCH_OFFSET)
    this.fast.encode(this.tokens, d)
    this.tokens.reset()
  }

  /** Go's `Writer.Write`. */
  write (b: Uint8Array): void {
    let off = 0
    while (off < b.length) {
      if (this.windowEnd === this.window.length || this.sync) this.storeFast()
      const n = Math.min(this.window.length - this.windowEnd, b.length - off)
      this.window.set(b.subarray(off, off + n), this.windowEnd)
      this.windowEnd += n
      off += n
    }
  }

  /** Go's `Writer.Flush` (sync flush: pending data, then an empty stored block). */
  flush (): void {
    this.sync = true
    this.storeFast()
    this.w.writeStoredHeader(0, false)
    this.w.flush()
    this.sync = false
  }

  /** Go's `Writer.Close` (pending data, then an empty final fixed block). */
  close (): void {
    this.sync = true
    this.storeFast()
    this.w.writeStoredHeader(0, true)
    this.w.flush()
    this.w.reset()
  }

  /** The compressed bytes produced since the last call (a view, valid until the next write). */
  take (): Uint8Array {
    return this.w.take()
  }

  private storeFast (): void {
    const w = this.w
    if (this.windowEnd < this.window.length) {
      if (!this.sync) return
      if (this.windowEnd < 128) {
        if (this.windowEnd === 0) return
        if (this.windowEnd <= 32) {
          w.writeStored(this.window.subarray(0, this.windowEnd), false)
        } else {
          w.writeBlockHuff(false, this.window.subarray(0, this.windowEnd), true)
        }
        this.tokens.reset()
        this.windowEnd = 0
        this.fast.reset()
        return
      }
    }
    const input = this.window.subarray(0, this.windowEnd)
    this.fast.encode(this.tokens, input)
    const n = this.tokens.n
    if (n === 0) {
      w.writeStored(input, false)
    } else if (n > this.windowEnd - (this.windowEnd >> 4)) {
      w.writeBlockHuff(false, input, this.sync)
    } else {
      w.writeBlockDynamic(this.tokens, false, input, this.sync)
    }
    this.tokens.reset()
    this.windowEnd = 0
  }
}
