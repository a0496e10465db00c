/**
 * The closure of a local snapshot, as a push needs it: every tree it
 * reaches (once each) and its chunks in walk order (docs/FORMAT.md
 * §11.4: depth first, pre-order, each chunk at its first occurrence).
 *
 * @module
 */
import { isHole, type Entry } from '../format/entry.js'
import type { Snapshot } from '../format/snapshot.js'
import { SnapshotReader } from '../exporter/snapshot-reader.js'
import { decodeTree } from '../format/tree.js'
import { digestToBytes } from '../hash/digest.js'
import { throwIfAborted } from '../errors.js'
import type { ChunkReader, MetadataReader, RefReader } from '../store/index.js'
import { digestKey } from './metadata.js'

/** A chunk as a push packs it. */
export interface ClosureChunk {
  digest: Uint8Array
  length: number
}

/** A snapshot and everything it reaches. */
export interface SnapshotClosure {
  snapshot: { bytes: Uint8Array, digest: Uint8Array, decoded: Snapshot }
  /** Every tree reached, once, in walk order. */
  trees: Array<{ digest: Uint8Array, bytes: Uint8Array }>
  /** Every chunk reached, once, in walk order. */
  chunks: ClosureChunk[]
}

/** Trees asked for at once while walking. */
const TREE_PREFETCH = 64

/** Read a snapshot (by ref name or digest) and walk its closure from `store`. */
export async function readClosure (store: MetadataReader & ChunkReader & Pick<RefReader, 'getRef'>, nameOrDigest: string, signal?: AbortSignal): Promise<SnapshotClosure> {
  const reader = await SnapshotReader.open(store, nameOrDigest)
  const digest = digestToBytes(reader.digest)
  const bytes = await store.getSnapshot(digest)
  const decoded = reader.snapshot
  const inlineMax = decoded.params.inlineMax
  const trees: SnapshotClosure['trees'] = []
  const chunks: ClosureChunk[] = []
  const seenTrees = new Set<string>()
  const seenChunks = new Set<string>()
  // Trees are fetched ahead of the walk, a bounded number at a time.
  const pending = new Map<string, Promise<Uint8Array>>()
  const fetchTree = (d: Uint8Array): Promise<Uint8Array> => {
    const key = digestKey(d)
    let p = pending.get(key)
    if (p === undefined) {
      p = store.getTree(d)
      p.catch(() => {})
      pending.set(key, p)
    }
    return p
  }
  const visit = async (tree: Uint8Array): Promise<void> => {
    throwIfAborted(signal)
    const key = digestKey(tree)
    if (seenTrees.has(key)) return
    seenTrees.add(key)
    const treeBytes = await fetchTree(tree)
    pending.delete(key)
    trees.push({ digest: tree, bytes: treeBytes })
    const entries: Entry[] = decodeTree(treeBytes, { inlineMax })
    let ahead = 0
    for (const e of entries) {
      if (e.kind === 'dir' && !seenTrees.has(digestKey(e.tree)) && ahead++ < TREE_PREFETCH) fetchTree(e.tree)
    }
    for (const e of entries) {
      if (e.kind === 'dir') { await visit(e.tree); continue }
      if (e.kind !== 'file' || e.content instanceof Uint8Array) continue
      for (const c of e.content) {
        if (isHole(c)) continue
        const ck = digestKey(c.digest)
        if (seenChunks.has(ck)) continue
        seenChunks.add(ck)
        chunks.push({ digest: c.digest, length: c.length })
      }
    }
  }
  await visit(decoded.root.tree)
  return { snapshot: { bytes, digest, decoded }, trees, chunks }
}
