/**
 * Importing a directory of the local filesystem as a snapshot.
 *
 * The walk is depth-first with each directory's names sorted as raw bytes,
 * which is the canonical order of docs/FORMAT.md §4: the first name of a
 * hard-linked inode met in this walk keeps the inode, later names become
 * hard-link entries pointing at it. Names are handled as bytes (Buffer
 * paths), so names that are not UTF-8 survive.
 *
 * @module
 */
import { createReadStream, lstatSync, readdirSync, readlinkSync } from 'node:fs'
import { readFile, stat } from 'node:fs/promises'
import { InvalidArgumentError, UnreadableSourceError, throwIfAborted } from '../errors.js'
import type { Entry, InodeAttrs, Xattr } from '../format/entry.js'
import { joinPath, printable } from '../format/names.js'
import { DEFAULT_SNAPSHOT_PARAMS, type SnapshotParams, validateSnapshotParams } from '../format/snapshot.js'
import { TreeBuilder } from '../format/tree.js'
import { readXattrsTree, xattrSupport } from '../platform/index.js'
import { deviceNumbers } from '../platform/stat.js'
import { hasEncodedChunkWrites } from '../store/capability-guards.js'
import type { ObjectStore } from '../store/index.js'
import { commitImport, type CommitImportOptions, type ImportResult } from './commit.js'
import { storeContent, type StoredContent } from '../content/file-content.js'
import { Limiter } from '../util/limiter.js'
import { ContentPool } from './content-pool.js'
import { availableParallelism } from 'node:os'
import { type MtimePolicy, normalizeMtime } from '../format/mtime.js'
import { withStoreSession } from '../store/session.js'

/** Progress of an import, reported as it goes. */
export interface ImportProgress {
  /** Entries imported so far. */
  files: number
  /** File bytes stored so far (chunked, hashed and handed to the store; deduplicated bytes count too). `onProgress` is called as they grow, not only once per entry. */
  bytes: number
  /** Chunks new to the store so far. */
  newChunks: number
}

/** Options for {@link importDirectory}. */
export interface ImportDirectoryOptions extends CommitImportOptions {
  /** Chunker params and inlineMax; defaults per docs/FORMAT.md. */
  params?: Partial<SnapshotParams>
  /** Keep mtimes (default), record them as 0, or as a fixed number of seconds (SOURCE_DATE_EPOCH). */
  mtime?: MtimePolicy
  /** Read extended attributes (default true; needs `getfattr`). */
  xattrs?: boolean
  /** Files whose content is read and stored at once (default 16). */
  concurrency?: number
  /**
   * Worker threads that read, chunk, hash and compress file contents
   * (default: one per CPU plus one, so that a worker waiting for a cold
   * read leaves no CPU idle; 0 does it all on the calling thread). Used when
   * the store takes chunks in their stored form (an `EncodedChunkWriter`,
   * as the local store is); other stores get raw chunks on this thread.
   */
  workers?: number
  signal?: AbortSignal
  onProgress?: (progress: ImportProgress) => void
  /** Non-fatal problems (for example xattrs that could not be read). */
  onWarning?: (message: string) => void
}

type ImportStore = Pick<ObjectStore, 'putChunk' | 'putTree' | 'commitSnapshot' | 'flush'>

const SLASH = Buffer.from('/')
/** Files at least this big are stored before smaller ones waiting. */
const BIG_FILE = 1024n * 1024n
/** The walk gives the event loop a turn at least this often (ms). */
const YIELD_MS = 4

function wrapFsError (err: unknown, path: Buffer, action: string): never {
  const code = (err as NodeJS.ErrnoException).code
  throw new UnreadableSourceError(`cannot ${action} ${printable(path)}${code !== undefined ? ` (${code})` : ''}: ${(err as Error).message}`, { cause: err })
}

/**
 * Import the directory at `source` into `store` and, when `options.name` is
 * given, commit it as a snapshot under that name.
 *
 * Throws `UnreadableSourceError` (`ERR_UNREADABLE_SOURCE`) naming the path
 * of anything it cannot read; nothing is committed then.
 */
export async function importDirectory (store: ImportStore, source: string | Buffer, options: ImportDirectoryOptions = {}): Promise<ImportResult> {
  // A session pins what the import writes or reuses, so a gc running
  // meanwhile in this process keeps it (docs/FORMAT.md §6.1).
  return await withStoreSession(store, async () => await importDirectoryInSession(store, source, options))
}

