/**
 * Length-limited Huffman codes exactly as `klauspost/compress/flate`
 * 1.15.12 builds them (`huffman_code.go`): the package-merge style
 * `bitCounts`, then codes assigned in literal order per length. The sort
 * order (frequency, then literal) is total, so any correct sort gives Go's
 * result.
 *
 * A code is stored as Go's `hcode`: bit length in the low byte, the
 * bit-reversed code above it.
 *
 * @module
 */
import { UnsupportedError } from '../../errors.js'

const MAX_BITS_LIMIT = 16
const MAX_INT32 = 0x7fffffff

/** Reverse the low `bitLength` bits of `number` (Go's `reverseBits`). */
export function reverseBits (number: number, bitLength: number): number {
  let v = (number << ((16 - bitLength) & 15)) & 0xffff
  let r = 0
  for (let i = 0; i < 16; i++) {
    r = (r << 1) | (v & 1)
    v >>>= 1
  }
  return r
}

/** An hcode: length in the low byte, reversed code above. */
export function hcode (code: number, length: number): number {
  return length | (code << 8)
}

/** A Huffman code table (Go's `huffmanEncoder`). */
export class HuffmanEncoder {
  /** `hcode` per symbol; sized to the next power of two like Go's capacity. */
  readonly codes: Uint32Array
  private readonly bitCount = new Int32Array(17)
  private readonly keys = new Uint32Array(512)
  private readonly listLit = new Uint16Array(512)
  private readonly listFreq = new Uint16Array(512)
  private readonly leafCounts = new Int32Array(MAX_BITS_LIMIT * MAX_BITS_LIMIT)
  private readonly lvLevel = new Int32Array(MAX_BITS_LIMIT + 1)
  private readonly lvLastFreq = new Int32Array(MAX_BITS_LIMIT + 1)
  private readonly lvNextCharFreq = new Int32Array(MAX_BITS_LIMIT + 1)
  private readonly lvNextPairFreq = new Int32Array(MAX_BITS_LIMIT + 1)
  private readonly lvNeeded = new Int32Array(MAX_BITS_LIMIT + 1)

  /** A table for `size` symbols. */
  constructor (size: number) {
    let cap = 1
    while (cap < size) cap <<= 1
    this.codes = new Uint32Array(cap)
  }

  /** Bits to encode symbols with frequencies `freq` (zero-frequency symbols ignored). */
  bitLength (freq: Uint16Array): number {
    const codes = this.codes
    let total = 0
    for (let i = 0; i < freq.length; i++) {
      const f = freq[i]!
      if (f !== 0) total += f * (codes[i]! & 255)
    }
    return total
  }

  /** Like {@link bitLength}, or `0x7fffffff` when a used symbol has no code. */
  canReuseBits (freq: Uint16Array): number {
    const codes = this.codes
    let total = 0
    for (let i = 0; i < freq.length; i++) {
      const f = freq[i]!
      if (f !== 0) {
        const code = codes[i]!
        if (code === 0) return MAX_INT32
        total += f * (code & 255)
      }
    }
    return total
  }

  /** Build the optimal code for `freq` with codes of at most `maxBits` bits. */
  generate (freq: Uint16Array, maxBits: number): void {
    const codes = this.codes
    const keys = this.keys
    let count = 0
    for (let i = 0; i < freq.length; i++) {
      const f = freq[i]!
      if (f !== 0) {
        keys[count++] = (f * 65536) + i
      } else {
        codes[i] = 0
      }
    }
    const listLit = this.listLit
    const listFreq = this.listFreq
    if (count <= 2) {
      // in order of increasing literal value
      for (let i = 0; i < count; i++) codes[keys[i]! & 0xffff] = hcode(i, 1)
      return
    }
    keys.subarray(0, count).sort()
    for (let i = 0; i < count; i++) {
      const k = keys[i]!
      listLit[i] = k & 0xffff
      listFreq[i] = k >>> 16
    }
    const bitCount = this.bitCounts(count, maxBits)
    this.assignEncodingAndSize(bitCount, count)
  }

