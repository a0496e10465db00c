/**
 * Keys and values of the registry records (docs/FORMAT.md, "Registry
 * records"). Values use the canonical encoding of FORMAT.md §3; decoders
 * check every field and reject any other encoding of the same value with
 * `ERR_NON_CANONICAL`, so a record has exactly one byte form.
 *
 * @module
 */
import { NonCanonicalError } from '../../errors.js'
import { canonicalInt, decodeCanonical, encodeCanonical, type CanonicalValue } from '../../format/canonical.js'

/** Sublevel names of the registry records (beside the store's `c x t s r m`). */
export const SUBLEVELS = {
  /** Blob records: digest → {@link BlobRecord}. */
  blobs: 'gb',
  /** Blob links: repository 0x00 digest → empty. */
  blobLinks: 'gl',
  /** Blob links by digest: digest repository → empty. */
  blobLinksByDigest: 'gi',
  /** Manifest records: digest → {@link ManifestRecord}. */
  manifests: 'gm',
  /** Manifest links: repository 0x00 digest → empty. */
  manifestLinks: 'gn',
  /** Manifest links by digest: digest repository → empty. */
  manifestLinksByDigest: 'gj',
  /** Tags: repository 0x00 tag → manifest digest (32 bytes). */
  tags: 'gt',
  /** Referrers: repository 0x00 subject digest, referrer digest → empty. */
  referrers: 'gr',
  /** Counters: 0x00 (overall) or 0x01 repository → {@link RegistryCounters}. */
  stats: 'gs',
  /** Snapshot offers: image manifest digest → the digest (32 bytes) of the tessera manifest offered for it. */
  offers: 'go'
} as const

/** Version number heading blob and manifest records. */
export const RECORD_VERSION = 1

/** Compression of a reproduced layer, as numbered in blob records. */
export const LAYER_FORMATS = ['tar', 'tar+gzip', 'tar+zstd'] as const
/** A layer format. */
export type LayerFormat = typeof LAYER_FORMATS[number]

/** How a blob is kept: its bytes as chunks, or a recipe rebuilding them. */
export type BlobBody =
  | {
    storage: 'whole'
    /** The chunk digests in order, 32 bytes each, concatenated. */
    chunks: Uint8Array
    /** The length of each chunk, in order; they add up to the blob's size. */
    lengths: number[]
    /** Why the blob was not reproduced (for people; may be empty). */
    reason: string
  }
  | { storage: 'reproduced', format: LayerFormat, recipe: Uint8Array }
  /** A tessera pack blob (docs/FORMAT.md §11.3), rebuilt from its pack recipe (§10). */
  | { storage: 'pack', recipe: Uint8Array }

/** The `storage` number of each kind of body in a blob record. */
const STORAGE_NUMBERS = { whole: 0, reproduced: 1, pack: 2 } as const

/** What the store keeps about one blob. */
export interface BlobRecord {
  size: number
  /** The blob is a tar layer (always so when reproduced, never for packs). */
  isLayer: boolean
  /** Stored bytes attributed to the blob (docs/FORMAT.md, "Registry records"). */
  storedBytes: number
  /** Repository the blob was first pushed to, `''` for none. */
  owner: string
  body: BlobBody
}

/** A manifest exactly as pushed. */
export interface ManifestRecord {
  mediaType: string
  bytes: Uint8Array
  /** Repository the manifest was first pushed to. */
  owner: string
}

/** One set of {@link RegistryStats}-shaped counters. */
export interface RegistryCounters {
  pushedBytes: number
  storedBytes: number
  reproducedBlobs: number
  wholeBlobs: number
  wholeLayers: number
}

const utf8 = new TextEncoder()
const utf8Strict = new TextDecoder('utf-8', { fatal: true })

/** UTF-8 bytes of a string. */
export function textBytes (s: string): Uint8Array { return utf8.encode(s) }

function text (v: CanonicalValue | undefined, what: string): string {
  if (!(v instanceof Uint8Array)) throw new NonCanonicalError(`${what} is not a byte string`)
  try {
    return utf8Strict.decode(v)
  } catch (err) {
    throw new NonCanonicalError(`${what} is not UTF-8`, { cause: err })
  }
}

