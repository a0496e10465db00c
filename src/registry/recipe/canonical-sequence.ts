/**
 * Reading a byte stream that is canonical values (FORMAT.md §3) written one
 * after another, as the layout stream and indirect stream levels are, when
 * the stream arrives in pieces cut anywhere (chunk boundaries).
 *
 * @module
 */
import { decodeCanonical } from '../../format/canonical.js'
import type { CanonicalValue } from '../../format/canonical.js'
import { NonCanonicalError } from '../../errors.js'

/** Largest value accepted in a sequence (a record is far smaller). */
const MAX_VALUE_BYTES = 1024 * 1024

/**
 * Length in bytes of the canonical value starting at `offset`, or -1 when
 * `buf` ends before it does. Throws `NonCanonicalError` for a type byte
 * outside the canonical subset.
 */
export function canonicalValueLength (buf: Uint8Array, offset: number): number {
  let pos = offset
  let pending = 1 // values still to skip
  while (pending > 0) {
    if (pos >= buf.length) return -1
    const t = buf[pos]!
    pending--
    const need = (n: number): boolean => pos + n <= buf.length
    const be = (n: number): number => { let v = 0; for (let i = 1; i <= n; i++) v = v * 256 + buf[pos + i]!; return v }
    if (t <= 0x7f || t >= 0xe0) { pos += 1; continue }
    if (t >= 0x90 && t <= 0x9f) { pending += t - 0x90; pos += 1; continue }
    switch (t) {
      case 0xcc: case 0xd0: pos += 2; continue
      case 0xcd: case 0xd1: pos += 3; continue
      case 0xce: case 0xd2: pos += 5; continue
      case 0xd3: pos += 9; continue
      case 0xc4: case 0xc5: case 0xc6: {
        const n = t === 0xc4 ? 1 : t === 0xc5 ? 2 : 4
        if (!need(1 + n)) return -1
        pos += 1 + n + be(n)
        continue
      }
      case 0xdc: case 0xdd: {
        const n = t === 0xdc ? 2 : 4
        if (!need(1 + n)) return -1
        pending += be(n)
        pos += 1 + n
        continue
      }
      default:
        throw new NonCanonicalError(`type byte 0x${t.toString(16)} is not canonical`)
    }
  }
  return pos > buf.length ? -1 : pos - offset
}

/** Splits a stream of pieces into the canonical values it holds, in order. */
export class CanonicalSequenceReader {
  #buf = new Uint8Array(0)

  /** Feed the next piece; returns the values completed by it. */
  push (piece: Uint8Array): CanonicalValue[] {
    const joined = new Uint8Array(this.#buf.length + piece.length)
    joined.set(this.#buf)
    joined.set(piece, this.#buf.length)
    const out: CanonicalValue[] = []
    let pos = 0
    for (;;) {
      const n = canonicalValueLength(joined, pos)
      if (n < 0) break
      out.push(decodeCanonical(joined.subarray(pos, pos + n)))
      pos += n
    }
    this.#buf = joined.slice(pos)
    if (this.#buf.length > MAX_VALUE_BYTES) throw new NonCanonicalError('a value in a canonical sequence is too large')
    return out
  }

  /** End of the stream: throws if a value was left incomplete. */
  finish (): void {
    if (this.#buf.length > 0) throw new NonCanonicalError('canonical sequence ends inside a value')
  }
}