async function importDirectoryInSession (store: ImportStore, source: string | Buffer, options: ImportDirectoryOptions): Promise<ImportResult> {
  const params: SnapshotParams = { ...DEFAULT_SNAPSHOT_PARAMS, ...options.params }
  validateSnapshotParams(params)
  const { signal, onProgress } = options
  const mtimePolicy = options.mtime ?? 'keep'
  const rootPath = Buffer.isBuffer(source) ? source : Buffer.from(source)
  let rootStat
  try {
    rootStat = await stat(rootPath, { bigint: true })
  } catch (err) { wrapFsError(err, rootPath, 'read') }
  if (!rootStat.isDirectory()) throw new InvalidArgumentError(`${printable(rootPath)} is not a directory`)

  // Nothing waits for anything it does not need: the content workers
  // boot, the store builds its chunk filter, getfattr reads the tree's
  // extended attributes and the walk starts, all at once. Files wait for
  // the workers and the filter; a directory's entries get their xattrs
  // when its tree is built, after its files are stored.
  const workers = options.workers ?? availableParallelism() + 1
  const pool = workers > 0 && hasEncodedChunkWrites(store)
    ? ContentPool.start(store, params, { threads: workers, level: store.compressionLevel })
    : undefined
  let failed: unknown
  const xattrsRead: Promise<Map<string, Xattr[]>> = (async () => {
    if (options.xattrs === false) return new Map()
    if (await xattrSupport()) return await readXattrsTree(rootPath, { onWarning: options.onWarning })
    options.onWarning?.('getfattr is not installed: extended attributes are not imported (install the "attr" package)')
    return new Map()
  })()
  // A failed getfattr stops the walk as a failed file does.
  xattrsRead.catch((err) => { failed ??= err })
  const xattrsOf = (map: Map<string, Xattr[]>, rel: Uint8Array): Xattr[] => map.get(Buffer.from(rel).toString('latin1')) ?? []

  const totals = { files: 0, logicalBytes: 0, newChunks: 0, newBytes: 0 }
  const progress = { files: 0, bytes: 0, newChunks: 0 }
  // Reported per entry walked and as file bytes are stored: the walk may
  // finish long before the content (one big file, a slow disk).
  const addBytes = (n: number): void => { progress.bytes += n; onProgress?.({ ...progress }) }
  const links = new Map<string, Uint8Array>()

  // xattrs are filled in when the parent's tree is built (withXattrs).
  const attrsOf = (st: import('node:fs').BigIntStats): InodeAttrs => ({
    mode: Number(st.mode & 0o7777n),
    uid: Number(st.uid),
    gid: Number(st.gid),
    mtimeNs: normalizeMtime(st.mtimeNs, mtimePolicy),
    xattrs: []
  })
  const withXattrs = (entry: Entry, map: Map<string, Xattr[]>, rel: Uint8Array[]): Entry => {
    if (entry.kind === 'hardlink') return entry
    const xattrs = xattrsOf(map, joinPath([...rel, entry.name]))
    return xattrs.length === 0 ? entry : { ...entry, xattrs }
  }

  const readContent = async (abs: Buffer, size: bigint): Promise<AsyncIterable<Uint8Array> | Iterable<Uint8Array>> => {
    if (size <= 4n * 1024n * 1024n) {
      try {
        return [await readFile(abs)]
      } catch (err) { wrapFsError(err, abs, 'read') }
    }
    const stream = createReadStream(abs, { highWaterMark: 1024 * 1024 })
    return (async function * () {
      try {
        for await (const piece of stream) yield piece as Buffer
      } catch (err) { wrapFsError(err, abs, 'read') }
    })()
  }

  // The walk is sequential in canonical order (it decides which name of a
  // hard-linked inode comes first); file contents are stored concurrently,
  // at most `limiter.limit` files at a time, and a directory's tree is
  // built when all its children are done.
  const limiter = new Limiter(options.concurrency ?? 16)
  const storeFile = async (abs: Buffer, size: bigint): Promise<StoredContent> => {
    // Big files go first, biggest first, and the rest in walk order: a big
    // file met late in the walk would otherwise be the last job, on one
    // worker while the others have nothing left to do. Small files are not
    // all left to the end: their cost is mostly the main thread's, which
    // is best spent while the workers compress.
    await limiter.acquire(size >= BIG_FILE ? Number(size) : 0)
    try {
      if (failed !== undefined) throw failed
      throwIfAborted(signal)
      const stored = pool !== undefined
        ? await pool.store(abs, Number(size), addBytes)
        : await storeContent(await readContent(abs, size), {
          store,
          params,
          ...(signal !== undefined ? { signal } : {}),
          onBytes: addBytes
        })
      totals.logicalBytes += stored.size
      totals.newChunks += stored.newChunks
      totals.newBytes += stored.newBytes
      progress.newChunks = totals.newChunks
      return stored
    } catch (err) {
      failed ??= err
      throw err
    } finally {
      limiter.release()
    }
  }

  const importEntry = async (abs: Buffer, rel: Uint8Array[], name: Uint8Array, st: import('node:fs').BigIntStats): Promise<{ entry: Entry | Promise<Entry> }> => {
    const relPath = joinPath(rel)
    if (st.isDirectory()) {
      const { tree } = await walkDir(abs, rel)
      const attrs = attrsOf(st)
      return { entry: tree.then((digest) => ({ kind: 'dir', name, ...attrs, tree: digest })) }
    }
    if (st.nlink > 1n) {
      const key = `${st.dev}:${st.ino}`
      const first = links.get(key)
      if (first !== undefined) return { entry: { kind: 'hardlink', name, path: first } }
      links.set(key, relPath)
    }
    const attrs = attrsOf(st)
    if (st.isFile()) {
      const entry = storeFile(abs, st.size).then((stored): Entry => ({ kind: 'file', name, ...attrs, size: stored.size, content: stored.content }))
      entry.catch(() => {}) // observed through Promise.all of the directory
      return { entry }
    }
    if (st.isSymbolicLink()) {
      let target: Buffer
      try {
        target = readlinkSync(abs, { encoding: 'buffer' })
      } catch (err) { wrapFsError(err, abs, 'read link') }
      return { entry: { kind: 'symlink', name, ...attrs, target: new Uint8Array(target) } }
    }
    if (st.isFIFO()) return { entry: { kind: 'fifo', name, ...attrs } }
    if (st.isSocket()) return { entry: { kind: 'socket', name, ...attrs } }
    if (st.isCharacterDevice() || st.isBlockDevice()) {
      const { major, minor } = deviceNumbers(st.rdev)
      return { entry: { kind: st.isCharacterDevice() ? 'char' : 'block', name, ...attrs, major, minor } }
    }
    throw new UnreadableSourceError(`${printable(abs)} is of an unknown file type`)
  }

  // The walk reads metadata with synchronous calls: a few microseconds
  // each, where a round trip through libuv's pool waits behind the worker
  // replies the main thread is handling (the walk then fell behind the
  // workers, and the files met last were stored last). It yields to the
  // event loop every few milliseconds so replies and writes go on.
  let lastYield = performance.now()
  const yieldIfDue = async (): Promise<void> => {
    if (performance.now() - lastYield < YIELD_MS) return
    await new Promise((resolve) => setImmediate(resolve))
    lastYield = performance.now()
  }

  /** Walk one directory; resolves when its metadata is read, with a promise of its tree digest. */
  const walkDir = async (abs: Buffer, rel: Uint8Array[]): Promise<{ tree: Promise<Uint8Array> }> => {
    throwIfAborted(signal)
    if (failed !== undefined) throw failed
    await yieldIfDue()
    let names: Buffer[]
    try {
      names = readdirSync(abs, { encoding: 'buffer' })
    } catch (err) { wrapFsError(err, abs, 'list') }
    names.sort(Buffer.compare)
    const paths = names.map((name) => Buffer.concat([abs, SLASH, name]))
    const stats = paths.map((p) => {
      try {
        return lstatSync(p, { bigint: true })
      } catch (err) { wrapFsError(err, p, 'stat') }
    })
    const children: Array<Entry | Promise<Entry>> = []
    for (let i = 0; i < names.length; i++) {
      const name = names[i]!
      children.push((await importEntry(paths[i]!, [...rel, name], new Uint8Array(name), stats[i]!)).entry)
      totals.files++
      progress.files++
      onProgress?.({ ...progress })
    }
    const tree = Promise.all(children).then(async (entries) => {
      const xattrMap = await xattrsRead
      const builder = new TreeBuilder({ inlineMax: params.inlineMax })
      for (const entry of entries) builder.add(withXattrs(entry, xattrMap, rel))
      const encoded = builder.build()
      await store.putTree(encoded.digest, encoded.bytes)
      return encoded.digest
    })
    tree.catch(() => {}) // observed by the parent; avoid an unhandled rejection if the walk stops first
    return { tree }
  }

  let tree: Uint8Array
  try {
    tree = await (await walkDir(rootPath, [])).tree
  } catch (err) {
    failed ??= err
    throw err
  } finally {
    await pool?.close()
    // A walk that failed first leaves getfattr running: wait for it (its own failure is not news then).
    await xattrsRead.catch(() => {})
  }
  const root = { ...attrsOf(rootStat), tree, xattrs: xattrsOf(await xattrsRead, new Uint8Array(0)) }
  return await commitImport(store, params, root, totals, options)
}
