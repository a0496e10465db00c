/**
 * How `ls` and `stat` show an entry: one `ls -l`-like line, a `stat`-like
 * block, or a JSON object (docs/CLI.md, "JSON output"). A hard link is
 * shown with the mode, owner, time and size of the inode it shares, as
 * `ls -l` does.
 *
 * @module
 */
import type { Entry } from '../format/entry.js'
import { printable } from '../format/names.js'
import { digestToString } from '../hash/digest.js'
import type { RootEntry, SnapshotReader } from '../exporter/snapshot-reader.js'

/** An entry to show and, for a hard link, the entry it links to. */
export interface Shown {
  entry: Entry | RootEntry
  /** The inode a hard link shares (the entry at its `path`). */
  target?: Exclude<Entry, { kind: 'hardlink' }>
}

/** Pair `entry` with the inode it links to, if it is a hard link. */
export async function withLinkTarget (reader: SnapshotReader, entry: Entry | RootEntry): Promise<Shown> {
  if (entry.kind !== 'hardlink') return { entry }
  const target = await reader.stat(entry.path)
  if (target.kind === 'hardlink' || target.kind === 'dir') return { entry }
  return { entry, target }
}

const TYPE_CHAR: Record<Entry['kind'], string> = { file: '-', dir: 'd', symlink: 'l', hardlink: 'h', fifo: 'p', socket: 's', char: 'c', block: 'b' }

const text = (bytes: Uint8Array): string => printable(bytes).slice(1, -1)

/** `rwxr-xr-x` with setuid, setgid and sticky bits. */
export function modeString (mode: number): string {
  const rwx = (bits: number, special: boolean, s: string, S: string): string =>
    `${bits & 4 ? 'r' : '-'}${bits & 2 ? 'w' : '-'}${special ? (bits & 1 ? s : S) : bits & 1 ? 'x' : '-'}`
  return rwx(mode >> 6, (mode & 0o4000) !== 0, 's', 'S') + rwx(mode >> 3, (mode & 0o2000) !== 0, 's', 'S') + rwx(mode, (mode & 0o1000) !== 0, 't', 'T')
}

/** The fields of an inode (everything but its name and kind). */
function inodeJson (e: Exclude<Entry, { kind: 'hardlink' }> | RootEntry): Record<string, unknown> {
  const base: Record<string, unknown> = { mode: e.mode, uid: e.uid, gid: e.gid, mtimeNs: e.mtimeNs.toString() }
  if (e.xattrs.length > 0) base.xattrs = e.xattrs.map(([k, v]) => [Buffer.from(k).toString('utf8'), Buffer.from(v).toString('base64')])
  switch (e.kind) {
    case 'file': return { ...base, size: e.size, chunks: e.content instanceof Uint8Array ? 0 : e.content.length }
    case 'dir': return { ...base, tree: digestToString(e.tree) }
    case 'symlink': return { ...base, target: Buffer.from(e.target).toString('utf8') }
    case 'char': case 'block': return { ...base, major: e.major, minor: e.minor }
    default: return base
  }
}

/** The JSON object of `ls --json` and `stat --json`. */
export function entryJson ({ entry: e, target }: Shown): Record<string, unknown> {
  const head = { name: Buffer.from(e.name).toString('utf8'), kind: e.kind }
  if (e.kind === 'hardlink') return { ...head, path: Buffer.from(e.path).toString('utf8'), ...(target !== undefined ? { linkKind: target.kind, ...inodeJson(target) } : {}) }
  return { ...head, ...inodeJson(e) }
}

/** One `ls -l`-like line. */
export function entryLine ({ entry: e, target }: Shown): string {
  const name = text(e.name)
  const inode = e.kind === 'hardlink' ? target : e
  const tail = e.kind === 'hardlink' ? ` link to ${text(e.path)}` : e.kind === 'symlink' ? ` -> ${text(e.target)}` : ''
  if (inode === undefined) return `h--------- ${'-'.padStart(11)} ${''.padStart(12)} ${''.padStart(19)} ${name}${tail}`
  const date = new Date(Number(inode.mtimeNs / 1_000_000n)).toISOString().slice(0, 19).replace('T', ' ')
  const size = inode.kind === 'file' ? String(inode.size) : inode.kind === 'char' || inode.kind === 'block' ? `${inode.major},${inode.minor}` : '0'
  return `${TYPE_CHAR[e.kind]}${modeString(inode.mode)} ${`${inode.uid}/${inode.gid}`.padStart(11)} ${size.padStart(12)} ${date} ${name}${tail}`
}

/** The `stat`-like block of `tessera stat`. */
export function entryBlock (path: string, { entry: e, target }: Shown): string {
  const lines = [`path:   /${path}`]
  const inode = e.kind === 'hardlink' ? target : e
  lines.push(`kind:   ${e.kind}${e.kind === 'hardlink' ? ` to /${text(e.path)}${target !== undefined ? ` (a ${target.kind})` : ''}` : ''}`)
  if (inode !== undefined) {
    lines.push(`mode:   ${inode.mode.toString(8).padStart(4, '0')} (${TYPE_CHAR[inode.kind]}${modeString(inode.mode)})`)
    lines.push(`owner:  ${inode.uid}/${inode.gid}`)
    if (inode.kind === 'file') lines.push(`size:   ${inode.size} (${inode.content instanceof Uint8Array ? 'inline' : `${inode.content.length} chunks`})`)
    if (inode.kind === 'symlink') lines.push(`target: ${text(inode.target)}`)
    if (inode.kind === 'char' || inode.kind === 'block') lines.push(`device: ${inode.major},${inode.minor}`)
    if (inode.kind === 'dir') lines.push(`tree:   ${digestToString(inode.tree)}`)
    const ms = inode.mtimeNs / 1_000_000n
    lines.push(`mtime:  ${new Date(Number(ms)).toISOString().replace(/\.\d+Z$/, `.${(((inode.mtimeNs % 1_000_000_000n) + 1_000_000_000n) % 1_000_000_000n).toString().padStart(9, '0')}Z`)}`)
    for (const [k, v] of inode.xattrs) lines.push(`xattr:  ${text(k)}=${Buffer.from(v).toString('base64')}`)
  }
  return lines.join('\n')
}