function uint (v: CanonicalValue | undefined, what: string): number {
  if (typeof v !== 'number' && typeof v !== 'bigint') throw new NonCanonicalError(`${what} is not an integer`)
  if (v < 0 || v > Number.MAX_SAFE_INTEGER) throw new NonCanonicalError(`${what} is out of range: ${v}`)
  return Number(v)
}

function bytes (v: CanonicalValue | undefined, what: string): Uint8Array {
  if (!(v instanceof Uint8Array)) throw new NonCanonicalError(`${what} is not a byte string`)
  // msgpackr gives Buffers: hand out plain Uint8Arrays over the same bytes.
  return new Uint8Array(v.buffer, v.byteOffset, v.byteLength)
}

function array (v: CanonicalValue | undefined, what: string, length?: number): CanonicalValue[] {
  if (!Array.isArray(v)) throw new NonCanonicalError(`${what} is not an array`)
  if (length !== undefined && v.length !== length) throw new NonCanonicalError(`${what} has ${v.length} fields, not ${length}`)
  return v
}

/** Encode a blob record: `[1, size, storage, flags, storedBytes, owner, body]`. */
export function encodeBlobRecord (r: BlobRecord): Uint8Array {
  const body: CanonicalValue = r.body.storage === 'whole'
    ? [r.body.chunks, r.body.lengths.map(canonicalInt), textBytes(r.body.reason)]
    : r.body.storage === 'reproduced'
      ? [LAYER_FORMATS.indexOf(r.body.format), r.body.recipe]
      : [r.body.recipe]
  const value: CanonicalValue = [RECORD_VERSION, canonicalInt(r.size), STORAGE_NUMBERS[r.body.storage], r.isLayer ? 1 : 0, canonicalInt(r.storedBytes), textBytes(r.owner), body]
  decodeBlobRecordValue(value) // never write a record that would not read back
  return encodeCanonical(value)
}

function decodeBlobRecordValue (value: CanonicalValue): BlobRecord {
  const v = array(value, 'blob record', 7)
  if (v[0] !== RECORD_VERSION) throw new NonCanonicalError(`blob record version ${String(v[0])} is not ${RECORD_VERSION}`)
  const size = uint(v[1], 'blob size')
  const storage = v[2]
  const flags = uint(v[3], 'blob flags')
  if (flags > 1) throw new NonCanonicalError(`blob flags ${flags} has unknown bits`)
  const storedBytes = uint(v[4], 'blob stored bytes')
  const owner = text(v[5], 'blob owner')
  if (storage === 0) {
    const b = array(v[6], 'whole blob body', 3)
    const chunks = bytes(b[0], 'chunk digests')
    const lengths = array(b[1], 'chunk lengths').map((x, i) => uint(x, `chunk length ${i}`))
    if (chunks.length !== lengths.length * 32) throw new NonCanonicalError(`${chunks.length} bytes of chunk digests for ${lengths.length} chunks`)
    let total = 0
    for (const n of lengths) {
      if (n === 0) throw new NonCanonicalError('a chunk of a blob is empty')
      total += n
    }
    if (total !== size) throw new NonCanonicalError(`chunk lengths add up to ${total}, not the blob size ${size}`)
    return { size, isLayer: flags === 1, storedBytes, owner, body: { storage: 'whole', chunks, lengths, reason: text(b[2], 'reason') } }
  }
  if (storage === 1) {
    const b = array(v[6], 'reproduced blob body', 2)
    const format = LAYER_FORMATS[uint(b[0], 'layer format')]
    if (format === undefined) throw new NonCanonicalError(`layer format ${String(b[0])} is unknown`)
    if (flags !== 1) throw new NonCanonicalError('a reproduced blob is a layer')
    return { size, isLayer: true, storedBytes, owner, body: { storage: 'reproduced', format, recipe: bytes(b[1], 'recipe') } }
  }
  if (storage === 2) {
    const b = array(v[6], 'pack blob body', 1)
    if (flags !== 0) throw new NonCanonicalError('a pack blob is not a layer')
    return { size, isLayer: false, storedBytes, owner, body: { storage: 'pack', recipe: bytes(b[0], 'pack recipe') } }
  }
  throw new NonCanonicalError(`blob storage ${String(storage)} is unknown`)
}

