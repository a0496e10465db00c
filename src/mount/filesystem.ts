/**
 * What a mounted filesystem serves, independent of how it reaches the
 * kernel: numbered nodes with POSIX attributes, directories, link targets,
 * extended attributes and file bytes. `SnapshotFilesystem` implements it
 * over a snapshot; the FUSE route (`./fuse/`) serves any implementation.
 *
 * Metadata calls are synchronous (everything is in memory once the mount
 * is up); only `read` waits for chunks.
 *
 * @module
 */
import type { Xattr } from '../format/entry.js'

/** The inode number of the root directory. */
export const ROOT_INO = 1

/** A node's attributes, as stat(2) shows them. */
export interface NodeAttributes {
  /** Inode number (≥ 1; the root is {@link ROOT_INO}). */
  ino: number
  /** st_mode: file type bits (`S_IFREG`, `S_IFDIR`, ...) and permission bits with setuid, setgid, sticky. */
  mode: number
  nlink: number
  uid: number
  gid: number
  /** Bytes: file size, link target length; 0 for devices, FIFOs and sockets. */
  size: number
  /** Modification time in nanoseconds since the epoch (also shown as atime and ctime). */
  mtimeNs: bigint
  /** Device number of a character or block device; 0 otherwise. */
  major: number
  minor: number
}

/** A directory's entries, without `.` and `..`, in a fixed order. */
export interface DirectoryListing {
  /** Inode number of the parent (the root's parent is the root). */
  parent: number
  names: readonly Uint8Array[]
  inos: readonly number[]
}

/** Figures for statfs(2). */
export interface FilesystemFigures {
  /** Distinct inodes. */
  files: number
  /** Bytes of regular-file content, each inode counted once. */
  bytes: number
}

/** A read-only tree of numbered nodes. */
export interface ReadOnlyFilesystem {
  /** Attributes of node `ino`, or undefined if there is none. */
  attributes (ino: number): NodeAttributes | undefined
  /** The node named `name` in directory `parent`, or undefined. */
  lookup (parent: number, name: Uint8Array): number | undefined
  /** The entries of directory `ino`, or undefined if it is not a directory. */
  directory (ino: number): DirectoryListing | undefined
  /** The target of symlink `ino`, or undefined if it is not a symlink. */
  readlink (ino: number): Uint8Array | undefined
  /** Extended attributes of `ino`, sorted by key. */
  xattrs (ino: number): readonly Xattr[]
  /**
   * Bytes `[offset, offset + length)` of regular file `ino`, cut at its end
   * (empty at or past the end). Rejects when content cannot be read or
   * fails verification: never returns other bytes.
   */
  read (ino: number, offset: number, length: number): Promise<Uint8Array[]>
  /** A path for `ino`, for messages (one of its names if it has several). */
  describe (ino: number): string
  figures (): FilesystemFigures
}
