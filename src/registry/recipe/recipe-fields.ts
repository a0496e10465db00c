/**
 * What the recipe root objects (layer recipes, pack recipes) share: the
 * checks of their canonical fields, each failing with `ERR_NON_CANONICAL`
 * and a message naming the kind of recipe, and the chunked byte streams
 * (`[depth, length, [[digest, length], ...]]`) both keep their bulk in.
 *
 * @module
 */
import type { CanonicalValue } from '../../format/canonical.js'
import type { ChunkRef } from '../../format/entry.js'
import { NonCanonicalError } from '../../errors.js'

/** Most chunk references a stream keeps in its parent; more go one level down into chunks. */
export const STREAM_INLINE_REFS = 256
/** Deepest indirection a stream may use (256^8 chunks is far beyond any blob). */
export const STREAM_MAX_DEPTH = 8

/**
 * A byte stream kept as chunks. At depth 0 the chunks concatenate to the
 * stream; at depth d > 0 they concatenate to the canonical encodings of the
 * `[digest, length]` references of the depth d−1 chunks, one after another.
 */
export interface StreamRef {
  depth: number
  /** Bytes of the stream itself (at depth 0). */
  length: number
  chunks: ChunkRef[]
}

/** Field checks whose errors start with the name of the object checked. */
export interface FieldChecks {
  bad: (what: string) => never
  arr: (v: CanonicalValue, n: number | undefined, what: string) => CanonicalValue[]
  int: (v: CanonicalValue | undefined, min: number, max: number, what: string) => number
  size: (v: CanonicalValue | undefined, what: string) => number
  bytes: (v: CanonicalValue | undefined, len: number | undefined, what: string) => Uint8Array
}

/** Field checks for objects called `name` in messages (`layer recipe`, `pack recipe`). */
export function fieldChecks (name: string): FieldChecks {
  const bad = (what: string): never => { throw new NonCanonicalError(`${name}: ${what}`) }
  return {
    bad,
    arr (v, n, what) {
      if (!Array.isArray(v) || (n !== undefined && v.length !== n)) bad(`${what} must be an array${n === undefined ? '' : ` of ${n}`}`)
      return v as CanonicalValue[]
    },
    int (v, min, max, what) {
      if (typeof v !== 'number' || v < min || v > max) bad(`${what} must be an integer ${min} … ${max}`)
      return v as number
    },
    size (v, what) {
      if (typeof v === 'number' && v >= 0) return v
      if (typeof v === 'bigint' && v > 0n && v <= BigInt(Number.MAX_SAFE_INTEGER)) return Number(v)
      return bad(`${what} must be a size`)
    },
    bytes (v, len, what) {
      if (!(v instanceof Uint8Array) || (len !== undefined && v.length !== len)) bad(`${what} must be ${len === undefined ? 'a byte string' : `${len} bytes`}`)
      return v as Uint8Array
    }
  }
}

const streamFields = fieldChecks('recipe stream')

/** Decode a chunk reference `[digest, length]`. */
export function decodeChunkRef (v: CanonicalValue): ChunkRef {
  const a = streamFields.arr(v, 2, 'chunk reference')
  return { digest: streamFields.bytes(a[0], 32, 'chunk digest'), length: streamFields.int(a[1], 1, 2 ** 32 - 1, 'chunk length') }
}

/** Encode a stream reference `[depth, length, [[digest, length], ...]]`. */
export function encodeStreamRef (s: StreamRef): CanonicalValue {
  return [s.depth, s.length, s.chunks.map((c) => [c.digest, c.length])]
}

/** Decode and check a stream reference; `what` names it in messages of `f`. */
export function decodeStreamRef (v: CanonicalValue, what: string, f: FieldChecks): StreamRef {
  const a = f.arr(v, 3, what)
  const depth = f.int(a[0], 0, STREAM_MAX_DEPTH, `${what} depth`)
  const length = f.size(a[1], `${what} length`)
  const chunks = f.arr(a[2]!, undefined, `${what} chunks`).map(decodeChunkRef)
  if (chunks.length > STREAM_INLINE_REFS) f.bad(`${what} lists more than ${STREAM_INLINE_REFS} chunks`)
  if (depth === 0 && chunks.reduce((n, c) => n + c.length, 0) !== length) f.bad(`${what} chunk lengths do not add up to its length`)
  if (depth > 0 && chunks.length === 0) f.bad(`${what} is indirect but lists no chunk`)
  return { depth, length, chunks }
}
