/**
 * The match finder of Go's standard `compress/flate` (Go 1.19,
 * `deflate.go`) for levels 2–9: a 64 KiB sliding window, 17-bit hash
 * chains over 4-byte strings, lazy matching from level 4 up, blocks of at
 * most 16384 tokens. Level 6 is `DefaultCompression`, what
 * `compress/gzip.NewWriter` (docker's layers) uses.
 *
 * The output depends only on the input bytes: a position is processed only
 * once 262 bytes of lookahead are there (or at the end), whatever the
 * sizes of the writes.
 *
 * @module
 */
import { UnsupportedError } from '../../errors.js'
import { StdBitWriter, matchToken } from './bit-writer.js'

const WINDOW_SIZE = 1 << 15
const WINDOW_MASK = WINDOW_SIZE - 1
const MIN_MATCH_LENGTH = 4
const MAX_MATCH_LENGTH = 258
const BASE_MATCH_LENGTH = 3
const BASE_MATCH_OFFSET = 1
const MAX_FLATE_BLOCK_TOKENS = 1 << 14
const HASH_BITS = 17
const HASH_SIZE = 1 << HASH_BITS
const HASH_MASK = HASH_SIZE - 1
const MAX_HASH_OFFSET = 1 << 24
const SKIP_NEVER = 0x7fffffff
const HASHMUL = 0x1e35a7bd
const MAX_INT32 = 0x7fffffff

/** Go's `levels` table: [good, lazy, nice, chain, fastSkipHashing] for levels 2–9. */
const LEVELS: Record<number, [number, number, number, number, number]> = {
  2: [4, 0, 16, 8, 5],
  3: [4, 0, 32, 32, 6],
  4: [4, 4, 16, 16, SKIP_NEVER],
  5: [8, 16, 32, 32, SKIP_NEVER],
  6: [8, 16, 128, 128, SKIP_NEVER],
  7: [8, 32, 128, 256, SKIP_NEVER],
  8: [32, 128, 258, 1024, SKIP_NEVER],
  9: [32, 258, 258, 4096, SKIP_NEVER]
}

/** Levels this port has (−1, Go's `DefaultCompression`, is 6). */
export const STD_LEVELS: readonly number[] = [-1, 2, 3, 4, 5, 6, 7, 8, 9]

function hash4 (w: Uint8Array, i: number): number {
  return Math.imul(w[i + 3]! | (w[i + 2]! << 8) | (w[i + 1]! << 16) | (w[i]! << 24), HASHMUL) >>> (32 - HASH_BITS)
}

/** Go's `compress/flate` `compressor` at levels 2–9, writing into an internal buffer. */
export class StdFlateCompressor {
  private readonly w = new StdBitWriter()
  private readonly good: number
  private readonly lazy: number
  private readonly nice: number
  private readonly chain: number
  private readonly fastSkipHashing: number
  private readonly window = new Uint8Array(2 * WINDOW_SIZE)
  private readonly view = new DataView(this.window.buffer)
  private windowEnd = 0
  private index = 0
  private blockStart = 0
  private byteAvailable = false
  private sync = false
  private readonly tokens = new Uint32Array(MAX_FLATE_BLOCK_TOKENS + 1)
  private ntokens = 0
  private length = MIN_MATCH_LENGTH - 1
  private offset = 0
  private maxInsertIndex = 0
  private chainHead = -1
  private hashOffset = 1
  private readonly hashHead = new Uint32Array(HASH_SIZE)
  private readonly hashPrev = new Uint32Array(WINDOW_SIZE)

  /** A compressor at `level` (−1 or 2–9); other levels throw `UnsupportedError` (`ERR_UNSUPPORTED`). */
  constructor (level: number) {
    const params = LEVELS[level === -1 ? 6 : level]
    if (params === undefined) throw new UnsupportedError(`Go compress/flate level ${level} is not ported (only ${STD_LEVELS.join(', ')})`)
    ;[this.good, this.lazy, this.nice, this.chain, this.fastSkipHashing] = params
  }

  /** The compressed bytes produced since the last call (a view, valid until the next write). */
  take (): Uint8Array {
    return this.w.take()
  }

  /** Go's `Writer.Write`. */
  write (b: Uint8Array): void {
    let off = 0
    while (off < b.length) {
      this.deflate()
      off += this.fill(b.subarray(off))
    }
  }

  /** Go's `Writer.Close`: the pending data, then an empty final stored block. */
  close (): void {
    this.sync = true
    this.deflate()
    this.w.writeStoredHeader(0, true)
    this.w.flush()
  }

  private fill (b: Uint8Array): number {
    if (this.index >= 2 * WINDOW_SIZE - (MIN_MATCH_LENGTH + MAX_MATCH_LENGTH)) {
      this.window.copyWithin(0, WINDOW_SIZE, 2 * WINDOW_SIZE)
      this.index -= WINDOW_SIZE
      this.windowEnd -= WINDOW_SIZE
      this.blockStart = this.blockStart >= WINDOW_SIZE ? this.blockStart - WINDOW_SIZE : MAX_INT32
      this.hashOffset += WINDOW_SIZE
      if (this.hashOffset > MAX_HASH_OFFSET) {
        const delta = this.hashOffset - 1
        this.hashOffset -= delta
        this.chainHead -= delta
        for (const table of [this.hashPrev, this.hashHead]) {
          for (let i = 0; i < table.length; i++) {
            const v = table[i]!
            table[i] = v > delta ? v - delta : 0
          }
        }
      }
    }
    const n = Math.min(b.length, this.window.length - this.windowEnd)
    this.window.set(b.subarray(0, n), this.windowEnd)
    this.windowEnd += n
    return n
  }

