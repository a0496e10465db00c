/**
 * The metadata blob of a tessera image (docs/FORMAT.md §11.2): the
 * snapshot, every tree it reaches and the chunk table (where each chunk's
 * stored object lies in the pack blobs), as one stored object of a
 * canonical encoding.
 *
 * Decoding is for untrusted input: sizes are checked before anything is
 * allocated, the encoding must be canonical, and the trees and the chunk
 * table must describe exactly the snapshot's closure, every record inside
 * its pack blob.
 *
 * @module
 */
import { LimitExceededError, NonCanonicalError } from '../errors.js'
import { type CanonicalValue, decodeCanonical, encodeCanonical } from '../format/canonical.js'
import { isHole, type Entry } from '../format/entry.js'
import { decodeSnapshot, type Snapshot } from '../format/snapshot.js'
import { decodeTree } from '../format/tree.js'
import { compareBytes, digestToString } from '../hash/digest.js'
import { sha256 } from '../hash/index.js'
import { PACK_MAGIC, RECORD_HEADER_BYTES } from '../store/pack/index.js'
import { CODEC_RAW, CODEC_ZSTD, encodeStored, MAX_TREE_BYTES } from '../store/stored-object.js'
import { zstdContentSize, zstdDecompress } from '../store/zstd.js'
import { DEFAULT_MAX_METADATA_BYTES, MAX_TABLE_CHUNK_BYTES } from './media-types.js'

/** The type number of a metadata object. */
export const METADATA_TYPE = 4
/** Its version. */
export const METADATA_VERSION = 1

/** The chunks one pack blob provides, as the metadata lists them. */
export interface PackTable {
  /** sha256 of the pack blob (32 bytes). */
  digest: Uint8Array
  /** Size of the pack blob in bytes. */
  size: number
  /** The digests of the chunks listed, 32 bytes each, in ascending offset order. */
  chunks: Uint8Array
  /** Per chunk: offset of its stored object in the blob. */
  offsets: number[]
  /** Per chunk: length of its stored object. */
  storedLengths: number[]
  /** Per chunk: its length, decoded. */
  lengths: number[]
}

/** Where one chunk is: pack `pack` (an index of {@link SnapshotMetadata.packs}), its stored object at `offset`. */
export interface ChunkLocation {
  pack: number
  offset: number
  storedLength: number
  length: number
}

/** What a metadata blob describes, checked. */
export interface SnapshotMetadata {
  /** The snapshot object's encoding and digest. */
  snapshot: { bytes: Uint8Array, digest: Uint8Array }
  /** The snapshot, decoded. */
  decoded: Snapshot
  /** Every tree the snapshot reaches, by digest (latin1 of the 32 bytes), with its entries decoded. */
  trees: Map<string, MetadataTree>
  /** The packs, in manifest order. */
  packs: PackTable[]
  /** Every chunk the snapshot reaches, by digest (latin1 of the 32 bytes). */
  chunks: Map<string, ChunkLocation>
}

/** A tree of the metadata. */
export interface MetadataTree {
  digest: Uint8Array
  bytes: Uint8Array
  entries: Entry[]
}

/** What {@link encodeMetadata} takes. */
export interface MetadataInput {
  snapshot: Uint8Array
  /** Tree encodings with their digests, in any order. */
  trees: Iterable<{ digest: Uint8Array, bytes: Uint8Array }>
  packs: readonly PackTable[]
}

/** Options of {@link decodeMetadataBlob}. */
export interface DecodeMetadataOptions {
  /** Largest blob, stored and decoded. Default 256 MiB. */
  maxBytes?: number
  /** Names the blob in error messages. */
  what?: string
}

/** The key of a digest in the maps above. */
export function digestKey (digest: Uint8Array): string {
  return Buffer.from(digest.buffer, digest.byteOffset, digest.byteLength).toString('latin1')
}

/** Encode the metadata (trees sorted by digest) and frame it as a stored object at `level` (0: raw). */
export function encodeMetadata (input: MetadataInput, level: number): Uint8Array {
  const trees = [...input.trees].sort((a, b) => compareBytes(a.digest, b.digest))
  const value: CanonicalValue = [
    METADATA_TYPE,
    METADATA_VERSION,
    input.snapshot,
    trees.map((t) => t.bytes),
    input.packs.map((p) => [p.digest, p.size, p.chunks, p.offsets, p.storedLengths, p.lengths])
  ]
  return encodeStored(encodeCanonical(value), { level })
}

