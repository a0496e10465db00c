/**
 * The level-5 match finder of `klauspost/compress/flate` 1.15.12
 * (`level5.go` on `fast_encoder.go`'s `fastGen`): a 4-byte hash table and a
 * 7-byte hash table with two entries per bucket, `skipLog` 6, checks at the
 * end of short matches and every third position hashed inside a match.
 * Level 5 is what `DefaultCompression` (−1) means there, and what pgzip and
 * umoci use.
 *
 * Positions are Go's `int32`s: history offsets plus `cur`, which grows at
 * every reset so old table entries fall out of reach; the wrap-around at
 * `bufferReset` is ported too.
 *
 * @module
 */
import { MAX_MATCH_LENGTH, MAX_MATCH_OFFSET, MAX_STORE_BLOCK_SIZE } from './tokens.js'
import type { Tokens } from './tokens.js'

const TABLE_BITS = 15
const TABLE_SIZE = 1 << TABLE_BITS
/** Bytes of history kept (Go's `allocHistory`). */
const ALLOC_HISTORY = MAX_STORE_BLOCK_SIZE * 5
/** Go's `bufferReset`: rebase offsets before `cur` could overflow an int32. */
const BUFFER_RESET = 2 ** 31 - ALLOC_HISTORY - MAX_STORE_BLOCK_SIZE - 1
const PRIME4 = 2654435761 | 0
const PRIME7_HI = 0x00cf1bbc
const PRIME7_LO = 0xdcbfa563
const P7_LO0 = PRIME7_LO & 0xffff
const P7_LO1 = PRIME7_LO >>> 16

/** Go's `hashLen(u, 15, 4)`: the 4-byte hash. */
function hash4 (lo: number): number {
  return Math.imul(lo, PRIME4) >>> (32 - TABLE_BITS)
}

/** Go's `hash7(u, 15)`: top 15 bits of `(u << 8) * prime7bytes` in 64 bits. */
function hash7 (lo: number, hi: number): number {
  const aLo = (lo << 8) >>> 0
  const aHi = ((hi << 8) | (lo >>> 24)) >>> 0
  // high 32 bits of the 64-bit product aLo * PRIME7_LO
  const a0 = aLo & 0xffff
  const a1 = aLo >>> 16
  const p00 = a0 * P7_LO0
  const p01 = a0 * P7_LO1
  const p10 = a1 * P7_LO0
  const mid = (p00 >>> 16) + (p01 & 0xffff) + (p10 & 0xffff)
  const carryHi = a1 * P7_LO1 + (p01 >>> 16) + (p10 >>> 16) + (mid >>> 16)
  const hi32 = (carryHi + Math.imul(aLo, PRIME7_HI) + Math.imul(aHi, PRIME7_LO)) | 0
  return hi32 >>> (32 - TABLE_BITS)
}

/** Go's `fastEncL5`. */
export class FastEncoderL5 {
  private readonly hist = new Uint8Array(ALLOC_HISTORY + 8)
  private readonly view = new DataView(this.hist.buffer)
  private histLen = 0
  private cur = MAX_STORE_BLOCK_SIZE
  private readonly table = new Int32Array(TABLE_SIZE)
  private readonly bCur = new Int32Array(TABLE_SIZE)
  private readonly bPrev = new Int32Array(TABLE_SIZE)

  /** Go's `fastGen.Reset`: forget the history (old entries fall out of reach). */
  reset (): void {
    if (this.cur <= BUFFER_RESET) this.cur += MAX_MATCH_OFFSET + this.histLen
    this.histLen = 0
  }

  private addBlock (src: Uint8Array): number {
    if (this.histLen + src.length > ALLOC_HISTORY) {
      const offset = this.histLen - MAX_MATCH_OFFSET
      this.hist.copyWithin(0, offset, offset + MAX_MATCH_OFFSET)
      this.cur += offset
      this.histLen = MAX_MATCH_OFFSET
    }
    const s = this.histLen
    this.hist.set(src, s)
    this.histLen += src.length
    return s
  }

