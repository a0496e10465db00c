/**
 * Making a pack blob (docs/FORMAT.md §11.3) out of chunks the store
 * already holds, as a pack recipe: one record per chunk, in the order
 * given, each the store's own stored object (verified: decoded and hashed
 * before it is described). Nothing of the chunks is written again; the
 * recipe's meta stream is the pack header alone, unless a stored object is
 * bigger than the raw form (§11.2 forbids such records), which is then
 * framed raw and kept in the meta stream.
 *
 * @module
 */
import { createHash } from 'node:crypto'
import { IntegrityError, throwIfAborted } from '../../errors.js'
import { digestToString } from '../../hash/index.js'
import type { ChunkReader, ObjectWriter, StoredChunkReader } from '../../store/index.js'
import { encodeRecordHeader, PACK_MAGIC, RECORD_HEADER_BYTES } from '../../store/pack/index.js'
import { CODEC_RAW, decodeStored } from '../../store/stored-object.js'
import { ChunkSink, ChunkedStreamWriter } from './chunked-stream.js'
import { encodePackLayoutRecord, encodePackRecipe } from './pack-recipe.js'
import type { PackTable } from '../../distribution/metadata.js'

/** What building a pack needs of the store. */
export type PackBuildStore = ChunkReader & StoredChunkReader & Pick<ObjectWriter, 'putChunk'>

/**
 * A pack blob made of stored chunks: its recipe, and where each chunk's
 * stored object is in it (the metadata's pack table, docs/FORMAT.md §11.2,
 * chunks in record order).
 */
export interface BuiltPackRecipe extends PackTable {
  recipe: Uint8Array
}

/** Stored objects read from the store at once. */
const READ_GROUP = 64

/** Build the pack blob of `chunks` (distinct, each with its length) as a recipe; see the module comment. */
export async function buildPackRecipe (chunks: ReadonlyArray<{ digest: Uint8Array, length: number }>, store: PackBuildStore, options: { signal?: AbortSignal } = {}): Promise<BuiltPackRecipe> {
  if (chunks.length === 0) throw new RangeError('a pack holds at least one chunk')
  const hash = createHash('sha256')
  const sink = new ChunkSink(store)
  const meta = new ChunkedStreamWriter(sink)
  const layout = new ChunkedStreamWriter(sink)
  await meta.write(PACK_MAGIC)
  hash.update(PACK_MAGIC)
  let size = PACK_MAGIC.length
  let gap = PACK_MAGIC.length
  let records = 0
  const digests = new Uint8Array(32 * chunks.length)
  const offsets: number[] = []
  const storedLengths: number[] = []
  const lengths: number[] = []
  for (let i = 0; i < chunks.length; i += READ_GROUP) {
    throwIfAborted(options.signal)
    const group = chunks.slice(i, i + READ_GROUP)
    const stored = await store.readStoredChunks(group.map((c) => c.digest))
    for (let j = 0; j < group.length; j++) {
      const chunk = group[j]!
      let s = stored[j]!
      const bytes = decodeStored(s, chunk.digest, 'chunk', chunk.length)
      if (bytes.length !== chunk.length) throw new IntegrityError(`chunk ${digestToString(chunk.digest)} has ${bytes.length} bytes, not ${chunk.length}`)
      const own = s.length <= chunk.length + 1
      if (!own) {
        s = new Uint8Array(bytes.length + 1)
        s[0] = CODEC_RAW
        s.set(bytes, 1)
      }
      const recordHeader = encodeRecordHeader(chunk.digest, s.length)
      hash.update(recordHeader)
      hash.update(s)
      if (own) {
        await layout.write(encodePackLayoutRecord({ gap, digest: chunk.digest, storedLength: s.length, length: chunk.length }))
        gap = 0
        records++
      } else {
        await meta.write(recordHeader)
        await meta.write(s)
        gap += RECORD_HEADER_BYTES + s.length
      }
      digests.set(chunk.digest, 32 * (i + j))
      offsets.push(size + RECORD_HEADER_BYTES)
      storedLengths.push(s.length)
      lengths.push(chunk.length)
      size += RECORD_HEADER_BYTES + s.length
    }
  }
  const metaRef = await meta.finish()
  const layoutRef = await layout.finish()
  await sink.drain()
  const digest = new Uint8Array(hash.digest())
  const recipe = encodePackRecipe({ blobSize: size, blobDigest: digest, records, meta: metaRef, layout: layoutRef })
  return { recipe, digest, size, chunks: digests, offsets, storedLengths, lengths }
}
