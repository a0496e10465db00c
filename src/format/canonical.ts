/**
 * The canonical MessagePack subset of docs/FORMAT.md §3: integers, byte
 * strings and arrays, each in its shortest encoding. Encoding goes through
 * msgpackr (records and extensions off); decoding checks the value shapes and
 * then re-encodes, so any other encoding of the same value is rejected.
 *
 * @module
 */
import { Packr, Unpackr } from 'msgpackr'
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
const unpackr = new Unpackr({
  useRecords: false,
  mapsAsObjects: false,
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

function checkShape (value: unknown, depth: number): void {
  if (depth > 64) throw new NonCanonicalError('value nested too deeply')
  if (typeof value === 'number') {
    if (!Number.isInteger(value) || value < SMALL_MIN || value > SMALL_MAX) {
      throw new NonCanonicalError(`number ${value} is not in canonical integer form`)
    }
    return
  }
  if (typeof value === 'bigint') {
    if (value >= BigInt(SMALL_MIN) && value <= BigInt(SMALL_MAX)) {
      throw new NonCanonicalError(`integer ${value} uses int64 where a shorter form exists`)
    }
    // Only uint64 (0xcf, outside the subset) holds these, and it re-encodes
    // as itself, so rule (e) alone would let it through.
    if (value < INT64_MIN || value > INT64_MAX) throw new NonCanonicalError(`integer ${value} is outside int64 (a uint64 encoding)`)
    return
  }
  if (value instanceof Uint8Array) return
  if (Array.isArray(value)) {
    for (const item of value) checkShape(item, depth + 1)
    return
  }
  throw new NonCanonicalError(`type ${value === null ? 'nil' : typeof value} is not allowed in canonical encoding`)
}

/**
 * Decode canonical bytes. Throws {@link NonCanonicalError} (`ERR_NON_CANONICAL`)
 * when the bytes are not valid MessagePack, use a type outside the subset,
 * or are not the unique shortest encoding of the value they hold.
 */
export function decodeCanonical (bytes: Uint8Array): CanonicalValue {
  let value: unknown
  try {
    value = unpackr.unpack(Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength))
  } catch (err) {
    throw new NonCanonicalError(`not valid MessagePack: ${(err as Error).message}`, { cause: err })
  }
  checkShape(value, 0)
  const again = packr.pack(value)
  if (again.length !== bytes.length || Buffer.compare(again, Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength)) !== 0) {
    throw new NonCanonicalError('bytes do not re-encode identically (not the shortest encoding, or trailing bytes)')
  }
  return value as CanonicalValue
}
