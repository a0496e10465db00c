/**
 * How a verified blob file becomes a blob record body, through the recipe
 * module (`../recipe/`): a tessera pack blob (recognised by its bytes) is
 * kept as its records' chunks and a pack recipe when the store takes
 * stored forms; a layer whose bytes can be rebuilt exactly from chunks is
 * kept as a recipe; anything else (not a tar, a compressed stream that
 * cannot be recreated, a pack with a bad record) is kept whole as chunks.
 * And the way back: its bytes, verified.
 *
 * @module
 */
import { AbortedError, IntegrityError, NotFoundError, StoreError, throwIfAborted } from '../../errors.js'
import { sha256 } from '../../hash/index.js'
import { hasEncodedChunkWrites, hasStoredChunkReads, type ChunkReader, type MeasuredChunkWriter, type ObjectWriter, type StoredChunkReader } from '../../store/index.js'
import { buildPackRecipe, checkRanges, decodePackRecipe, RangeCursor, decomposeLayer, rebuildLayer, rebuildLayerTar, rebuildPack, splitPack, type BuiltPackRecipe, type LayerDecomposition } from '../recipe/index.js'
import type { ByteRange, OperationOptions } from '../types.js'
import type { BlobRecord } from './records.js'
import { readWholeBlob, storeWholeFile } from './whole-blob.js'

/** `store` as a chunk writer and reader that adds up what its `putChunk`s stored. */
function measuring (store: MeasuredChunkWriter & ChunkReader & Partial<Pick<ObjectWriter, 'flush'>>): { store: Pick<ObjectWriter, 'putChunk' | 'flush'> & ChunkReader, written: () => number } {
  let written = 0
  return {
    store: {
      putChunk: async (digest: Uint8Array, bytes: Uint8Array) => {
        const r = await store.putChunkMeasured(digest, bytes)
        written += r.storedBytes
        return r.result
      },
      getChunk: async (digest: Uint8Array) => await store.getChunk(digest),
      flush: async () => { await store.flush?.() }
    },
    written: () => written
  }
}

/** Failures that must reach the caller rather than make the blob whole. */
const FATAL = new Set([AbortedError.code, StoreError.code])

/**
 * Store the verified blob in `path` and describe it (every field of its
 * record but the owner). `storedBytes` counts the chunks written for the
 * body kept (and the recipe's length): chunks an abandoned decomposition
 * attempt wrote are counted nowhere and wait for `gc`.
 */
export async function storeBlobFile (store: MeasuredChunkWriter & ChunkReader & Pick<ObjectWriter, 'flush'>, path: string, blob: { digest: string, size: number }, options: OperationOptions = {}): Promise<Omit<BlobRecord, 'owner'>> {
  const measured = measuring(store)
  const measuredStore = measured.store
  let outcome: LayerDecomposition | undefined
  if (hasEncodedChunkWrites(store) && hasStoredChunkReads(store)) {
    const packStore = {
      ...measuredStore,
      putEncodedChunk: store.putEncodedChunk.bind(store),
      readStoredChunks: store.readStoredChunks.bind(store)
    }
    const pack = await splitPack(path, blob, packStore, { signal: options.signal })
    if (pack.kind === 'pack') {
      return {
        size: blob.size,
        isLayer: false,
        storedBytes: measured.written() + pack.encodedBytes + pack.recipe.length,
        body: { storage: 'pack', recipe: pack.recipe }
      }
    }
    if (pack.kind === 'bad') outcome = { kind: 'whole', isLayer: false, reason: `a tessera pack blob kept whole: ${pack.reason}` }
  }
  try {
    outcome ??= await decomposeLayer(path, blob, measuredStore, options)
  } catch (err) {
    const code = (err as { code?: string }).code
    if (code !== undefined && FATAL.has(code)) throw err
    throwIfAborted(options.signal)
    outcome = { kind: 'whole', isLayer: false, reason: `the layer could not be decomposed: ${(err as Error).message}` }
  }
  if (outcome.kind === 'reproduced') {
    return {
      size: blob.size,
      isLayer: true,
      storedBytes: measured.written() + outcome.recipe.length,
      body: { storage: 'reproduced', format: outcome.format, recipe: outcome.recipe }
    }
  }
  const whole = await storeWholeFile(store, path, options)
  return {
    size: blob.size,
    isLayer: outcome.isLayer,
    storedBytes: whole.storedBytes,
    body: { storage: 'whole', chunks: whole.chunks, lengths: whole.lengths, reason: outcome.reason }
  }
}

/** `getChunk` where a chunk a record needs but the store lacks is `ERR_INTEGRITY`. */
function recordChunks (store: ChunkReader, blob: string): ChunkReader {
  return {
    getChunk: async (digest: Uint8Array) => {
      try {
        return await store.getChunk(digest)
      } catch (err) {
        if (err instanceof NotFoundError) throw new IntegrityError(`a chunk of blob ${blob} is missing: ${err.message}`, { cause: err })
        throw err
      }
    }
  }
}

/**
 * A blob rebuilt from chunks. A full read is hashed here as well (whatever
 * the recipe claims) and its last piece withheld until the digest and size
 * match; a ranged read relies on the chunks' own verification.
 */
