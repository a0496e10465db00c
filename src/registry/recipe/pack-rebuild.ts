/**
 * Rebuilding a pack blob from its pack recipe (`pack-recipe.ts`), whole or
 * byte ranges, in one pass. Ranges read only the layout records up to the
 * last one's end, the meta chunks they cut into and the stored objects of
 * the records they cover, and verify each of those (decoded and hashed
 * against the record's digest); a whole rebuild does not decode them,
 * since its caller hashes the whole blob against its digest.
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
import { checkRange, checkRanges, RangeCursor } from './range.js'

/** Options of {@link rebuildPack}. */
export interface PackRebuildOptions {
  /** Half-open range `[start, end)` of blob bytes; default the whole blob. */
  range?: { start: number, end: number }
  /** Several ranges instead (ascending, apart, not empty): their bytes one after the other. */
  ranges?: ReadonlyArray<{ start: number, end: number }>
  signal?: AbortSignal
}

/** Layout records planned at once; their stored objects are asked for in one read. */
const BATCH_RECORDS = 64

interface Planned extends PackLayoutRecord { storedAt: number }
interface Batch { records: Planned[], stored: Promise<Map<Planned, Uint8Array>> }

/** The blob's bytes (or those of `options.range`, or of `options.ranges` one after the other); see the module comment. */
export async function * rebuildPack (recipe: PackRecipe, store: ChunkReader & StoredChunkReader, options: PackRebuildOptions = {}): AsyncGenerator<Uint8Array> {
  const { signal } = options
  const ranges = options.ranges !== undefined ? checkRanges(options.ranges, recipe.blobSize) : [checkRange(options.range, recipe.blobSize)]
  const whole = ranges.length === 1 && ranges[0]!.start === 0 && ranges[0]!.end === recipe.blobSize
  if (ranges.every((r) => r.start === r.end)) return
  const end = ranges.at(-1)!.end
  const verifyRecords = !whole
  const layout = packLayoutRecords(store, recipe.layout, signal)
  const meta = new ChunkedStreamReader(store, recipe.meta, signal)
  const wanted = new RangeCursor(ranges) // at the output position
  const ahead = new RangeCursor(ranges) // at the planning position
  const runs = new StreamRuns(meta, recipe.meta.length, wanted, 'pack recipe')
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
    const needed = records.filter((r) => ahead.cut(r.storedAt, r.storedLength).length > 0)
    const stored = needed.length === 0
      ? Promise.resolve(new Map<Planned, Uint8Array>())
      : store.readStoredChunks(needed.map((r) => r.digest)).then((got) => new Map(needed.map((r, i) => [r, got[i]!])))
    stored.catch(() => {}) // awaited below
    return { records, stored }
  }

  /** The parts of `bytes`, at the current position, inside the ranges. */
  const inside = (bytes: Uint8Array): Uint8Array[] => wanted.cut(runs.pos, bytes.length).map(([from, to]) => bytes.subarray(from, to))

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
        yield * inside(encodeRecordHeader(r.digest, r.storedLength))
        runs.pos += RECORD_HEADER_BYTES
        if (runs.pos >= end) return
        const bytes = stored.get(r)
        if (bytes !== undefined) {
          if (bytes.length !== r.storedLength) throw new IntegrityError(`pack recipe: chunk ${digestToString(r.digest)} is held in ${bytes.length} stored bytes, the pack's record has ${r.storedLength}`)
          if (verifyRecords) {
            const decoded = decodeStored(bytes, r.digest, 'chunk', r.length)
            if (decoded.length !== r.length) throw new IntegrityError(`pack recipe: chunk ${digestToString(r.digest)} has ${decoded.length} bytes, not ${r.length}`)
          }
          yield * inside(bytes)
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
