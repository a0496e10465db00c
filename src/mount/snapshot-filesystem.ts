/**
 * A snapshot as a {@link ReadOnlyFilesystem}: the inode table for
 * metadata, {@link SnapshotReader.readFile} for content (so content layout,
 * holes included, is the reader's business), and read-ahead past each read
 * so the next chunks are fetched and verified while the current ones are
 * consumed.
 *
 * @module
 */
import type { Entry } from '../format/entry.js'
import { printable } from '../format/names.js'
import type { RootEntry, SnapshotReader } from '../exporter/snapshot-reader.js'
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
  /** Told about read-ahead failures (the read that needs the bytes will fail and report them itself). */
  onReadAheadError?: (err: unknown) => void
}

/** A snapshot served as a read-only filesystem. */
export class SnapshotFilesystem implements ReadOnlyFilesystem {
  readonly #table: InodeTable
  readonly #reader: SnapshotReader
  readonly #readAhead: number
  readonly #attrs = new Map<number, NodeAttributes>()
  /** Per file: the end of what has been asked for ahead. */
  readonly #aheadTo = new Map<number, number>()
  readonly #onReadAheadError: (err: unknown) => void

  /** `reader` is what content is read through (typically over a {@link ChunkCache}). */
  constructor (table: InodeTable, reader: SnapshotReader, options: SnapshotFilesystemOptions = {}) {
    this.#table = table
    this.#reader = reader
    this.#readAhead = options.readAheadBytes ?? DEFAULT_READ_AHEAD_BYTES
    this.#onReadAheadError = options.onReadAheadError ?? (() => {})
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
    this.#aheadOf(ino, e, offset + n)
    const pieces: Uint8Array[] = []
    for await (const piece of this.#reader.readFile(e, { offset, length: n })) pieces.push(piece)
    return pieces
  }

  describe (ino: number): string { return printable(this.#table.path(ino)) }

  figures (): FilesystemFigures { return { files: this.#table.size, bytes: this.#table.bytes } }

  /**
   * Ask for the bytes after `end` before they are read: the chunks land in
   * the reader's cache. Each range is asked for once per file, so a
   * sequential reader keeps `readAheadBytes` in flight beyond its position.
   */
  #aheadOf (ino: number, e: Entry & { kind: 'file' }, end: number): void {
    if (this.#readAhead === 0 || end >= e.size || e.content instanceof Uint8Array) return
    const from = Math.max(end, this.#aheadTo.get(ino) ?? 0)
    const to = Math.min(e.size, end + this.#readAhead)
    if (from >= to) return
    this.#aheadTo.delete(ino)
    this.#aheadTo.set(ino, to)
    if (this.#aheadTo.size > READ_AHEAD_FILES) this.#aheadTo.delete(this.#aheadTo.keys().next().value as number)
    void (async () => {
      for await (const _ of this.#reader.readFile(e, { offset: from, length: to - from })) { /* lands in the cache */ }
    })().catch((err: unknown) => {
      // Forget the range so that a later read asks again.
      if ((this.#aheadTo.get(ino) ?? 0) === to) this.#aheadTo.delete(ino)
      this.#onReadAheadError(err)
    })
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
