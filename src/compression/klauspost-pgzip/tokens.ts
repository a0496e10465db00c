/**
 * Tokens of one deflate block, as `klauspost/compress/flate` (1.15.12,
 * `token.go`) keeps them: literals and matches in one `Uint32Array` with
 * running histograms, so the bit writer can size its Huffman tables without
 * a second pass.
 *
 * Token layout (bit-exact with Go): bits 0–15 `offset − 1`, bits 16–20 the
 * offset code, bits 22–29 `length − 3`, bit 30 set for a match. A literal
 * is its byte value; 256 is the end-of-block marker.
 *
 * @module
 */

/** Largest stored block, and the size of the fast encoders' input window. */
export const MAX_STORE_BLOCK_SIZE = 65535
/** Longest match deflate can express. */
export const MAX_MATCH_LENGTH = 258
/** Shortest match length (RFC 1951 §3.2.5). */
export const BASE_MATCH_LENGTH = 3
/** Smallest match offset. */
export const BASE_MATCH_OFFSET = 1
/** Largest match offset (the 32 KiB window). */
export const MAX_MATCH_OFFSET = 1 << 15
/** Bit 30: the token is a match. */
export const MATCH_TYPE = 1 << 30
/** Shift of `length − 3` in a match token. */
export const LENGTH_SHIFT = 22
/** Mask of the offset part (offset code included) of a match token. */
export const OFFSET_MASK = (1 << LENGTH_SHIFT) - 1
/** Mask of `offset − 1` in a match token. */
export const MATCH_OFFSET_ONLY_MASK = 0xffff
/** The end-of-block symbol. */
export const END_BLOCK_MARKER = 256
/** Number of literal/length symbols in use (0–285). */
export const LITERAL_COUNT = 286
/** Number of distance codes in use (0–29). */
export const OFFSET_CODE_COUNT = 30

/** Length code (0–28) of `length − 3`. */
export const LENGTH_CODES = new Uint8Array(256)
/** Extra bits of each length code. */
export const LENGTH_EXTRA_BITS = new Uint8Array([0, 0, 0, 0, 0, 0, 0, 0, 1, 1, 1, 1, 2, 2, 2, 2, 3, 3, 3, 3, 4, 4, 4, 4, 5, 5, 5, 5, 0, 0, 0, 0])
/** `length − 3` at the start of each length code. */
export const LENGTH_BASE = new Uint8Array([0, 1, 2, 3, 4, 5, 6, 7, 8, 10, 12, 14, 16, 20, 24, 28, 32, 40, 48, 56, 64, 80, 96, 112, 128, 160, 192, 224, 255, 0, 0, 0])
/** Extra bits of each distance code (30 and 31 are Go's "extended window", never used). */
export const OFFSET_EXTRA_BITS = new Uint8Array([0, 0, 0, 0, 1, 1, 2, 2, 3, 3, 4, 4, 5, 5, 6, 6, 7, 7, 8, 8, 9, 9, 10, 10, 11, 11, 12, 12, 13, 13, 14, 14])
/** Per distance code: extra bits in the low byte, `offset − 1` base above (0 when no extra bits). */
export const OFFSET_COMBINED = new Uint32Array(32)

const OFFSET_CODES = new Uint8Array(256)
const OFFSET_CODES_14 = new Uint8Array(256)

;(() => {
  const lengthBase = LENGTH_BASE
  for (let code = 0; code < 29; code++) {
    const start = lengthBase[code]!
    const end = code === 28 ? 256 : lengthBase[code + 1]!
    for (let l = start; l < end; l++) LENGTH_CODES[l] = code
  }
  LENGTH_CODES[255] = 28
  const offsetBase = [0x0, 0x1, 0x2, 0x3, 0x4, 0x6, 0x8, 0xc, 0x10, 0x18, 0x20, 0x30, 0x40, 0x60, 0x80, 0xc0, 0x100, 0x180, 0x200, 0x300, 0x400, 0x600, 0x800, 0xc00, 0x1000, 0x1800, 0x2000, 0x3000, 0x4000, 0x6000]
  for (let code = 0; code < 30; code++) {
    const start = offsetBase[code]!
    const end = code === 29 ? 0x8000 : offsetBase[code + 1]!
    for (let o = start; o < end; o++) {
      if (o < 256) OFFSET_CODES[o] = code
    }
    if (OFFSET_EXTRA_BITS[code] !== 0) OFFSET_COMBINED[code] = OFFSET_EXTRA_BITS[code]! | (start << 8)
  }
  for (let x = 0; x < 256; x++) OFFSET_CODES_14[x] = OFFSET_CODES[x]! + 14
})()

/** Distance code (0–29) of `offset − 1` (Go's `offsetCode`). */
export function offsetCode (off: number): number {
  return off < 256 ? OFFSET_CODES[off]! : OFFSET_CODES_14[(off >>> 7) & 255]!
}

