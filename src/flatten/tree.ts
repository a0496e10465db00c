/**
 * A mutable in-memory rootfs that layers are applied to, then written as
 * canonical tree objects. Inodes are objects shared by every name that links
 * to them, so hard links survive renames and overwrites of other names
 * exactly as they do on a filesystem. Content is a placeholder until the
 * second pass fills it in (see `flatten.ts`).
 *
 * @module
 */
import { InvalidPathError, UnsortedEntriesError } from '../errors.js'
import type { ChunkRef, Entry, Xattr } from '../format/entry.js'
import { joinPath, printable } from '../format/names.js'
import { TreeBuilder } from '../format/tree.js'
import type { ObjectStore } from '../store/index.js'

/** Where a file's content comes from before it is stored. */
export interface PendingContent {
  /** Index of the layer (or source) holding the bytes. */
  layer: number
  /** Ordinal of the entry within that layer. */
  index: number
}

/** Attributes of an inode. */
export interface NodeAttrs {
  mode: number
  uid: number
  gid: number
  mtimeNs: bigint
  xattrs: Xattr[]
}

/** A non-directory inode. */
export type LeafInode = NodeAttrs & (
  | { kind: 'file', size: number, content: Uint8Array | readonly ChunkRef[] | PendingContent }
  | { kind: 'symlink', target: Uint8Array }
  | { kind: 'fifo' | 'socket' }
  | { kind: 'char' | 'block', major: number, minor: number }
)

/** A directory. Children are keyed by the latin1 form of their name bytes. */
export interface DirNode extends NodeAttrs {
  kind: 'dir'
  children: Map<string, DirNode | LeafInode>
}

/** Any node. */
export type TreeNode = DirNode | LeafInode

const key = (name: Uint8Array): string => Buffer.from(name.buffer, name.byteOffset, name.byteLength).toString('latin1')
const unkey = (k: string): Uint8Array => new Uint8Array(Buffer.from(k, 'latin1'))

/** A new empty directory. */
export function newDir (attrs: NodeAttrs): DirNode {
  return { kind: 'dir', ...attrs, children: new Map() }
}

/** Default attributes of a directory created implicitly (a parent missing from a layer). */
export const IMPLICIT_DIR: NodeAttrs = Object.freeze({ mode: 0o755, uid: 0, gid: 0, mtimeNs: 0n, xattrs: [] }) as NodeAttrs

/** The mutable tree. */
export class LayeredTree {
  root: DirNode

  constructor (root?: DirNode) {
    this.root = root ?? newDir(IMPLICIT_DIR)
  }

  /** The children map of a directory, by name bytes. */
  static child (dir: DirNode, name: Uint8Array): TreeNode | undefined {
    return dir.children.get(key(name))
  }

  /** Set or replace a child. */
  static setChild (dir: DirNode, name: Uint8Array, node: TreeNode): void {
    dir.children.set(key(name), node)
  }

  /** Remove a child; false if absent. */
  static deleteChild (dir: DirNode, name: Uint8Array): boolean {
    return dir.children.delete(key(name))
  }

  /** The node at `names` (the root for `[]`), or undefined. No symlink is followed. */
  get (names: readonly Uint8Array[]): TreeNode | undefined {
    let node: TreeNode = this.root
    for (const name of names) {
      if (node.kind !== 'dir') return undefined
      const next: TreeNode | undefined = node.children.get(key(name))
      if (next === undefined) return undefined
      node = next
    }
    return node
  }

  /** Every leaf inode reachable, once each (hard links share one). */
  * inodes (): Generator<LeafInode> {
    const seen = new Set<LeafInode>()
    const stack: DirNode[] = [this.root]
    while (stack.length > 0) {
      const dir = stack.pop()!
      for (const child of dir.children.values()) {
        if (child.kind === 'dir') stack.push(child)
        else if (!seen.has(child)) { seen.add(child); yield child }
      }
    }
  }
}

/** Figures about a written tree. */
export interface WrittenTree {
  /** Digest of the root tree. */
  tree: Uint8Array
  files: number
  logicalBytes: number
}

/**
 * Write the tree as canonical tree objects, bottom-up. Walks in canonical
 * order so the first name of each inode keeps it and later names become
 * hard links to it. Every file's content must be resolved by now.
 */
export async function writeLayeredTree (tree: LayeredTree, store: Pick<ObjectStore, 'putTree'>, inlineMax: number): Promise<WrittenTree> {
  const firstPath = new Map<LeafInode, Uint8Array>()
  const totals = { files: 0, logicalBytes: 0 }
  const visit = async (dir: DirNode, names: Uint8Array[]): Promise<Uint8Array> => {
    const builder = new TreeBuilder({ inlineMax })
    const sorted = [...dir.children.entries()].map(([k, node]) => [unkey(k), node] as const)
      .sort((a, b) => Buffer.compare(a[0], b[0]))
    for (const [name, node] of sorted) {
      const childNames = [...names, name]
      totals.files++
      let entry: Entry
      if (node.kind === 'dir') {
        const sub = await visit(node, childNames)
        entry = { kind: 'dir', name, mode: node.mode, uid: node.uid, gid: node.gid, mtimeNs: node.mtimeNs, xattrs: node.xattrs, tree: sub }
      } else {
        const first = firstPath.get(node)
        if (first !== undefined) {
          entry = { kind: 'hardlink', name, path: first }
        } else {
          firstPath.set(node, joinPath(childNames))
          entry = leafEntry(name, node, childNames)
          if (node.kind === 'file') totals.logicalBytes += node.size
        }
      }
      try {
        builder.add(entry)
      } catch (err) {
        if (err instanceof UnsortedEntriesError) throw new InvalidPathError(`duplicate name in layered tree: ${printable(joinPath(childNames))}`, { cause: err })
        throw err
      }
    }
    const encoded = builder.build()
    await store.putTree(encoded.digest, encoded.bytes)
    return encoded.digest
  }
  const digest = await visit(tree.root, [])
  return { tree: digest, ...totals }
}

function leafEntry (name: Uint8Array, node: LeafInode, names: Uint8Array[]): Entry {
  const attrs = { mode: node.mode, uid: node.uid, gid: node.gid, mtimeNs: node.mtimeNs, xattrs: node.xattrs }
  switch (node.kind) {
    case 'file': {
      const c = node.content
      if (!(c instanceof Uint8Array) && !Array.isArray(c)) throw new Error(`content of ${printable(joinPath(names))} was never stored`)
      return { kind: 'file', name, ...attrs, size: node.size, content: c as Uint8Array | readonly ChunkRef[] }
    }
    case 'symlink': return { kind: 'symlink', name, ...attrs, target: node.target }
    case 'fifo': case 'socket': return { kind: node.kind, name, ...attrs }
    case 'char': case 'block': return { kind: node.kind, name, ...attrs, major: node.major, minor: node.minor }
  }
}
