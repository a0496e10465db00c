/**
 * The entry type {@link writeTar} takes, and the rules an entry must follow.
 *
 * Sockets have no representation in tar (neither ustar nor PAX defines a
 * socket type): callers walking a directory tree skip them, as GNU tar does
 * ("socket ignored").
 *
 * @module
 */
import { checkArchivePath, describeBytes } from './path.js'
import { TarInvalidEntryError } from './errors.js'
import type { TarSparseSegment } from './sparse.js'

/** The kinds of entry a tar archive can hold. */
export type TarEntryType = 'file' | 'directory' | 'symlink' | 'hardlink' | 'fifo' | 'char' | 'block'

/**
 * The content of a file entry: one buffer, or chunks produced one at a time
 * (sync or async). Chunks are passed through to the archive stream without
 * copying, so they must not be modified afterwards.
 */
export type TarContent = Uint8Array | AsyncIterable<Uint8Array> | Iterable<Uint8Array>

/**
 * One archive member. Fields that do not apply to `type` must be left out.
 */
export interface TarEntry {
  /**
   * Raw path bytes: relative, `/`-separated, no leading `/`, no empty, `.`
   * or `..` component, no NUL. Any other byte is allowed (spaces, newlines,
   * bytes that are not UTF-8). A directory may be given with or without a
   * trailing `/`; it is always written with one. Other types must not end
   * in `/`.
   */
  path: Uint8Array
  /** What the entry is. */
  type: TarEntryType
  /** Permission bits including setuid, setgid and sticky: an integer in 0..0o7777. */
  mode: number
  /** Numeric owner; a non-negative safe integer. */
  uid: number
  /** Numeric group; a non-negative safe integer. */
  gid: number
  /**
   * Modification time in nanoseconds since the epoch; may be negative.
   * Whole seconds in the ustar range are written in the ustar header; any
   * other value is carried in a PAX `mtime` record at full precision.
   */
  mtimeNs: bigint
  /**
   * Content length in bytes, required for files (a non-negative safe
   * integer). The content must have exactly this length. Other types must
   * leave it out or give 0.
   */
  size?: number
  /** File content (files only). May be left out when `size` is 0. For a sparse file, only its data segments' bytes, back to back. */
  content?: TarContent
  /**
   * A sparse file (files only): its data segments, in increasing order
   * without overlap, inside `size`; the rest of its `size` bytes are holes.
   * Written as a GNU sparse 1.0 PAX entry, which GNU tar, Go's archive/tar
   * and libarchive read (a reader without sparse support extracts a file
   * named `GNUSparseFile.0/NAME` holding the map and the data).
   */
  sparse?: readonly TarSparseSegment[]
  /**
   * Symlink target (any non-empty bytes without NUL), or for a hardlink the
   * archive path of an earlier entry (same rules as `path`, no trailing `/`).
   * Required for links, not allowed otherwise.
   */
  linkname?: Uint8Array
  /** Device major number, required for `char` and `block`: 0..0o7777777. */
  devmajor?: number
  /** Device minor number, required for `char` and `block`: 0..0o7777777. */
  devminor?: number
  /**
   * Extended attributes as [name, value] pairs of raw bytes. Names are
   * non-empty, without NUL, and unique. They are written sorted by name
   * bytes, so the order given does not matter.
   */
  xattrs?: Array<[Uint8Array, Uint8Array]>
  /**
   * Owner name. Left out by default: names depend on the machine's user
   * database and make archives less reproducible. No NUL.
   */
  uname?: string
  /** Group name; see {@link TarEntry.uname}. */
  gname?: string
}

/** Largest value of a 7-digit octal field (uid/gid/devmajor/devminor in ustar). */
export const USTAR_MAX_ID = 0o7777777

const TYPES: ReadonlySet<string> = new Set<TarEntryType>(['file', 'directory', 'symlink', 'hardlink', 'fifo', 'char', 'block'])

function isUint (value: unknown, max = Number.MAX_SAFE_INTEGER): value is number {
  return typeof value === 'number' && Number.isInteger(value) && value >= 0 && value <= max
}

/**
 * Check every rule of {@link TarEntry}. The content's length is checked
 * later, while it is written.
 *
 * @throws {@link InvalidPathError} (`ERR_INVALID_PATH`) for a bad `path` or hardlink target
 * @throws {@link TarInvalidEntryError} (`ERR_TAR_INVALID_ENTRY`) for any other bad field
 */
