/**
 * The block writer of `klauspost/compress/flate` 1.15.12
 * (`huffman_bit_writer.go`), with its exact choices between stored, fixed
 * and dynamic blocks, Huffman table reuse across blocks (`lastHeader`) and
 * its size estimates. Only the bit sequence matters for the output, so the
 * bits go through a 32-bit accumulator here instead of Go's 64-bit one; the
 * bytes are the same.
 *
 * Output accumulates in an internal buffer that the caller drains with
 * {@link HuffmanBitWriter.take}.
 *
 * @module
 */
import { DeflateBitWriter } from '../deflate-bit-writer.js'
import { FIXED_LITERAL_ENCODING, FIXED_OFFSET_ENCODING, HuffmanEncoder } from './huffman-code.js'
import {
  END_BLOCK_MARKER, LENGTH_BASE, LENGTH_CODES, LENGTH_EXTRA_BITS, LITERAL_COUNT, MAX_STORE_BLOCK_SIZE,
  OFFSET_CODE_COUNT, OFFSET_COMBINED, OFFSET_EXTRA_BITS
} from './tokens.js'
import type { Tokens } from './tokens.js'

const LENGTH_CODES_START = 257
const MAX_PREDEFINED_TOKENS = 250
const MAX_INT32 = 0x7fffffff

/** The offset table of Huffman-only blocks: one code for distance 0. */
const HUFF_OFFSET = (() => {
  const h = new HuffmanEncoder(OFFSET_CODE_COUNT)
  const freq = new Uint16Array(OFFSET_CODE_COUNT)
  freq[0] = 1
  h.generate(freq, 15)
  return h
})()

/** Go's `huffmanBitWriter`. */
export class HuffmanBitWriter extends DeflateBitWriter {
  /** Penalty shift for a new table (7 for levels 1–6, 8 for 7–9, 10 for Huffman-only). */
  logNewTablePenalty = 7
  private lastHuffMan = false
  private lastHeader = 0
  private literalEncoding = new HuffmanEncoder(LITERAL_COUNT)
  private tmpLitEncoding = new HuffmanEncoder(LITERAL_COUNT)
  private readonly offsetEncoding = new HuffmanEncoder(OFFSET_CODE_COUNT)
  private readonly literalFreq = new Uint16Array(LENGTH_CODES_START + 32)
  private readonly offsetFreq = new Uint16Array(32)

  /** Forget the bit state and table reuse (Go's `reset`); buffered output is kept. */
  reset (): void {
    this.bits = 0
    this.nbits = 0
    this.lastHeader = 0
    this.lastHuffMan = false
  }

  /** Pay the end-of-block owed by a reusable table, then pad to a byte. */
  flush (): void {
    if (this.lastHeader > 0) {
      this.writeCode(this.literalEncoding.codes[END_BLOCK_MARKER]!)
      this.lastHeader = 0
    }
    this.padToByte()
  }

  private dynamicSize (litEnc: HuffmanEncoder, offEnc: HuffmanEncoder, extraBits: number): number {
    return this.headerSize() + litEnc.bitLength(this.literalFreq) + offEnc.bitLength(this.offsetFreq) + extraBits
  }

  private extraBitSize (): number {
    let total = 0
    for (let i = 0; i < LITERAL_COUNT - 257; i++) total += this.literalFreq[257 + i]! * LENGTH_EXTRA_BITS[i & 31]!
    for (let i = 0; i < OFFSET_CODE_COUNT; i++) total += this.offsetFreq[i]! * OFFSET_EXTRA_BITS[i & 31]!
    return total
  }

  private fixedSize (extraBits: number): number {
    return 3 + FIXED_LITERAL_ENCODING.bitLength(this.literalFreq) + FIXED_OFFSET_ENCODING.bitLength(this.offsetFreq) + extraBits
  }

  /** Stored size in bits (header included), or -1 when `input` cannot be one stored block. */
  private storedSize (input: Uint8Array | undefined): number {
    if (input === undefined) return -1
    if (input.length <= MAX_STORE_BLOCK_SIZE) return (input.length + 5) * 8
    return -1
  }

