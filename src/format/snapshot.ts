/**
 * Snapshot objects (docs/FORMAT.md §5): chunking params, the root
 * directory's attributes and tree digest, and annotations.
 *
 * @module
 */
import { NonCanonicalError, UnsupportedError } from '../errors.js'
import { compareBytes } from '../hash/digest.js'
import { sha256 } from '../hash/index.js'
import { validateChunkerParams, type ChunkerParams, DEFAULT_CHUNKER_PARAMS } from '../chunker/params.js'
import { type CanonicalValue, decodeCanonical, encodeCanonical } from './canonical.js'
import type { InodeAttrs } from './entry.js'
import { checkAttrs, checkXattrs, type EncodedObject } from './tree.js'
import { printable } from './names.js'

/** Type number of snapshot objects. */
export const SNAPSHOT_TYPE = 2
/** The format version this code writes and reads. */
export const FORMAT_VERSION = 1
/** Largest allowed `inlineMax`. */
export const INLINE_MAX_LIMIT = 4096
/** Default `inlineMax` (docs/FORMAT.md §7). */
export const DEFAULT_INLINE_MAX = 64

/** Everything that decides how file content is cut and stored. */
export interface SnapshotParams extends ChunkerParams {
  /** Largest file size stored inline in its entry. */
  inlineMax: number
}

/** Default params: FastCDC 16/64/256 KiB, inline up to 64 bytes. */
export const DEFAULT_SNAPSHOT_PARAMS: Readonly<SnapshotParams> = Object.freeze({ ...DEFAULT_CHUNKER_PARAMS, inlineMax: DEFAULT_INLINE_MAX })

/** A key/value annotation, both raw bytes. */
export type Annotation = readonly [key: Uint8Array, value: Uint8Array]

/** The root directory: its attributes and tree digest. */
export interface SnapshotRoot extends InodeAttrs {
  tree: Uint8Array
}

/** A decoded snapshot. */
export interface Snapshot {
  params: SnapshotParams
  root: SnapshotRoot
  /** Sorted by key bytes, unique. */
  annotations: readonly Annotation[]
}

/** Check `inlineMax` and the chunker params; RangeError on failure. */
export function validateSnapshotParams (p: SnapshotParams): void {
  validateChunkerParams(p)
  if (!Number.isInteger(p.inlineMax) || p.inlineMax < 0 || p.inlineMax > INLINE_MAX_LIMIT) {
    throw new RangeError(`inlineMax must be an integer 0…${INLINE_MAX_LIMIT}, got ${p.inlineMax}`)
  }
}

/** Sort annotations given as strings or bytes into their canonical form; duplicate keys are an error. */
export function canonicalAnnotations (input: Iterable<readonly [string | Uint8Array, string | Uint8Array]>): Annotation[] {
  const toBytes = (v: string | Uint8Array): Uint8Array => typeof v === 'string' ? new Uint8Array(Buffer.from(v, 'utf8')) : v
  const list: Annotation[] = [...input].map(([k, v]) => [toBytes(k), toBytes(v)] as const)
  list.sort((a, b) => compareBytes(a[0], b[0]))
  for (let i = 1; i < list.length; i++) {
    if (compareBytes(list[i - 1]![0], list[i]![0]) === 0) throw new RangeError(`duplicate annotation key ${printable(list[i]![0])}`)
  }
  return list
}

/** Encode a snapshot; validates params, and annotation order. */
export function encodeSnapshot (s: Snapshot): EncodedObject {
  validateSnapshotParams(s.params)
  checkXattrs('root', s.root.xattrs.map(([k, v]) => [k, v]))
  checkXattrs('annotations', s.annotations.map(([k, v]) => [k, v]))
  if (s.root.tree.length !== 32) throw new RangeError('root tree digest must have 32 bytes')
  const { min, avg, max, inlineMax } = s.params
  const r = s.root
  const value: CanonicalValue = [
    SNAPSHOT_TYPE,
    FORMAT_VERSION,
    [min, avg, max, inlineMax],
    [r.mode, r.uid, r.gid, r.mtimeNs, r.xattrs.map(([k, v]) => [k, v]), r.tree],
    s.annotations.map(([k, v]) => [k, v])
  ]
  const bytes = encodeCanonical(value)
  return { bytes, digest: sha256.digest(bytes) }
}

/** Decode a snapshot object; `ERR_NON_CANONICAL` on any deviation, `ERR_UNSUPPORTED` for another format version. */
export function decodeSnapshot (bytes: Uint8Array): Snapshot {
  const v = decodeCanonical(bytes)
  if (!Array.isArray(v) || v[0] !== SNAPSHOT_TYPE) throw new NonCanonicalError('not a snapshot object')
  if (v[1] !== FORMAT_VERSION) throw new UnsupportedError(`snapshot format version ${String(v[1])} is not supported (this is version ${FORMAT_VERSION})`)
  if (v.length !== 5) throw new NonCanonicalError('snapshot: expected 5 fields')
  const p = v[2]
  const r = v[3]
  if (!Array.isArray(p) || p.length !== 4 || !p.every((x) => typeof x === 'number')) throw new NonCanonicalError('snapshot: params must be 4 integers')
  const params: SnapshotParams = { min: p[0] as number, avg: p[1] as number, max: p[2] as number, inlineMax: p[3] as number }
  try { validateSnapshotParams(params) } catch (err) { throw new NonCanonicalError(`snapshot: ${(err as Error).message}`, { cause: err }) }
  if (!Array.isArray(r) || r.length !== 6) throw new NonCanonicalError('snapshot: root must have 6 fields')
  const attrs = checkAttrs('snapshot root', r, 0)
  const tree = r[5]
  if (!(tree instanceof Uint8Array) || tree.length !== 32) throw new NonCanonicalError('snapshot: root tree must be a 32-byte digest')
  const annotations = checkXattrs('snapshot annotations', v[4])
  return { params, root: { ...attrs, tree }, annotations }
}
