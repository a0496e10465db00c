/**
 * A declarative rootfs used by the golden vectors and the round-trip tests:
 * every kind of inode, odd names, hard-link groups, xattrs, special modes,
 * owners other than 0, empty and multi-MiB files.
 */
import { chmod, lchown, link, lutimes, mkdir, symlink, utimes, writeFile } from 'node:fs/promises'
import { execFileSync } from 'node:child_process'

/** One node of the fixture. Paths are raw bytes given as latin1 strings. */
export type FixtureNode =
  | { kind: 'dir', path: string, mode: number, uid?: number, gid?: number, xattrs?: Array<[string, Buffer]> }
  | { kind: 'file', path: string, mode: number, content: Buffer, uid?: number, gid?: number, xattrs?: Array<[string, Buffer]> }
  | { kind: 'symlink', path: string, target: string, uid?: number, gid?: number }
  | { kind: 'hardlink', path: string, to: string }
  | { kind: 'fifo', path: string, mode: number }
  | { kind: 'char' | 'block', path: string, mode: number, major: number, minor: number }

/** Deterministic pseudo-random bytes (LCG), for large files. */
export function lcgBytes (n: number, seed = 1): Buffer {
  const out = Buffer.alloc(n)
  let x = seed >>> 0
  for (let i = 0; i < n; i++) {
    x = (Math.imul(x, 1103515245) + 12345) & 0x7fffffff
    out[i] = (x >>> 16) & 0xff
  }
  return out
}

const big = lcgBytes(3 * 1024 * 1024 + 12345, 7)

/** The fixture. Order here is not the canonical order on purpose. */
export const FIXTURE: FixtureNode[] = [
  { kind: 'dir', path: 'usr', mode: 0o755 },
  { kind: 'dir', path: 'usr/bin', mode: 0o755 },
  { kind: 'file', path: 'usr/bin/tool', mode: 0o4755, content: Buffer.from('#!/bin/sh\necho setuid tool\n') },
  { kind: 'file', path: 'usr/bin/big.bin', mode: 0o644, content: big, xattrs: [['user.checksum', Buffer.from('sha256')], ['user.bin', Buffer.from([0, 1, 2, 255])]] },
  { kind: 'hardlink', path: 'usr/bin/big-link', to: 'usr/bin/big.bin' },
  { kind: 'symlink', path: 'usr/bin/sh', target: '/bin/busybox' },
  { kind: 'symlink', path: 'usr/bin/up', target: '../../etc/passwd' },
  { kind: 'dir', path: 'tmp', mode: 0o1777 },
  { kind: 'dir', path: 'empty', mode: 0o700, uid: 1234, gid: 5678 },
  { kind: 'dir', path: 'etc', mode: 0o755, xattrs: [['user.dir', Buffer.from('yes')]] },
  { kind: 'file', path: 'etc/passwd', mode: 0o644, content: Buffer.from('root:x:0:0:root:/root:/bin/sh\n') },
  { kind: 'file', path: 'etc/shadow', mode: 0o640, gid: 42, content: Buffer.from('root:*:19000:0:99999:7:::\n') },
  { kind: 'file', path: 'etc/empty', mode: 0o644, content: Buffer.alloc(0) },
  { kind: 'file', path: 'etc/sgid', mode: 0o2755, uid: 1000, gid: 1000, content: Buffer.from('x'.repeat(200)) },
  { kind: 'hardlink', path: 'etc/passwd-link', to: 'etc/passwd' },
  { kind: 'hardlink', path: 'etc/another passwd link', to: 'etc/passwd' },
  { kind: 'dir', path: 'names', mode: 0o755 },
  { kind: 'file', path: 'names/with space', mode: 0o644, content: Buffer.from('space') },
  { kind: 'file', path: 'names/new\nline', mode: 0o644, content: Buffer.from('newline') },
  { kind: 'file', path: 'names/latin1-\xff\xfe', mode: 0o644, content: Buffer.from('not utf-8') },
  { kind: 'file', path: 'names/back\\slash', mode: 0o600, content: Buffer.from('backslash') },
  { kind: 'file', path: 'names/\u00e9t\u00e9', mode: 0o644, content: Buffer.from('utf-8 name') },
  { kind: 'file', path: 'names/dup-content', mode: 0o644, content: big.subarray(0, 1024 * 1024) },
  { kind: 'dir', path: 'dev', mode: 0o755 },
  { kind: 'fifo', path: 'dev/fifo', mode: 0o644 },
  { kind: 'char', path: 'dev/null', mode: 0o666, major: 1, minor: 3 },
  { kind: 'block', path: 'dev/loop0', mode: 0o660, major: 7, minor: 0 }
]

const B = (s: string): Buffer => Buffer.from(s, 'latin1')

/**
 * Create the fixture below `root` (which must exist), in `order` (default:
 * the order above). Every mtime is set to `mtimeSec`. Needs root for owners
 * and device nodes.
 */
export async function materialize (root: string, options: { order?: FixtureNode[], mtimeSec?: number } = {}): Promise<void> {
  const nodes = options.order ?? FIXTURE
  const abs = (p: string): Buffer => Buffer.concat([B(root), B('/'), B(p)])
  // Parents first whatever the order: create directories before what is in them.
  const dirs = nodes.filter((n) => n.kind === 'dir').sort((a, b) => a.path.split('/').length - b.path.split('/').length)
  for (const d of dirs) await mkdir(abs(d.path), { recursive: true })
  const rest = nodes.filter((n) => n.kind !== 'dir' && n.kind !== 'hardlink')
  for (const n of rest) {
    switch (n.kind) {
      case 'file': await writeFile(abs(n.path), n.content); break
      case 'symlink': await symlink(B(n.target), abs(n.path)); break
      case 'fifo': execFileSync('mkfifo', [abs(n.path).toString('latin1')].map((s) => Buffer.from(s, 'latin1').toString())); break
      case 'char': case 'block': execFileSync('mknod', [abs(n.path).toString(), n.kind === 'char' ? 'c' : 'b', String(n.major), String(n.minor)]); break
    }
  }
  for (const n of nodes) if (n.kind === 'hardlink') await link(abs(n.to), abs(n.path))
  const t = options.mtimeSec ?? 1_700_000_000
  for (const n of [...nodes].reverse()) {
    if (n.kind === 'hardlink') continue
    const p = abs(n.path)
    const uid = 'uid' in n && n.uid !== undefined ? n.uid : 0
    const gid = 'gid' in n && n.gid !== undefined ? n.gid : 0
    await lchown(p, uid, gid)
    if (n.kind !== 'symlink') await chmod(p, n.mode)
    if ('xattrs' in n && n.xattrs !== undefined) {
      for (const [k, v] of n.xattrs) execFileSync('setfattr', ['-n', k, '-v', '0x' + v.toString('hex'), p.toString('latin1')])
    }
  }
  // mtimes last, deepest first, so directory mtimes stick.
  const all = [...nodes.filter((n) => n.kind !== 'hardlink').map((n) => n.path)].sort((a, b) => b.split('/').length - a.split('/').length)
  for (const p of all) await lutimes(abs(p), t, t)
  await chmod(root, 0o755)
  await lchown(root, 0, 0)
  await utimes(root, t, t)
}
