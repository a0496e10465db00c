/**
 * What a local store lacks of a remote snapshot (docs/FORMAT.md §11.5,
 * pull step 2): the trees walked from the root, skipping every tree the
 * store has (its closure is there), in the order they must be written
 * (children before parents), and the chunks of those trees the store
 * lacks. Also the figures of a ref record, from the metadata's trees.
 *
 * @module
 */
import { LimitExceededError, throwIfAborted } from '../errors.js'
import { isHole, type Entry } from '../format/entry.js'
import type { ObjectPresence } from '../store/index.js'
import { hasEncodedChunkWrites } from '../store/capability-guards.js'
import { digestKey, type SnapshotMetadata } from './metadata.js'

/** What a store lacks. */
export interface MissingObjects {
  /** Trees to write, children before parents. */
  trees: Array<{ digest: Uint8Array, bytes: Uint8Array }>
  /** Chunks to fetch, each once. */
  chunks: Uint8Array[]
  /** Their lengths, decoded, summed. */
  chunkBytes: number
}

/** Presence lookups in flight at once. */
const LOOKUP_BATCH = 512

/** The decoded entries of a tree of the metadata (decoded and checked with it). */
export function entriesOf (metadata: SnapshotMetadata, digest: Uint8Array): Entry[] {
  return metadata.trees.get(digestKey(digest))!.entries
}

/** Walk `metadata` against `store`. */
export async function findMissing (store: ObjectPresence, metadata: SnapshotMetadata, signal?: AbortSignal): Promise<MissingObjects> {
  const trees: MissingObjects['trees'] = []
  // Subtrees are visited at once, so that the store's presence checks of
  // one level coalesce into one lookup (a sequential walk made one per
  // tree). A tree reached twice is awaited, not skipped: a parent goes into
  // `trees` only after every child has.
  const visited = new Map<string, Promise<void>>()
  const candidates = new Map<string, { digest: Uint8Array, length: number }>()
  const visit = async (digest: Uint8Array): Promise<void> => {
    throwIfAborted(signal)
    const key = digestKey(digest)
    let visiting = visited.get(key)
    if (visiting === undefined) {
      visiting = walk(key, digest)
      visited.set(key, visiting)
    }
    await visiting
  }
  const walk = async (key: string, digest: Uint8Array): Promise<void> => {
    if (await store.hasTree(digest)) return
    const entries = entriesOf(metadata, digest)
    const children: Array<Promise<void>> = []
    for (const e of entries) {
      if (e.kind === 'dir') children.push(visit(e.tree))
      else if (e.kind === 'file' && !(e.content instanceof Uint8Array)) {
        for (const c of e.content) if (!isHole(c)) candidates.set(digestKey(c.digest), c)
      }
    }
    await Promise.all(children)
    const tree = metadata.trees.get(key)!
    trees.push({ digest: tree.digest, bytes: tree.bytes })
  }
  await visit(metadata.decoded.root.tree)
  const chunks: Uint8Array[] = []
  let chunkBytes = 0
  const list = [...candidates.values()]
  // The store's Bloom filter answers "certainly absent" without a lookup
  // (every chunk of a pull into an empty store).
  const filter = hasEncodedChunkWrites(store) ? await store.chunkFilter() : undefined
  for (let i = 0; i < list.length; i += LOOKUP_BATCH) {
    throwIfAborted(signal)
    const batch = list.slice(i, i + LOOKUP_BATCH)
    const present = await Promise.all(batch.map(async (c) => filter !== undefined && !filter.mayHave(c.digest) ? false : await store.hasChunk(c.digest)))
    batch.forEach((c, j) => { if (!present[j]!) { chunks.push(c.digest); chunkBytes += c.length } })
  }
  return { trees, chunks, chunkBytes }
}

/** The figures of a ref record: entries below the root and the sum of regular-file sizes (each tree counted once per path, memoized). */
export function snapshotFigures (metadata: SnapshotMetadata): { files: number, logicalBytes: number } {
  const memo = new Map<string, { files: number, logicalBytes: number }>()
  const figures = (digest: Uint8Array): { files: number, logicalBytes: number } => {
    const key = digestKey(digest)
    const hit = memo.get(key)
    if (hit !== undefined) return hit
    let files = 0
    let logicalBytes = 0
    for (const e of entriesOf(metadata, digest)) {
      files++
      if (e.kind === 'file') logicalBytes += e.size
      if (e.kind === 'dir') {
        const sub = figures(e.tree)
        files += sub.files
        logicalBytes += sub.logicalBytes
      }
    }
    if (!Number.isSafeInteger(files) || !Number.isSafeInteger(logicalBytes)) throw new LimitExceededError('the snapshot has more entries or bytes than can be counted (trees repeated beyond reason)')
    const out = { files, logicalBytes }
    memo.set(key, out)
    return out
  }
  return figures(metadata.decoded.root.tree)
}
