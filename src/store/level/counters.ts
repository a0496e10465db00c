/**
 * The store's counters (docs/FORMAT.md §6): kept in memory, written as
 * `m/stats` in every batch, so that they always match the objects of the
 * batches written.
 *
 * @module
 */
import { StoreError } from '../../errors.js'
import { decodeCanonical, encodeCanonical } from '../../format/canonical.js'
import type { StoreCounters } from '../index.js'
import type { Sub } from './keyspaces.js'

const STATS_KEY = Buffer.from('stats')

/** Counters of an empty store. */
export function zeroCounters (): StoreCounters {
  return { chunks: 0, chunkBytes: 0, chunkStored: 0, trees: 0, treeBytes: 0, treeStored: 0, snapshots: 0 }
}

/** The counters `meta` holds (zeros when it holds none); `ERR_STORE` when they are malformed. */
export async function loadCounters (meta: Sub): Promise<StoreCounters> {
  const raw = await meta.get(STATS_KEY)
  if (raw === undefined) return zeroCounters()
  const v = decodeCanonical(raw)
  if (!Array.isArray(v) || v.length !== 7) throw new StoreError('store counters are malformed')
  const n = v.map((x) => Number(x))
  return { chunks: n[0]!, chunkBytes: n[1]!, chunkStored: n[2]!, trees: n[3]!, treeBytes: n[4]!, treeStored: n[5]!, snapshots: n[6]! }
}

/** The put that writes `c` into `meta`. */
export function countersPut (meta: Sub, c: StoreCounters): { type: 'put', sublevel: Sub, key: Uint8Array, value: Uint8Array } {
  return { type: 'put', sublevel: meta, key: STATS_KEY, value: encodeCanonical([c.chunks, c.chunkBytes, c.chunkStored, c.trees, c.treeBytes, c.treeStored, c.snapshots]) }
}
