/**
 * Rebuilding a pack blob from its pack recipe (`pack-recipe.ts`), whole or
 * a byte range. A range reads only the layout records up to its end, the
 * meta chunks it cuts into and the stored objects of the records it
 * covers, and verifies each of those (decoded and hashed against the
 * record's digest); a whole rebuild does not decode them, since its caller
 * hashes the whole blob against its digest.
 *
 * @module
 */
import { IntegrityError, throwIfAborted } from '../../errors.js'
import { digestToString } from '../../hash/index.js'
import type { ChunkReader, StoredChunkReader } from '../../store/index.js'
import { encodeRecordHeader, RECORD_HEADER_BYTES } from '../../store/pack/index.js'
import { decodeStored } from '../../store/stored-object.js'
import { ChunkedStreamReader, StreamRuns } from './chunked-stream.js'
import { packLayoutRecords, type PackLayoutRecord, type PackRecipe } from './pack-recipe.js'
import { checkRange } from './range.js'

/** Options of {@link rebuildPack}. */
export interface PackRebuildOptions {
  /** Half-open range `[start, end)` of blob bytes; default the whole blob. */
  range?: { start: number, end: number }
  signal?: AbortSignal
}

/** Layout records planned at once; their stored objects are asked for in one read. */
const BATCH_RECORDS = 64

interface Planned extends PackLayoutRecord { storedAt: number }
interface Batch { records: Planned[], stored: Promise<Map<Planned, Uint8Array>> }

/** The blob's bytes (or those of `options.range`); see the module comment. */
export async function * rebuildPack (recipe: PackRecipe, store: ChunkReader & StoredChunkReader, options: PackRebuildOptions = {}): AsyncGenerator<Uint8Array> {
  const { signal } = options
  const { start, end } = checkRange(options.range, recipe.blobSize)
  if (start === end) return
  const verifyRecords = start > 0 || end < recipe.blobSize
  const layout = packLayoutRecords(store, recipe.layout, signal)
  const meta = new ChunkedStreamReader(store, recipe.meta, signal)
  const runs = new StreamRuns(meta, recipe.meta.length, { start, end }, 'pack recipe')
  let planned = 0 // blob offset after the records planned so far
  let count = 0

  const nextBatch = async (): Promise<Batch | undefined> => {
    const records: Planned[] = []
    while (records.length < BATCH_RECORDS && planned < end) {
      const next = await layout.next()
      if (next.done === true) break
      const r = next.value
      const storedAt = planned + r.gap + RECORD_HEADER_BYTES
      planned = storedAt + r.storedLength
      records.push({ ...r, storedAt })
    }
    if (records.length === 0) return undefined
    const wanted = records.filter((r) => r.storedAt < end && r.storedAt + r.storedLength > start)
    const stored = wanted.length === 0
      ? Promise.resolve(new Map<Planned, Uint8Array>())
      : store.readStoredChunks(wanted.map((r) => r.digest)).then((got) => new Map(wanted.map((r, i) => [r, got[i]!])))
    stored.catch(() => {}) // awaited below
    return { records, stored }
  }

  /** The part of `bytes`, at the current position, inside the range. */
  const inside = (bytes: Uint8Array): Uint8Array | undefined => {
    const from = Math.max(0, start - runs.pos)
    const to = Math.min(bytes.length, end - runs.pos)
    return to > from ? bytes.subarray(from, to) : undefined
  }

  try {
    let batch = await nextBatch()
    while (batch !== undefined) {
      const following = nextBatch()
      following.catch(() => {}) // awaited on the next turn
      const stored = await batch.stored
      for (const r of batch.records) {
        throwIfAborted(signal)
        yield * runs.run(r.gap)
        if (runs.pos >= end) return
        const header = inside(encodeRecordHeader(r.digest, r.storedLength))
        if (header !== undefined) yield header
        runs.pos += RECORD_HEADER_BYTES
        if (runs.pos >= end) return
        const bytes = stored.get(r)
        if (bytes !== undefined) {
          if (bytes.length !== r.storedLength) throw new IntegrityError(`pack recipe: chunk ${digestToString(r.digest)} is held in ${bytes.length} stored bytes, the pack's record has ${r.storedLength}`)
          if (verifyRecords) {
            const decoded = decodeStored(bytes, r.digest, 'chunk', r.length)
            if (decoded.length !== r.length) throw new IntegrityError(`pack recipe: chunk ${digestToString(r.digest)} has ${decoded.length} bytes, not ${r.length}`)
          }
          const piece = inside(bytes)
          if (piece !== undefined) yield piece
        }
        runs.pos += r.storedLength
        count++
        if (runs.pos >= end) return
      }
      batch = await following
    }
    yield * runs.run(runs.left)
    if (count !== recipe.records) throw new IntegrityError(`pack recipe lists ${count} records, its root says ${recipe.records}`)
    if (runs.pos !== recipe.blobSize) throw new IntegrityError(`pack recipe rebuilds ${runs.pos} bytes, expected ${recipe.blobSize}`)
  } finally {
    await meta.close()
    await layout.return(undefined)
  }
}