  private writeBlock (index: number): void {
    if (index > 0) {
      const input = this.blockStart <= index ? this.window.subarray(this.blockStart, index) : undefined
      this.blockStart = index
      this.w.writeBlock(this.tokens, this.ntokens, false, input)
    }
  }

  private findMatch (pos: number, prevHead: number, prevLength: number, lookahead: number): boolean {
    const win = this.window
    const minMatchLook = lookahead < MAX_MATCH_LENGTH ? lookahead : MAX_MATCH_LENGTH
    let nice = minMatchLook
    if (this.nice < nice) nice = this.nice
    let tries = this.chain
    let length = prevLength
    if (length >= this.good) tries >>= 2
    let wEnd = win[pos + length]!
    const minIndex = pos - WINDOW_SIZE
    const dv = this.view
    const hashPrev = this.hashPrev
    const hashOffset = this.hashOffset
    let ok = false
    let offset = 0
    for (let i = prevHead; tries > 0; tries--) {
      if (wEnd === win[i + length]) {
        let n = 0
        while (n + 4 <= minMatchLook && dv.getInt32(i + n) === dv.getInt32(pos + n)) n += 4
        while (n < minMatchLook && win[i + n] === win[pos + n]) n++
        if (n > length && (n > MIN_MATCH_LENGTH || pos - i <= 4096)) {
          length = n
          offset = pos - i
          ok = true
          if (n >= nice) break
          wEnd = win[pos + n]!
        }
      }
      if (i === minIndex) break
      i = hashPrev[i & WINDOW_MASK]! - hashOffset
      if (i < minIndex || i < 0) break
    }
    this.foundOffset = offset
    this.foundLength = length
    return ok
  }

  private foundLength = 0
  private foundOffset = 0

  private addToken (t: number): void {
    this.tokens[this.ntokens++] = t
  }

  private deflate (): void {
    if (this.windowEnd - this.index < MIN_MATCH_LENGTH + MAX_MATCH_LENGTH && !this.sync) return
    const win = this.window
    const hashHead = this.hashHead
    const hashPrev = this.hashPrev
    const skipNever = this.fastSkipHashing === SKIP_NEVER
    this.maxInsertIndex = this.windowEnd - (MIN_MATCH_LENGTH - 1)
    for (;;) {
      const lookahead = this.windowEnd - this.index
      if (lookahead < MIN_MATCH_LENGTH + MAX_MATCH_LENGTH) {
        if (!this.sync) break
        if (lookahead === 0) {
          if (this.byteAvailable) {
            this.addToken(win[this.index - 1]!)
            this.byteAvailable = false
          }
          if (this.ntokens > 0) {
            this.writeBlock(this.index)
            this.ntokens = 0
          }
          break
        }
      }
      if (this.index < this.maxInsertIndex) {
        const hash = hash4(win, this.index) & HASH_MASK
        this.chainHead = hashHead[hash]!
        hashPrev[this.index & WINDOW_MASK] = this.chainHead
        hashHead[hash] = this.index + this.hashOffset
      }
      const prevLength = this.length
      const prevOffset = this.offset
      this.length = MIN_MATCH_LENGTH - 1
      this.offset = 0
      let minIndex = this.index - WINDOW_SIZE
      if (minIndex < 0) minIndex = 0
      if (this.chainHead - this.hashOffset >= minIndex &&
        ((!skipNever && lookahead > MIN_MATCH_LENGTH - 1) || (skipNever && lookahead > prevLength && prevLength < this.lazy))) {
        if (this.findMatch(this.index, this.chainHead - this.hashOffset, MIN_MATCH_LENGTH - 1, lookahead)) {
          this.length = this.foundLength
          this.offset = this.foundOffset
        }
      }
      if ((!skipNever && this.length >= MIN_MATCH_LENGTH) || (skipNever && prevLength >= MIN_MATCH_LENGTH && this.length <= prevLength)) {
        if (!skipNever) this.addToken(matchToken(this.length - BASE_MATCH_LENGTH, this.offset - BASE_MATCH_OFFSET))
        else this.addToken(matchToken(prevLength - BASE_MATCH_LENGTH, prevOffset - BASE_MATCH_OFFSET))
        if (this.length <= this.fastSkipHashing) {
          const newIndex = skipNever ? this.index + prevLength - 1 : this.index + this.length
          let index = this.index
          for (index++; index < newIndex; index++) {
            if (index < this.maxInsertIndex) {
              const hash = hash4(win, index) & HASH_MASK
              hashPrev[index & WINDOW_MASK] = hashHead[hash]!
              hashHead[hash] = index + this.hashOffset
            }
          }
          this.index = index
          if (skipNever) {
            this.byteAvailable = false
            this.length = MIN_MATCH_LENGTH - 1
          }
        } else {
          this.index += this.length
        }
        if (this.ntokens === MAX_FLATE_BLOCK_TOKENS) {
          this.writeBlock(this.index)
          this.ntokens = 0
        }
      } else {
        if (!skipNever || this.byteAvailable) {
          const i = skipNever ? this.index - 1 : this.index
          this.addToken(win[i]!)
          if (this.ntokens === MAX_FLATE_BLOCK_TOKENS) {
            this.writeBlock(i + 1)
            this.ntokens = 0
          }
        }
        this.index++
        if (skipNever) this.byteAvailable = true
      }
    }
  }
}
