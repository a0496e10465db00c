/**
 * Packs as files in one directory (`<store>/packs/`). Read handles are kept
 * open in a small cache (closed at {@link FilePackStorage.close}), so that
 * reads cost one `pread` on the libuv pool and run in parallel; the pack
 * being written keeps its own handle.
 *
 * @module
 */
import { mkdir, open, readdir, stat, unlink, type FileHandle } from 'node:fs/promises'
import { join } from 'node:path'
import { NotFoundError, StoreError } from '../../errors.js'
import type { PackInfo, PackLease, PackStorage } from './index.js'
import { PACK_MAGIC, packFileName, parsePackFileName } from './format.js'

/** Pieces in one vectored write (IOV_MAX is 1024 on Linux). */
const IOV_PIECES = 1024
/** Read handles kept open at most (idle ones beyond this are closed). */
const MAX_OPEN_READERS = 32
/** Pack descriptors one lease keeps open at most. */
const MAX_LEASED = 128
/** Reads up to this size go through the read-ahead windows. */
const SMALL_READ = 64 * 1024
/** Bytes a small read that misses the windows reads (from its offset on). */
const WINDOW_BYTES = 256 * 1024
/** Read-ahead windows kept. */
const MAX_WINDOWS = 4

interface Reader { handle: FileHandle, users: number, dropped: boolean }

const isNoEntry = (err: unknown): boolean => (err as NodeJS.ErrnoException).code === 'ENOENT'

/** {@link PackStorage} on files in a directory (created when the first pack is). */
export class FilePackStorage implements PackStorage {
  readonly #dir: string
  /** Open read handles by pack, least recently used first. */
  readonly #readers = new Map<number, Reader>()
  /** Read handles being opened. */
  readonly #opening = new Map<number, Promise<Reader>>()
  #writer: { pack: number, handle: FileHandle } | undefined
  /**
   * Recently read windows of packs, most recent last: one chunk after
   * another in pack order (a tar export of small files) costs one `pread`
   * per window instead of one per chunk. Pack bytes never change once
   * written, so a window stays right; it holds what the pack had when read.
   */
  #windows: Array<{ pack: number, start: number, bytes: Uint8Array }> = []
  #closed = false

