/**
 * Flattening a stack of layers into one snapshot root, in two passes:
 *
 * 1. **Scan**: read every layer's headers (content skipped) and apply them
 *    to a {@link LayeredTree}; verify each layer's uncompressed digest
 *    against its `diff_id` when one is given.
 * 2. **Store**: read again only the layers that hold content surviving in the
 *    final tree, and store only those files' content.
 *
 * So files deleted or overwritten by a later layer are never chunked,
 * hashed or stored. Then the tree is written bottom-up in canonical form.
 *
 * @module
 */
import { IntegrityError, LimitExceededError, throwIfAborted } from '../errors.js'
import type { SnapshotParams, SnapshotRoot } from '../format/snapshot.js'
import { type Digest, digestToString } from '../hash/digest.js'
import { sha256 } from '../hash/index.js'
import type { MtimePolicy } from '../format/mtime.js'
import { storeContent } from '../content/file-content.js'
import type { ObjectStore } from '../store/index.js'
import { readTar, type TarReadEntry } from '../tar/reader.js'
import { applyLayer, type LayerEntryHeader } from './apply.js'
import { type LeafInode, LayeredTree, writeLayeredTree } from './tree.js'

/** One layer as flattening sees it. */
export interface LayerStream {
  /** A fresh stream of the layer's uncompressed tar (called once per pass). */
  open (): AsyncIterable<Uint8Array>
  /** The expected sha256 of the uncompressed tar (the config's diff_id), checked in the scan pass. */
  diffId?: Digest
  /** A name for messages (for example the blob digest). */
  label: string
}

/** Progress of a flatten. */
export interface FlattenProgress {
  phase: 'scan' | 'store'
  /** Layer being read (0-based) and how many there are. */
  layer: number
  layers: number
  /** Entries seen (scan) or files stored (store). */
  files: number
  /** Bytes of file content stored so far. */
  bytes: number
}

/** Options for {@link flattenLayers}. */
export interface FlattenOptions {
  params: SnapshotParams
  /** The tree to apply the layers on (default: an empty rootfs). */
  base?: LayeredTree
  mtime?: MtimePolicy
  /** Tar reader limits passed through: largest extended header, largest file. */
  maxHeaderSize?: number
  maxEntrySize?: number
  /** Most tar entries over all layers (each costs a few KiB of memory until the tree is written). Default {@link DEFAULT_MAX_LAYER_ENTRIES}. */
  maxEntries?: number
  /** Most path components of an entry (trees are written recursively). Default {@link DEFAULT_MAX_PATH_DEPTH}. */
  maxDepth?: number
  signal?: AbortSignal
  onProgress?: (p: FlattenProgress) => void
  onWarning?: (message: string) => void
}

/** Default {@link FlattenOptions.maxEntries}: 500,000 entries (about 2 GiB of memory while flattening). */
export const DEFAULT_MAX_LAYER_ENTRIES = 500_000
/** Default {@link FlattenOptions.maxDepth}: 1024 path components (Linux paths cannot go deeper than 2048). */
export const DEFAULT_MAX_PATH_DEPTH = 1024

/** What flattening produced. */
export interface FlattenResult {
  root: SnapshotRoot
  files: number
  logicalBytes: number
  newChunks: number
  newBytes: number
  /** Files whose content was never stored because a later layer removed or replaced them. */
  skippedFiles: number
}

type FlattenStore = Pick<ObjectStore, 'putChunk' | 'putTree'>

/** Path components of a tar path (empty and `.` components not counted). */
function pathDepth (path: Uint8Array): number {
  let depth = 0
  let start = 0
  for (let i = 0; i <= path.length; i++) {
    if (i === path.length || path[i] === 0x2f) {
      const len = i - start
      if (len > 0 && !(len === 1 && path[start] === 0x2e)) depth++
      start = i + 1
    }
  }
  return depth
}

function headerOf (e: TarReadEntry, index: number): LayerEntryHeader {
  return {
    index,
    path: e.path,
    type: e.type,
    mode: e.mode,
    uid: e.uid,
    gid: e.gid,
    mtimeNs: e.mtimeNs,
    size: e.size,
    ...(e.linkname !== undefined ? { linkname: e.linkname } : {}),
    ...(e.devmajor !== undefined ? { devmajor: e.devmajor } : {}),
    ...(e.devminor !== undefined ? { devminor: e.devminor } : {}),
    xattrs: e.xattrs
  }
}

/**
 * Run `consume` on the tar entries of `source`. The tar reader reads the
 * source to its end (`readToEnd`), so the source's own verification runs
 * and, with `hash`, the whole stream is hashed, padding included.
 */
async function withWholeStream (source: AsyncIterable<Uint8Array>, hash: ReturnType<typeof sha256.create> | undefined, limits: { maxHeaderSize?: number, maxEntrySize?: number }, signal: AbortSignal | undefined, consume: (entries: AsyncIterable<TarReadEntry>) => Promise<void>): Promise<void> {
  const hashed = hash === undefined
    ? source
    : (async function * () { for await (const piece of source) { hash.update(piece); yield piece } })()
  await consume(readTar(hashed, { ...limits, readToEnd: true, ...(signal !== undefined ? { signal } : {}) }))
}

