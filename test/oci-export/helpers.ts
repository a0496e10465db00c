/**
 * Helpers of the OCI export tests: a source tree with every kind of inode
 * the OCI tools can unpack, a filesystem walk that describes a tree for
 * comparison, and running the real tools (umoci, skopeo, zstd).
 */
import { execFile, execFileSync } from 'node:child_process'
import { createHash } from 'node:crypto'
import { chmod, lchown, link, lstat, lutimes, mkdir, readdir, readFile, readlink, symlink, writeFile } from 'node:fs/promises'
import { join } from 'node:path'
import { hostArchitecture } from '../../src/oci/export-layout.js'

import { lcgBytes } from '../helpers/fixture.js'
export { lcgBytes }

type Node =
  | { kind: 'dir', path: string, mode: number, uid?: number, gid?: number, xattrs?: Array<[string, Buffer]>, mtime?: number }
  | { kind: 'file', path: string, mode: number, content: Buffer, uid?: number, gid?: number, xattrs?: Array<[string, Buffer]>, mtime?: number }
  | { kind: 'symlink', path: string, target: string, uid?: number, gid?: number, mtime?: number }
  | { kind: 'hardlink', path: string, to: string }
  | { kind: 'fifo', path: string, mode: number, uid?: number, gid?: number, mtime?: number }
  | { kind: 'char', path: string, mode: number, major: number, minor: number, mtime?: number }

const BIG = lcgBytes(3 * 1024 * 1024 + 4321, 11)

/** The source tree. Paths are UTF-8. */
export const TREE: Node[] = [
  { kind: 'dir', path: 'etc', mode: 0o755, xattrs: [['user.dir-note', Buffer.from('config lives here')]] },
  { kind: 'file', path: 'etc/passwd', mode: 0o644, content: Buffer.from('root:x:0:0:root:/root:/bin/sh\nuser:x:1000:1000::/home/user:/bin/sh\n') },
  { kind: 'hardlink', path: 'etc/passwd-', to: 'etc/passwd' },
  { kind: 'file', path: 'etc/shadow', mode: 0o640, gid: 42, content: Buffer.from('root:*:19000:0:99999:7:::\n') },
  { kind: 'file', path: 'etc/app.conf', mode: 0o644, content: Buffer.from('mode=test\n'), xattrs: [['user.checksum', Buffer.from('sha256')], ['user.binary', Buffer.from([0, 1, 2, 0xfe, 0xff])]], mtime: 1_650_000_000.123456 },
  { kind: 'dir', path: 'usr', mode: 0o755 },
  { kind: 'dir', path: 'usr/bin', mode: 0o755 },
  { kind: 'file', path: 'usr/bin/tool', mode: 0o4755, content: Buffer.from('#!/bin/sh\necho setuid tool\n') },
  { kind: 'file', path: 'usr/bin/sgid', mode: 0o2711, uid: 0, gid: 50, content: Buffer.from('#!/bin/sh\n') },
  { kind: 'symlink', path: 'usr/bin/sh', target: '/bin/busybox' },
  { kind: 'symlink', path: 'usr/bin/up', target: '../../etc/passwd', mtime: 1_500_000_000 },
  { kind: 'dir', path: 'data', mode: 0o750, uid: 1000, gid: 1000 },
  { kind: 'file', path: 'data/big.bin', mode: 0o644, uid: 1000, gid: 1000, content: BIG, xattrs: [['user.origin', Buffer.from('lcg')]] },
  { kind: 'hardlink', path: 'data/big-link', to: 'data/big.bin' },
  { kind: 'hardlink', path: 'data/passwd-copy', to: 'etc/passwd' },
  { kind: 'file', path: 'data/empty-file', mode: 0o600, content: Buffer.alloc(0) },
  { kind: 'file', path: 'data/one-mib', mode: 0o644, content: BIG.subarray(0, 1024 * 1024) },
  { kind: 'dir', path: 'home', mode: 0o755 },
  { kind: 'dir', path: 'home/user', mode: 0o700, uid: 1000, gid: 1000 },
  { kind: 'file', path: 'home/user/note with space', mode: 0o600, uid: 1000, gid: 1000, content: Buffer.from('hello\n') },
  { kind: 'file', path: 'home/user/\u00e9t\u00e9.txt', mode: 0o644, uid: 1000, gid: 1000, content: Buffer.from('utf-8 name\n') },
  { kind: 'symlink', path: 'home/user/link-to-note', target: 'note with space', uid: 1000, gid: 1000 },
  { kind: 'dir', path: 'tmp', mode: 0o1777 },
  { kind: 'dir', path: 'empty', mode: 0o700, uid: 1234, gid: 5678 },
  { kind: 'dir', path: 'empty/nested-empty', mode: 0o755, mtime: 1_600_000_000.5 },
  { kind: 'dir', path: 'run', mode: 0o755 },
  { kind: 'fifo', path: 'run/ctl.fifo', mode: 0o620, uid: 1000, gid: 5 },
  { kind: 'dir', path: 'dev', mode: 0o755 },
  { kind: 'char', path: 'dev/null', mode: 0o666, major: 1, minor: 3 }
]