  /** Go's `bitCounts`: how many symbols get each bit length (index 1 … returned max). */
  private bitCounts (n: number, maxBits: number): number {
    if (maxBits >= MAX_BITS_LIMIT) throw new UnsupportedError('flate: maxBits too large')
    const listLit = this.listLit
    const listFreq = this.listFreq
    listLit[n] = 0xffff
    listFreq[n] = 0xffff
    if (maxBits > n - 1) maxBits = n - 1
    const lvLevel = this.lvLevel
    const lvLastFreq = this.lvLastFreq
    const lvNextCharFreq = this.lvNextCharFreq
    const lvNextPairFreq = this.lvNextPairFreq
    const lvNeeded = this.lvNeeded
    lvLevel.fill(0); lvLastFreq.fill(0); lvNextCharFreq.fill(0); lvNextPairFreq.fill(0); lvNeeded.fill(0)
    const lc = this.leafCounts
    lc.fill(0)
    const l2f = listFreq[2]!
    const l1f = listFreq[1]!
    const l0f = listFreq[0]! + listFreq[1]!
    for (let level = 1; level <= maxBits; level++) {
      lvLevel[level] = level
      lvLastFreq[level] = l1f
      lvNextCharFreq[level] = l2f
      lvNextPairFreq[level] = l0f
      lvNeeded[level] = 0
      lc[level * MAX_BITS_LIMIT + level] = 2
      if (level === 1) lvNextPairFreq[level] = MAX_INT32
    }
    lvNeeded[maxBits] = 2 * n - 4
    let level = maxBits
    while (level < 16) {
      if (lvNextPairFreq[level] === MAX_INT32 && lvNextCharFreq[level] === MAX_INT32) {
        lvNeeded[level] = 0
        lvNextPairFreq[level + 1] = MAX_INT32
        level++
        continue
      }
      const prevFreq = lvLastFreq[level]!
      if (lvNextCharFreq[level]! < lvNextPairFreq[level]!) {
        const nn = lc[level * MAX_BITS_LIMIT + level]! + 1
        lvLastFreq[level] = lvNextCharFreq[level]!
        lc[level * MAX_BITS_LIMIT + level] = nn
        lvNextCharFreq[level] = listLit[nn]! < 0xffff ? listFreq[nn]! : MAX_INT32
      } else {
        lvLastFreq[level] = lvNextPairFreq[level]!
        const save = lc[level * MAX_BITS_LIMIT + level]!
        lc.copyWithin(level * MAX_BITS_LIMIT, (level - 1) * MAX_BITS_LIMIT, level * MAX_BITS_LIMIT)
        lc[level * MAX_BITS_LIMIT + level] = save
        lvNeeded[lvLevel[level]! - 1] = 2
      }
      lvNeeded[level] = lvNeeded[level]! - 1
      if (lvNeeded[level] === 0) {
        if (lvLevel[level] === maxBits) break
        lvNextPairFreq[lvLevel[level]! + 1] = (prevFreq + lvLastFreq[level]!) | 0
        level++
      } else {
        while (lvNeeded[level - 1]! > 0) level--
      }
    }
    if (lc[maxBits * MAX_BITS_LIMIT + maxBits] !== n) throw new UnsupportedError('flate: leafCounts[maxBits][maxBits] != n')
    const bitCount = this.bitCount
    let bits = 1
    for (let lv = maxBits; lv > 0; lv--) {
      bitCount[bits] = lc[maxBits * MAX_BITS_LIMIT + lv]! - lc[maxBits * MAX_BITS_LIMIT + lv - 1]!
      bits++
    }
    return maxBits
  }

  /** Go's `assignEncodingAndSize`: codes in literal order within each length, longest lengths to the rarest symbols. */
  private assignEncodingAndSize (maxBits: number, count: number): void {
    const bitCount = this.bitCount
    const listLit = this.listLit
    const codes = this.codes
    let code = 0
    let len = count
    for (let n = 0; n <= maxBits; n++) {
      const bits = bitCount[n]!
      code = (code << 1) & 0xffff
      if (n === 0 || bits === 0) continue
      const chunk = listLit.subarray(len - bits, len)
      chunk.sort()
      for (let i = 0; i < chunk.length; i++) {
        codes[chunk[i]!] = hcode(reverseBits(code, n), n)
        code = (code + 1) & 0xffff
      }
      len -= bits
    }
  }
}

/** The fixed literal/length code of RFC 1951 §3.2.6. */
export const FIXED_LITERAL_ENCODING = (() => {
  const h = new HuffmanEncoder(286)
  for (let ch = 0; ch < 286; ch++) {
    let bits: number
    let size: number
    if (ch < 144) { bits = ch + 48; size = 8 } else if (ch < 256) { bits = ch + 400 - 144; size = 9 } else if (ch < 280) { bits = ch - 256; size = 7 } else { bits = ch + 192 - 280; size = 8 }
    h.codes[ch] = hcode(reverseBits(bits, size), size)
  }
  return h
})()

/** The fixed distance code (5 bits each). */
export const FIXED_OFFSET_ENCODING = (() => {
  const h = new HuffmanEncoder(30)
  for (let ch = 0; ch < 30; ch++) h.codes[ch] = hcode(reverseBits(ch, 5), 5)
  return h
})()