/** Decode a blob record; `ERR_NON_CANONICAL` if malformed or not canonical. */
export function decodeBlobRecord (raw: Uint8Array): BlobRecord { return decodeBlobRecordValue(decodeCanonical(raw)) }

/** Encode a manifest record: `[1, mediaType, bytes, owner]`. */
export function encodeManifestRecord (r: ManifestRecord): Uint8Array {
  return encodeCanonical([RECORD_VERSION, textBytes(r.mediaType), r.bytes, textBytes(r.owner)])
}

/** Decode a manifest record; `ERR_NON_CANONICAL` if malformed or not canonical. */
export function decodeManifestRecord (raw: Uint8Array): ManifestRecord {
  const v = array(decodeCanonical(raw), 'manifest record', 4)
  if (v[0] !== RECORD_VERSION) throw new NonCanonicalError(`manifest record version ${String(v[0])} is not ${RECORD_VERSION}`)
  return { mediaType: text(v[1], 'manifest media type'), bytes: bytes(v[2], 'manifest bytes'), owner: text(v[3], 'manifest owner') }
}

/** Encode counters: `[pushedBytes, storedBytes, reproducedBlobs, wholeBlobs, wholeLayers]`. */
export function encodeCounters (c: RegistryCounters): Uint8Array {
  return encodeCanonical([c.pushedBytes, c.storedBytes, c.reproducedBlobs, c.wholeBlobs, c.wholeLayers].map((n) => {
    if (!Number.isSafeInteger(n) || n < 0) throw new RangeError(`a counter is not a non-negative integer: ${n}`)
    return canonicalInt(n)
  }))
}

/** Decode counters; `ERR_NON_CANONICAL` if malformed or not canonical. */
export function decodeCounters (raw: Uint8Array): RegistryCounters {
  const v = array(decodeCanonical(raw), 'counters', 5).map((x, i) => uint(x, `counter ${i}`))
  return { pushedBytes: v[0]!, storedBytes: v[1]!, reproducedBlobs: v[2]!, wholeBlobs: v[3]!, wholeLayers: v[4]! }
}

/** All-zero counters. */
export function zeroCounters (): RegistryCounters {
  return { pushedBytes: 0, storedBytes: 0, reproducedBlobs: 0, wholeBlobs: 0, wholeLayers: 0 }
}

function concat (...parts: Uint8Array[]): Uint8Array {
  let n = 0
  for (const p of parts) n += p.length
  const out = new Uint8Array(n)
  let at = 0
  for (const p of parts) { out.set(p, at); at += p.length }
  return out
}

const ZERO = new Uint8Array([0])
const ONE = new Uint8Array([1])

/** The key prefix of everything of `repository` in a repository-first sublevel: UTF-8 name, then 0x00. */
export function repositoryPrefix (repository: string): Uint8Array { return concat(textBytes(repository), ZERO) }

/** Key `repository 0x00 rest...`. */
export function repositoryKey (repository: string, ...rest: Uint8Array[]): Uint8Array { return concat(repositoryPrefix(repository), ...rest) }

/** Key `digest repository` of the by-digest link indexes. */
export function digestRepositoryKey (digest: Uint8Array, repository: string): Uint8Array { return concat(digest, textBytes(repository)) }

/** Key of the overall counters. */
export const OVERALL_STATS_KEY = ZERO
/** Key of a repository's counters: 0x01 then its name. */
export function repositoryStatsKey (repository: string): Uint8Array { return concat(ONE, textBytes(repository)) }

/** The smallest key greater than every key starting with `prefix`, for range ends (`lt`). */
export function prefixEnd (prefix: Uint8Array): Uint8Array {
  const out = prefix.slice()
  for (let i = out.length - 1; i >= 0; i--) {
    if (out[i]! < 0xff) { out[i]!++; return out.subarray(0, i + 1) }
  }
  throw new RangeError('no key follows a prefix of 0xff bytes')
}

/** Split a `repository 0x00 rest` key. */
export function splitRepositoryKey (key: Uint8Array): { repository: string, rest: Uint8Array } {
  const at = key.indexOf(0)
  if (at < 0) throw new NonCanonicalError('a registry key has no repository separator')
  return { repository: text(key.subarray(0, at), 'repository name'), rest: key.subarray(at + 1) }
}