  /** A stored block header (an empty final block is written as a fixed block instead). */
  writeStoredHeader (length: number, isEof: boolean): void {
    if (this.lastHeader > 0) {
      this.writeCode(this.literalEncoding.codes[END_BLOCK_MARKER]!)
      this.lastHeader = 0
    }
    if (length === 0 && isEof) {
      this.writeFixedHeader(isEof)
      this.writeBits(0, 7)
      this.flush()
      return
    }
    this.writeBits(isEof ? 1 : 0, 3)
    this.flush()
    this.writeBits(length, 16)
    this.writeBits(~length & 0xffff, 16)
  }

  private writeFixedHeader (isEof: boolean): void {
    if (this.lastHeader > 0) {
      this.writeCode(this.literalEncoding.codes[END_BLOCK_MARKER]!)
      this.lastHeader = 0
    }
    this.writeBits(isEof ? 3 : 2, 3)
  }

  /** A stored block of `input`. */
  writeStored (input: Uint8Array, eof: boolean): void {
    this.writeStoredHeader(input.length, eof)
    this.writeBytes(input)
  }

  /**
   * Copy the token histograms in; returns [numLiterals, numOffsets] (Go's
   * `indexTokens`): all 286 and 30 when `filled`, else trimmed to the last used.
   */
  private indexTokens (t: Tokens, filled: boolean): [number, number] {
    const lf = this.literalFreq
    lf.set(t.litHist, 0)
    lf.set(t.extraHist, 256)
    this.offsetFreq.set(t.offHist)
    if (t.n === 0) return [0, 0]
    if (filled) return [LITERAL_COUNT, OFFSET_CODE_COUNT]
    let numLiterals = lf.length
    while (lf[numLiterals - 1] === 0) numLiterals--
    let numOffsets = this.offsetFreq.length
    while (numOffsets > 0 && this.offsetFreq[numOffsets - 1] === 0) numOffsets--
    if (numOffsets === 0) {
      this.offsetFreq[0] = 1
      numOffsets = 1
    }
    return [numLiterals, numOffsets]
  }

  private generate (): void {
    this.literalEncoding.generate(this.literalFreq.subarray(0, LITERAL_COUNT), 15)
    this.offsetEncoding.generate(this.offsetFreq.subarray(0, OFFSET_CODE_COUNT), 15)
  }

