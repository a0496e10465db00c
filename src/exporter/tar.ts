/**
 * Exporting a snapshot as a tar stream (PAX where ustar is not enough):
 * entries in canonical order, directories as `path/`, hard links as tar
 * hard links to the first name, xattrs as `SCHILY.xattr.*` records. The
 * stream is reproducible: the same snapshot gives the same bytes. The root
 * directory itself has no entry (as in OCI layers), and sockets cannot be
 * represented in tar: they are skipped with a warning. A file with holes
 * (docs/FORMAT.md §2.1) is a GNU sparse 1.0 PAX entry holding only its
 * data, unless `sparse` is false (then its zeros are written out).
 *
 * @module
 */
import { UnsupportedError } from '../errors.js'
import { type Entry, type FileEntry, isHole } from '../format/entry.js'
import { printable } from '../format/names.js'
import { writeTar, type TarEntry, type TarSparseSegment } from '../tar/index.js'
import type { ExportProgress } from './directory.js'
import type { SnapshotReader } from './snapshot-reader.js'

/** Options for {@link exportTar}. */
export interface ExportTarOptions {
  /**
   * Write files with holes as sparse entries (GNU sparse 1.0, which GNU
   * tar, Go's archive/tar and libarchive extract as sparse files). Default
   * true; false writes every zero byte, for readers without sparse support.
   */
  sparse?: boolean
  signal?: AbortSignal
  onProgress?: (progress: ExportProgress) => void
  onWarning?: (message: string) => void
}

/** The data segments of a content list with holes (undefined without holes): consecutive chunks make one segment. */
function dataSegments (content: FileEntry['content']): TarSparseSegment[] | undefined {
  if (content instanceof Uint8Array || !content.some(isHole)) return undefined
  const segments: TarSparseSegment[] = []
  let at = 0
  for (const c of content) {
    const last = segments[segments.length - 1]
    if (!isHole(c)) {
      if (last !== undefined && last.offset + last.size === at) last.size += c.length
      else segments.push({ offset: at, size: c.length })
    }
    at += c.length
  }
  return segments
}

function toTarEntry (reader: SnapshotReader, path: Uint8Array, entry: Entry, signal: AbortSignal | undefined, onBytes: (n: number) => void, sparse: boolean): TarEntry {
  if (entry.kind === 'hardlink') {
    return { path, type: 'hardlink', mode: 0, uid: 0, gid: 0, mtimeNs: 0n, linkname: entry.path }
  }
  const base = {
    path,
    mode: entry.mode,
    uid: entry.uid,
    gid: entry.gid,
    mtimeNs: entry.mtimeNs,
    ...(entry.xattrs.length > 0 ? { xattrs: entry.xattrs.map(([k, v]) => [k, v] as [Uint8Array, Uint8Array]) } : {})
  }
  switch (entry.kind) {
    case 'dir': return { ...base, type: 'directory' }
    case 'file': {
      const segments = sparse ? dataSegments(entry.content) : undefined
      const read = signal !== undefined ? { signal } : {}
      const content = (async function * () {
        if (segments === undefined) {
          for await (const piece of reader.readFile(entry, read)) { onBytes(piece.length); yield piece }
          return
        }
        // the data only: the holes are the entry's sparse map
        for await (const piece of reader.readExtents(entry, read)) {
          if (typeof piece === 'number') continue
          onBytes(piece.length)
          yield piece
        }
      })()
      return { ...base, type: 'file', size: entry.size, content, ...(segments !== undefined ? { sparse: segments } : {}) }
    }
    case 'symlink': return { ...base, type: 'symlink', linkname: entry.target }
    case 'fifo': return { ...base, type: 'fifo' }
    case 'char':
    case 'block': return { ...base, type: entry.kind, devmajor: entry.major, devminor: entry.minor }
    case 'socket': throw new UnsupportedError(`tar cannot represent the socket ${printable(path)}`)
  }
}

/** The snapshot as a tar stream. */
export async function * exportTar (reader: SnapshotReader, options: ExportTarOptions = {}): AsyncGenerator<Uint8Array> {
  const { signal, onProgress, onWarning } = options
  const progress: ExportProgress = { files: 0, bytes: 0 }
  // Reported per file and as each file's bytes are read: one big file does not freeze the figures.
  const onBytes = (n: number): void => { progress.bytes += n; onProgress?.({ ...progress }) }
  async function * entries (): AsyncGenerator<TarEntry> {
    for await (const { path, entry } of reader.walk(signal !== undefined ? { signal } : {})) {
      if (entry.kind === 'socket') {
        onWarning?.(`skipped socket ${printable(path)}: tar cannot represent sockets`)
        continue
      }
      progress.files++
      onProgress?.({ ...progress })
      yield toTarEntry(reader, path, entry, signal, onBytes, options.sparse !== false)
    }
  }
  yield * writeTar(entries(), signal !== undefined ? { signal } : {})
}
