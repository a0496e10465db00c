/**
 * The block writer of Go's standard `compress/flate` (Go 1.19,
 * `huffman_bit_writer.go`), as used by levels 2–9: each block of tokens
 * is written fixed, dynamic or stored, whichever its size estimate says is
 * smallest (ties go to fixed, then to Huffman over stored), with no table
 * reuse between blocks. Output accumulates in an internal buffer drained
 * with {@link StdBitWriter.take}.
 *
 * @module
 */
import { DeflateBitWriter } from '../deflate-bit-writer.js'
import { FIXED_LITERAL_ENCODING, FIXED_OFFSET_ENCODING, HuffmanEncoder } from '../klauspost-pgzip/huffman-code.js'
import { LENGTH_BASE, LENGTH_CODES, LENGTH_EXTRA_BITS, OFFSET_EXTRA_BITS, offsetCode } from '../klauspost-pgzip/tokens.js'

/** Literal/length symbols (`maxNumLit`). */
const MAX_NUM_LIT = 286
const OFFSET_CODE_COUNT = 30
const LENGTH_CODES_START = 257
const MAX_STORE_BLOCK_SIZE = 65535
/** Start of each distance code (`offsetBase`). */
const OFFSET_BASE = Uint32Array.of(0x0, 0x1, 0x2, 0x3, 0x4, 0x6, 0x8, 0xc, 0x10, 0x18, 0x20, 0x30, 0x40, 0x60, 0x80, 0xc0, 0x100, 0x180, 0x200, 0x300, 0x400, 0x600, 0x800, 0xc00, 0x1000, 0x1800, 0x2000, 0x3000, 0x4000, 0x6000)

/** The end-of-block token (a "literal" 256). */
export const END_BLOCK_MARKER = 256
/**
 * Bit 30: a match token (`matchType`); `length − 3` at bit 22, `offset − 1`
 * in bits 0–14. Unlike Go, the distance code is cached in bits 16–20
 * (see {@link matchToken}); Go's value is the token with those bits clear.
 */
export const MATCH_TYPE = 1 << 30

/** A match token of `length − 3` = `xlength` at `offset − 1` = `xoffset`. */
export function matchToken (xlength: number, xoffset: number): number {
  return MATCH_TYPE + (xlength << 22) + xoffset + (offsetCode(xoffset) << 16)
}

/** Go's standard `huffmanBitWriter`. */
export class StdBitWriter extends DeflateBitWriter {
  private readonly literalFreq = new Uint16Array(MAX_NUM_LIT)
  private readonly offsetFreq = new Uint16Array(OFFSET_CODE_COUNT)
  private readonly literalEncoding = new HuffmanEncoder(MAX_NUM_LIT)
  private readonly offsetEncoding = new HuffmanEncoder(OFFSET_CODE_COUNT)

  /** Pad to a byte boundary. */
  flush (): void { this.padToByte() }

  /** A stored block header (Go writes the final empty block as a stored one too). */
  writeStoredHeader (length: number, isEof: boolean): void {
    this.writeBits(isEof ? 1 : 0, 3)
    this.flush()
    this.writeBits(length, 16)
    this.writeBits(~length & 0xffff, 16)
  }

  private dynamicSize (extraBits: number): [number, number] {
    return [this.headerSize() + this.literalEncoding.bitLength(this.literalFreq) + this.offsetEncoding.bitLength(this.offsetFreq) + extraBits, this.codegens()]
  }

  /** Go's `indexTokens`: histograms and fresh tables of `tokens[0:n]`; returns [numLiterals, numOffsets]. */
  private indexTokens (tokens: Uint32Array, n: number): [number, number] {
    const lf = this.literalFreq
    const of = this.offsetFreq
    lf.fill(0)
    of.fill(0)
    for (let i = 0; i < n; i++) {
      const t = tokens[i]!
      if (t < MATCH_TYPE) {
        lf[t]!++
        continue
      }
      lf[LENGTH_CODES_START + LENGTH_CODES[(t - MATCH_TYPE) >>> 22]!]!++
      of[(t >>> 16) & 31]!++
    }
    let numLiterals = MAX_NUM_LIT
    while (lf[numLiterals - 1] === 0) numLiterals--
    let numOffsets = OFFSET_CODE_COUNT
    while (numOffsets > 0 && of[numOffsets - 1] === 0) numOffsets--
    if (numOffsets === 0) {
      of[0] = 1
      numOffsets = 1
    }
    this.literalEncoding.generate(lf, 15)
    this.offsetEncoding.generate(of, 15)
    return [numLiterals, numOffsets]
  }

