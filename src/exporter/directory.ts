/**
 * Exporting a snapshot to a directory of the local filesystem.
 *
 * Safety: the target must be absent or an empty directory. Every path is
 * created fresh below it from validated names (no `/`, `.` or `..`), files
 * are opened with O_EXCL and never through an existing link, hard links only
 * point at entries this export created, and symlinks are written as data and
 * never followed. So nothing is written outside the target whatever the
 * snapshot holds.
 *
 * Order: everything is created first with owner-only permissions (files
 * written concurrently), then owners are set (root only: chown clears
 * setuid bits and file capabilities), then xattrs, then modes and mtimes,
 * once nothing will add entries to a directory any more.
 *
 * @module
 */
import { constants } from 'node:fs'
import { chmod, lchown, link, lutimes, mkdir, open, readdir, symlink, utimes } from 'node:fs/promises'
import { ExportError, TargetNotEmptyError, throwIfAborted } from '../errors.js'
import type { Entry, FileEntry, InodeAttrs, Xattr } from '../format/entry.js'
import { Limiter } from '../importer/limiter.js'
import { printable } from '../format/names.js'
import { isRoot, makeDevice, makeFifo, makeSocket, writeXattrs, xattrSupport } from '../platform/index.js'
import type { SnapshotReader } from './snapshot-reader.js'

/** Progress of an export. */
export interface ExportProgress {
  files: number
  bytes: number
}

/** Options for {@link exportDirectory}. */
export interface ExportDirectoryOptions {
  /** Set owners (uid/gid). Default: only when running as root. */
  owners?: boolean
  /** Create character and block device nodes (needs root). Default false: they are skipped with a warning. */
  devices?: boolean
  /** Write extended attributes (default true; needs `setfattr`). */
  xattrs?: boolean
  /** Files written at once (default 16). */
  concurrency?: number
  signal?: AbortSignal
  onProgress?: (progress: ExportProgress) => void
  /** Non-fatal problems: skipped devices, xattrs the filesystem refused. */
  onWarning?: (message: string) => void
}

const SLASH = Buffer.from('/')
const NS_PER_S = 1_000_000_000n

/**
 * Seconds since the epoch as a double, for utimes. libuv truncates times to
 * whole microseconds (and a double cannot hold nanoseconds near 2^31 s
 * anyway), so aim at the middle of the wanted microsecond: the truncation
 * then lands exactly on it. Sub-microsecond digits are not restored.
 */
export function utimesSeconds (ns: bigint): number {
  let s = ns / NS_PER_S
  let rem = ns % NS_PER_S
  if (rem < 0n) { rem += NS_PER_S; s -= 1n }
  return Number(s) + (Number(rem / 1000n) + 0.5) / 1e6
}

async function prepareTarget (target: Buffer): Promise<void> {
  try {
    const names = await readdir(target)
    if (names.length > 0) throw new TargetNotEmptyError(`export target ${printable(target)} is not empty`)
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') {
      await mkdir(target, { recursive: true, mode: 0o700 })
      return
    }
    if ((err as NodeJS.ErrnoException).code === 'ENOTDIR') throw new TargetNotEmptyError(`export target ${printable(target)} exists and is not a directory`, { cause: err })
    throw err
  }
}

interface Pending { abs: Buffer, attrs: InodeAttrs, kind: Entry['kind'] }

/**
 * Write the snapshot to directory `target`. Throws `TargetNotEmptyError`
 * (`ERR_TARGET_NOT_EMPTY`) if the target exists and is not an empty directory.
 */