  /**
   * Go's `writeBlockDynamic`: the tokens with a new or reused dynamic table,
   * or a fixed or stored block when the estimates say so.
   */
  writeBlockDynamic (tokens: Tokens, eof: boolean, input: Uint8Array | undefined, sync: boolean): void {
    sync = sync || eof
    if (sync) tokens.addEOB()
    if ((this.lastHuffMan || eof) && this.lastHeader > 0) {
      this.writeCode(this.literalEncoding.codes[END_BLOCK_MARKER]!)
      this.lastHeader = 0
      this.lastHuffMan = false
    }
    if (this.lastHeader > 0 && !this.canReuse(tokens)) {
      this.writeCode(this.literalEncoding.codes[END_BLOCK_MARKER]!)
      this.lastHeader = 0
    }
    const [numLiterals, numOffsets] = this.indexTokens(tokens, !sync)
    let extraBits = 0
    const ssize = this.storedSize(input)
    const storable = ssize >= 0
    if (storable || this.lastHeader > 0) extraBits = this.extraBitSize()
    let size = 0
    if (this.lastHeader > 0) {
      let newSize = this.lastHeader + tokens.estimatedBits()
      newSize += (this.literalEncoding.codes[END_BLOCK_MARKER]! & 255) + (newSize >> this.logNewTablePenalty)
      const reuseSize = this.literalEncoding.bitLength(this.literalFreq) + this.offsetEncoding.bitLength(this.offsetFreq) + extraBits
      if (newSize < reuseSize) {
        this.writeCode(this.literalEncoding.codes[END_BLOCK_MARKER]!)
        size = newSize
        this.lastHeader = 0
      } else {
        size = reuseSize
      }
      if (tokens.n < MAX_PREDEFINED_TOKENS) {
        const preSize = this.fixedSize(extraBits) + 7
        if (preSize < size) {
          if (storable && ssize <= size) {
            this.writeStored(input!, eof)
            return
          }
          this.writeFixedHeader(eof)
          if (!sync) tokens.addEOB()
          this.writeTokens(tokens, FIXED_LITERAL_ENCODING.codes, FIXED_OFFSET_ENCODING.codes)
          return
        }
      }
      if (storable && ssize <= size) {
        this.writeStored(input!, eof)
        return
      }
    }
    if (this.lastHeader === 0) {
      this.literalFreq[END_BLOCK_MARKER] = 1
      this.generate()
      this.generateCodegen(numLiterals, numOffsets, this.literalEncoding, this.offsetEncoding)
      this.codegenEncoding.generate(this.codegenFreq, 7)
      const numCodegens = this.codegens()
      size = this.dynamicSize(this.literalEncoding, this.offsetEncoding, extraBits)
      if (tokens.n < MAX_PREDEFINED_TOKENS) {
        const preSize = this.fixedSize(extraBits)
        if (preSize <= size) {
          if (storable && ssize <= preSize) {
            this.writeStored(input!, eof)
            return
          }
          this.writeFixedHeader(eof)
          if (!sync) tokens.addEOB()
          this.writeTokens(tokens, FIXED_LITERAL_ENCODING.codes, FIXED_OFFSET_ENCODING.codes)
          return
        }
      }
      if (storable && ssize <= size) {
        this.writeStored(input!, eof)
        return
      }
      this.writeDynamicHeader(numLiterals, numOffsets, numCodegens, eof)
      if (!sync) this.lastHeader = this.headerSize()
      this.lastHuffMan = false
    }
    if (sync) this.lastHeader = 0
    this.writeTokens(tokens, this.literalEncoding.codes, this.offsetEncoding.codes)
  }

  private canReuse (t: Tokens): boolean {
    const off = this.offsetEncoding.codes
    for (let i = 0; i < OFFSET_CODE_COUNT; i++) if (t.offHist[i] !== 0 && off[i] === 0) return false
    const lit = this.literalEncoding.codes
    for (let i = 0; i < LITERAL_COUNT - 256; i++) if (t.extraHist[i] !== 0 && lit[256 + i] === 0) return false
    for (let i = 0; i < 256; i++) if (t.litHist[i] !== 0 && lit[i] === 0) return false
    return true
  }

  /** Go's `writeTokens`: the tokens with these tables; a trailing end-of-block marker is written last. */
  private writeTokens (t: Tokens, leCodes: Uint32Array, oeCodes: Uint32Array): void {
    let n = t.n
    if (n === 0) return
    const toks = t.tokens
    let deferEOB = false
    if (toks[n - 1] === END_BLOCK_MARKER) {
      n--
      deferEOB = true
    }
    this.ensure(n * 6 + 16)
    const out = this.out
    let pos = this.pos
    let bits = this.bits
    let nbits = this.nbits
    for (let i = 0; i < n; i++) {
      const tok = toks[i]!
      if (tok < 256) {
        const c = leCodes[tok]!
        bits |= (c >>> 8) << nbits
        nbits += c & 255
        if (nbits >= 16) { out[pos++] = bits & 255; out[pos++] = (bits >>> 8) & 255; bits >>>= 16; nbits -= 16 }
        continue
      }
      const length = (tok >>> 22) & 255
      const lengthCode = LENGTH_CODES[length]! & 31
      let c = leCodes[LENGTH_CODES_START + lengthCode]!
      bits |= (c >>> 8) << nbits
      nbits += c & 255
      if (nbits >= 16) { out[pos++] = bits & 255; out[pos++] = (bits >>> 8) & 255; bits >>>= 16; nbits -= 16 }
      if (lengthCode >= 8) {
        bits |= (length - LENGTH_BASE[lengthCode]!) << nbits
        nbits += LENGTH_EXTRA_BITS[lengthCode]!
        if (nbits >= 16) { out[pos++] = bits & 255; out[pos++] = (bits >>> 8) & 255; bits >>>= 16; nbits -= 16 }
      }
      const offset = tok & 0x3fffff
      const offsetCode = (offset >>> 16) & 31
      c = oeCodes[offsetCode]!
      bits |= (c >>> 8) << nbits
      nbits += c & 255
      if (nbits >= 16) { out[pos++] = bits & 255; out[pos++] = (bits >>> 8) & 255; bits >>>= 16; nbits -= 16 }
      if (offsetCode >= 4) {
        const comb = OFFSET_COMBINED[offsetCode]!
        bits |= ((offset - (comb >>> 8)) & 0xffff) << nbits
        nbits += comb & 255
        if (nbits >= 16) { out[pos++] = bits & 255; out[pos++] = (bits >>> 8) & 255; bits >>>= 16; nbits -= 16 }
      }
    }
    this.pos = pos
    this.bits = bits
    this.nbits = nbits
    if (deferEOB) this.writeCode(leCodes[END_BLOCK_MARKER]!)
  }

