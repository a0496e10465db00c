/**
 * Exporting a snapshot to a directory of the local filesystem.
 *
 * Safety: the target must be absent or an empty directory. Every path is
 * created fresh below it from validated names (no `/`, `.` or `..`), files
 * are opened with O_EXCL and never through an existing link, hard links only
 * point at entries this export created, and symlinks are written as data and
 * never followed. So nothing is written outside the target whatever the
 * snapshot holds.
 *
 * Order: everything is created first with owner-only permissions (files
 * written concurrently), then owners are set (root only: chown clears
 * setuid bits and file capabilities), then xattrs, then modes and mtimes,
 * once nothing will add entries to a directory any more. A regular file
 * without xattrs gets its owner, mode and mtime in that order from the
 * worker that wrote it, on its descriptor, before it is closed: nothing
 * later changes them (a hard link to it changes only its ctime).
 *
 * @module
 */
import { linkSync, mkdirSync, symlinkSync } from 'node:fs'
import { readdir, stat } from 'node:fs/promises'
import { ExportError, TargetNotEmptyError, throwIfAborted } from '../errors.js'
import { type ChunkRef, type ContentRef, type DeviceEntry, type Entry, type FileEntry, type InodeAttrs, isHole, type SpecialEntry, type Xattr } from '../format/entry.js'
import { Limiter } from '../util/limiter.js'
import { printable } from '../format/names.js'
import { emptyDirectory, isRoot, makeDevice, makeDirectories, makeFifo, makeSocket, removeTree, writeXattrs, xattrSupport } from '../platform/index.js'
import { hasPackAccess, hasStoredChunkReads } from '../store/capability-guards.js'
import type { ChunkLookup, PackLease } from '../store/index.js'
import { FileWriterPool } from './file-writer-pool.js'
import type { FinalAttrs, WritePieces } from './file-writer-protocol.js'
import type { SnapshotReader } from './snapshot-reader.js'

/** Progress of an export; `onProgress` is called per entry and as file bytes go out, not only once per file. */
export interface ExportProgress {
  /** Entries written so far. */
  files: number
  /** File bytes read from the store and handed to the writers (or the tar stream) so far. */
  bytes: number
}

/** Options for {@link exportDirectory}. */
export interface ExportDirectoryOptions {
  /** Set owners (uid/gid). Default: only when running as root. */
  owners?: boolean
  /** Create character and block device nodes (needs root). Default false: they are skipped with a warning. */
  devices?: boolean
  /** Write extended attributes (default true; needs `setfattr`). */
  xattrs?: boolean
  /** Files written at once (default 16). */
  concurrency?: number
  /** Worker threads that decode chunks and write files (default: one per CPU). */
  threads?: number
  signal?: AbortSignal
  onProgress?: (progress: ExportProgress) => void
  /** Non-fatal problems: skipped devices, xattrs the filesystem refused. */
  onWarning?: (message: string) => void
}

const SLASH = Buffer.from('/')
const NO_BYTES = new Uint8Array(0)
const NS_PER_S = 1_000_000_000n
/** FIFOs, sockets and devices made at once (each is a child process or a socket). */
const SPECIALS_AT_ONCE = 4
/** Chunks read from the store and sent to a worker at once. */
const CHUNKS_PER_BATCH = 32

/**
 * Seconds since the epoch as a double, for utimes: the microsecond that
 * holds `ns` (sub-microsecond digits are not restored; a double cannot hold
 * nanoseconds near 2^31 s anyway). libuv truncates the double toward zero
 * to whole microseconds, so aim at the middle of the wanted microsecond
 * from the side of zero: half a microsecond above it for times after 1970,
 * below it for times before.
 *
 * Pass the result to Node's utimes as a string ({@link utimesArg}): Node
 * replaces a negative number by the current time.
 */
export function utimesSeconds (ns: bigint): number {
  let s = ns / NS_PER_S
  let rem = ns % NS_PER_S
  if (rem < 0n) { rem += NS_PER_S; s -= 1n }
  const us = Number(rem / 1000n)
  return Number(s) + (s < 0n ? us - 0.5 : us + 0.5) / 1e6
}