  private rebase (): void {
    while (this.cur >= BUFFER_RESET) {
      if (this.histLen === 0) {
        this.table.fill(0)
        this.bCur.fill(0)
        this.bPrev.fill(0)
        this.cur = MAX_MATCH_OFFSET
        break
      }
      const minOff = this.cur + this.histLen - MAX_MATCH_OFFSET
      const delta = this.cur - MAX_MATCH_OFFSET
      const t = this.table
      for (let i = 0; i < TABLE_SIZE; i++) {
        const v = t[i]!
        t[i] = v <= minOff ? 0 : v - delta
      }
      const bc = this.bCur
      const bp = this.bPrev
      for (let i = 0; i < TABLE_SIZE; i++) {
        if (bc[i]! <= minOff) {
          bc[i] = 0
          bp[i] = 0
        } else {
          bc[i] = bc[i]! - delta
          bp[i] = bp[i]! <= minOff ? 0 : bp[i]! - delta
        }
      }
      this.cur = MAX_MATCH_OFFSET
    }
  }

  /** Length of the common prefix of `hist[s:]` and `hist[t:]`, at most `max` (s > t). */
  private matchLen (s: number, t: number, max: number): number {
    const dv = this.view
    let n = 0
    while (n + 4 <= max && dv.getInt32(s + n, true) === dv.getInt32(t + n, true)) n += 4
    const h = this.hist
    while (n < max && h[s + n] === h[t + n]) n++
    return n
  }

