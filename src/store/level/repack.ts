/**
 * Reclaiming pack space after chunks were deleted (gc's last step, as
 * restic's prune and repack): every pack below the append floor that no
 * chunk location names is deleted; one whose dead bytes reach
 * `deadFraction` of it has its live records appended to the current pack
 * (their new locations in the ordered batches, written with `sync`) and
 * is then deleted. A live record that cannot be read (damaged) stays where
 * it is, and so does its pack. Readers that looked up an old location
 * still read it: an open pack stays readable once deleted, and a pack
 * found missing is looked up again (`chunk-reads.ts`).
 *
 * @module
 */
import { throwIfAborted } from '../../errors.js'
import { bytesEqual, digestToString } from '../../hash/digest.js'
import type { PackReclaimOptions, PackReclaimResult } from '../index.js'
import { decodeLocation, encodeLocation, isDamage, isLocation, PACK_MAGIC, type PackLocation, readRecords, RECORD_HEADER_BYTES } from '../pack/index.js'
import { readError } from './chunk-reads.js'
import type { StoreCore } from './core.js'
import { type Bytes, keyOf, type Sub } from './keyspaces.js'

/** Records read and moved at once. */
const SLICE = 512

/** Every chunk's pack location (chunks stored inline, and values that do not decode, are skipped). */
async function * locations (chunks: Sub): AsyncIterable<[Bytes, PackLocation]> {
  for await (const [digest, value] of chunks.iterator()) {
    if (!isLocation(value)) continue
    try { yield [digest, decodeLocation(value)] } catch {}
  }
}

/**
 * Delete or rewrite packs as the module documentation says. An abort
 * (checked before each pack) leaves every pack either as it was or with
 * its live chunks moved and their new locations durable before it went.
 */
export async function reclaimPacks (core: StoreCore, options: PackReclaimOptions = {}): Promise<PackReclaimResult> {
  core.assertOpen()
  const { queue, pins, keys, packs } = core
  const threshold = options.deadFraction ?? 0.1
  const result: PackReclaimResult = { deleted: 0, rewritten: 0, chunksMoved: 0, bytesFreed: 0 }
  await core.flush()
  const listed = await packs.list()
  // Read after listing: a pack created meanwhile is numbered from the floor up.
  const floor = packs.floor
  const usage = new Map<number, { size: number, live: number, records: number }>()
  for (const p of listed) if (p.pack < floor) usage.set(p.pack, { size: p.size, live: 0, records: 0 })
  if (usage.size === 0) return result
  for await (const [, loc] of locations(keys.chunks)) {
    const u = usage.get(loc.pack)
    if (u !== undefined) { u.live += RECORD_HEADER_BYTES + loc.storedLength; u.records++ }
  }
  const rewrite = new Map<number, Array<{ digest: Bytes, location: PackLocation }>>()
  for (const [pack, u] of usage) {
    throwIfAborted(options.signal)
    if (u.records === 0) {
      await packs.delete(pack)
      result.deleted++
      result.bytesFreed += u.size
      options.onProgress?.({ ...result })
    } else if ((u.size - PACK_MAGIC.length - u.live) / u.size >= threshold) {
      rewrite.set(pack, [])
    }
  }
  if (rewrite.size === 0) return result
  for await (const [digest, location] of locations(keys.chunks)) rewrite.get(location.pack)?.push({ digest, location })
  for (const [pack, entries] of rewrite) {
    throwIfAborted(options.signal)
    entries.sort((a, b) => a.location.offset - b.location.offset)
    let intact = true
    for (let i = 0; i < entries.length; i += SLICE) {
      const slice = entries.slice(i, i + SLICE)
      const records = await readRecords(packs.storage, slice)
      const values = await keys.chunks.getMany(slice.map((e) => e.digest))
      // From here to the queueing, synchronous: move only what still lives at the location read.
      for (let j = 0; j < slice.length; j++) {
        const { digest, location } = slice[j]!
        const stored = records[j]!
        const value = values[j]
        const k = 'c' + keyOf(digest)
        if (value === undefined || queue.deleting.has(k) || pins.condemned.has(k) || queue.pending.has(k) || !bytesEqual(value, encodeLocation(location))) continue
        if (stored instanceof Error) {
          if (!isDamage(stored)) throw readError(core, stored, `chunk ${digestToString(digest)}`, location)
          intact = false
          continue
        }
        queue.push({ type: 'put', sublevel: keys.chunks, key: digest, stored, length: location.length }, stored.length + 32)
        result.chunksMoved++
        result.bytesFreed -= RECORD_HEADER_BYTES + stored.length
      }
      await core.maybeFlush()
    }
    // The new locations are durable before the pack goes.
    await core.flush({ sync: true })
    if (intact) {
      await packs.delete(pack)
      result.bytesFreed += usage.get(pack)!.size
      result.rewritten++
    }
    options.onProgress?.({ ...result })
  }
  return result
}