/**
 * A file's content list in batches for the writers: up to
 * {@link CHUNKS_PER_BATCH} chunks each, a batch ending where a hole starts
 * (the hole's length is its `holeAfter`; a file starting with a hole has a
 * first batch without chunks).
 */
function * chunkBatches (content: readonly ContentRef[]): Generator<{ refs: ChunkRef[], holeAfter: number }> {
  let refs: ChunkRef[] = []
  for (const c of content) {
    if (isHole(c)) {
      yield { refs, holeAfter: c.length }
      refs = []
      continue
    }
    refs.push(c)
    if (refs.length === CHUNKS_PER_BATCH) { yield { refs, holeAfter: 0 }; refs = [] }
  }
  if (refs.length > 0) yield { refs, holeAfter: 0 }
}

/** What {@link prepareTarget} found: the directories it made, or the mode of the empty directory that was there. */
type PreparedTarget = { made: Buffer } | { mode: number }

async function prepareTarget (target: Buffer): Promise<PreparedTarget> {
  try {
    const names = await readdir(target)
    if (names.length > 0) throw new TargetNotEmptyError(`export target ${printable(target)} is not empty`)
    return { mode: (await stat(target)).mode & 0o7777 }
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') {
      const made = await makeDirectories(target, 0o700).catch((mkdirErr: Error) => {
        throw new ExportError(`cannot create export target ${printable(target)}: ${mkdirErr.message}`, { cause: mkdirErr })
      })
      if (made !== undefined) return { made }
      return await prepareTarget(target) // made by someone else meanwhile
    }
    if ((err as NodeJS.ErrnoException).code === 'ENOTDIR') throw new TargetNotEmptyError(`export target ${printable(target)} exists and is not a directory`, { cause: err })
    throw err
  }
}

/** Take back what a failed export wrote: the directories it made, or the contents of the empty directory it was given. */
async function undoExport (target: Buffer, prepared: PreparedTarget, onWarning: ((message: string) => void) | undefined): Promise<void> {
  try {
    if ('made' in prepared) await removeTree(prepared.made)
    else await emptyDirectory(target, prepared.mode)
  } catch (err) {
    onWarning?.(`could not remove what the failed export wrote to ${printable(target)}: ${(err as Error).message}`)
  }
}

/** Make a FIFO, socket or device node (owner-only until the last phase). */
async function makeSpecial (abs: Buffer, entry: SpecialEntry | DeviceEntry): Promise<void> {
  switch (entry.kind) {
    case 'fifo': return await makeFifo(abs, 0o600)
    case 'socket': return await makeSocket(abs, 0o600)
    default: return await makeDevice(abs, entry.kind, entry.major, entry.minor, 0o600)
  }
}

interface Pending { abs: Buffer, attrs: InodeAttrs, kind: Entry['kind'] }

/**
 * Write the snapshot to directory `target`. Throws `TargetNotEmptyError`
 * (`ERR_TARGET_NOT_EMPTY`) if the target exists and is not an empty directory.
 * A failed or aborted export leaves nothing: the directories it made
 * (parents included) are removed, or an empty directory it was given is
 * emptied again.
 */
