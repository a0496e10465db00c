/**
 * Inode numbers for a snapshot, from one walk of its metadata: the root is
 * 1, then every entry in the snapshot's canonical order (depth-first,
 * names sorted as bytes) gets the next number, except hard links, which
 * get the number of the entry they name. The numbers therefore depend only
 * on the snapshot: the same snapshot mounted twice, here or elsewhere,
 * shows the same inode numbers. Link counts are 1 plus the hard links to
 * an entry (directories: 2 plus their subdirectories).
 *
 * @module
 */
import { LimitExceededError } from '../errors.js'
import type { Entry } from '../format/entry.js'
import { joinPath } from '../format/names.js'
import type { RootEntry, SnapshotReader } from '../exporter/snapshot-reader.js'
import { ROOT_INO, type DirectoryListing } from './filesystem.js'

/** Entries a mount holds in memory by default (each costs a few hundred bytes). */
export const DEFAULT_MAX_INODES = 4_000_000

/** Options for {@link InodeTable.build}. */
export interface InodeTableOptions {
  /** Refuse snapshots with more entries than this (`ERR_LIMIT_EXCEEDED`). Default {@link DEFAULT_MAX_INODES}. */
  maxInodes?: number
  signal?: AbortSignal
}

interface Directory extends DirectoryListing {
  names: Uint8Array[]
  inos: number[]
}

/** An inode's entry: hard links are not inodes of their own. */
type InodeEntry = Exclude<Entry, { kind: 'hardlink' }> | RootEntry

const key = (b: Uint8Array): string => Buffer.from(b.buffer, b.byteOffset, b.byteLength).toString('latin1')

/** Every inode of one snapshot, numbered; immutable once built. */
export class InodeTable {
  /** The entry of each inode number (index 0 is unused; hard links are not entries here). */
  readonly #entries: InodeEntry[]
  readonly #nlink: number[]
  /** The directory an inode was first found in (the root's is itself). */
  readonly #parent: number[]
  readonly #dirs: Map<number, Directory>
  /** Bytes of regular-file content, each inode once. */
  readonly bytes: number

  private constructor (entries: InodeEntry[], nlink: number[], parent: number[], dirs: Map<number, Directory>, bytes: number) {
    this.#entries = entries
    this.#nlink = nlink
    this.#parent = parent
    this.#dirs = dirs
    this.bytes = bytes
  }

  /** Walk the snapshot's metadata once (no file content is read) and number its inodes. */
  static async build (reader: SnapshotReader, options: InodeTableOptions = {}): Promise<InodeTable> {
    const maxInodes = options.maxInodes ?? DEFAULT_MAX_INODES
    const entries: InodeEntry[] = [reader.rootEntry, reader.rootEntry]
    const nlink = [0, 2]
    const parent = [0, ROOT_INO]
    const dirs = new Map<number, Directory>([[ROOT_INO, { parent: ROOT_INO, names: [], inos: [] }]])
    const firstNames = new Map<string, number>()
    /** Inode of the directory open at each depth. */
    const stack = [ROOT_INO]
    let bytes = 0
    for await (const { names, path, entry } of reader.walk(options.signal === undefined ? {} : { signal: options.signal })) {
      const parentIno = stack[names.length - 1]!
      const dir = dirs.get(parentIno)!
      let ino: number
      if (entry.kind === 'hardlink') {
        // walk() has checked that the path names an earlier non-directory entry.
        ino = firstNames.get(key(entry.path))!
        nlink[ino]!++
      } else {
        ino = entries.length
        if (ino > maxInodes) throw new LimitExceededError(`the snapshot has more than ${maxInodes} inodes (raise maxInodes to mount it)`)
        entries.push(entry)
        parent.push(parentIno)
        if (entry.kind === 'dir') {
          nlink.push(2)
          nlink[parentIno]!++
          dirs.set(ino, { parent: parentIno, names: [], inos: [] })
          stack[names.length] = ino
        } else {
          nlink.push(1)
          firstNames.set(key(path), ino)
          if (entry.kind === 'file') bytes += entry.size
        }
      }
      dir.names.push(entry.name)
      dir.inos.push(ino)
    }
    return new InodeTable(entries, nlink, parent, dirs, bytes)
  }

  /** Number of inodes, the root included. */
  get size (): number { return this.#entries.length - 1 }

  /** The entry of `ino` (for a hard-linked inode: its first name's entry). */
  entry (ino: number): InodeEntry | undefined {
    return ino >= ROOT_INO ? this.#entries[ino] : undefined
  }

  nlink (ino: number): number { return this.#nlink[ino] ?? 0 }

  directory (ino: number): DirectoryListing | undefined { return this.#dirs.get(ino) }

  /** The child of directory `parent` named `name`, found by binary search (names are sorted as bytes). */
  lookup (parentIno: number, name: Uint8Array): number | undefined {
    const dir = this.#dirs.get(parentIno)
    if (dir === undefined) return undefined
    const wanted = Buffer.from(name.buffer, name.byteOffset, name.byteLength)
    let lo = 0
    let hi = dir.names.length - 1
    while (lo <= hi) {
      const mid = (lo + hi) >>> 1
      const n = dir.names[mid]!
      const c = Buffer.compare(Buffer.from(n.buffer, n.byteOffset, n.byteLength), wanted)
      if (c === 0) return dir.inos[mid]
      if (c < 0) lo = mid + 1
      else hi = mid - 1
    }
    return undefined
  }

  /** Path of the first name of `ino` (names as raw bytes joined by `/`; the root is `/`). */
  path (ino: number): Uint8Array {
    const names: Uint8Array[] = []
    for (let at = ino; at > ROOT_INO && at < this.#entries.length; at = this.#parent[at]!) names.push(this.#entries[at]!.name)
    return names.length === 0 ? Buffer.from('/') : joinPath(names.reverse())
  }
}