/** Create {@link TREE} below `root` (which must exist). Needs root. */
export async function buildTree (root: string, mtimeSec = 1_700_000_000): Promise<void> {
  const abs = (p: string): string => join(root, p)
  for (const n of TREE) {
    switch (n.kind) {
      case 'dir': await mkdir(abs(n.path)); break
      case 'file': await writeFile(abs(n.path), n.content); break
      case 'symlink': await symlink(n.target, abs(n.path)); break
      case 'hardlink': await link(abs(n.to), abs(n.path)); break
      case 'fifo': execFileSync('mkfifo', [abs(n.path)]); break
      case 'char': execFileSync('mknod', [abs(n.path), 'c', String(n.major), String(n.minor)]); break
    }
  }
  for (const n of TREE) {
    if (n.kind === 'hardlink') continue
    const p = abs(n.path)
    await lchown(p, 'uid' in n && n.uid !== undefined ? n.uid : 0, 'gid' in n && n.gid !== undefined ? n.gid : 0)
    if (n.kind !== 'symlink') await chmod(p, n.mode)
    if ('xattrs' in n && n.xattrs !== undefined) {
      for (const [k, v] of n.xattrs) execFileSync('setfattr', ['-n', k, '-v', '0x' + v.toString('hex'), p])
    }
  }
  // mtimes last, deepest first, so directory mtimes stick.
  const byDepth = TREE.filter((n) => n.kind !== 'hardlink').sort((a, b) => b.path.split('/').length - a.path.split('/').length)
  for (const n of byDepth) {
    const t = 'mtime' in n && n.mtime !== undefined ? n.mtime : mtimeSec
    await lutimes(abs(n.path), t, t)
  }
  await chmod(root, 0o755)
}

/** What the comparison looks at, per path. */
export interface Facts {
  type: string
  mode: string
  uid: number
  gid: number
  mtimeNs: string
  size?: number
  sha256?: string
  target?: string
  rdev?: string
  xattrs?: Record<string, string>
  /** Sorted paths of every name of this inode, when it has more than one. */
  links?: string[]
}

function typeOf (st: import('node:fs').BigIntStats): string {
  if (st.isFile()) return 'file'
  if (st.isDirectory()) return 'dir'
  if (st.isSymbolicLink()) return 'symlink'
  if (st.isFIFO()) return 'fifo'
  if (st.isCharacterDevice()) return 'char'
  if (st.isBlockDevice()) return 'block'
  if (st.isSocket()) return 'socket'
  return 'unknown'
}

