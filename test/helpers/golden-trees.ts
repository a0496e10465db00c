/** The in-memory tree of golden vector G3 (docs/FORMAT.md §8). */
import { encodeTree } from '../../src/format/tree.js'
import { encodeSnapshot, DEFAULT_SNAPSHOT_PARAMS } from '../../src/format/snapshot.js'
import type { Entry } from '../../src/format/entry.js'
import { sha256 } from '../../src/hash/index.js'

const B = (s: string): Uint8Array => new Uint8Array(Buffer.from(s, 'latin1'))

/** G3: a small tree built in memory, every kind of entry, no filesystem involved. */
export function g3 (): { sub: ReturnType<typeof encodeTree>, root: ReturnType<typeof encodeTree>, snapshot: ReturnType<typeof encodeSnapshot> } {
  const attrs = { mode: 0o644, uid: 0, gid: 0, mtimeNs: 0n, xattrs: [] }
  const chunk = B('x'.repeat(100))
  const sub = encodeTree([
    { kind: 'file', name: B('big'), ...attrs, size: 100, content: [{ digest: sha256.digest(chunk), length: 100 }] },
    { kind: 'file', name: B('small'), ...attrs, xattrs: [[B('user.a'), B('1')], [B('user.b'), new Uint8Array([0, 255])]], size: 5, content: B('hello') }
  ] satisfies Entry[])
  const root = encodeTree([
    { kind: 'block', name: B('blk'), ...attrs, mode: 0o660, major: 7, minor: 0 },
    { kind: 'fifo', name: B('fifo'), ...attrs },
    { kind: 'hardlink', name: B('link'), path: B('sub/small') },
    { kind: 'char', name: B('null'), ...attrs, mode: 0o666, major: 1, minor: 3 },
    { kind: 'socket', name: B('sock'), ...attrs, mode: 0o755 },
    { kind: 'dir', name: B('sub'), ...attrs, mode: 0o755, uid: 1000, gid: 1000, mtimeNs: 1_700_000_000_123_456_789n, tree: sub.digest },
    { kind: 'symlink', name: B('up'), ...attrs, mode: 0o777, target: B('../etc/\xff') }
  ] satisfies Entry[])
  const snapshot = encodeSnapshot({ params: DEFAULT_SNAPSHOT_PARAMS, root: { mode: 0o755, uid: 0, gid: 0, mtimeNs: 0n, xattrs: [], tree: root.digest }, annotations: [] })
  return { sub, root, snapshot }
}

