/**
 * What the two ported deflate block writers share, as Go's
 * `huffmanBitWriter` has it in both `compress/flate` and
 * `klauspost/compress/flate` (the latter is a fork of the former): the
 * bit output (a 32-bit accumulator emptied 16 bits at a time; only the bit
 * sequence matters, so the bytes equal Go's 64-bit one), and the
 * run-length coding of the code lengths of a dynamic block header
 * (`generateCodegen`, `writeDynamicHeader`). How each chooses between
 * stored, fixed and dynamic blocks differs, and stays in its subclass
 * (`go-compress-flate/bit-writer.ts`, `klauspost-pgzip/bit-writer.ts`).
 *
 * @module
 */
import { HuffmanEncoder } from './klauspost-pgzip/huffman-code.js'
import { LITERAL_COUNT, OFFSET_CODE_COUNT } from './klauspost-pgzip/tokens.js'

const CODEGEN_CODE_COUNT = 19
/** Ends the code lengths `generateCodegen` writes (`badCode`). */
const BAD_CODE = 255
/** The order code length codes are sent in (RFC 1951 §3.2.7). */
const CODEGEN_ORDER = [16, 17, 18, 0, 8, 7, 9, 6, 10, 5, 11, 4, 12, 3, 13, 2, 14, 1, 15]

/** Bit output and dynamic-header coding of a deflate block writer. */
export class DeflateBitWriter {
  protected out = new Uint8Array(1 << 16)
  protected pos = 0
  protected bits = 0
  protected nbits = 0
  protected readonly codegenEncoding = new HuffmanEncoder(CODEGEN_CODE_COUNT)
  protected readonly codegenFreq = new Uint16Array(CODEGEN_CODE_COUNT)
  protected readonly codegen = new Uint8Array(LITERAL_COUNT + OFFSET_CODE_COUNT + 1)

  /** The bytes written since the last call (a view, valid until the next write). */
  take (): Uint8Array {
    const b = this.out.subarray(0, this.pos)
    this.pos = 0
    return b
  }

  /** Room for `n` more bytes in the output buffer. */
  protected ensure (n: number): void {
    if (this.pos + n <= this.out.length) return
    let size = this.out.length * 2
    while (size < this.pos + n) size *= 2
    const bigger = new Uint8Array(size)
    bigger.set(this.out.subarray(0, this.pos))
    this.out = bigger
  }

  /** Append `nb` ≤ 16 bits. */
  protected writeBits (b: number, nb: number): void {
    this.bits |= b << this.nbits
    this.nbits += nb
    if (this.nbits >= 16) {
      this.ensure(2)
      const out = this.out
      out[this.pos++] = this.bits & 255
      out[this.pos++] = (this.bits >>> 8) & 255
      this.bits >>>= 16
      this.nbits -= 16
    }
  }

  /** Append a Huffman code packed as `code << 8 | length`. */
  protected writeCode (c: number): void {
    this.writeBits(c >>> 8, c & 255)
  }

  /** Write out the pending bits, padding to a byte boundary. */
  protected padToByte (): void {
    this.ensure(4)
    while (this.nbits > 0) {
      this.out[this.pos++] = this.bits & 255
      this.bits >>>= 8
      this.nbits = this.nbits > 8 ? this.nbits - 8 : 0
    }
    this.bits = 0
  }

  /** Append whole bytes (the bit position must be at a byte boundary). */
  protected writeBytes (bytes: Uint8Array): void {
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

  /**
   * Go's `generateCodegen`: the code lengths of `litEnc[0:numLiterals]` and
   * `offEnc[0:numOffsets]`, run-length coded with codes 16, 17 and 18,
   * into `codegen` (ended by `BAD_CODE`), and their histogram into
   * `codegenFreq`.
   */
  protected generateCodegen (numLiterals: number, numOffsets: number, litEnc: HuffmanEncoder, offEnc: HuffmanEncoder): void {
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

  /** How many code length codes the header sends (trailing unused ones are left out, at least 4). */
  protected codegens (): number {
    let numCodegens = CODEGEN_CODE_COUNT
    while (numCodegens > 4 && this.codegenFreq[CODEGEN_ORDER[numCodegens - 1]!] === 0) numCodegens--
    return numCodegens
  }

  /** Bits of the dynamic block header for the current `codegen` and `codegenEncoding`. */
  protected headerSize (): number {
    const f = this.codegenFreq
    return 3 + 5 + 5 + 4 + (3 * this.codegens()) + this.codegenEncoding.bitLength(f) + f[16]! * 2 + f[17]! * 3 + f[18]! * 7
  }

  /** A dynamic block header: counts, the code length code, then the coded lengths. */
  protected writeDynamicHeader (numLiterals: number, numOffsets: number, numCodegens: number, isEof: boolean): void {
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
}
