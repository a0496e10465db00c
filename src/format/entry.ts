/**
 * The in-memory model of tree entries (docs/FORMAT.md §4). Names, link
 * targets and xattrs are raw bytes; mtimes are nanoseconds as `bigint`.
 *
 * @module
 */

/** One extended attribute: key and value as raw bytes. */
export type Xattr = readonly [key: Uint8Array, value: Uint8Array]

/** Attributes shared by every kind of inode except hard links. */
export interface InodeAttrs {
  /** Permission bits with setuid, setgid and sticky: 0 … 0o7777. */
  mode: number
  uid: number
  gid: number
  /** Modification time in nanoseconds since the Unix epoch. */
  mtimeNs: bigint
  /** Extended attributes, sorted by key bytes, keys unique. */
  xattrs: readonly Xattr[]
}

/** A reference to one chunk of a file. */
export interface ChunkRef {
  /** sha256 of the chunk's bytes (32 bytes). */
  digest: Uint8Array
  /** Chunk length in bytes (≥ 1). */
  length: number
}

/**
 * A hole of a file: `length` zero bytes that are not stored
 * (docs/FORMAT.md §2.1). Encoded as the bare integer `length`.
 */
export interface HoleRef {
  hole: true
  /** Zero bytes it stands for (at least {@link HOLE_MIN}). */
  length: number
}

/** One element of a file's content list: a chunk or a hole. */
export type ContentRef = ChunkRef | HoleRef

/** True for a hole element. */
export function isHole (c: ContentRef): c is HoleRef {
  return 'hole' in c
}

/** Block size of the hole rule (docs/FORMAT.md §2.1): holes start at multiples of it. */
export const HOLE_BLOCK = 4096
/** The shortest hole (docs/FORMAT.md §2.1): shorter runs of zero blocks are data. */
export const HOLE_MIN = 65536

/** Entry kinds with their numbers in the encoding. */
export const KIND_NUMBER = {
  file: 1,
  dir: 2,
  symlink: 3,
  hardlink: 4,
  fifo: 5,
  socket: 6,
  char: 7,
  block: 8
} as const

/** The kind of an entry. */
export type EntryKind = keyof typeof KIND_NUMBER

/** A regular file: inline bytes when small, a content list (chunks and holes) otherwise. */
export interface FileEntry extends InodeAttrs {
  kind: 'file'
  name: Uint8Array
  size: number
  /** The whole content (size ≤ inlineMax) or its content list. */
  content: Uint8Array | readonly ContentRef[]
}

/** A directory; `tree` is the digest of its tree object. */
export interface DirEntry extends InodeAttrs {
  kind: 'dir'
  name: Uint8Array
  tree: Uint8Array
}

/** A symbolic link; its target is stored as read and never followed. */
export interface SymlinkEntry extends InodeAttrs {
  kind: 'symlink'
  name: Uint8Array
  target: Uint8Array
}

/** A second or later name of an inode; `path` is the first name's path from the root. */
export interface HardlinkEntry {
  kind: 'hardlink'
  name: Uint8Array
  path: Uint8Array
}

/** A FIFO or a socket. */
export interface SpecialEntry extends InodeAttrs {
  kind: 'fifo' | 'socket'
  name: Uint8Array
}

/** A character or block device node. */
export interface DeviceEntry extends InodeAttrs {
  kind: 'char' | 'block'
  name: Uint8Array
  major: number
  minor: number
}

/** Any tree entry. */
export type Entry = FileEntry | DirEntry | SymlinkEntry | HardlinkEntry | SpecialEntry | DeviceEntry

/** True when the file entry's content is stored inline. */
export function isInline (entry: FileEntry): entry is FileEntry & { content: Uint8Array } {
  return entry.content instanceof Uint8Array
}

/** Counts of a file's content: chunks, holes, and the zero bytes its holes stand for (0 for inline content). */
export function contentCounts (content: Uint8Array | readonly ContentRef[]): { chunks: number, holes: number, holeBytes: number } {
  const counts = { chunks: 0, holes: 0, holeBytes: 0 }
  if (content instanceof Uint8Array) return counts
  for (const c of content) {
    if (isHole(c)) { counts.holes++; counts.holeBytes += c.length } else counts.chunks++
  }
  return counts
}
