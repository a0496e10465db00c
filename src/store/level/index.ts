/**
 * The local store, in rooms of one concept each (after restic's
 * `internal/repository`: pack, index, packer manager, repack, prune,
 * check). `level-store.ts` is the store itself: it implements every
 * capability of `../index.ts` by delegating to these, which share one
 * {@link StoreCore} (`core.ts`):
 *
 * | file | concept |
 * |---|---|
 * | `keyspaces.ts` | the sublevels `c x t s r m` and in-memory object keys |
 * | `counters.ts` | the counters in `m/stats`, written with every batch |
 * | `write-queue.ts` | queued operations, ordered batches, the failed state |
 * | `pack-appender.ts` | appending chunk records to the current pack (restic's packer manager) |
 * | `object-index.ts` | batched `getMany`/`hasMany` and the Bloom filters (restic's index) |
 * | `objects.ts` | presence, dedup'd writes and verified reads of objects |
 * | `chunk-reads.ts` | the three stages of a chunk read: index lookup, sources for workers, records |
 * | `pins.ts` | sessions, pins and gc's condemnation (docs/FORMAT.md §6.1) |
 * | `refs.ts` | refs, and snapshot commits in one atomic batch |
 * | `records.ts` | record sublevels for the registry |
 * | `sweep.ts` | deleting objects with their counters; compaction (restic's prune) |
 * | `repack.ts` | reclaiming pack space (restic's repack) |
 * | `listings.ts` | raw listings for fsck (restic's check) |
 * | `repairs.ts` | fsck's repairs: raw refs, the chunk index, the counters |
 *
 * Rules every room keeps: what is queued is visible at once; every await
 * that reads the database is followed by a check against a gc that may
 * have condemned the object meanwhile; counters change only in the batch
 * that writes what they count; nothing else reaches into another room's
 * state except through `StoreCore`.
 *
 * @module
 */
export { LevelObjectStore, STORE_FORMAT, type LevelObjectStoreOptions } from './level-store.js'
export { chunkValueLengths } from './chunk-reads.js'