async function * readRebuiltBlob (stream: AsyncIterable<Uint8Array>, digest: string, size: number, options: { range?: ByteRange }): AsyncIterable<Uint8Array> {
  if (options.range !== undefined) { yield * stream; return }
  const hash = sha256.create()
  let count = 0
  let held: Uint8Array | undefined
  for await (const piece of stream) {
    if (piece.length === 0) continue
    hash.update(piece)
    count += piece.length
    if (held !== undefined) yield held
    held = piece
  }
  const actual = `sha256:${Buffer.from(hash.digest()).toString('hex')}`
  if (actual !== digest || count !== size) throw new IntegrityError(`blob ${digest} rebuilt from its chunks has digest ${actual} and ${count} bytes (expected ${size})`)
  if (held !== undefined) yield held
}

/** The blob's bytes (or `range` of them), verified as {@link readWholeBlob} and {@link readRebuiltBlob} say. */
export function readBlob (store: ChunkReader, digest: string, record: BlobRecord, options: { range?: ByteRange, signal?: AbortSignal }): AsyncIterable<Uint8Array> {
  const body = record.body
  switch (body.storage) {
    case 'whole':
      return readWholeBlob(store, { digest, size: record.size, chunks: body.chunks, lengths: body.lengths }, options)
    case 'reproduced':
      return readRebuiltBlob(rebuildLayer(body.recipe, recordChunks(store, digest), options), digest, record.size, options)
    case 'pack':
      return readRebuiltBlob(readPack(store, digest, body.recipe, options), digest, record.size, options)
  }
}

/** The chunk reads of a pack blob's recipe: a chunk it needs but the store lacks is `ERR_INTEGRITY`. */
function packChunks (store: ChunkReader & StoredChunkReader, digest: string): ChunkReader & StoredChunkReader {
  return {
    ...recordChunks(store, digest),
    readStoredChunks: async (digests) => {
      try {
        return await store.readStoredChunks(digests)
      } catch (err) {
        if (err instanceof NotFoundError) throw new IntegrityError(`a chunk of blob ${digest} is missing: ${err.message}`, { cause: err })
        throw err
      }
    }
  }
}

/** A pack blob's bytes from its recipe; a store without stored-form reads cannot hold one. */
async function * readPack (store: ChunkReader, digest: string, recipe: Uint8Array, options: { range?: ByteRange, signal?: AbortSignal }): AsyncIterable<Uint8Array> {
  if (!hasStoredChunkReads(store)) throw new IntegrityError(`blob ${digest} is a pack, and this store cannot read stored chunks`)
  yield * rebuildPack(decodePackRecipe(recipe), packChunks(store, digest), options)
}

/**
 * Make a pack blob of chunks the store holds (see `buildPackRecipe`) and
 * describe it: the record (but its owner), counting as `storedBytes` the
 * recipe's own stream chunks written and the recipe's length.
 */
export async function storeChunkPack (
  store: MeasuredChunkWriter & ChunkReader & StoredChunkReader,
  chunks: ReadonlyArray<{ digest: Uint8Array, length: number }>,
  options: { signal?: AbortSignal } = {}
): Promise<BuiltPackRecipe & { record: Omit<BlobRecord, 'owner'> }> {
  const measured = measuring(store)
  const built = await buildPackRecipe(chunks, { ...measured.store, readStoredChunks: async (digests) => await store.readStoredChunks(digests) }, options)
  return { ...built, record: { size: built.size, isLayer: false, storedBytes: measured.written() + built.recipe.length, body: { storage: 'pack', recipe: built.recipe } } }
}

/** The uncompressed tar of a blob kept as a layer recipe (chunks verified), undefined for other blobs. */
export function readLayerTar (store: ChunkReader, digest: string, record: BlobRecord, options: { signal?: AbortSignal }): AsyncIterable<Uint8Array> | undefined {
  if (record.body.storage !== 'reproduced') return undefined
  return rebuildLayerTar(record.body.recipe, recordChunks(store, digest), options)
}

/**
 * Several ranges of a blob (ascending, apart, not empty), one after the
 * other, in one pass where the blob is rebuilt: a pack recipe reads only
 * the records the ranges cover; a layer recipe is rebuilt once from the
 * first range's start to the last one's end and cut; a whole blob reads
 * the chunks of each range.
 */
export async function * readBlobRanges (store: ChunkReader, digest: string, record: BlobRecord, ranges: readonly ByteRange[], options: { signal?: AbortSignal }): AsyncIterable<Uint8Array> {
  const checked = checkRanges(ranges, record.size)
  if (checked.length === 0) return
  const body = record.body
  if (body.storage === 'pack') {
    if (!hasStoredChunkReads(store)) throw new IntegrityError(`blob ${digest} is a pack, and this store cannot read stored chunks`)
    yield * rebuildPack(decodePackRecipe(body.recipe), packChunks(store, digest), { ranges: checked, ...(options.signal !== undefined ? { signal: options.signal } : {}) })
    return
  }
  if (body.storage === 'whole') {
    for (const range of checked) yield * readBlob(store, digest, record, { ...options, range })
    return
  }
  const span = { start: checked[0]!.start, end: checked.at(-1)!.end }
  const wanted = new RangeCursor(checked)
  let pos = span.start
  for await (const piece of readBlob(store, digest, record, { ...options, range: span })) {
    for (const [from, to] of wanted.cut(pos, piece.length)) yield piece.subarray(from, to)
    pos += piece.length
  }
}