  /** Go's `fastEncL5.Encode`: tokens for `src`, matching into the history; `src` is copied. */
  encode (dst: Tokens, src: Uint8Array): void {
    const inputMargin = 12 - 1
    const minNonLiteralBlockSize = 1 + 1 + inputMargin
    this.rebase()
    let s = this.addBlock(src)
    if (src.length < minNonLiteralBlockSize) {
      dst.n = src.length
      return
    }
    const h = this.hist
    const dv = this.view
    const histLen = this.histLen
    const table = this.table
    const bCur = this.bCur
    const bPrev = this.bPrev
    const cur = this.cur
    const toks = dst.tokens
    const litHist = dst.litHist
    let nextEmit = s
    const sLimit = histLen - inputMargin
    let cvLo = dv.getInt32(s, true)
    let cvHi = dv.getInt32(s + 4, true)
    for (;;) {
      let nextS = s
      let l = 0
      let t = 0
      for (;;) {
        let nextHashS = hash4(cvLo)
        let nextHashL = hash7(cvLo, cvHi)
        s = nextS
        nextS = s + 1 + ((s - nextEmit) >> 6)
        if (nextS > sLimit) return this.emitRemainder(dst, nextEmit)
        const sCandidate = table[nextHashS]!
        let lCandCur = bCur[nextHashL]!
        let lCandPrev = bPrev[nextHashL]!
        const nextLo = dv.getInt32(nextS, true)
        const nextHi = dv.getInt32(nextS + 4, true)
        const entry = s + cur
        table[nextHashS] = entry
        bPrev[nextHashL] = bCur[nextHashL]!
        bCur[nextHashL] = entry
        nextHashS = hash4(nextLo)
        nextHashL = hash7(nextLo, nextHi)

        t = lCandCur - cur
        if (s - t < MAX_MATCH_OFFSET) {
          if (cvLo === dv.getInt32(t, true)) {
            table[nextHashS] = nextS + cur
            bPrev[nextHashL] = bCur[nextHashL]!
            bCur[nextHashL] = nextS + cur
            const t2 = lCandPrev - cur
            if (s - t2 < MAX_MATCH_OFFSET && cvLo === dv.getInt32(t2, true)) {
              l = this.matchLen(s + 4, t + 4, Math.min(MAX_MATCH_LENGTH - 4, histLen - (s + 4))) + 4
              const ml1 = this.matchLen(s + 4, t2 + 4, Math.min(MAX_MATCH_LENGTH - 4, histLen - (s + 4))) + 4
              if (ml1 > l) {
                t = t2
                l = ml1
                break
              }
            }
            break
          }
          t = lCandPrev - cur
          if (s - t < MAX_MATCH_OFFSET && cvLo === dv.getInt32(t, true)) {
            table[nextHashS] = nextS + cur
            bPrev[nextHashL] = bCur[nextHashL]!
            bCur[nextHashL] = nextS + cur
            break
          }
        }

        t = sCandidate - cur
        if (s - t < MAX_MATCH_OFFSET && cvLo === dv.getInt32(t, true)) {
          l = this.matchLen(s + 4, t + 4, Math.min(MAX_MATCH_LENGTH - 4, histLen - (s + 4))) + 4
          lCandCur = bCur[nextHashL]!
          lCandPrev = bPrev[nextHashL]!
          table[nextHashS] = nextS + cur
          bPrev[nextHashL] = bCur[nextHashL]!
          bCur[nextHashL] = nextS + cur
          let t2 = lCandCur - cur
          if (nextS - t2 < MAX_MATCH_OFFSET) {
            if (dv.getInt32(t2, true) === nextLo) {
              const ml = this.matchLen(nextS + 4, t2 + 4, Math.min(MAX_MATCH_LENGTH - 4, histLen - (nextS + 4))) + 4
              if (ml > l) {
                t = t2
                s = nextS
                l = ml
                break
              }
            }
            t2 = lCandPrev - cur
            if (nextS - t2 < MAX_MATCH_OFFSET && dv.getInt32(t2, true) === nextLo) {
              const ml = this.matchLen(nextS + 4, t2 + 4, Math.min(MAX_MATCH_LENGTH - 4, histLen - (nextS + 4))) + 4
              if (ml > l) {
                t = t2
                s = nextS
                l = ml
                break
              }
            }
          }
          break
        }
        cvLo = nextLo
        cvHi = nextHi
      }

      if (l === 0) {
        l = this.matchLen(s + 4, t + 4, histLen - (s + 4)) + 4
      } else if (l === MAX_MATCH_LENGTH) {
        l += this.matchLen(s + l, t + l, histLen - (s + l))
      }

      // a better match at the end of this one?
      const sAt = s + l
      if (l < 30 && sAt < sLimit) {
        const skipBeginning = 2
        const eLong = bCur[hash7(dv.getInt32(sAt, true), dv.getInt32(sAt + 4, true))]!
        const t2 = eLong - cur - l + skipBeginning
        const s2 = s + skipBeginning
        const off = s2 - t2
        if (t2 >= 0 && off < MAX_MATCH_OFFSET && off > 0) {
          const l2 = this.matchLen(s2, t2, histLen - (s2))
          if (l2 > l) {
            t = t2
            l = l2
            s = s2
          }
        }
      }

      // extend backwards
      while (t > 0 && s > nextEmit && h[t - 1] === h[s - 1]) {
        s--
        t--
        l++
      }
      if (nextEmit < s) {
        let n = dst.n
        for (let i = nextEmit; i < s; i++) {
          const v = h[i]!
          toks[n] = v
          litHist[v]!++
          n = (n + 1) & 0xffff
        }
        dst.n = n
      }
      dst.addMatchLong(l, s - t - 1)
      s += l
      nextEmit = s
      if (nextS >= s) s = nextS + 1
      if (s >= sLimit) return this.emitRemainder(dst, nextEmit)

      // every third position within the match
      let i = s - l + 1
      if (i < s - 1) {
        const lo = dv.getInt32(i, true)
        const hi = dv.getInt32(i + 4, true)
        let tt = i + cur
        table[hash4(lo)] = tt
        let hl = hash7(lo, hi)
        bPrev[hl] = bCur[hl]!
        bCur[hl] = tt
        const lo2 = (lo >>> 8) | (hi << 24)
        const hi2 = hi >>> 8
        tt++
        hl = hash7(lo2, hi2)
        bPrev[hl] = bCur[hl]!
        bCur[hl] = tt
        const lo3 = (lo2 >>> 8) | (hi2 << 24)
        tt++
        table[hash4(lo3)] = tt
        for (i += 4; i < s - 1; i += 3) {
          const xlo = dv.getInt32(i, true)
          const xhi = dv.getInt32(i + 4, true)
          const e = i + cur
          hl = hash7(xlo, xhi)
          bPrev[hl] = bCur[hl]!
          bCur[hl] = e
          table[hash4((xlo >>> 8) | (xhi << 24))] = e + 1
        }
      }

      const xLo = dv.getInt32(s - 1, true)
      const xHi = dv.getInt32(s + 3, true)
      const o = cur + s - 1
      table[hash4(xLo)] = o
      const hl = hash7(xLo, xHi)
      bPrev[hl] = bCur[hl]!
      bCur[hl] = o
      cvLo = (xLo >>> 8) | (xHi << 24)
      cvHi = xHi >>> 8
    }
  }

  private emitRemainder (dst: Tokens, nextEmit: number): void {
    if (nextEmit < this.histLen) {
      if (dst.n === 0) return
      const h = this.hist
      for (let i = nextEmit; i < this.histLen; i++) dst.addLiteral(h[i]!)
    }
  }
}