  /**
   * Go's `writeBlock`: `tokens[0:n]` (room for one more: the end-of-block
   * marker is appended) as the smallest of fixed, dynamic and, when `input`
   * (the bytes they stand for) is given and fits, stored.
   */
  writeBlock (tokens: Uint32Array, n: number, eof: boolean, input: Uint8Array | undefined): void {
    tokens[n++] = END_BLOCK_MARKER
    const [numLiterals, numOffsets] = this.indexTokens(tokens, n)
    let extraBits = 0
    const storable = input !== undefined && input.length <= MAX_STORE_BLOCK_SIZE
    const storedSize = storable ? (input.length + 5) * 8 : 0
    if (storable) {
      for (let lengthCode = LENGTH_CODES_START + 8; lengthCode < numLiterals; lengthCode++) extraBits += this.literalFreq[lengthCode]! * LENGTH_EXTRA_BITS[lengthCode - LENGTH_CODES_START]!
      for (let oc = 4; oc < numOffsets; oc++) extraBits += this.offsetFreq[oc]! * OFFSET_EXTRA_BITS[oc]!
    }
    let fixed = true
    let size = 3 + FIXED_LITERAL_ENCODING.bitLength(this.literalFreq) + FIXED_OFFSET_ENCODING.bitLength(this.offsetFreq) + extraBits
    this.generateCodegen(numLiterals, numOffsets, this.literalEncoding, this.offsetEncoding)
    this.codegenEncoding.generate(this.codegenFreq, 7)
    const [dynamicSize, numCodegens] = this.dynamicSize(extraBits)
    if (dynamicSize < size) {
      size = dynamicSize
      fixed = false
    }
    if (storable && storedSize < size) {
      this.writeStoredHeader(input.length, eof)
      this.writeBytes(input)
      return
    }
    if (fixed) this.writeBits(eof ? 3 : 2, 3)
    else this.writeDynamicHeader(numLiterals, numOffsets, numCodegens, eof)
    this.writeTokens(tokens, n, fixed ? FIXED_LITERAL_ENCODING.codes : this.literalEncoding.codes, fixed ? FIXED_OFFSET_ENCODING.codes : this.offsetEncoding.codes)
  }

  private writeTokens (tokens: Uint32Array, n: number, leCodes: Uint32Array, oeCodes: Uint32Array): void {
    this.ensure(n * 6 + 16)
    const out = this.out
    let pos = this.pos
    let bits = this.bits
    let nbits = this.nbits
    for (let i = 0; i < n; i++) {
      const t = tokens[i]!
      if (t < MATCH_TYPE) {
        const c = leCodes[t]!
        bits |= (c >>> 8) << nbits
        nbits += c & 255
        if (nbits >= 16) { out[pos++] = bits & 255; out[pos++] = (bits >>> 8) & 255; bits >>>= 16; nbits -= 16 }
        continue
      }
      const length = (t - MATCH_TYPE) >>> 22
      const lengthCode = LENGTH_CODES[length]!
      let c = leCodes[lengthCode + LENGTH_CODES_START]!
      bits |= (c >>> 8) << nbits
      nbits += c & 255
      if (nbits >= 16) { out[pos++] = bits & 255; out[pos++] = (bits >>> 8) & 255; bits >>>= 16; nbits -= 16 }
      const extraLengthBits = LENGTH_EXTRA_BITS[lengthCode]!
      if (extraLengthBits > 0) {
        bits |= (length - LENGTH_BASE[lengthCode]!) << nbits
        nbits += extraLengthBits
        if (nbits >= 16) { out[pos++] = bits & 255; out[pos++] = (bits >>> 8) & 255; bits >>>= 16; nbits -= 16 }
      }
      const offset = t & 0xffff
      const oc = (t >>> 16) & 31
      c = oeCodes[oc]!
      bits |= (c >>> 8) << nbits
      nbits += c & 255
      if (nbits >= 16) { out[pos++] = bits & 255; out[pos++] = (bits >>> 8) & 255; bits >>>= 16; nbits -= 16 }
      const extraOffsetBits = OFFSET_EXTRA_BITS[oc]!
      if (extraOffsetBits > 0) {
        bits |= (offset - OFFSET_BASE[oc]!) << nbits
        nbits += extraOffsetBits
        if (nbits >= 16) { out[pos++] = bits & 255; out[pos++] = (bits >>> 8) & 255; bits >>>= 16; nbits -= 16 }
      }
    }
    this.pos = pos
    this.bits = bits
    this.nbits = nbits
  }
}