  /** Packs in directory `dir`. */
  constructor (dir: string) { this.#dir = dir }

  get description (): string { return this.#dir }

  #path (pack: number): string { return join(this.#dir, packFileName(pack)) }

  async list (): Promise<PackInfo[]> {
    let names: string[]
    try {
      names = await readdir(this.#dir)
    } catch (err) {
      if (isNoEntry(err)) return []
      throw err
    }
    const out: PackInfo[] = []
    for (const name of names) {
      const pack = parsePackFileName(name)
      if (pack === undefined) continue
      try {
        out.push({ pack, size: (await stat(join(this.#dir, name))).size })
      } catch (err) {
        if (!isNoEntry(err)) throw err
      }
    }
    return out.sort((a, b) => a.pack - b.pack)
  }

  async create (pack: number): Promise<void> {
    await mkdir(this.#dir, { recursive: true })
    const handle = await open(this.#path(pack), 'wx')
    try {
      await handle.write(PACK_MAGIC, 0, PACK_MAGIC.length, 0)
    } catch (err) {
      await handle.close().catch(() => {})
      throw err
    }
    await this.#closeWriter()
    this.#writer = { pack, handle }
  }

  async #closeWriter (): Promise<void> {
    const w = this.#writer
    this.#writer = undefined
    await w?.handle.close()
  }

  async write (pack: number, offset: number, bytes: Uint8Array): Promise<void> {
    await this.writePieces(pack, offset, [bytes])
  }

  async writePieces (pack: number, offset: number, pieces: readonly Uint8Array[]): Promise<void> {
    let handle = this.#writer?.pack === pack ? this.#writer.handle : undefined
    const own = handle === undefined
    if (handle === undefined) {
      try {
        handle = await open(this.#path(pack), 'r+')
      } catch (err) {
        if (isNoEntry(err)) throw new NotFoundError(`pack ${this.#path(pack)} does not exist`, { cause: err })
        throw err
      }
    }
    try {
      // Vectored writes of at most IOV_PIECES pieces; a short write resumes where it stopped.
      let rest = pieces.filter((b) => b.length > 0)
      let at = offset
      while (rest.length > 0) {
        const group = rest.slice(0, IOV_PIECES)
        let { bytesWritten } = await handle.writev(group, at)
        at += bytesWritten
        let k = 0
        while (k < group.length && bytesWritten >= group[k]!.length) bytesWritten -= group[k++]!.length
        rest = k < group.length ? [group[k]!.subarray(bytesWritten), ...rest.slice(k + 1)] : rest.slice(k)
      }
    } finally {
      if (own) await handle.close()
    }
  }

  async #acquire (pack: number): Promise<Reader> {
    for (;;) {
      let reader = this.#readers.get(pack)
      if (reader === undefined) {
        let opening = this.#opening.get(pack)
        if (opening === undefined) {
          opening = open(this.#path(pack), 'r').then((handle) => {
            this.#opening.delete(pack)
            const r: Reader = { handle, users: 0, dropped: false }
            if (this.#closed) {
              handle.close().catch(() => {})
              throw new StoreError(`the packs in ${this.#dir} are closed`)
            }
            this.#readers.set(pack, r)
            return r
          }, (err) => {
            this.#opening.delete(pack)
            throw err
          })
          this.#opening.set(pack, opening)
        }
        reader = await opening
        // Evicted or deleted before this read could use it: open again.
        if (reader.dropped) continue
      } else {
        // Most recently used last.
        this.#readers.delete(pack)
        this.#readers.set(pack, reader)
      }
      reader.users++
      this.#evict()
      return reader
    }
  }

  #release (reader: Reader): void {
    if (--reader.users === 0 && reader.dropped) reader.handle.close().catch(() => {})
  }

  /** Close idle read handles beyond the cache size, least recently used first. */
  #evict (): void {
    for (const [pack, r] of this.#readers) {
      if (this.#readers.size <= MAX_OPEN_READERS) break
      if (r.users === 0) this.#drop(pack, r)
    }
  }

  #drop (pack: number, reader: Reader): void {
    if (this.#readers.get(pack) === reader) this.#readers.delete(pack)
    reader.dropped = true
    if (reader.users === 0) reader.handle.close().catch(() => {})
  }

  async read (pack: number, offset: number, length: number): Promise<Uint8Array> {
    if (length > SMALL_READ) return await this.#read(pack, offset, length)
    for (const w of this.#windows) {
      if (w.pack === pack && w.start <= offset && offset + length <= w.start + w.bytes.length) return w.bytes.subarray(offset - w.start, offset - w.start + length)
    }
    const bytes = await this.#read(pack, offset, WINDOW_BYTES)
    this.#windows.push({ pack, start: offset, bytes })
    if (this.#windows.length > MAX_WINDOWS) this.#windows.shift()
    return bytes.subarray(0, length)
  }

  async #read (pack: number, offset: number, length: number): Promise<Uint8Array> {
    let reader: Reader
    try {
      reader = await this.#acquire(pack)
    } catch (err) {
      if (isNoEntry(err)) throw new NotFoundError(`pack ${this.#path(pack)} does not exist`, { cause: err })
      throw err
    }
    try {
      const out = Buffer.allocUnsafe(length)
      let done = 0
      while (done < length) {
        const { bytesRead } = await reader.handle.read(out, done, length - done, offset + done)
        if (bytesRead === 0) break
        done += bytesRead
      }
      return out.subarray(0, done)
    } finally {
      this.#release(reader)
    }
  }

  async sync (pack: number): Promise<void> {
    if (this.#writer?.pack === pack) { await this.#writer.handle.datasync(); return }
    const handle = await open(this.#path(pack), 'r+')
    try { await handle.datasync() } finally { await handle.close() }
  }

  async delete (pack: number): Promise<void> {
    this.#windows = this.#windows.filter((w) => w.pack !== pack)
    if (this.#writer?.pack === pack) await this.#closeWriter()
    // Reads holding the handle finish on the unlinked file; it closes after them.
    const reader = this.#readers.get(pack)
    if (reader !== undefined) this.#drop(pack, reader)
    try {
      await unlink(this.#path(pack))
    } catch (err) {
      if (!isNoEntry(err)) throw err
    }
  }

  lease (): PackLease {
    const handles = new Map<number, Promise<FileHandle>>()
    let closed = false
    return {
      fd: async (pack) => {
        if (closed) throw new StoreError('the pack lease is closed')
        let h = handles.get(pack)
        if (h === undefined) {
          // Bounded: LevelDB keeps up to 1000 files open too, and the
          // process's limit is often 1024.
          if (handles.size >= MAX_LEASED) return undefined
          h = open(this.#path(pack), 'r').catch((err) => {
            handles.delete(pack)
            if (isNoEntry(err)) throw new NotFoundError(`pack ${this.#path(pack)} does not exist`, { cause: err })
            throw err
          })
          handles.set(pack, h)
        }
        return (await h).fd
      },
      close: async () => {
        closed = true
        const all = [...handles.values()]
        handles.clear()
        await Promise.all(all.map(async (h) => { await (await h.catch(() => undefined))?.close().catch(() => {}) }))
      }
    }
  }

  async close (): Promise<void> {
    if (this.#closed) return
    this.#closed = true
    await this.#closeWriter()
    const readers = [...this.#readers.values()]
    this.#readers.clear()
    for (const r of readers) {
      r.dropped = true
      if (r.users === 0) await r.handle.close().catch(() => {})
    }
  }
}
