/**
 * `mountSnapshot`: a snapshot read-only at a directory. The metadata is
 * walked once (inode numbers, link counts); content is read on demand
 * through a bounded cache of verified chunks, with read-ahead, from the
 * reader's store, whatever implements it (a local store, a remote reader).
 *
 * @module
 */
import { printable } from '../format/names.js'
import type { FileEntry } from '../format/entry.js'
import { SnapshotReader } from '../exporter/snapshot-reader.js'
import { ChunkCache, type ChunkCacheStats } from './chunk-cache.js'
import { InodeTable } from './inode-table.js'
import { serveFilesystem } from './fuse/index.js'
import { SnapshotFilesystem } from './snapshot-filesystem.js'

/** Options for {@link mountSnapshot}. */
export interface MountOptions {
  /** Aborting unmounts (lazily if busy). */
  signal?: AbortSignal
  /** Bytes of decoded chunks kept in memory (default 64 MiB). */
  cacheBytes?: number
  /** Chunk fetches running at once (default 16). */
  maxChunksInFlight?: number
  /** Bytes fetched ahead of a sequential reader, across chunk boundaries (default 1 MiB; 0: none). */
  readAheadBytes?: number
  /** Refuse snapshots with more inodes (`ERR_LIMIT_EXCEEDED`; default 4,000,000). */
  maxInodes?: number
  /** Honour setuid and setgid bits on exec (default false: the mount is `nosuid`; modes still show the bits). */
  setuid?: boolean
  /** Allow opening device nodes (default false: `nodev`; they are still listed and stat'ed). */
  devices?: boolean
  /**
   * Read every file's chunks in the background once mounted, so that a
   * store that fetches on first read (a remote reader) holds them all.
   * Files are read through the reader itself, not the mount's cache.
   */
  prefetch?: boolean
  /** Prefetch progress: files and bytes done out of the totals. */
  onProgress?: (progress: MountProgress) => void
  /** One line per problem: a read answered with EIO (a chunk that fails verification, a fetch that failed). */
  onLog?: (message: string) => void
}

/** Progress of a prefetch. */
export interface MountProgress {
  phase: 'prefetch'
  files: number
  bytes: number
  totalFiles: number
  totalBytes: number
}

/** A mounted snapshot. */
export interface MountHandle {
  /** The mount point (absolute, resolved). */
  readonly dir: string
  /** Digest of the mounted snapshot. */
  readonly snapshot: string
  /** Inodes in the mount, the root included. */
  readonly inodes: number
  /** Resolves when the mount has gone away: `unmount()`, the signal, or an external `umount DIR`. */
  readonly closed: Promise<void>
  /** Resolves when a prefetch has read everything (at once without `prefetch`); never rejects: failures go to `onLog`. */
  readonly prefetched: Promise<void>
  /** Unmount; a busy mount is detached lazily and `closed` waits for its last user. */
  unmount: () => Promise<{ lazy: boolean }>
  /** Counters of the chunk cache. */
  cacheStats: () => ChunkCacheStats
}

/** Files prefetched at once. */
const PREFETCH_FILES = 2

/**
 * Mount the snapshot `reader` reads at `dir` (an existing directory),
 * read-only, and serve it until unmounted. Needs Linux, root and
 * `/dev/fuse` (`ERR_MOUNT_UNAVAILABLE`).
 */
export async function mountSnapshot (reader: SnapshotReader, dir: string, options: MountOptions = {}): Promise<MountHandle> {
  options.signal?.throwIfAborted()
  const log = options.onLog ?? (() => {})
  const cache = new ChunkCache(reader.store, {
    ...(options.cacheBytes !== undefined ? { maxBytes: options.cacheBytes } : {}),
    ...(options.maxChunksInFlight !== undefined ? { maxInFlight: options.maxChunksInFlight } : {})
  })
  const cached = await SnapshotReader.open(cache, reader.digest)
  const table = await InodeTable.build(cached, {
    ...(options.maxInodes !== undefined ? { maxInodes: options.maxInodes } : {}),
    ...(options.signal !== undefined ? { signal: options.signal } : {})
  })
  const fs = new SnapshotFilesystem(table, cached, { warm: (d) => { cache.warm(d) }, ...(options.readAheadBytes !== undefined ? { readAheadBytes: options.readAheadBytes } : {}) })
  const mount = await serveFilesystem(fs, dir, {
    source: `tessera:${reader.name ?? reader.digest}`.replace(/[\s,]/g, '_'),
    setuid: options.setuid ?? false,
    devices: options.devices ?? false,
    onReadError: (err, ino) => {
      const e = err as { code?: string, message?: string }
      log(`read of ${fs.describe(ino)} failed (EIO): ${e.code !== undefined ? `${e.code}: ` : ''}${e.message ?? String(err)}`)
    }
  })
  const stop = new AbortController()
  const onAbort = (): void => { void mount.unmount().catch((err: unknown) => { log(`unmount failed: ${(err as Error).message}`) }) }
  if (options.signal?.aborted === true) onAbort()
  else options.signal?.addEventListener('abort', onAbort, { once: true })
  const closed = mount.closed.then(() => {
    stop.abort()
    options.signal?.removeEventListener('abort', onAbort)
  })
  const prefetched = options.prefetch === true ? prefetch(reader, table, stop.signal, options.onProgress, log) : Promise.resolve()
  return {
    dir: mount.dir,
    snapshot: reader.digest,
    inodes: table.size,
    closed,
    prefetched,
    unmount: mount.unmount,
    cacheStats: () => cache.stats
  }
}

/** Read every regular file's content once, a few files at a time, until done or stopped. */
async function prefetch (reader: SnapshotReader, table: InodeTable, signal: AbortSignal, onProgress: MountOptions['onProgress'], log: (m: string) => void): Promise<void> {
  const files: Array<{ ino: number, entry: FileEntry }> = []
  for (let ino = 1; ino <= table.size; ino++) {
    const e = table.entry(ino)
    if (e?.kind === 'file' && !(e.content instanceof Uint8Array)) files.push({ ino, entry: e })
  }
  const progress: MountProgress = { phase: 'prefetch', files: 0, bytes: 0, totalFiles: files.length, totalBytes: files.reduce((n, f) => n + f.entry.size, 0) }
  let next = 0
  const worker = async (): Promise<void> => {
    while (next < files.length && !signal.aborted) {
      const { ino, entry } = files[next++]!
      try {
        for await (const piece of reader.readFile(entry, { signal })) progress.bytes += piece.length
      } catch (err) {
        if (signal.aborted) return
        log(`prefetch of ${printable(table.path(ino))} failed: ${(err as Error).message}`)
      }
      progress.files++
      onProgress?.({ ...progress })
    }
  }
  await Promise.all(Array.from({ length: PREFETCH_FILES }, worker))
}
