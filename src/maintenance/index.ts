/**
 * Store maintenance: `gc`, `fsck` and the gc root set.
 *
 * Contract:
 * - `gc(store)` deletes every chunk, tree and snapshot object that is not
 *   reachable from a ref, from a registered or passed {@link RootProvider},
 *   or from an object pinned by a live store session. It may run while
 *   imports run in the same process on the same store: importers hold a
 *   session, and what they write or reuse is kept (docs/FORMAT.md §6.1).
 *   gcs on one store run one after another. Counters and the chunk index are updated in the same batches as the
 *   deletes. It refuses to run (`ERR_STORE_INCONSISTENT`) when something
 *   reachable is missing or corrupt, since it could not tell what that
 *   object references.
 * - `fsck(store)` re-reads and verifies every object, ref, the chunk index
 *   and the counters, and reports each problem with its object; with
 *   `repair` it drops only what cannot be rebuilt (undecodable or dangling
 *   refs, corrupt objects) and rebuilds derived data (index, counters).
 * - Both report progress and honour an `AbortSignal`; an aborted gc leaves
 *   a consistent store (deletes are batched with their counters).
 *
 * @module
 */
export { gc, type GcOptions, type GcProgress, type GcResult } from './gc.js'
export { fsck, type FsckOptions, type FsckProblem, type FsckProblemKind, type FsckProgress, type FsckReport } from './fsck.js'
export { registerRootProvider, registeredRootProviders, refRoots, type GcRoot, type RootProvider } from './roots.js'
export { Marker } from './mark.js'
