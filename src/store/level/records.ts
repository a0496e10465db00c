/**
 * Record sublevels: keyspaces of the store's database for records kept
 * beside the objects (the registry's), written in the store's ordered
 * batches so that a record and the chunks it needs land together.
 *
 * @module
 */
import { StoreError } from '../../errors.js'
import type { RecordOp, RecordSublevel } from '../index.js'
import type { StoreCore } from './core.js'
import { type Bytes, ENCODINGS, OWN_SUBLEVEL } from './keyspaces.js'
import type { Op } from './write-queue.js'

/** The record sublevel `name`; the store's own names are refused (`ERR_STORE`). */
export function recordSublevel (core: StoreCore, name: string): RecordSublevel {
  if (OWN_SUBLEVEL.test(name)) throw new StoreError(`sublevel ${JSON.stringify(name)} belongs to the object store`)
  return core.db.sublevel<Bytes, Bytes>(name, ENCODINGS) as unknown as RecordSublevel
}

/** Write everything queued, the counters and `records` in one atomic batch (packs synced first). */
export async function commitRecords (core: StoreCore, records: RecordOp[]): Promise<void> {
  core.assertOpen()
  for (const op of records) core.queue.push(op as unknown as Op)
  await core.flush({ syncPacks: true })
}
