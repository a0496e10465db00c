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
import { FIXED_LITERAL_ENCODING, FIXED_OFFSET_ENCODING, HuffmanEncoder } from '../klauspost-pgzip/huffman-code.js'
import { LENGTH_BASE, LENGTH_CODES, LENGTH_EXTRA_BITS, OFFSET_EXTRA_BITS, offsetCode } from '../klauspost-pgzip/tokens.js'

/** Literal/length symbols (`maxNumLit`). */
const MAX_NUM_LIT = 286
const OFFSET_CODE_COUNT = 30
const CODEGEN_CODE_COUNT = 19
const LENGTH_CODES_START = 257
const BAD_CODE = 255
const MAX_STORE_BLOCK_SIZE = 65535
const CODEGEN_ORDER = [16, 17, 18, 0, 8, 7, 9, 6, 10, 5, 11, 4, 12, 3, 13, 2, 14, 1, 15]
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
export class StdBitWriter {
  private out = new Uint8Array(1 << 16)
  private pos = 0
  private bits = 0
  private nbits = 0
  private readonly literalFreq = new Uint16Array(MAX_NUM_LIT)
  private readonly offsetFreq = new Uint16Array(OFFSET_CODE_COUNT)
  private readonly codegenFreq = new Uint16Array(CODEGEN_CODE_COUNT)
  private readonly codegen = new Uint8Array(MAX_NUM_LIT + OFFSET_CODE_COUNT + 1)
  private readonly literalEncoding = new HuffmanEncoder(MAX_NUM_LIT)
  private readonly offsetEncoding = new HuffmanEncoder(OFFSET_CODE_COUNT)
  private readonly codegenEncoding = new HuffmanEncoder(CODEGEN_CODE_COUNT)

  /** The bytes written since the last call (a view, valid until the next write). */
  take (): Uint8Array {
    const b = this.out.subarray(0, this.pos)
    this.pos = 0
    return b
  }

  private ensure (n: number): void {
    if (this.pos + n <= this.out.length) return
    let size = this.out.length * 2
    while (size < this.pos + n) size *= 2
    const bigger = new Uint8Array(size)
    bigger.set(this.out.subarray(0, this.pos))
    this.out = bigger
  }

  private writeBits (b: number, nb: number): void {
    this.bits |= b << this.nbits
    this.nbits += nb
    if (this.nbits >= 16) {
      this.ensure(2)
      this.out[this.pos++] = this.bits & 255
      this.out[this.pos++] = (this.bits >>> 8) & 255
      this.bits >>>= 16
      this.nbits -= 16
    }
  }

  private writeCode (c: number): void {
    this.writeBits(c >>> 8, c & 255)
  }

  /** Pad to a byte boundary. */
  flush (): void {
    this.ensure(4)
    while (this.nbits > 0) {
      this.out[this.pos++] = this.bits & 255
      this.bits >>>= 8
      this.nbits = this.nbits > 8 ? this.nbits - 8 : 0
    }
    this.bits = 0
  }

  private writeBytes (bytes: Uint8Array): void {
    if ((this.nbits & 7) !== 0) throw new Error('flate: writeBytes with unfinished bits')
    this.ensure(4 + bytes.length)
    while (this.nbits !== 0) {
      this.out[this.pos++] = this.bits & 255
      this.bits >>>= 8
      this.nbits -= 8
    }
    this.out.set(bytes, this.pos)
    this.pos += bytes.length
  }

  /** A stored block header (Go writes the final empty block as a stored one too). */
  writeStoredHeader (length: number, isEof: boolean): void {
    this.writeBits(isEof ? 1 : 0, 3)
    this.flush()
    this.writeBits(length, 16)
    this.writeBits(~length & 0xffff, 16)
  }

  private generateCodegen (numLiterals: number, numOffsets: number, litEnc: HuffmanEncoder, offEnc: HuffmanEncoder): void {
    const codegenFreq = this.codegenFreq
    codegenFreq.fill(0)
    const codegen = this.codegen
    for (let i = 0; i < numLiterals; i++) codegen[i] = litEnc.codes[i]! & 255
    for (let i = 0; i < numOffsets; i++) codegen[numLiterals + i] = offEnc.codes[i]! & 255
    codegen[numLiterals + numOffsets] = BAD_CODE
    let size = codegen[0]!
    let count = 1
    let outIndex = 0
    for (let inIndex = 1; size !== BAD_CODE; inIndex++) {
      const nextSize = codegen[inIndex]!
      if (nextSize === size) {
        count++
        continue
      }
      if (size !== 0) {
        codegen[outIndex++] = size
        codegenFreq[size]!++
        count--
        while (count >= 3) {
          const n = count < 6 ? count : 6
          codegen[outIndex++] = 16
          codegen[outIndex++] = n - 3
          codegenFreq[16]!++
          count -= n
        }
      } else {
        while (count >= 11) {
          const n = count < 138 ? count : 138
          codegen[outIndex++] = 18
          codegen[outIndex++] = n - 11
          codegenFreq[18]!++
          count -= n
        }
        if (count >= 3) {
          codegen[outIndex++] = 17
          codegen[outIndex++] = count - 3
          codegenFreq[17]!++
          count = 0
        }
      }
      count--
      for (; count >= 0; count--) {
        codegen[outIndex++] = size
        codegenFreq[size]!++
      }
      size = nextSize
      count = 1
    }
    codegen[outIndex] = BAD_CODE
  }

  private dynamicSize (extraBits: number): [number, number] {
    const f = this.codegenFreq
    let numCodegens = CODEGEN_CODE_COUNT
    while (numCodegens > 4 && f[CODEGEN_ORDER[numCodegens - 1]!] === 0) numCodegens--
    const header = 3 + 5 + 5 + 4 + (3 * numCodegens) + this.codegenEncoding.bitLength(f) + f[16]! * 2 + f[17]! * 3 + f[18]! * 7
    return [header + this.literalEncoding.bitLength(this.literalFreq) + this.offsetEncoding.bitLength(this.offsetFreq) + extraBits, numCodegens]
  }

  private writeDynamicHeader (numLiterals: number, numOffsets: number, numCodegens: number, isEof: boolean): void {
    this.writeBits(isEof ? 5 : 4, 3)
    this.writeBits(numLiterals - 257, 5)
    this.writeBits(numOffsets - 1, 5)
    this.writeBits(numCodegens - 4, 4)
    const cgCodes = this.codegenEncoding.codes
    for (let i = 0; i < numCodegens; i++) this.writeBits(cgCodes[CODEGEN_ORDER[i]!]! & 255, 3)
    const codegen = this.codegen
    let i = 0
    for (;;) {
      const codeWord = codegen[i++]!
      if (codeWord === BAD_CODE) break
      this.writeCode(cgCodes[codeWord]!)
      if (codeWord === 16) this.writeBits(codegen[i++]!, 2)
      else if (codeWord === 17) this.writeBits(codegen[i++]!, 3)
      else if (codeWord === 18) this.writeBits(codegen[i++]!, 7)
    }
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
