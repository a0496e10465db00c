/**
 * Garbage collection: delete every chunk, tree and snapshot object that no
 * root reaches. Safe to run while imports run in the same process on the
 * same open store (docs/FORMAT.md §6.1):
 *
 * 1. gc opens a store session, so everything touched while it runs is pinned;
 * 2. lists every object (the candidates), then marks from the refs, the
 *    root providers and every object pinned by a live session;
 * 3. at one synchronous point, if nothing was pinned since its last mark
 *    whose closure is unmarked, condemns the unmarked candidates: from then
 *    they read as absent, and writing one again rescues it;
 * 4. deletes what is still condemned (snapshots, then trees, then chunks),
 *    with the counters, in the store's ordered batches;
 * 5. reclaims pack space: deletes packs no chunk lives in any more and
 *    rewrites those with enough dead bytes (`reclaimPacks` of the store's `GcView`).
 *
 * @module
 */
import { throwIfAborted } from '../errors.js'
import type { GcView, ObjectKind } from '../store/index.js'
import { digestKey, Marker } from './mark.js'
import { allRoots, type RootProvider } from './roots.js'

/** Progress of a gc. */
export interface GcProgress {
  phase: 'list' | 'mark' | 'sweep' | 'repack'
  /** Objects listed, marked or deleted so far in this phase (repack: packs deleted or rewritten). */
  objects: number
  /** Stored bytes freed so far (sweep), pack bytes freed so far (repack). */
  bytes: number
}

/** Options for {@link gc}. */
export interface GcOptions {
  /** Roots besides the refs and the registered providers. */
  extraRoots?: readonly RootProvider[]
  /** Compact the database afterwards so the space is returned to the filesystem. Default true. */
  compact?: boolean
  signal?: AbortSignal
  onProgress?: (progress: GcProgress) => void
  /**
   * Called once, right after the candidates are listed and before marking:
   * a hook for tests that interleave other work with a gc deterministically.
   */
  afterList?: () => Promise<void> | void
  /** Called right before the delete phase (after the commit point); for tests, as `afterList`. */
  beforeSweep?: () => Promise<void> | void
  /** Called right before packs are reclaimed (after the deletes); for tests, as `afterList`. */
  beforeRepack?: () => Promise<void> | void
  /** Rewrite a pack when at least this fraction of it is dead; default 0.1 (see `reclaimPacks` of the store's `GcView`). */
  repackDeadFraction?: number
}

/** What a gc did. */
export interface GcResult {
  /** Objects kept (reachable or pinned), per kind. */
  kept: { chunks: number, trees: number, snapshots: number }
  /** Objects deleted, per kind. */
  deleted: { chunks: number, trees: number, snapshots: number }
  /** Stored bytes of the deleted objects (what the store's counters drop by). */
  bytesFreed: number
  /** Packs deleted (nothing live in them) and rewritten (live chunks moved), and the pack bytes freed on disk. */
  packs: { deleted: number, rewritten: number, chunksMoved: number, bytesFreed: number }
}

const KINDS: readonly ObjectKind[] = ['snapshot', 'tree', 'chunk']

/** The gc running on each store: gcs on one store run one after another. */
const running = new WeakMap<GcView, Promise<unknown>>()

/**
 * Delete every object no root reaches; see the module documentation for
 * the contract. A gc started while another runs on the same store waits
 * for it.
 */
export async function gc (store: GcView, options: GcOptions = {}): Promise<GcResult> {
  const previous = running.get(store) ?? Promise.resolve()
  const run = previous.catch(() => {}).then(async () => await collect(store, options))
  running.set(store, run)
  try {
    return await run
  } finally {
    if (running.get(store) === run) running.delete(store)
  }
}

async function collect (store: GcView, options: GcOptions): Promise<GcResult> {
  const { signal, onProgress } = options
  const session = store.beginSession()
  try {
    await store.flush()
    const candidates: Record<ObjectKind, Set<string>> = { chunk: new Set(), tree: new Set(), snapshot: new Set() }
    let listed = 0
    for (const kind of KINDS) {
      for await (const digest of store.listDigests(kind)) {
        candidates[kind].add(digestKey(digest))
        if (++listed % 4096 === 0) { throwIfAborted(signal); onProgress?.({ phase: 'list', objects: listed, bytes: 0 }) }
      }
    }
    await options.afterList?.()

    const marker = new Marker(store)
    marker.onMarked = (n) => { if (n % 4096 === 0) onProgress?.({ phase: 'mark', objects: n, bytes: 0 }) }
    for await (const root of allRoots(store, options.extraRoots)) marker.add(root.kind, root.digest)
    let seq = 0
    for (;;) {
      throwIfAborted(signal)
      const now = store.touchSeq
      for (const pinned of store.pinnedSince(seq)) marker.add(pinned.kind, pinned.digest)
      await marker.run(signal)
      seq = now
      const unmarked = function * (): Iterable<{ kind: ObjectKind, key: string }> {
        for (const kind of KINDS) for (const key of candidates[kind]) if (!marker.has(kind, key)) yield { kind, key }
      }
      if (store.condemn(seq, unmarked(), (kind, key) => kind === 'chunk' || marker.has(kind, key))) break
    }
    await options.beforeSweep?.()

    // Top down: a crash part way leaves no surviving snapshot or tree
    // whose chunks are gone before it is.
    const condemned = store.condemned()
    condemned.sort((a, b) => KINDS.indexOf(a.kind) - KINDS.indexOf(b.kind))
    const deleted = await store.deleteObjects(condemned, {
      onlyCondemned: true,
      onProgress: (d) => { throwIfAborted(signal); onProgress?.({ phase: 'sweep', objects: d.chunks + d.trees + d.snapshots, bytes: d.storedBytes }) }
    })
    store.pardon()
    await options.beforeRepack?.()
    throwIfAborted(signal)
    const packs = await store.reclaimPacks({
      ...(options.repackDeadFraction !== undefined ? { deadFraction: options.repackDeadFraction } : {}),
      onProgress: (p) => { onProgress?.({ phase: 'repack', objects: p.deleted + p.rewritten, bytes: p.bytesFreed }) }
    })
    if (options.compact !== false) await store.compact()
    return {
      kept: { chunks: candidates.chunk.size - deleted.chunks, trees: candidates.tree.size - deleted.trees, snapshots: candidates.snapshot.size - deleted.snapshots },
      deleted: { chunks: deleted.chunks, trees: deleted.trees, snapshots: deleted.snapshots },
      bytesFreed: deleted.storedBytes,
      packs
    }
  } finally {
    store.pardon()
    session.end()
  }
}