function fail (what: string, problem: string): never {
  throw new NonCanonicalError(`${what}: ${problem}`)
}

function asInt (v: CanonicalValue | undefined, what: string, field: string): number {
  const n = typeof v === 'bigint' ? Number(v) : v
  if (typeof n !== 'number' || !Number.isSafeInteger(n) || n < 0) fail(what, `${field} must be a non-negative integer`)
  return n
}

function intList (v: CanonicalValue | undefined, n: number, what: string, field: string): number[] {
  if (!Array.isArray(v) || v.length !== n) fail(what, `${field} must list ${n} integers`)
  return v.map((x) => asInt(x, what, field))
}

/** Unframe the stored object of a metadata blob, bounded by `max`. */
function unframe (blob: Uint8Array, max: number, what: string): Uint8Array {
  if (blob.length > max) throw new LimitExceededError(`${what} has ${blob.length} bytes, above the limit of ${max}`)
  const codec = blob[0]
  if (codec === CODEC_RAW) return blob.subarray(1)
  if (codec !== CODEC_ZSTD) fail(what, `unknown codec byte ${String(codec)}`)
  const frame = blob.subarray(1)
  const declared = zstdContentSize(frame)
  if (declared === null) fail(what, 'the zstd frame does not declare its content size')
  if (declared > max) throw new LimitExceededError(`${what} declares ${declared} bytes decoded, above the limit of ${max}`)
  try {
    const bytes = zstdDecompress(frame, declared)
    if (bytes.length !== declared) fail(what, `the zstd frame gives ${bytes.length} bytes, not the ${declared} it declares`)
    return bytes
  } catch (err) {
    if (err instanceof NonCanonicalError) throw err
    throw new NonCanonicalError(`${what}: ${(err as Error).message}`, { cause: err })
  }
}

function checkPack (v: CanonicalValue, index: number, what: string): PackTable {
  const where = `${what}: pack ${index}`
  if (!Array.isArray(v) || v.length !== 6) fail(where, 'expected [digest, size, chunks, offsets, storedLengths, lengths]')
  const [digest, sizeV, chunks, offsetsV, storedV, lengthsV] = v
  if (!(digest instanceof Uint8Array) || digest.length !== 32) fail(where, 'digest must be 32 bytes')
  const size = asInt(sizeV, where, 'size')
  if (!(chunks instanceof Uint8Array) || chunks.length === 0 || chunks.length % 32 !== 0) fail(where, 'chunks must be a non-empty multiple of 32 bytes')
  const n = chunks.length / 32
  const offsets = intList(offsetsV, n, where, 'offsets')
  const storedLengths = intList(storedV, n, where, 'storedLengths')
  const lengths = intList(lengthsV, n, where, 'lengths')
  let next = PACK_MAGIC.length + RECORD_HEADER_BYTES
  for (let j = 0; j < n; j++) {
    const offset = offsets[j]!
    const stored = storedLengths[j]!
    const length = lengths[j]!
    if (offset < next) fail(where, `record ${j} at ${offset} overlaps the pack header or the record before it`)
    if (length < 1 || length > MAX_TABLE_CHUNK_BYTES) fail(where, `record ${j}: chunk length ${length} is not 1…${MAX_TABLE_CHUNK_BYTES}`)
    if (stored < 2 || stored > length + 1) fail(where, `record ${j}: stored length ${stored} is not 2…${length + 1}`)
    if (offset + stored > size) fail(where, `record ${j} (${offset}+${stored}) ends past the end of the ${size}-byte pack blob`)
    next = offset + stored + RECORD_HEADER_BYTES
  }
  return { digest, size, chunks, offsets, storedLengths, lengths }
}

/**
 * Decode and check a metadata blob (its digest already verified by the
 * client). Throws `ERR_NON_CANONICAL` for anything §11.2 rules out and
 * `ERR_LIMIT_EXCEEDED` for a blob over `maxBytes`.
 */
