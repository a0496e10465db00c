/**
 * Paths of untrusted archives (OCI image layers), turned into components a
 * layer applier can join under its root without escaping it.
 *
 * The tar reader passes paths through exactly as stored; this is the one
 * place that decides what they mean.
 *
 * @module
 */
import { InvalidPathError } from '../errors.js'
import { describeBytes } from './path.js'

const SLASH = 0x2f
const DOT = 0x2e

/**
 * Split an archive path into its components, the way OCI layer appliers
 * (containerd, GNU tar) resolve member names relative to the root:
 *
 * - a leading `/` (or several) is removed: `/etc/passwd` is `etc/passwd`;
 * - empty components (`a//b`, a trailing `/`) and `.` components (`./a`,
 *   `a/./b`) are dropped;
 * - a path made only of `/` and `.` components (`.`, `./`, `/`) is the root
 *   and gives `[]`.
 *
 * Each component is a fresh copy of the bytes: non-empty, without `/` and
 * NUL, never `.` or `..`. Any other byte (non-UTF-8 included) is kept.
 *
 * @throws {@link InvalidPathError} (`ERR_INVALID_PATH`) when a component is
 *   `..` (the applier must not guess: `a/../b` is refused too, since `a`
 *   may be a symlink), the path is empty, or it holds a NUL byte
 */
export function normalizeLayerPath (path: Uint8Array): Uint8Array[] {
  if (!(path instanceof Uint8Array)) throw new InvalidPathError('an archive path must be a Uint8Array')
  if (path.length === 0) throw new InvalidPathError('an archive path is empty')
  if (path.includes(0)) throw new InvalidPathError(`archive path ${describeBytes(path)} contains a NUL byte`)
  const out: Uint8Array[] = []
  let start = 0
  while (start <= path.length) {
    let stop = path.indexOf(SLASH, start)
    if (stop === -1) stop = path.length
    const len = stop - start
    if (len === 2 && path[start] === DOT && path[start + 1] === DOT) {
      throw new InvalidPathError(`archive path ${describeBytes(path)} has a ".." component`)
    }
    if (len > 0 && !(len === 1 && path[start] === DOT)) out.push(path.slice(start, stop))
    start = stop + 1
  }
  return out
}
