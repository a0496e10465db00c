/**
 * A snapshot as a {@link ReadOnlyFilesystem}: the inode table for
 * metadata, {@link SnapshotReader.readFile} for content (so content layout,
 * holes included, is the reader's business). Each read first asks for
 * all the chunks it covers at once, and a sequential reader's next
 * `readAheadBytes` too, through `warm` (the chunk cache): the reader then
 * finds them fetched and verified, or on their way, instead of fetching a
 * few at a time.
 *
 * @module
 */
import { type Entry, type FileEntry, isHole } from '../format/entry.js'
import { printable } from '../format/names.js'
import { chunksCovering, type RootEntry, type SnapshotReader } from '../exporter/snapshot-reader.js'
import type { DirectoryListing, FilesystemFigures, NodeAttributes, ReadOnlyFilesystem } from './filesystem.js'
import type { InodeTable } from './inode-table.js'

/** Default bytes fetched ahead of each read. */
export const DEFAULT_READ_AHEAD_BYTES = 1024 * 1024

/** st_mode file-type bits of each kind. */
const TYPE_BITS = {
  file: 0o100000,
  dir: 0o040000,
  symlink: 0o120000,
  fifo: 0o010000,
  socket: 0o140000,
  char: 0o020000,
  block: 0o060000
} as const

/** Files whose read-ahead position is remembered (the most recently read). */
const READ_AHEAD_FILES = 256

/** Options for {@link SnapshotFilesystem}. */
export interface SnapshotFilesystemOptions {
  /** Bytes read ahead of each read (0: none). Default {@link DEFAULT_READ_AHEAD_BYTES}. */
  readAheadBytes?: number
  /** Start fetching a chunk into the cache the reader reads through (`ChunkCache.warm`); without it, no read-ahead. */
  warm?: (digest: Uint8Array) => void
}

/** A snapshot served as a read-only filesystem. */
export class SnapshotFilesystem implements ReadOnlyFilesystem {
  readonly #table: InodeTable
  readonly #reader: SnapshotReader
  readonly #readAhead: number
  readonly #attrs = new Map<number, NodeAttributes>()
  /** Per file recently read: where its last read ended, and how far chunks have been asked for. */
  readonly #positions = new Map<number, { end: number, warmedTo: number }>()
  readonly #warm: ((digest: Uint8Array) => void) | undefined

  /** `reader` is what content is read through (typically over a {@link ChunkCache}). */
  constructor (table: InodeTable, reader: SnapshotReader, options: SnapshotFilesystemOptions = {}) {
    this.#table = table
    this.#reader = reader
    this.#readAhead = options.readAheadBytes ?? DEFAULT_READ_AHEAD_BYTES
    this.#warm = options.warm
  }

  attributes (ino: number): NodeAttributes | undefined {
    const cached = this.#attrs.get(ino)
    if (cached !== undefined) return cached
    const e = this.#table.entry(ino)
    if (e === undefined) return undefined
    const attrs: NodeAttributes = {
      ino,
      mode: TYPE_BITS[e.kind] | e.mode,
      nlink: this.#table.nlink(ino),
      uid: e.uid,
      gid: e.gid,
      size: sizeOf(e),
      mtimeNs: e.mtimeNs,
      major: e.kind === 'char' || e.kind === 'block' ? e.major : 0,
      minor: e.kind === 'char' || e.kind === 'block' ? e.minor : 0
    }
    // Attributes are asked for again and again (every LOOKUP, GETATTR,
    // READDIRPLUS entry); keep the ones made, up to a bound.
    if (this.#attrs.size >= 65536) this.#attrs.clear()
    this.#attrs.set(ino, attrs)
    return attrs
  }

  lookup (parent: number, name: Uint8Array): number | undefined { return this.#table.lookup(parent, name) }

  directory (ino: number): DirectoryListing | undefined { return this.#table.directory(ino) }

  readlink (ino: number): Uint8Array | undefined {
    const e = this.#table.entry(ino)
    return e?.kind === 'symlink' ? e.target : undefined
  }

  xattrs (ino: number): ReturnType<ReadOnlyFilesystem['xattrs']> { return this.#table.entry(ino)?.xattrs ?? [] }

  async read (ino: number, offset: number, length: number): Promise<Uint8Array[]> {
    const e = this.#table.entry(ino)
    if (e?.kind !== 'file') throw new TypeError(`inode ${ino} is not a regular file`)
    if (offset >= e.size || length <= 0) return []
    const n = Math.min(length, e.size - offset)
    this.#ahead(ino, e, offset, offset + n)
    const pieces: Uint8Array[] = []
    for await (const piece of this.#reader.readFile(e, { offset, length: n })) pieces.push(piece)
    return pieces
  }

  describe (ino: number): string { return printable(this.#table.path(ino)) }

  figures (): FilesystemFigures { return { files: this.#table.size, bytes: this.#table.bytes } }

  /**
   * Ask the cache for the chunks of `[offset, end)`, and when the read
   * continues the previous one, for the next `readAheadBytes` as well.
   * Chunks already asked for are not asked for again.
   */
  #ahead (ino: number, e: FileEntry, offset: number, end: number): void {
    if (this.#warm === undefined || e.content instanceof Uint8Array) return
    const previous = this.#positions.get(ino)
    const sequential = previous !== undefined && previous.end === offset
    const from = sequential ? Math.max(offset, previous.warmedTo) : offset
    const to = Math.min(e.size, end + (sequential ? this.#readAhead : 0))
    this.#positions.delete(ino)
    this.#positions.set(ino, { end, warmedTo: Math.max(to, sequential ? previous.warmedTo : 0) })
    if (this.#positions.size > READ_AHEAD_FILES) this.#positions.delete(this.#positions.keys().next().value as number)
    if (from >= to) return
    const { first, last } = chunksCovering(e.content, from, to)
    for (let i = first; i <= last; i++) {
      const c = e.content[i]!
      if (!isHole(c)) this.#warm(c.digest) // a hole reads as zeros: nothing to fetch
    }
  }
}

function sizeOf (e: Exclude<Entry, { kind: 'hardlink' }> | RootEntry): number {
  switch (e.kind) {
    case 'file': return e.size
    case 'symlink': return e.target.length
    case 'dir': return 4096
    default: return 0
  }
}
