/**
 * Reading one snapshot: resolve a name or digest, list directories, stat
 * paths, walk the whole tree, and read files or byte ranges of files.
 * Every object read is verified against its digest by the store; every tree
 * is decoded with the canonical checks.
 *
 * @module
 */
import { InvalidRangeError, NotFoundError, WrongKindError, NonCanonicalError } from '../errors.js'
import { type ContentRef, type DirEntry, type Entry, type FileEntry, isHole } from '../format/entry.js'
import { joinPath, printable, splitPath } from '../format/names.js'
import { decodeSnapshot, type Snapshot } from '../format/snapshot.js'
import { decodeTree } from '../format/tree.js'
import { type Digest, digestToBytes, digestToString, isDigest } from '../hash/digest.js'
import type { SnapshotSource } from '../store/index.js'

/** The store view a reader needs: any {@link SnapshotSource} (a local store, a remote reader). */
export type ReaderStore = SnapshotSource

/** The root directory presented as an entry (its name is empty). */
export type RootEntry = Omit<DirEntry, 'name'> & { name: Uint8Array }

/** One step of {@link SnapshotReader.walk}. */
export interface WalkItem {
  /** Names from the root to this entry. */
  names: Uint8Array[]
  /** The path: names joined by `/`. */
  path: Uint8Array
  entry: Entry
}

/** Options for {@link SnapshotReader.readFile}. */
export interface ReadFileOptions {
  /** First byte to read (default 0). */
  offset?: number
  /** Bytes to read (default: to the end). */
  length?: number
  signal?: AbortSignal
}

