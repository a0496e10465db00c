/**
 * Resolving paths inside a layered tree the way image tools extract layers
 * (umoci's and containerd's "secure join"): parent components that are
 * symlinks are followed, but always inside the rootfs: an absolute target
 * starts again at the rootfs root and `..` never climbs above it. So a layer
 * can never reach outside the rootfs, whatever links lower layers left.
 *
 * @module
 */
import { InvalidPathError } from '../errors.js'
import { joinPath, printable } from '../format/names.js'
import { type DirNode, IMPLICIT_DIR, LayeredTree, newDir } from './tree.js'

/** Symlinks followed while resolving one path before it counts as a loop (as Linux's ELOOP). */
export const MAX_SYMLINK_HOPS = 40

const DOT = 0x2e
const SLASH = 0x2f

function splitTarget (target: Uint8Array): Uint8Array[] {
  const out: Uint8Array[] = []
  let from = 0
  for (let i = 0; i <= target.length; i++) {
    if (i === target.length || target[i] === SLASH) {
      if (i > from) out.push(target.subarray(from, i))
      from = i + 1
    }
  }
  return out
}

const isDot = (c: Uint8Array): boolean => c.length === 1 && c[0] === DOT
const isDotDot = (c: Uint8Array): boolean => c.length === 2 && c[0] === DOT && c[1] === DOT

/**
 * The directory that holds the last component of `names`, following
 * symlinks in the parent components inside the rootfs. Missing directories
 * are created (with default attributes) when `create` is true; a parent that
 * is neither a directory nor a symlink is then replaced by a directory, as a
 * later layer's entry would have it. Without `create`, undefined is returned
 * where the path does not resolve.
 *
 * Throws {@link InvalidPathError} (`ERR_INVALID_PATH`) on a symlink loop.
 */
export function resolveParent (tree: LayeredTree, names: readonly Uint8Array[], create: boolean): DirNode | undefined {
  const stack: DirNode[] = [tree.root]
  const queue: Uint8Array[] = names.slice(0, -1)
  let hops = 0
  while (queue.length > 0) {
    const c = queue.shift()!
    if (c.length === 0 || isDot(c)) continue
    if (isDotDot(c)) {
      if (stack.length > 1) stack.pop()
      continue
    }
    const cur = stack[stack.length - 1]!
    const node = LayeredTree.child(cur, c)
    if (node?.kind === 'dir') { stack.push(node); continue }
    if (node?.kind === 'symlink') {
      if (++hops > MAX_SYMLINK_HOPS) throw new InvalidPathError(`too many symbolic links resolving ${printable(joinPath([...names]))} (a symlink loop?)`)
      const target = node.target
      if (target[0] === SLASH) stack.length = 1
      queue.unshift(...splitTarget(target))
      continue
    }
    if (!create) return undefined
    const made = newDir(IMPLICIT_DIR)
    LayeredTree.setChild(cur, c, made)
    stack.push(made)
  }
  return stack[stack.length - 1]!
}
