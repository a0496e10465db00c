/**
 * Loading a stored snapshot into a {@link LayeredTree}, so layers can be
 * applied on top of it (`import tar:LAYER --base NAME`). File content stays
 * as the stored chunk lists; hard links become shared inode objects again.
 *
 * @module
 */
import { NonCanonicalError } from '../errors.js'
import { printable } from '../format/names.js'
import type { SnapshotReader } from '../exporter/snapshot-reader.js'
import { type DirNode, type LeafInode, LayeredTree, newDir } from './tree.js'

/** Build a layered tree holding the whole snapshot. */
export async function loadSnapshotTree (reader: SnapshotReader, options: { signal?: AbortSignal } = {}): Promise<LayeredTree> {
  const r = reader.snapshot.root
  const tree = new LayeredTree(newDir({ mode: r.mode, uid: r.uid, gid: r.gid, mtimeNs: r.mtimeNs, xattrs: [...r.xattrs] }))
  const byPath = new Map<string, LeafInode>()
  const dirs = new Map<string, DirNode>([['', tree.root]])
  for await (const { names, path, entry } of reader.walk(options)) {
    const parentKey = Buffer.from(path.subarray(0, Math.max(0, path.length - entry.name.length - 1))).toString('latin1')
    const parent = dirs.get(names.length === 1 ? '' : parentKey)
    if (parent === undefined) throw new NonCanonicalError(`parent of ${printable(path)} missing while loading the snapshot`)
    if (entry.kind === 'hardlink') {
      const inode = byPath.get(Buffer.from(entry.path).toString('latin1'))
      if (inode === undefined) throw new NonCanonicalError(`hard link ${printable(path)} points at a missing entry`)
      LayeredTree.setChild(parent, entry.name, inode)
      continue
    }
    const attrs = { mode: entry.mode, uid: entry.uid, gid: entry.gid, mtimeNs: entry.mtimeNs, xattrs: [...entry.xattrs] }
    if (entry.kind === 'dir') {
      const dir = newDir(attrs)
      LayeredTree.setChild(parent, entry.name, dir)
      dirs.set(Buffer.from(path).toString('latin1'), dir)
      continue
    }
    let inode: LeafInode
    switch (entry.kind) {
      case 'file': inode = { kind: 'file', ...attrs, size: entry.size, content: entry.content }; break
      case 'symlink': inode = { kind: 'symlink', ...attrs, target: entry.target }; break
      case 'fifo': case 'socket': inode = { kind: entry.kind, ...attrs }; break
      case 'char': case 'block': inode = { kind: entry.kind, ...attrs, major: entry.major, minor: entry.minor }; break
    }
    byPath.set(Buffer.from(path).toString('latin1'), inode)
    LayeredTree.setChild(parent, entry.name, inode)
  }
  return tree
}
