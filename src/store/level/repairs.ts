/**
 * Repairs of what can be rebuilt or must be dropped (fsck --repair): a ref
 * whatever its record holds, chunk index keys, and the counters, each in
 * the store's ordered batches.
 *
 * @module
 */
import type { StoreCounters } from '../index.js'
import { countersPut } from './counters.js'
import type { StoreCore } from './core.js'

const EMPTY = new Uint8Array(0)

/** Delete a ref whatever its record holds. */
export async function deleteRawRef (core: StoreCore, name: string): Promise<void> {
  await core.flush()
  await core.keys.refs.del(Buffer.from(name, 'utf8'))
}

/** Add (and remove) chunk index keys. */
export async function fixChunkIndex (core: StoreCore, add: Iterable<Uint8Array>, del: Iterable<Uint8Array>): Promise<void> {
  core.assertOpen()
  for (const d of add) core.queue.push({ type: 'put', sublevel: core.keys.chunkIndex, key: d, value: EMPTY })
  for (const d of del) core.queue.push({ type: 'del', sublevel: core.keys.chunkIndex, key: d })
  await core.flush()
}

/** Replace the counters with recounted ones, written at once. */
export async function setCounters (core: StoreCore, counters: StoreCounters): Promise<void> {
  await core.flush()
  Object.assign(core.counters, counters)
  core.queue.push(countersPut(core.keys.meta, core.counters))
  await core.flush()
}