/** `user.*` xattrs of a path (not following symlinks), as hex. */
function userXattrs (path: string): Record<string, string> {
  const out = execFileSync('getfattr', ['-h', '-d', '-m', '^user\\.', '-e', 'hex', '--absolute-names', path]).toString()
  const result: Record<string, string> = {}
  for (const line of out.split('\n')) {
    const m = /^([^#=][^=]*)=0x([0-9a-f]*)$/.exec(line)
    if (m !== null) result[m[1]!] = m[2]!
  }
  return result
}

/**
 * Describe every entry below `root` (not the root itself: tessera's tar has
 * no root entry, and umoci makes the rootfs directory itself): type, mode,
 * owner, mtime (ns), size and sha256 of files, symlink targets, device
 * numbers, user xattrs, hard-link groups.
 */
export async function describe (root: string): Promise<Record<string, Facts>> {
  const facts: Record<string, Facts> = {}
  const inodes = new Map<string, string[]>()
  const visit = async (rel: string): Promise<void> => {
    const names = (await readdir(join(root, rel))).sort()
    for (const name of names) {
      const r = rel === '' ? name : `${rel}/${name}`
      const p = join(root, r)
      const st = await lstat(p, { bigint: true })
      const f: Facts = {
        type: typeOf(st),
        mode: '0o' + (st.mode & 0o7777n).toString(8),
        uid: Number(st.uid),
        gid: Number(st.gid),
        mtimeNs: st.mtimeNs.toString()
      }
      if (st.isFile()) {
        const bytes = await readFile(p)
        f.size = bytes.length
        f.sha256 = createHash('sha256').update(bytes).digest('hex')
      }
      if (st.isSymbolicLink()) f.target = await readlink(p)
      if (st.isCharacterDevice() || st.isBlockDevice()) f.rdev = st.rdev.toString()
      const x = userXattrs(p)
      if (Object.keys(x).length > 0) f.xattrs = x
      if (!st.isDirectory() && st.nlink > 1n) {
        const key = st.ino.toString()
        inodes.set(key, [...(inodes.get(key) ?? []), r])
      }
      facts[r] = f
      if (st.isDirectory()) await visit(r)
    }
  }
  await visit('')
  for (const group of inodes.values()) {
    const sorted = [...group].sort()
    for (const r of group) facts[r]!.links = sorted
  }
  return facts
}

/** Result of running a tool. */
export interface RunResult { stdout: Buffer, stderr: string }

/** Run a command; rejects with its stderr in the message when it fails. */
export async function run (command: string, args: string[], options: { input?: Buffer } = {}): Promise<RunResult> {
  return await new Promise((resolve, reject) => {
    const child = execFile(command, args, { encoding: 'buffer', maxBuffer: 256 * 1024 * 1024, env: { ...process.env, LC_ALL: 'C' } }, (err, stdout, stderr) => {
      if (err !== null) reject(new Error(`${command} ${args.join(' ')} failed: ${err.message}\n${stderr.toString()}`))
      else resolve({ stdout, stderr: stderr.toString() })
    })
    if (options.input !== undefined) child.stdin?.end(options.input)
  })
}

/** A realistic image config, as the OCI importer keeps it in `tessera.image.config`. */
export const IMAGE_CONFIG = {
  created: '2024-05-01T12:00:00.123456789Z',
  author: 'tessera tests <tests@example.invalid>',
  architecture: hostArchitecture(),
  os: 'linux',
  config: {
    User: '1000:1000',
    ExposedPorts: { '8080/tcp': {} },
    Env: ['PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin', 'APP_MODE=test'],
    Entrypoint: ['/usr/bin/tool'],
    Cmd: ['--serve', '--port=8080'],
    WorkingDir: '/home/user',
    Labels: { 'org.opencontainers.image.title': 'fixture', 'com.example.tier': 'backend' },
    StopSignal: 'SIGTERM'
  },
  rootfs: {
    type: 'layers',
    diff_ids: [
      'sha256:1111111111111111111111111111111111111111111111111111111111111111',
      'sha256:2222222222222222222222222222222222222222222222222222222222222222'
    ]
  },
  history: [
    { created: '2024-04-30T00:00:00Z', created_by: '/bin/sh -c #(nop) ADD file:0123abcd in / ' },
    { created: '2024-05-01T12:00:00.123456789Z', created_by: 'RUN /bin/sh -c make install # buildkit', comment: 'buildkit.dockerfile.v0' }
  ]
}