export async function exportDirectory (reader: SnapshotReader, target: string | Buffer, options: ExportDirectoryOptions = {}): Promise<ExportProgress> {
  const root = Buffer.isBuffer(target) ? target : Buffer.from(target)
  const { signal, onProgress, onWarning } = options
  const owners = options.owners ?? isRoot()
  const prepared = await prepareTarget(root)
  const pending: Pending[] = []
  const xattrItems: Array<{ path: Buffer, xattrs: Xattr[] }> = []
  const skipped = new Set<string>()
  const progress: ExportProgress = { files: 0, bytes: 0 }
  // Reported per entry and as file bytes go to the writers: one big file does not freeze the figures.
  const addBytes = (n: number): void => { progress.bytes += n; onProgress?.({ ...progress }) }

  // Files are written concurrently by the worker pool (their parent
  // directories exist: the walk creates parents first); a hard link waits
  // for its target's write.
  const limiter = new Limiter(options.concurrency ?? 16)
  const specials = new Limiter(SPECIALS_AT_ONCE)
  const pool = FileWriterPool.start(options.threads)
  let lease: PackLease | undefined
  let finished = false
  /** Special files being made (by child processes): a failed export waits for them before it removes what it made. */
  const specialsMade: Array<Promise<void>> = []
  try {
    const writes: Array<Promise<void>> = []
    /** Regular files and special files being made, by path: a hard link waits for its target. */
    const fileWrites = new Map<string, Promise<void>>()
    const store = reader.store
    // Stores that give chunks' stored forms let the workers decode them;
    // others are read through the reader (getChunk, verified there).
    const storedChunks = hasStoredChunkReads(store) ? store.readStoredChunks.bind(store) : undefined
    // With pack files, the workers read the records themselves through
    // descriptors leased for the whole export: the main thread only looks
    // up where chunks are.
    const packAccess = hasPackAccess(store) ? store : undefined
    lease = packAccess?.leasePacks()
    const resolveChunkSources = lease !== undefined ? packAccess?.resolveChunkSources.bind(store) : undefined
    // Where the first chunks of a file are is asked for when the walk meets
    // the file, not when its write starts: the files of a directory then
    // share one store lookup (the store coalesces the requests of one turn).
    // (Only the index lookup: pack descriptors are taken when the write starts.)
    const lookupChunkIndex = lease !== undefined ? packAccess?.lookupChunkIndex.bind(store) : undefined
    const lookupFirst = (entry: FileEntry): Promise<ChunkLookup> | undefined => {
      if (lookupChunkIndex === undefined || entry.content instanceof Uint8Array) return undefined
      const batch = chunkBatches(entry.content).next()
      if (batch.done === true || batch.value.refs.length === 0) return undefined
      const found = lookupChunkIndex(batch.value.refs.map((c) => c.digest))
      found.catch(() => {}) // awaited by the write
      return found
    }
    async function * piecesOf (entry: FileEntry, first: Promise<ChunkLookup> | undefined): AsyncGenerator<WritePieces> {
      if (entry.content instanceof Uint8Array) {
        yield { pieces: [entry.content] }
        addBytes(entry.content.length)
        return
      }
      if (resolveChunkSources === undefined && storedChunks === undefined) {
        for await (const piece of reader.readExtents(entry, signal !== undefined ? { signal } : {})) {
          if (typeof piece === 'number') { yield { pieces: [], holeAfter: piece }; continue }
          yield { pieces: [piece] }
          addBytes(piece.length)
        }
        return
      }
      let firstBatch = true
      for (const { refs, holeAfter } of chunkBatches(entry.content)) {
        throwIfAborted(signal)
        const hole = holeAfter > 0 ? { holeAfter } : {}
        if (refs.length === 0) { yield { pieces: [], ...hole }; continue }
        const digests = refs.map((c) => c.digest)
        const lengths = refs.map((c) => c.length)
        if (resolveChunkSources !== undefined && lease !== undefined) {
          const sources = await resolveChunkSources(digests, lease, firstBatch ? first : undefined)
          yield {
            pieces: sources.map((c) => 'stored' in c ? c.stored : NO_BYTES),
            reads: sources.map((c) => 'fd' in c ? [c.fd, c.location.offset, c.location.storedLength, c.location.pack] : null),
            digests,
            lengths,
            ...hole
          }
        } else {
          yield { pieces: await storedChunks!(digests), digests, lengths, ...hole }
        }
        firstBatch = false
        addBytes(lengths.reduce((n, l) => n + l, 0))
      }
    }
    const writeFile = async (abs: Buffer, entry: FileEntry, first: Promise<ChunkLookup> | undefined, attrs: FinalAttrs | undefined): Promise<void> => {
      await pool.writeFile(abs, piecesOf(entry, first), attrs)
    }

    const rootEntry = reader.rootEntry
    pending.push({ abs: root, attrs: rootEntry, kind: 'dir' })
    if (rootEntry.xattrs.length > 0) xattrItems.push({ path: Buffer.alloc(0), xattrs: [...rootEntry.xattrs] })

    for await (const { path, entry } of reader.walk({ signal })) {
      throwIfAborted(signal)
      /** Set when the worker gives the file its owner, mode and time: the last phases skip it. */
      let attrsAtClose = false
      const rel = Buffer.from(path)
      const abs = Buffer.concat([root, SLASH, rel])
      switch (entry.kind) {
        // Directories, symlinks and links are made with synchronous calls:
        // one syscall each, far cheaper than a round trip through libuv's
        // pool, and the walk needs a directory to exist before its entries.
        case 'dir':
          mkdirSync(abs, 0o700)
          break
        case 'file': {
          const first = lookupFirst(entry)
          // A file without xattrs gets its owner, mode and time from the
          // worker before it is closed (nothing later changes them); one
          // with xattrs waits for the phases below, which keep their order.
          const final = entry.xattrs.length === 0
            ? { ...(owners ? { owner: [entry.uid, entry.gid] as [number, number] } : {}), mode: entry.mode, seconds: utimesSeconds(entry.mtimeNs) }
            : undefined
          const write = limiter.run(async () => await writeFile(abs, entry, first, final))
          write.catch(() => {}) // awaited below with all writes
          writes.push(write)
          fileWrites.set(rel.toString('latin1'), write)
          attrsAtClose = final !== undefined
          break
        }
        case 'symlink':
          symlinkSync(Buffer.from(entry.target), abs)
          break
        case 'hardlink': {
          const key = Buffer.from(entry.path).toString('latin1')
          if (skipped.has(key)) {
            onWarning?.(`skipped hard link ${printable(path)}: its target was skipped`)
            continue
          }
          await fileWrites.get(key)
          linkSync(Buffer.concat([root, SLASH, Buffer.from(entry.path)]), abs)
          progress.files++
          continue
        }
        case 'fifo':
        case 'socket':
        case 'char':
        case 'block': {
          if ((entry.kind === 'char' || entry.kind === 'block') && options.devices !== true) {
            skipped.add(rel.toString('latin1'))
            onWarning?.(`skipped ${entry.kind} device ${printable(path)} (${entry.major}:${entry.minor}); export with devices enabled to create it`)
            continue
          }
          // Made by a child process each (mknod): the walk goes on
          // meanwhile, a few at a time; a hard link waits for its target.
          const special = entry
          const made = specials.run(async () => { await makeSpecial(abs, special) })
          made.catch(() => {}) // awaited below with all writes
          writes.push(made)
          specialsMade.push(made)
          fileWrites.set(rel.toString('latin1'), made)
          break
        }
      }
      if (!attrsAtClose) pending.push({ abs, attrs: entry, kind: entry.kind })
      if (entry.xattrs.length > 0) xattrItems.push({ path: rel, xattrs: [...entry.xattrs] })
      progress.files++
      onProgress?.({ ...progress })
    }

    await Promise.all(writes)
    if (owners) await pool.setOwners(pending.map((p) => [p.abs, p.attrs.uid, p.attrs.gid]))
    if (options.xattrs !== false && xattrItems.length > 0) {
      if (await xattrSupport()) {
        await writeXattrs(root, xattrItems, { onWarning })
      } else {
        onWarning?.(`setfattr is not installed: extended attributes of ${xattrItems.length} entries were not restored (install the "attr" package)`)
      }
    }
    // Everything exists now, so no later step touches a directory's entries:
    // modes and times can be set in any order (changing a child's metadata
    // does not change its parent's mtime).
    await pool.setModes(pending.map((p) => [p.abs, p.kind === 'symlink', p.attrs.mode, utimesSeconds(p.attrs.mtimeNs)]))
    finished = true
    return progress
  } finally {
    // The workers stop here: nothing writes below the target after this
    // but the special files already being made.
    await pool.close()
    await lease?.close()
    if (!finished) {
      await Promise.allSettled(specialsMade)
      await undoExport(root, prepared, onWarning)
    }
  }
}