/** Flatten `layers` (bottom first) into a root tree stored in `store`. */
export async function flattenLayers (store: FlattenStore, layers: readonly LayerStream[], options: FlattenOptions): Promise<FlattenResult> {
  const { params, signal, onProgress, onWarning } = options
  const tree = options.base ?? new LayeredTree()
  const limits = {
    ...(options.maxHeaderSize !== undefined ? { maxHeaderSize: options.maxHeaderSize } : {}),
    ...(options.maxEntrySize !== undefined ? { maxEntrySize: options.maxEntrySize } : {})
  }
  let scanned = 0
  let filesInLayers = 0
  const maxEntries = options.maxEntries ?? DEFAULT_MAX_LAYER_ENTRIES
  const maxDepth = options.maxDepth ?? DEFAULT_MAX_PATH_DEPTH

  // Pass 1: headers only.
  for (let i = 0; i < layers.length; i++) {
    throwIfAborted(signal)
    const layer = layers[i]!
    const headers: LayerEntryHeader[] = []
    const hash = layer.diffId !== undefined ? sha256.create() : undefined
    await withWholeStream(layer.open(), hash, limits, signal, async (entries) => {
      for await (const e of entries) {
        if (scanned >= maxEntries) throw new LimitExceededError(`layer ${layer.label}: more than ${maxEntries} entries in the layers (option maxEntries)`)
        if (pathDepth(e.path) > maxDepth) throw new LimitExceededError(`layer ${layer.label}: an entry is more than ${maxDepth} directories deep (option maxDepth)`)
        headers.push(headerOf(e, headers.length))
        if (e.type === 'file' || e.type === 'contiguous') filesInLayers++
        if (++scanned % 256 === 0) onProgress?.({ phase: 'scan', layer: i, layers: layers.length, files: scanned, bytes: 0 })
      }
    })
    if (hash !== undefined) {
      const actual = digestToString(hash.digest())
      if (actual !== layer.diffId) throw new IntegrityError(`layer ${layer.label}: its uncompressed content hashes to ${actual}, the image config says ${layer.diffId}`)
    }
    applyLayer(tree, i, headers, { ...(options.mtime !== undefined ? { mtime: options.mtime } : {}), ...(onWarning !== undefined ? { onWarning } : {}) })
  }

  // Which layer entries still hold content in the final tree.
  const needed = new Map<number, Map<number, LeafInode & { kind: 'file' }>>()
  for (const inode of tree.inodes()) {
    if (inode.kind !== 'file') continue
    const c = inode.content
    if (c instanceof Uint8Array || Array.isArray(c)) continue
    const pending = c as { layer: number, index: number }
    let m = needed.get(pending.layer)
    if (m === undefined) { m = new Map(); needed.set(pending.layer, m) }
    m.set(pending.index, inode)
  }

  // Pass 2: store what survives.
  const totals = { newChunks: 0, newBytes: 0, stored: 0, bytes: 0 }
  for (let i = 0; i < layers.length; i++) {
    const wanted = needed.get(i)
    if (wanted === undefined) continue
    throwIfAborted(signal)
    let index = 0
    await withWholeStream(layers[i]!.open(), undefined, limits, signal, async (entries) => {
      for await (const e of entries) {
        const inode = wanted.get(index++)
        if (inode === undefined) continue
        const stored = await storeContent(e.content, {
          store,
          params,
          ...(signal !== undefined ? { signal } : {}),
          // One big file must not freeze the figures: report as its bytes are stored.
          onBytes: (n) => { totals.bytes += n; onProgress?.({ phase: 'store', layer: i, layers: layers.length, files: totals.stored, bytes: totals.bytes }) }
        })
        if (stored.size !== inode.size) throw new IntegrityError(`layer ${layers[i]!.label}: entry ${index - 1} changed size between passes`)
        inode.content = stored.content
        totals.newChunks += stored.newChunks
        totals.newBytes += stored.newBytes
        totals.stored++
        onProgress?.({ phase: 'store', layer: i, layers: layers.length, files: totals.stored, bytes: totals.bytes })
      }
    })
    if (index === 0 && wanted.size > 0) throw new IntegrityError(`layer ${layers[i]!.label} had no entries on its second read`)
  }

  const written = await writeLayeredTree(tree, store, params.inlineMax)
  const r = tree.root
  return {
    root: { mode: r.mode, uid: r.uid, gid: r.gid, mtimeNs: r.mtimeNs, xattrs: r.xattrs, tree: written.tree },
    files: written.files,
    logicalBytes: written.logicalBytes,
    newChunks: totals.newChunks,
    newBytes: totals.newBytes,
    skippedFiles: filesInLayers - totals.stored
  }
}
