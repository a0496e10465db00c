/**
 * Deleting objects (gc's sweep, fsck's repair) with their counters, in
 * the store's ordered batches, and compacting the database afterwards.
 * A chunk's index entry goes with it; its record stays in its pack until
 * `repack.ts` reclaims the pack.
 *
 * @module
 */
import { throwIfAborted } from '../../errors.js'
import type { DeleteOptions, DeleteResult, ObjectKind } from '../index.js'
import { declaredLength } from '../stored-object.js'
import { chunkValueLengths } from './chunk-reads.js'
import type { StoreCore } from './core.js'
import { type Bytes, keyOf, kindTag } from './keyspaces.js'

/** Objects deleted per batch. */
const GROUP = 1024

/**
 * Delete objects, with the counters. With `onlyCondemned`, objects rescued
 * since they were condemned are skipped. Bytes are the stored sizes, read
 * just before the delete (for chunks, from their locations). An abort
 * between groups leaves every group before it deleted, with its counters.
 */
export async function deleteObjects (core: StoreCore, objects: Iterable<{ kind: ObjectKind, digest: Uint8Array }>, options: DeleteOptions = {}): Promise<DeleteResult> {
  core.assertOpen()
  const { queue, pins, keys } = core
  const result: DeleteResult = { chunks: 0, trees: 0, snapshots: 0, storedBytes: 0 }
  let group: Array<{ kind: ObjectKind, digest: Uint8Array }> = []
  const run = async (): Promise<void> => {
    const values = await Promise.all(group.map(async (o) => await keys.of(kindTag(o.kind)).get(o.digest)))
    // From here to the queueing, synchronous: no put can slip in between.
    for (let i = 0; i < group.length; i++) {
      const { kind, digest } = group[i]!
      const stored: Bytes | undefined = values[i]
      const k = kindTag(kind) + keyOf(digest)
      if (options.onlyCondemned === true && !pins.condemned.has(k)) continue
      pins.condemned.delete(k)
      if (stored === undefined || queue.pending.has(k) || queue.deleting.has(k)) continue
      queue.deleting.add(k)
      queue.push({ type: 'del', sublevel: keys.of(kindTag(kind)), key: digest })
      if (kind === 'chunk') queue.push({ type: 'del', sublevel: keys.chunkIndex, key: digest })
      const c = core.counters
      // A chunk's lengths come from its location (its record stays in its pack until gc reclaims the pack).
      const { storedLength, length } = kind === 'chunk' ? chunkValueLengths(stored) : { storedLength: stored.length, length: declaredLength(stored) }
      if (kind === 'chunk') { c.chunks--; c.chunkBytes -= length; c.chunkStored -= storedLength; result.chunks++ } else if (kind === 'tree') { c.trees--; c.treeBytes -= length; c.treeStored -= storedLength; result.trees++ } else { c.snapshots--; c.treeBytes -= length; c.treeStored -= storedLength; result.snapshots++ }
      result.storedBytes += storedLength
    }
    group = []
    await core.flush()
    options.onProgress?.({ ...result })
  }
  for (const o of objects) {
    group.push(o)
    if (group.length >= GROUP) { throwIfAborted(options.signal); await run() }
  }
  throwIfAborted(options.signal)
  if (group.length > 0) await run()
  return result
}

/** Compact the database so deleted objects free disk space (a no-op where unsupported). */
export async function compact (core: StoreCore): Promise<void> {
  await core.flush()
  const db = core.db as unknown as { compactRange?: (start: Bytes, end: Bytes) => Promise<void> }
  if (typeof db.compactRange === 'function') await db.compactRange(new Uint8Array([0]), new Uint8Array([0xff, 0xff, 0xff, 0xff]))
}