export function checkTarEntry (entry: TarEntry): void {
  if (typeof entry !== 'object' || entry === null) throw new TarInvalidEntryError('a tar entry must be an object')
  const type = entry.type
  if (!TYPES.has(type)) throw new TarInvalidEntryError(`unknown tar entry type ${JSON.stringify(String(type))}`)
  checkArchivePath(entry.path, 'path', type === 'directory')
  const where = (): string => `${type} ${describeBytes(entry.path)}`
  const bad = (why: string): never => { throw new TarInvalidEntryError(`${where()}: ${why}`) }

  if (!isUint(entry.mode, 0o7777)) bad(`mode must be an integer in 0..0o7777, got ${String(entry.mode)}`)
  if (!isUint(entry.uid)) bad(`uid must be a non-negative safe integer, got ${String(entry.uid)}`)
  if (!isUint(entry.gid)) bad(`gid must be a non-negative safe integer, got ${String(entry.gid)}`)
  if (typeof entry.mtimeNs !== 'bigint') bad('mtimeNs must be a bigint')

  if (type === 'file') {
    if (!isUint(entry.size)) bad(`size must be a non-negative safe integer, got ${String(entry.size)}`)
    const c = entry.content
    if (c === undefined) {
      // checked against size by the writer
    } else if (!(c instanceof Uint8Array) &&
      !(typeof c === 'object' && c !== null && (Symbol.asyncIterator in c || Symbol.iterator in c))) {
      bad('content must be a Uint8Array or an iterable of Uint8Array')
    }
    if (entry.sparse !== undefined) {
      if (!Array.isArray(entry.sparse)) bad('sparse must be an array of segments')
      let end = 0
      for (const seg of entry.sparse) {
        if (!isUint(seg?.offset) || !isUint(seg?.size)) bad('a sparse segment needs a non-negative offset and size')
        if (seg.offset < end) bad(`sparse segment at ${seg.offset} overlaps or precedes the one before`)
        end = seg.offset + seg.size
        if (end > (entry.size ?? 0)) bad(`sparse segment ${seg.offset}+${seg.size} ends past the size ${String(entry.size)}`)
      }
    }
  } else {
    if (entry.size !== undefined && entry.size !== 0) bad('only files have a size')
    if (entry.content !== undefined) bad('only files have content')
    if (entry.sparse !== undefined) bad('only files are sparse')
  }

  if (type === 'symlink') {
    const l = entry.linkname
    if (!(l instanceof Uint8Array)) bad('a symlink needs a linkname (Uint8Array)')
    else if (l.length === 0) bad('the symlink target is empty')
    else if (l.includes(0)) bad('the symlink target contains a NUL byte')
  } else if (type === 'hardlink') {
    const l = entry.linkname
    if (!(l instanceof Uint8Array)) bad('a hardlink needs a linkname (Uint8Array)')
    else checkArchivePath(l, 'hardlink target')
  } else if (entry.linkname !== undefined) {
    bad('only symlinks and hardlinks have a linkname')
  }

  if (type === 'char' || type === 'block') {
    if (!isUint(entry.devmajor, USTAR_MAX_ID)) bad(`devmajor must be an integer in 0..0o7777777, got ${String(entry.devmajor)}`)
    if (!isUint(entry.devminor, USTAR_MAX_ID)) bad(`devminor must be an integer in 0..0o7777777, got ${String(entry.devminor)}`)
  } else if (entry.devmajor !== undefined || entry.devminor !== undefined) {
    bad('only char and block devices have devmajor/devminor')
  }

  if (entry.xattrs !== undefined) {
    if (!Array.isArray(entry.xattrs)) bad('xattrs must be an array of [name, value] pairs')
    for (const pair of entry.xattrs) {
      if (!Array.isArray(pair) || pair.length !== 2 || !(pair[0] instanceof Uint8Array) || !(pair[1] instanceof Uint8Array)) {
        bad('each xattr must be a [Uint8Array, Uint8Array] pair')
      }
      const name = pair[0]
      if (name.length === 0) bad('an xattr name is empty')
      if (name.includes(0)) bad(`xattr name ${describeBytes(name)} contains a NUL byte`)
    }
  }

  for (const key of ['uname', 'gname'] as const) {
    const v = entry[key]
    if (v !== undefined && (typeof v !== 'string' || v.includes('\0'))) bad(`${key} must be a string without NUL`)
  }
}
