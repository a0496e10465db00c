/**
 * The canonical MessagePack subset of docs/FORMAT.md §3: integers, byte
 * strings and arrays, each in its shortest encoding. Encoding goes through
 * msgpackr (records and extensions off); decoding is a strict reader that
 * checks each value's encoding is the shortest as it reads it, so any other
 * encoding of the same value is rejected (a property test pins it against
 * decoding with msgpackr, re-encoding and comparing).
 *
 * @module
 */
import { Packr } from 'msgpackr'
import { NonCanonicalError } from '../errors.js'

/** A value of the canonical subset. */
export type CanonicalValue = number | bigint | Uint8Array | CanonicalValue[]

const packr = new Packr({
  useRecords: false,
  mapsAsObjects: false,
  variableMapSize: true,
  useFloat32: 0,
  int64AsType: 'bigint',
  moreTypes: false,
  structuredClone: false
})

const SMALL_MIN = -(2 ** 31)
const SMALL_MAX = 2 ** 32 - 1
const INT64_MIN = -(2n ** 63n)
const INT64_MAX = 2n ** 63n - 1n

/**
 * The canonical JS form of an integer: a `number` when it fits the short
 * encodings (−2³¹ … 2³²−1), a `bigint` (encoded as int64) otherwise.
 */
export function canonicalInt (value: number | bigint): number | bigint {
  if (typeof value === 'number') {
    if (!Number.isSafeInteger(value)) throw new RangeError(`not a safe integer: ${value}`)
    return value >= SMALL_MIN && value <= SMALL_MAX ? value : BigInt(value)
  }
  if (value < INT64_MIN || value > INT64_MAX) throw new RangeError(`integer out of int64 range: ${value}`)
  return value >= BigInt(SMALL_MIN) && value <= BigInt(SMALL_MAX) ? Number(value) : value
}

function normalize (value: CanonicalValue): unknown {
  if (typeof value === 'number' || typeof value === 'bigint') return canonicalInt(value)
  if (value instanceof Uint8Array) return value
  if (Array.isArray(value)) return value.map(normalize)
  throw new TypeError(`not a canonical value: ${typeof value}`)
}

/** Encode a canonical value. Integers are brought to their canonical JS form first. */
export function encodeCanonical (value: CanonicalValue): Uint8Array {
  const packed = packr.pack(normalize(value))
  // msgpackr returns a view into a buffer it may reuse: copy.
  return new Uint8Array(packed)
}

/** Deepest nesting decoded: a value below 64 levels of arrays is refused. */
const MAX_DEPTH = 64

/**
 * A strict decoder of the canonical subset: it reads each value and checks
 * that its encoding is the shortest there is, so the bytes are accepted
 * exactly when they are the encoding `encodeCanonical` gives of the value
 * they hold (what re-encoding and comparing checked, without the second
 * encoding). Byte strings are views of the input (as msgpackr gives them).
 */
class CanonicalReader {
  readonly #b: Buffer
  #pos = 0

  constructor (bytes: Uint8Array) {
    this.#b = Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength)
  }

  get done (): boolean { return this.#pos === this.#b.length }

  #need (n: number): number {
    const at = this.#pos
    if (n > this.#b.length - at) throw new NonCanonicalError('not valid MessagePack: the bytes end inside a value')
    this.#pos = at + n
    return at
  }

  #bytes (n: number): Buffer {
    const at = this.#need(n)
    return this.#b.subarray(at, at + n)
  }

  #array (n: number, depth: number): CanonicalValue[] {
    // every element takes at least one byte: a count past the end is refused before anything is allocated
    if (n > this.#b.length - this.#pos) throw new NonCanonicalError('not valid MessagePack: an array counts more elements than there are bytes')
    const out: CanonicalValue[] = []
    for (let i = 0; i < n; i++) out.push(this.read(depth + 1))
    return out
  }

  read (depth: number): CanonicalValue {
    if (depth > MAX_DEPTH) throw new NonCanonicalError('value nested too deeply')
    const b = this.#b
    const t = b[this.#need(1)]!
    if (t < 0x80) return t
    if (t >= 0xe0) return t - 0x100
    if (t >= 0x90 && t <= 0x9f) return this.#array(t - 0x90, depth)
    let v: number
    switch (t) {
      case 0xc4: return this.#bytes(b[this.#need(1)]!)
      case 0xc5:
        v = b.readUInt16BE(this.#need(2))
        if (v < 0x100) break
        return this.#bytes(v)
      case 0xc6:
        v = b.readUInt32BE(this.#need(4))
        if (v < 0x10000) break
        return this.#bytes(v)
      case 0xcc:
        v = b[this.#need(1)]!
        if (v < 0x80) break
        return v
      case 0xcd:
        v = b.readUInt16BE(this.#need(2))
        if (v < 0x100) break
        return v
      case 0xce:
        v = b.readUInt32BE(this.#need(4))
        if (v < 0x10000) break
        return v
      case 0xd0:
        v = b.readInt8(this.#need(1))
        if (v >= -0x20) break
        return v
      case 0xd1:
        v = b.readInt16BE(this.#need(2))
        if (v >= -0x80) break
        return v
      case 0xd2:
        v = b.readInt32BE(this.#need(4))
        if (v >= -0x8000) break
        return v
      case 0xd3: {
        const big = b.readBigInt64BE(this.#need(8))
        if (big >= BigInt(SMALL_MIN) && big <= BigInt(SMALL_MAX)) throw new NonCanonicalError(`integer ${big} uses int64 where a shorter form exists`)
        return big
      }
      case 0xcf:
        this.#need(8)
        throw new NonCanonicalError('a uint64 encoding is outside the canonical subset')
      case 0xdc:
        v = b.readUInt16BE(this.#need(2))
        if (v < 0x10) break
        return this.#array(v, depth)
      case 0xdd:
        v = b.readUInt32BE(this.#need(4))
        if (v < 0x10000) break
        return this.#array(v, depth)
      default:
        throw new NonCanonicalError(`type byte 0x${t.toString(16)} is not allowed in canonical encoding`)
    }
    throw new NonCanonicalError(`type byte 0x${t.toString(16)} holds ${v} where a shorter encoding exists`)
  }
}

/**
 * Decode canonical bytes. Throws {@link NonCanonicalError} (`ERR_NON_CANONICAL`)
 * when the bytes are not valid MessagePack, use a type outside the subset,
 * or are not the unique shortest encoding of the value they hold (or have
 * bytes after it): exactly the bytes `encodeCanonical` gives are accepted.
 */
export function decodeCanonical (bytes: Uint8Array): CanonicalValue {
  const reader = new CanonicalReader(bytes)
  const value = reader.read(0)
  if (!reader.done) throw new NonCanonicalError('bytes follow the value (trailing bytes)')
  return value
}