export function decodeMetadataBlob (blob: Uint8Array, options: DecodeMetadataOptions = {}): SnapshotMetadata {
  const what = options.what ?? 'the metadata blob'
  const max = options.maxBytes ?? DEFAULT_MAX_METADATA_BYTES
  const bytes = unframe(blob, max, what)
  let value: CanonicalValue
  try {
    value = decodeCanonical(bytes)
  } catch (err) {
    throw new NonCanonicalError(`${what}: ${(err as Error).message}`, { cause: err })
  }
  if (!Array.isArray(value) || value[0] !== METADATA_TYPE) fail(what, 'not a tessera metadata object')
  if (value[1] !== METADATA_VERSION) fail(what, `metadata version ${String(value[1])} is not supported (this is version ${METADATA_VERSION})`)
  if (value.length !== 5) fail(what, 'expected [4, 1, snapshot, trees, packs]')
  const [, , snapshotBytes, treeList, packList] = value
  if (!(snapshotBytes instanceof Uint8Array)) fail(what, 'snapshot must be a byte string')
  let decoded: Snapshot
  try {
    decoded = decodeSnapshot(snapshotBytes)
  } catch (err) {
    throw new NonCanonicalError(`${what}: ${(err as Error).message}`, { cause: err })
  }
  if (!Array.isArray(treeList) || !Array.isArray(packList)) fail(what, 'trees and packs must be arrays')

  const trees = new Map<string, MetadataTree>()
  let previous: Uint8Array | undefined
  for (const t of treeList) {
    if (!(t instanceof Uint8Array)) fail(what, 'every tree must be a byte string')
    if (t.length > MAX_TREE_BYTES) throw new LimitExceededError(`${what}: a tree of ${t.length} bytes is above the limit of ${MAX_TREE_BYTES}`)
    const digest = sha256.digest(t)
    if (previous !== undefined && compareBytes(previous, digest) >= 0) fail(what, 'trees are not strictly ascending by digest')
    previous = digest
    trees.set(digestKey(digest), { digest, bytes: t, entries: [] })
  }

  const packs = packList.map((p, i) => checkPack(p, i, what))
  const chunks = new Map<string, ChunkLocation>()
  const packDigests = new Set<string>()
  packs.forEach((p, i) => {
    const key = digestKey(p.digest)
    if (packDigests.has(key)) fail(what, `pack ${digestToString(p.digest)} is listed twice`)
    packDigests.add(key)
    for (let j = 0; j < p.offsets.length; j++) {
      const c = digestKey(p.chunks.subarray(32 * j, 32 * j + 32))
      if (chunks.has(c)) fail(what, `chunk ${digestToString(p.chunks.subarray(32 * j, 32 * j + 32))} is listed twice`)
      chunks.set(c, { pack: i, offset: p.offsets[j]!, storedLength: p.storedLengths[j]!, length: p.lengths[j]! })
    }
  })

  checkClosure(decoded, trees, chunks, what)
  return { snapshot: { bytes: snapshotBytes, digest: sha256.digest(snapshotBytes) }, decoded, trees, packs, chunks }
}

/** The trees and chunks listed must be exactly those the snapshot reaches. */
function checkClosure (snapshot: Snapshot, trees: Map<string, MetadataTree>, chunks: Map<string, ChunkLocation>, what: string): void {
  const reached = new Set<string>()
  const usedChunks = new Set<string>()
  const stack: Uint8Array[] = [snapshot.root.tree]
  while (stack.length > 0) {
    const digest = stack.pop()!
    const key = digestKey(digest)
    if (reached.has(key)) continue
    const tree = trees.get(key)
    if (tree === undefined) fail(what, `tree ${digestToString(digest)} is reached but not listed`)
    reached.add(key)
    try {
      tree.entries = decodeTree(tree.bytes, { inlineMax: snapshot.params.inlineMax })
    } catch (err) {
      throw new NonCanonicalError(`${what}: tree ${digestToString(digest)}: ${(err as Error).message}`, { cause: err })
    }
    for (const e of tree.entries) {
      if (e.kind === 'dir') { stack.push(e.tree); continue }
      if (e.kind !== 'file' || e.content instanceof Uint8Array) continue
      for (const c of e.content) {
        if (isHole(c)) continue
        const ck = digestKey(c.digest)
        const at = chunks.get(ck)
        if (at === undefined) fail(what, `chunk ${digestToString(c.digest)} is reached but not in the chunk table`)
        if (at.length !== c.length) fail(what, `chunk ${digestToString(c.digest)} has length ${at.length} in the table and ${c.length} in a tree`)
        usedChunks.add(ck)
      }
    }
  }
  if (reached.size !== trees.size) fail(what, `${trees.size - reached.size} listed trees are not reached from the snapshot`)
  if (usedChunks.size !== chunks.size) fail(what, `${chunks.size - usedChunks.size} chunks of the table are not reached from the snapshot`)
}