const F32 = new Float32Array(1)
const I32 = new Int32Array(F32.buffer)
const C1 = Math.fround(-0.34484843)
const C2 = Math.fround(2.02466578)
const C3 = Math.fround(0.67487759)

/** Go's `mFastLog2` in float32 arithmetic (no fused multiply-add, as Go on amd64). */
function fastLog2 (val: number): number {
  F32[0] = val
  let ux = I32[0]!
  let log2 = Math.fround(((ux >> 23) & 255) - 128)
  ux &= -0x7f800001
  ux = (ux + (127 << 23)) | 0
  I32[0] = ux
  const uval = F32[0]!
  const poly = Math.fround(Math.fround(Math.fround(Math.fround(C1 * uval) + C2) * uval) - C3)
  log2 = Math.fround(log2 + poly)
  return log2
}

function atLeastOne (v: number): number {
  return v < 1 ? 1 : v > 15 ? 15 : v
}

/** The tokens of one block and their histograms (Go's `tokens`). */
export class Tokens {
  /** Counts of length symbols 256… (index 0 is end-of-block). */
  readonly extraHist = new Uint16Array(32)
  /** Counts of distance codes. */
  readonly offHist = new Uint16Array(32)
  /** Counts of literal bytes. */
  readonly litHist = new Uint16Array(256)
  /** Tokens in use (a uint16 in Go). */
  n = 0
  /** The tokens. */
  readonly tokens = new Uint32Array(MAX_STORE_BLOCK_SIZE + 1)

  /** Empty the block (a no-op when it is empty, as in Go). */
  reset (): void {
    if (this.n === 0) return
    this.n = 0
    this.litHist.fill(0)
    this.extraHist.fill(0)
    this.offHist.fill(0)
  }

  /** Add one literal byte. */
  addLiteral (lit: number): void {
    this.tokens[this.n] = lit
    this.litHist[lit]!++
    this.n = (this.n + 1) & 0xffff
  }

  /** Add a match of `length − 3` = `xlength` at `offset − 1` = `xoffset`. */
  addMatch (xlength: number, xoffset: number): void {
    const oCode = offsetCode(xoffset)
    this.extraHist[LENGTH_CODES[xlength & 255]! + 1]!++
    this.offHist[oCode & 31]!++
    this.tokens[this.n] = MATCH_TYPE | (xlength << LENGTH_SHIFT) | xoffset | (oCode << 16)
    this.n = (this.n + 1) & 0xffff
  }

  /** Add a match of any length ≥ 3 (split into tokens of at most 258) at `offset − 1` = `xoffset`. */
  addMatchLong (xlength: number, xoffset: number): void {
    const oc = offsetCode(xoffset)
    const off = xoffset | (oc << 16)
    while (xlength > 0) {
      let xl = xlength
      if (xl > 258) xl = xl > 258 + BASE_MATCH_LENGTH ? 258 : 258 - BASE_MATCH_LENGTH
      xlength -= xl
      xl -= BASE_MATCH_LENGTH
      this.extraHist[LENGTH_CODES[xl & 255]! + 1]!++
      this.offHist[oc & 31]!++
      this.tokens[this.n] = MATCH_TYPE | (xl << LENGTH_SHIFT) | off
      this.n = (this.n + 1) & 0xffff
    }
  }

  /** Add the end-of-block marker. */
  addEOB (): void {
    this.tokens[this.n] = END_BLOCK_MARKER
    this.extraHist[0]!++
    this.n = (this.n + 1) & 0xffff
  }

  /** Go's `EstimatedBits`: a float32 entropy estimate of the block's size with an optimal table. */
  estimatedBits (): number {
    let shannon = 0
    let bits = 0
    let nMatches = 0
    const total = this.n
    if (total > 0) {
      const invTotal = Math.fround(1 / total)
      for (let i = 0; i < 256; i++) {
        const v = this.litHist[i]!
        if (v > 0) shannon = Math.fround(shannon + Math.fround(atLeastOne(-fastLog2(Math.fround(v * invTotal))) * v))
      }
      shannon = Math.fround(shannon + 15)
      for (let i = 0; i < LITERAL_COUNT - 256 - 1; i++) {
        const v = this.extraHist[i + 1]!
        if (v > 0) {
          shannon = Math.fround(shannon + Math.fround(atLeastOne(-fastLog2(Math.fround(v * invTotal))) * v))
          bits += LENGTH_EXTRA_BITS[i & 31]! * v
          nMatches += v
        }
      }
    }
    if (nMatches > 0) {
      const invTotal = Math.fround(1 / nMatches)
      for (let i = 0; i < OFFSET_CODE_COUNT; i++) {
        const v = this.offHist[i]!
        if (v > 0) {
          shannon = Math.fround(shannon + Math.fround(atLeastOne(-fastLog2(Math.fround(v * invTotal))) * v))
          bits += OFFSET_EXTRA_BITS[i & 31]! * v
        }
      }
    }
    return Math.trunc(shannon) + bits
  }
}
