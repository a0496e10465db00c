/**
 * Applying one layer's headers to a {@link LayeredTree}, with OCI semantics:
 *
 * 1. the layer's opaque markers, then its whiteouts, act on what the layers
 *    below left (so they never hide an entry of the same layer, whatever the
 *    order inside the tar);
 * 2. then its entries, in archive order: a later entry for a path replaces an
 *    earlier one; a directory entry over an existing directory only updates
 *    its attributes; a hard link shares the inode its target has at that
 *    moment, which may come from a lower layer.
 *
 * Paths are normalized (leading `/` and `./` dropped, `.` components
 * removed) and `..` is rejected; parent symlinks resolve inside the rootfs.
 * Whiteout files never appear in the result. File content is recorded as a
 * placeholder ({@link PendingContent}) for the second pass.
 *
 * @module
 */
import { InvalidPathError } from '../errors.js'
import { joinPath, nameProblem, printable } from '../format/names.js'
import { type MtimePolicy, normalizeMtime } from '../format/mtime.js'
import { normalizeLayerPath } from '../tar/layer-path.js'
import type { TarReadEntry } from '../tar/reader.js'
import { resolveParent } from './resolve.js'
import { type LeafInode, LayeredTree, newDir, type NodeAttrs } from './tree.js'
import { classifyWhiteout } from './whiteout.js'

/** The header fields of a layer entry that application needs, and its ordinal in its layer. */
export type LayerEntryHeader = Pick<TarReadEntry, 'path' | 'type' | 'mode' | 'uid' | 'gid' | 'mtimeNs' | 'size' | 'linkname' | 'xattrs'> &
  Partial<Pick<TarReadEntry, 'devmajor' | 'devminor'>> & {
  /** Ordinal of the entry in its layer (counting every header that yields an entry). */
  index: number
}

/** Options for {@link applyLayer}. */
export interface ApplyLayerOptions {
  mtime?: MtimePolicy
  onWarning?: (message: string) => void
}

/** Counts of what a layer did. */
export interface ApplyLayerStats {
  entries: number
  whiteouts: number
  opaques: number
}

/**
 * Split a layer entry path into names ({@link normalizeLayerPath}: leading
 * `/`, `./` and `.` components dropped, the root is `[]`, `..` refused),
 * also refusing names longer than 255 bytes, with `ERR_INVALID_PATH`.
 */
export function layerPathNames (path: Uint8Array): Uint8Array[] {
  const names = normalizeLayerPath(path)
  for (const n of names) {
    const problem = nameProblem(n)
    if (problem !== undefined) throw new InvalidPathError(`layer entry path ${printable(path)}: ${problem}`)
  }
  return names
}

function sortedXattrs (x: LayerEntryHeader['xattrs']): Array<[Uint8Array, Uint8Array]> {
  return [...x].map(([k, v]) => [k, v] as [Uint8Array, Uint8Array]).sort((a, b) => Buffer.compare(a[0], b[0]))
}

/** Apply one layer's entry headers to `tree`. `layer` numbers the layer (for content placeholders). */
export function applyLayer (tree: LayeredTree, layer: number, headers: readonly LayerEntryHeader[], options: ApplyLayerOptions = {}): ApplyLayerStats {
  const stats: ApplyLayerStats = { entries: 0, whiteouts: 0, opaques: 0 }
  const policy = options.mtime ?? 'keep'
  const parsed = headers.map((h) => ({ h, names: layerPathNames(h.path) }))

  // 1. Opaque markers, then whiteouts: they act on the layers below only.
  for (const { names } of parsed) {
    const last = names[names.length - 1]
    if (last === undefined || classifyWhiteout(last).kind !== 'opaque') continue
    const dir = resolveParent(tree, names, true)!
    for (const k of [...dir.children.keys()]) dir.children.delete(k)
    stats.opaques++
  }
  for (const { names } of parsed) {
    const last = names[names.length - 1]
    if (last === undefined) continue
    const w = classifyWhiteout(last)
    if (w.kind !== 'whiteout') continue
    if (nameProblem(w.target) !== undefined) throw new InvalidPathError(`whiteout ${printable(joinPath(names))} names an invalid path`)
    const dir = resolveParent(tree, names, false)
    if (dir !== undefined) LayeredTree.deleteChild(dir, w.target)
    stats.whiteouts++
  }

  // 2. Entries in archive order.
  for (const { h, names } of parsed) {
    const last = names[names.length - 1]
    if (last !== undefined) {
      const w = classifyWhiteout(last)
      if (w.kind === 'opaque' || w.kind === 'whiteout') continue
      if (w.kind === 'meta') { options.onWarning?.(`ignored AUFS metadata entry ${printable(h.path)}`); continue }
    }
    stats.entries++
    const attrs: NodeAttrs = {
      mode: h.mode & 0o7777,
      uid: h.uid,
      gid: h.gid,
      mtimeNs: normalizeMtime(h.mtimeNs, policy),
      xattrs: sortedXattrs(h.xattrs)
    }
    if (names.length === 0) {
      if (h.type !== 'directory') throw new InvalidPathError(`layer entry ${printable(h.path)} names the root but is a ${h.type}`)
      Object.assign(tree.root, attrs)
      continue
    }
    const parent = resolveParent(tree, names, true)!
    const name = last!
    if (h.type === 'directory') {
      const existing = LayeredTree.child(parent, name)
      if (existing?.kind === 'dir') Object.assign(existing, attrs)
      else LayeredTree.setChild(parent, name, newDir(attrs))
      continue
    }
    if (h.type === 'hardlink') {
      const target = h.linkname ?? new Uint8Array(0)
      const targetNames = layerPathNames(target)
      const targetDir = targetNames.length === 0 ? undefined : resolveParent(tree, targetNames, false)
      const inode = targetDir === undefined ? undefined : LayeredTree.child(targetDir, targetNames[targetNames.length - 1]!)
      if (inode === undefined || inode.kind === 'dir') {
        throw new InvalidPathError(`hard link ${printable(h.path)} points at ${printable(target)}, which is ${inode === undefined ? 'not in the rootfs' : 'a directory'}`)
      }
      LayeredTree.setChild(parent, name, inode)
      continue
    }
    let inode: LeafInode
    switch (h.type) {
      case 'file':
      case 'contiguous':
        inode = { kind: 'file', ...attrs, size: h.size, content: { layer, index: h.index } }
        break
      case 'symlink':
        if (h.linkname === undefined || h.linkname.length === 0) throw new InvalidPathError(`symlink ${printable(h.path)} has an empty target`)
        inode = { kind: 'symlink', ...attrs, target: h.linkname }
        break
      case 'fifo':
        inode = { kind: 'fifo', ...attrs }
        break
      case 'char':
      case 'block':
        inode = { kind: h.type, ...attrs, major: h.devmajor ?? 0, minor: h.devminor ?? 0 }
        break
    }
    LayeredTree.setChild(parent, name, inode)
  }
  return stats
}
