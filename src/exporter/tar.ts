/**
 * Exporting a snapshot as a tar stream (PAX where ustar is not enough):
 * entries in canonical order, directories as `path/`, hard links as tar
 * hard links to the first name, xattrs as `SCHILY.xattr.*` records. The
 * stream is reproducible: the same snapshot gives the same bytes. The root
 * directory itself has no entry (as in OCI layers), and sockets cannot be
 * represented in tar: they are skipped with a warning.
 *
 * @module
 */
import { UnsupportedError } from '../errors.js'
import type { Entry } from '../format/entry.js'
import { printable } from '../format/names.js'
import { writeTar, type TarEntry } from '../tar/index.js'
import type { ExportProgress } from './directory.js'
import type { SnapshotReader } from './snapshot-reader.js'

/** Options for {@link exportTar}. */
export interface ExportTarOptions {
  signal?: AbortSignal
  onProgress?: (progress: ExportProgress) => void
  onWarning?: (message: string) => void
}

function toTarEntry (reader: SnapshotReader, path: Uint8Array, entry: Entry, signal: AbortSignal | undefined, onBytes: (n: number) => void): TarEntry {
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
      const content = (async function * () {
        for await (const piece of reader.readFile(entry, signal !== undefined ? { signal } : {})) {
          onBytes(piece.length)
          yield piece
        }
      })()
      return { ...base, type: 'file', size: entry.size, content }
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
      yield toTarEntry(reader, path, entry, signal, onBytes)
    }
  }
  yield * writeTar(entries(), signal !== undefined ? { signal } : {})
}