/** A bounded cache of decoded trees. */
class TreeCache {
  readonly #map = new Map<string, Entry[]>()
  constructor (readonly limit: number) {}
  get (key: string): Entry[] | undefined {
    const v = this.#map.get(key)
    if (v !== undefined) { this.#map.delete(key); this.#map.set(key, v) }
    return v
  }

  set (key: string, v: Entry[]): void {
    this.#map.set(key, v)
    if (this.#map.size > this.limit) this.#map.delete(this.#map.keys().next().value as string)
  }
}

/** Compare a name with an entry name as bytes. */
function cmp (a: Uint8Array, b: Uint8Array): number {
  return Buffer.compare(Buffer.from(a.buffer, a.byteOffset, a.byteLength), Buffer.from(b.buffer, b.byteOffset, b.byteLength))
}

/** A snapshot opened for reading. */
export class SnapshotReader {
  readonly store: ReaderStore
  /** Digest of the snapshot object. */
  readonly digest: Digest
  readonly snapshot: Snapshot
  /** The ref name it was opened by, if any. */
  readonly name: string | undefined
  readonly #trees = new TreeCache(256)

  private constructor (store: ReaderStore, digest: Digest, snapshot: Snapshot, name: string | undefined) {
    this.store = store
    this.digest = digest
    this.snapshot = snapshot
    this.name = name
  }

  /** Open by ref name or by snapshot digest. `NotFoundError` if neither exists. */
  static async open (store: ReaderStore, nameOrDigest: string): Promise<SnapshotReader> {
    let digest: Uint8Array
    let name: string | undefined
    if (isDigest(nameOrDigest)) {
      digest = digestToBytes(nameOrDigest)
    } else {
      const ref = await store.getRef(nameOrDigest)
      if (ref === undefined) throw new NotFoundError(`no snapshot named ${JSON.stringify(nameOrDigest)}`)
      digest = ref.snapshot
      name = nameOrDigest
    }
    const snapshot = decodeSnapshot(await store.getSnapshot(digest))
    return new SnapshotReader(store, digestToString(digest), snapshot, name)
  }

  /** Digest of the root tree. */
  get root (): Digest { return digestToString(this.snapshot.root.tree) }

  /** The root directory as an entry. */
  get rootEntry (): RootEntry {
    const r = this.snapshot.root
    return { kind: 'dir', name: new Uint8Array(0), mode: r.mode, uid: r.uid, gid: r.gid, mtimeNs: r.mtimeNs, xattrs: r.xattrs, tree: r.tree }
  }

  /** Decoded entries of a tree object (cached). */
  async readTree (digest: Uint8Array): Promise<Entry[]> {
    const key = Buffer.from(digest).toString('latin1')
    const hit = this.#trees.get(key)
    if (hit !== undefined) return hit
    const entries = decodeTree(await this.store.getTree(digest), { inlineMax: this.snapshot.params.inlineMax })
    this.#trees.set(key, entries)
    return entries
  }

  /** The entry at `path` (the root for `""` or `/`). Symlinks are not followed. */
  async stat (path: string | Uint8Array): Promise<Entry | RootEntry> {
    const names = splitPath(path)
    let entry: Entry | RootEntry = this.rootEntry
    for (let i = 0; i < names.length; i++) {
      if (entry.kind !== 'dir') throw new NotFoundError(`${printable(joinPath(names.slice(0, i)))} is not a directory`)
      const entries = await this.readTree(entry.tree)
      const found = binarySearch(entries, names[i]!)
      if (found === undefined) throw new NotFoundError(`no such path in snapshot: ${printable(joinPath(names.slice(0, i + 1)))}`)
      entry = found
    }
    return entry
  }

  /** Entries of the directory at `path`. */
  async list (path: string | Uint8Array = ''): Promise<Entry[]> {
    const entry = await this.stat(path)
    if (entry.kind !== 'dir') throw new WrongKindError(`${printable(typeof path === 'string' ? Buffer.from(path) : path)} is not a directory`)
    return await this.readTree(entry.tree)
  }

  /**
   * Every entry below the root in canonical order (depth-first, pre-order,
   * names sorted as bytes). Hard-link entries are checked to point at an
   * earlier non-directory entry.
   */
  async * walk (options: { signal?: AbortSignal } = {}): AsyncGenerator<WalkItem> {
    const seen = new Set<string>()
    const self = this
    // A directory's subtrees are asked for together as soon as it is read
    // (the store coalesces them into one read), not one at a time as the
    // walk reaches them.
    const prefetched = new Map<string, Promise<Entry[]>>()
    const entriesOf = async (tree: Uint8Array): Promise<Entry[]> => {
      const key = Buffer.from(tree).toString('latin1')
      const ahead = prefetched.get(key)
      prefetched.delete(key)
      const entries = await (ahead ?? self.readTree(tree))
      for (const e of entries) {
        if (e.kind !== 'dir') continue
        const k = Buffer.from(e.tree).toString('latin1')
        if (prefetched.has(k)) continue
        const p = self.readTree(e.tree)
        p.catch(() => {}) // awaited when the walk gets there
        prefetched.set(k, p)
      }
      return entries
    }
    async function * visit (tree: Uint8Array, names: Uint8Array[]): AsyncGenerator<WalkItem> {
      for (const entry of await entriesOf(tree)) {
        if (options.signal?.aborted === true) throw options.signal.reason
        const childNames = [...names, entry.name]
        const path = joinPath(childNames)
        if (entry.kind === 'hardlink') {
          if (!seen.has(Buffer.from(entry.path).toString('latin1'))) {
            throw new NonCanonicalError(`hard link ${printable(path)} points at ${printable(entry.path)}, which is not an earlier non-directory entry`)
          }
        } else if (entry.kind !== 'dir') {
          seen.add(Buffer.from(path).toString('latin1'))
        }
        yield { names: childNames, path, entry }
        if (entry.kind === 'dir') yield * visit(entry.tree, childNames)
      }
    }
    yield * visit(this.snapshot.root.tree, [])
  }

  /** Resolve a path to a regular file, following hard links (not symlinks). */
  async statFile (path: string | Uint8Array): Promise<FileEntry> {
    let entry = await this.stat(path)
    if (entry.kind === 'hardlink') entry = await this.stat(entry.path)
    if (entry.kind !== 'file') throw new WrongKindError(`${printable(typeof path === 'string' ? Buffer.from(path) : path)} is not a regular file (it is a ${entry.kind})`)
    return entry
  }

  /**
   * Read a file, or the byte range `[offset, offset + length)` of it. Only
   * the chunks that cover the range are fetched, each verified; holes
   * (docs/FORMAT.md §2.1) read as zeros. A range that starts past the end
   * is `InvalidRangeError` (`ERR_INVALID_RANGE`); one that runs past the end
   * is cut at the end.
   */
  async * readFile (pathOrEntry: string | Uint8Array | FileEntry, options: ReadFileOptions = {}): AsyncGenerator<Uint8Array> {
    for await (const piece of this.readExtents(pathOrEntry, options)) {
      if (typeof piece !== 'number') { yield piece; continue }
      for (let left = piece; left > 0; left -= ZEROS_PIECE) yield new Uint8Array(Math.min(left, ZEROS_PIECE))
    }
  }

  /**
   * As {@link readFile}, but a hole (or the part of one in the range) comes
   * as a number: how many zero bytes it stands for, which nothing reads or
   * allocates. For writers that make holes (a sparse file, a sparse tar
   * entry).
   */
  async * readExtents (pathOrEntry: string | Uint8Array | FileEntry, options: ReadFileOptions = {}): AsyncGenerator<Uint8Array | number> {
    const entry = typeof pathOrEntry === 'object' && !(pathOrEntry instanceof Uint8Array) ? pathOrEntry : await this.statFile(pathOrEntry)
    const offset = options.offset ?? 0
    if (!Number.isSafeInteger(offset) || offset < 0) throw new InvalidRangeError(`offset must be a non-negative integer, got ${offset}`)
    if (options.length !== undefined && (!Number.isSafeInteger(options.length) || options.length < 0)) throw new InvalidRangeError(`length must be a non-negative integer, got ${options.length}`)
    if (offset > entry.size) throw new InvalidRangeError(`offset ${offset} is past the end of the file (${entry.size} bytes)`)
    const end = Math.min(entry.size, options.length === undefined ? entry.size : offset + options.length)
    if (end <= offset) return
    if (entry.content instanceof Uint8Array) {
      yield entry.content.subarray(offset, end)
      return
    }
    const elements = entry.content
    const { first, last, starts } = chunksCovering(elements, offset, end)
    // Fetch a few chunks ahead: store reads and decompression overlap the consumer.
    const ahead: Array<Promise<Uint8Array>> = []
    let next = first
    const fill = (): void => {
      while (next <= last && ahead.length < READ_AHEAD) {
        const c = elements[next++]!
        if (isHole(c)) continue
        const p = this.store.getChunk(c.digest)
        p.catch(() => {}) // awaited in order below
        ahead.push(p)
      }
    }
    for (let i = first; i <= last; i++) {
      if (options.signal?.aborted === true) throw options.signal.reason
      const c = elements[i]!
      const from = Math.max(0, offset - starts[i]!)
      const to = Math.min(c.length, end - starts[i]!)
      if (isHole(c)) { yield to - from; continue }
      fill()
      const bytes = await ahead.shift()!
      if (bytes.length !== c.length) throw new NonCanonicalError(`chunk ${digestToString(c.digest)} has ${bytes.length} bytes, the file says ${c.length}`)
      yield from === 0 && to === c.length ? bytes : bytes.subarray(from, to)
    }
  }
}

/** Zero bytes per piece when {@link SnapshotReader.readFile} reads a hole. */
const ZEROS_PIECE = 1 << 20

/** Chunks fetched ahead of the one being read. */
const READ_AHEAD = 4

/** Element offsets per content list, kept while the list is: a mount reads one file in many small ranges. */
const STARTS = new WeakMap<readonly ContentRef[], number[]>()

/**
 * The elements of a content list (chunks and holes) that cover the bytes
 * `[offset, end)` (with `0 ≤ offset < end ≤` the file size): indexes
 * `first` to `last`, and each element's offset in the file. The offsets
 * are computed once per list.
 */
export function chunksCovering (chunks: readonly ContentRef[], offset: number, end: number): { first: number, last: number, starts: readonly number[] } {
  let starts = STARTS.get(chunks)
  if (starts === undefined) { starts = chunkStarts(chunks); STARTS.set(chunks, starts) }
  const first = upperBound(starts, offset) - 1
  let last = first
  while (last + 1 < chunks.length && starts[last + 1]! < end) last++
  return { first, last, starts }
}

function chunkStarts (chunks: readonly ContentRef[]): number[] {
  const starts = new Array<number>(chunks.length)
  let at = 0
  for (let i = 0; i < chunks.length; i++) { starts[i] = at; at += chunks[i]!.length }
  return starts
}

/** Index of the first start greater than `x`. */
function upperBound (starts: number[], x: number): number {
  let lo = 0
  let hi = starts.length
  while (lo < hi) {
    const mid = (lo + hi) >>> 1
    if (starts[mid]! <= x) lo = mid + 1
    else hi = mid
  }
  return lo
}

function binarySearch (entries: Entry[], name: Uint8Array): Entry | undefined {
  let lo = 0
  let hi = entries.length - 1
  while (lo <= hi) {
    const mid = (lo + hi) >>> 1
    const c = cmp(entries[mid]!.name, name)
    if (c === 0) return entries[mid]
    if (c < 0) lo = mid + 1
    else hi = mid - 1
  }
  return undefined
}