  /**
   * Go's `writeBlockHuff`: `input` as literals with a fresh (or reused)
   * literal table, or stored when that gains too little.
   */
  writeBlockHuff (eof: boolean, input: Uint8Array, sync: boolean): void {
    const lf = this.literalFreq
    lf.fill(0)
    if (!this.lastHuffMan) this.offsetFreq.fill(0)
    const numLiterals = END_BLOCK_MARKER + 1
    const numOffsets = 1
    const guessHeaderSizeBits = 70 * 8
    for (let i = 0; i < input.length; i++) lf[input[i]!]!++
    const ssize = this.storedSize(input)
    const storable = ssize >= 0
    if (storable && input.length > 1024) {
      let abs = 0
      const avg = input.length / 256
      const max = input.length * 2
      for (let i = 0; i < 256; i++) {
        const diff = lf[i]! - avg
        abs += diff * diff
        if (abs > max) break
      }
      if (abs < max) {
        this.writeStored(input, eof)
        return
      }
    }
    lf[END_BLOCK_MARKER] = 1
    const freq = lf.subarray(0, numLiterals)
    this.tmpLitEncoding.generate(freq, 15)
    let estBits = this.tmpLitEncoding.canReuseBits(freq)
    if (estBits < MAX_INT32) {
      estBits += this.lastHeader
      if (this.lastHeader === 0) estBits += guessHeaderSizeBits
      estBits += estBits >> this.logNewTablePenalty
    }
    if (storable && ssize <= estBits) {
      this.writeStored(input, eof)
      return
    }
    if (this.lastHeader > 0) {
      const reuseSize = this.literalEncoding.canReuseBits(lf.subarray(0, 256))
      if (estBits < reuseSize) {
        this.writeCode(this.literalEncoding.codes[END_BLOCK_MARKER]!)
        this.lastHeader = 0
      }
    }
    if (this.lastHeader === 0) {
      const tmp = this.literalEncoding
      this.literalEncoding = this.tmpLitEncoding
      this.tmpLitEncoding = tmp
      this.generateCodegen(numLiterals, numOffsets, this.literalEncoding, HUFF_OFFSET)
      this.codegenEncoding.generate(this.codegenFreq, 7)
      const numCodegens = this.codegens()
      this.writeDynamicHeader(numLiterals, numOffsets, numCodegens, eof)
      this.lastHuffMan = true
      this.lastHeader = this.headerSize()
    }
    const encoding = this.literalEncoding.codes
    this.ensure(input.length * 2 + 16)
    const out = this.out
    let pos = this.pos
    let bits = this.bits
    let nbits = this.nbits
    for (let i = 0; i < input.length; i++) {
      const c = encoding[input[i]!]!
      bits |= (c >>> 8) << nbits
      nbits += c & 255
      if (nbits >= 16) { out[pos++] = bits & 255; out[pos++] = (bits >>> 8) & 255; bits >>>= 16; nbits -= 16 }
    }
    this.pos = pos
    this.bits = bits
    this.nbits = nbits
    if (eof || sync) {
      this.writeCode(this.literalEncoding.codes[END_BLOCK_MARKER]!)
      this.lastHeader = 0
      this.lastHuffMan = false
    }
  }
}
