/**
 * Ref records and ref names (docs/FORMAT.md §6). A ref is a mutable name
 * pointing at a snapshot, with a few figures about it.
 *
 * @module
 */
import { InvalidRefNameError, NonCanonicalError } from '../errors.js'
import { decodeCanonical, encodeCanonical } from './canonical.js'

/** A ref's value. */
export interface RefRecord {
  /** Digest of the snapshot (32 bytes). */
  snapshot: Uint8Array
  /** When the ref was set, ns since the epoch. */
  createdNs: bigint
  /** Number of entries in the snapshot (the root not counted). */
  files: number
  /** Sum of the sizes of its regular files. */
  logicalBytes: number
}

const REF_NAME_RE = /^[A-Za-z0-9_:@+][A-Za-z0-9._:@/+-]{0,254}$/

/** Throw {@link InvalidRefNameError} unless `name` is a valid ref name. */
export function assertRefName (name: string): void {
  if (typeof name !== 'string' || !REF_NAME_RE.test(name) || name.includes('//') || name.endsWith('/')) {
    throw new InvalidRefNameError(`invalid snapshot name ${JSON.stringify(name)}: use 1–255 of A–Z a–z 0–9 . _ - : @ / +, not starting with . - or /`)
  }
}

/** Encode a ref record. */
export function encodeRef (r: RefRecord): Uint8Array {
  return encodeCanonical([r.snapshot, r.createdNs, r.files, r.logicalBytes])
}

/** Decode a ref record. */
export function decodeRef (bytes: Uint8Array): RefRecord {
  const v = decodeCanonical(bytes)
  if (!Array.isArray(v) || v.length !== 4) throw new NonCanonicalError('ref record: expected 4 fields')
  const [snapshot, created, files, logical] = v
  if (!(snapshot instanceof Uint8Array) || snapshot.length !== 32) throw new NonCanonicalError('ref record: bad snapshot digest')
  const num = (x: unknown): number => {
    if (typeof x === 'number' && x >= 0) return x
    if (typeof x === 'bigint' && x >= 0n && x <= BigInt(Number.MAX_SAFE_INTEGER)) return Number(x)
    throw new NonCanonicalError('ref record: bad count')
  }
  if (typeof created !== 'number' && typeof created !== 'bigint') throw new NonCanonicalError('ref record: bad time')
  return { snapshot, createdNs: BigInt(created), files: num(files), logicalBytes: num(logical) }
}
