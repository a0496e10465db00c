/**
 * The pack recipe root object (docs/FORMAT.md §10, "Pack recipes"): what
 * rebuilds a pack blob (§11.3) byte for byte from the chunk store, where
 * each record's chunk is kept once, in the store's own stored form.
 *
 * ```
 * pack recipe   = [ 5, 1, blobSize, blobDigest, records, meta, layout ]
 * layout record = [ gap, digest, storedLength, length ]
 * ```
 *
 * The blob is, for each layout record in order, the next `gap` bytes of
 * the meta stream, then the record header (`digest`, u32 LE
 * `storedLength`), then the chunk's stored object as the store holds it
 * (`storedLength` bytes); then the meta bytes left. The meta stream holds
 * the pack header and every record whose pushed stored object is not the
 * store's own, whole (header included).
 *
 * @module
 */
import { decodeCanonical, encodeCanonical, type CanonicalValue } from '../../format/canonical.js'
import { IntegrityError, throwIfAborted } from '../../errors.js'
import { MAX_CHUNK_BYTES } from '../../store/stored-object.js'
import type { ChunkReader } from '../../store/index.js'
import { CanonicalSequenceReader } from './canonical-sequence.js'
import { streamChunkRefs } from './chunked-stream.js'
import { decodeStreamRef, encodeStreamRef, fieldChecks, type StreamRef } from './recipe-fields.js'

/** Type number of a pack recipe (trees 1, snapshots 2, layer recipes 3, remote metadata 4). */
export const PACK_RECIPE_TYPE = 5
/** Version of the pack recipe encoding. */
export const PACK_RECIPE_VERSION = 1
/** Largest stored object a record may hold: a raw chunk of the largest size. */
export const MAX_RECORD_STORED_BYTES = MAX_CHUNK_BYTES + 1

/** A decoded pack recipe. */
export interface PackRecipe {
  /** Size of the pack blob. */
  blobSize: number
  /** sha256 of the pack blob (32 bytes). */
  blobDigest: Uint8Array
  /** Records taken from the chunk store (the layout records). */
  records: number
  /** The pack header and the records kept as pushed. */
  meta: StreamRef
  /** One {@link PackLayoutRecord} per record taken from the store. */
  layout: StreamRef
}

/** One record of the blob whose stored object is the store's own. */
export interface PackLayoutRecord {
  /** Meta bytes before the record. */
  gap: number
  digest: Uint8Array
  /** Length of the stored object (codec byte included). */
  storedLength: number
  /** Length of the chunk, decoded. */
  length: number
}

const f = fieldChecks('pack recipe')

/** Encode a pack recipe canonically. */
export function encodePackRecipe (r: PackRecipe): Uint8Array {
  return encodeCanonical([PACK_RECIPE_TYPE, PACK_RECIPE_VERSION, r.blobSize, r.blobDigest, r.records, encodeStreamRef(r.meta), encodeStreamRef(r.layout)])
}

/** Decode and check a pack recipe; `ERR_NON_CANONICAL` for anything else. */
export function decodePackRecipe (encoded: Uint8Array): PackRecipe {
  const a = f.arr(decodeCanonical(encoded), 7, 'recipe')
  if (a[0] !== PACK_RECIPE_TYPE) f.bad(`type must be ${PACK_RECIPE_TYPE}`)
  if (a[1] !== PACK_RECIPE_VERSION) f.bad(`version must be ${PACK_RECIPE_VERSION}`)
  const recipe: PackRecipe = {
    blobSize: f.size(a[2], 'blob size'),
    blobDigest: f.bytes(a[3], 32, 'blob digest'),
    records: f.size(a[4], 'record count'),
    meta: decodeStreamRef(a[5]!, 'meta stream', f),
    layout: decodeStreamRef(a[6]!, 'layout stream', f)
  }
  if (recipe.meta.length < 8 || recipe.meta.length > recipe.blobSize) f.bad('the meta stream must hold the pack header and fit in the blob')
  if (recipe.records * 38 > recipe.blobSize) f.bad('more records than the blob can hold')
  return recipe
}

/** Encode one layout record. */
export function encodePackLayoutRecord (r: PackLayoutRecord): Uint8Array {
  return encodeCanonical([r.gap, r.digest, r.storedLength, r.length])
}

function layoutRecord (v: CanonicalValue): PackLayoutRecord {
  if (!Array.isArray(v) || v.length !== 4) throw new IntegrityError('pack recipe: malformed layout record')
  const [gap, digest, storedLength, length] = v
  if (typeof gap !== 'number' || gap < 0 || !(digest instanceof Uint8Array) || digest.length !== 32 ||
    typeof storedLength !== 'number' || storedLength < 2 || storedLength > MAX_RECORD_STORED_BYTES ||
    typeof length !== 'number' || length < 1 || length > MAX_CHUNK_BYTES) {
    throw new IntegrityError('pack recipe: malformed layout record')
  }
  return { gap, digest, storedLength, length }
}

/** The layout records of a pack recipe, in order, read from (and verified by) the store. */
export async function * packLayoutRecords (store: ChunkReader, layout: StreamRef, signal?: AbortSignal): AsyncGenerator<PackLayoutRecord> {
  const reader = new CanonicalSequenceReader()
  for await (const ref of streamChunkRefs(store, layout, signal)) {
    throwIfAborted(signal)
    const bytes = await store.getChunk(ref.digest)
    if (bytes.length !== ref.length) throw new IntegrityError('pack recipe: a layout chunk has the wrong length')
    for (const v of reader.push(bytes)) yield layoutRecord(v)
  }
  reader.finish()
}