export async function exportDirectory (reader: SnapshotReader, target: string | Buffer, options: ExportDirectoryOptions = {}): Promise<ExportProgress> {
  const root = Buffer.isBuffer(target) ? target : Buffer.from(target)
  const { signal, onProgress, onWarning } = options
  const owners = options.owners ?? isRoot()
  await prepareTarget(root)
  const pending: Pending[] = []
  const xattrItems: Array<{ path: Buffer, xattrs: Xattr[] }> = []
  const skipped = new Set<string>()
  const progress: ExportProgress = { files: 0, bytes: 0 }

  // Files are written concurrently (their parent directories exist: the walk
  // creates parents first); a hard link waits for its target's write.
  const limiter = new Limiter(options.concurrency ?? 16)
  const writes: Array<Promise<void>> = []
  const fileWrites = new Map<string, Promise<void>>()
  const writeFile = async (abs: Buffer, entry: FileEntry): Promise<void> => {
    const fh = await open(abs, constants.O_WRONLY | constants.O_CREAT | constants.O_EXCL | constants.O_NOFOLLOW, 0o600)
    try {
      for await (const piece of reader.readFile(entry, signal !== undefined ? { signal } : {})) {
        await fh.write(piece)
        progress.bytes += piece.length
      }
    } finally {
      await fh.close()
    }
  }

  const rootEntry = reader.rootEntry
  pending.push({ abs: root, attrs: rootEntry, kind: 'dir' })
  if (rootEntry.xattrs.length > 0) xattrItems.push({ path: Buffer.alloc(0), xattrs: [...rootEntry.xattrs] })

  for await (const { path, entry } of reader.walk({ signal })) {
    throwIfAborted(signal)
    const rel = Buffer.from(path)
    const abs = Buffer.concat([root, SLASH, rel])
    switch (entry.kind) {
      case 'dir':
        await mkdir(abs, { mode: 0o700 })
        break
      case 'file': {
        const write = limiter.run(async () => await writeFile(abs, entry))
        write.catch(() => {}) // awaited below with all writes
        writes.push(write)
        fileWrites.set(rel.toString('latin1'), write)
        break
      }
      case 'symlink':
        await symlink(Buffer.from(entry.target), abs)
        break
      case 'hardlink': {
        const key = Buffer.from(entry.path).toString('latin1')
        if (skipped.has(key)) {
          onWarning?.(`skipped hard link ${printable(path)}: its target was skipped`)
          continue
        }
        await fileWrites.get(key)
        await link(Buffer.concat([root, SLASH, Buffer.from(entry.path)]), abs)
        progress.files++
        continue
      }
      case 'fifo':
        await makeFifo(abs, 0o600)
        break
      case 'socket':
        await makeSocket(abs, 0o600)
        break
      case 'char':
      case 'block':
        if (options.devices !== true) {
          skipped.add(rel.toString('latin1'))
          onWarning?.(`skipped ${entry.kind} device ${printable(path)} (${entry.major}:${entry.minor}); export with devices enabled to create it`)
          continue
        }
        await makeDevice(abs, entry.kind, entry.major, entry.minor, 0o600)
        break
    }
    pending.push({ abs, attrs: entry, kind: entry.kind })
    if (entry.xattrs.length > 0) xattrItems.push({ path: rel, xattrs: [...entry.xattrs] })
    progress.files++
    onProgress?.({ ...progress })
  }

  await Promise.all(writes)
  if (owners) {
    await Promise.all(pending.map(async (p) => await limiter.run(async () => await lchown(p.abs, p.attrs.uid, p.attrs.gid))))
  }
  if (options.xattrs !== false && xattrItems.length > 0) {
    if (await xattrSupport()) {
      await writeXattrs(root, xattrItems, { onWarning })
    } else {
      onWarning?.(`setfattr is not installed: extended attributes of ${xattrItems.length} entries were not restored (install the "attr" package)`)
    }
  }
  // Everything exists now, so no later step touches a directory's entries:
  // modes and times can be set in any order (changing a child's metadata
  // does not change its parent's mtime).
  await Promise.all(pending.map(async (p) => await limiter.run(async () => {
    const t = utimesSeconds(p.attrs.mtimeNs)
    try {
      if (p.kind === 'symlink') {
        await lutimes(p.abs, t, t)
      } else {
        await chmod(p.abs, p.attrs.mode)
        await utimes(p.abs, t, t)
      }
    } catch (err) {
      throw new ExportError(`cannot set attributes of ${printable(p.abs)}: ${(err as Error).message}`, { cause: err })
    }
  })))
  return progress
}
