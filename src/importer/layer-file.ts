/**
 * Importing one layer file (`import tar:PATH [--base NAME]`): a plain,
 * gzip or zstd tar (told by its magic bytes), applied with OCI layer
 * semantics on an empty rootfs or on an existing snapshot, within the
 * limits of image imports ({@link DEFAULT_LAYER_LIMITS}). Where tar readers
 * disagree it reads as the container runtimes do, unless told to read as
 * GNU tar (`dialect`).
 *
 * @module
 */
import { createReadStream } from 'node:fs'
import { constants } from 'node:fs'
import { access, stat } from 'node:fs/promises'
import { InvalidArgumentError, UnreadableSourceError } from '../errors.js'
import { SnapshotReader, type ReaderStore } from '../exporter/snapshot-reader.js'
import { DEFAULT_SNAPSHOT_PARAMS, type SnapshotParams, validateSnapshotParams } from '../format/snapshot.js'
import { flattenLayers, type FlattenProgress } from '../flatten/flatten.js'
import { DEFAULT_LAYER_LIMITS, type LayerLimits } from '../flatten/limits.js'
import { loadSnapshotTree } from '../flatten/load.js'
import type { ObjectStore } from '../store/index.js'
import { autoDecompress } from '../tar/compression.js'
import { TarNotArchiveError } from '../tar/errors.js'
import type { TarDialect } from '../tar/dialect.js'
import { commitImport, type CommitImportOptions, type ImportResult } from './commit.js'
import type { MtimePolicy } from '../format/mtime.js'
import { withStoreSession } from '../store/session.js'

/** Options for {@link importLayerFile}. */
export interface ImportLayerFileOptions extends CommitImportOptions {
  /** Name or digest of the snapshot to apply the layer on; default: an empty rootfs. */
  base?: string
  /** Params for new content; default: the base's params, else the defaults. */
  params?: Partial<SnapshotParams>
  mtime?: MtimePolicy
  /** Resource limits; each defaults to the image imports' ({@link DEFAULT_LAYER_LIMITS}: 64 GiB per layer and per file...). */
  limits?: LayerLimits
  /**
   * Whose reading of the tar to follow where readers disagree (see
   * {@link TarDialect}): `'go'` (default), as containerd and the other
   * runtimes unpack a layer, or `'gnu'`, as GNU tar extracts an archive
   * (PAX global headers then apply to later entries).
   */
  dialect?: TarDialect
  signal?: AbortSignal
  onProgress?: (p: FlattenProgress) => void
  onWarning?: (message: string) => void
}

/** Read a layer file as an uncompressed tar stream. */
export function openLayerFile (path: string, options: { maxLayerBytes?: number, signal?: AbortSignal } = {}): AsyncIterable<Uint8Array> {
  return autoDecompress(createReadStream(path, { highWaterMark: 1024 * 1024 }), {
    ...(options.maxLayerBytes !== undefined ? { maxOutputBytes: options.maxLayerBytes } : {}),
    ...(options.signal !== undefined ? { signal: options.signal } : {})
  })
}

/**
 * The layer's tar stream, refused when it holds no bytes at all: a user's
 * empty file is a mistake, not a layer (an empty layer is a tar of two
 * zero blocks). Image layers are read as the runtimes read them instead,
 * which take an empty blob as an empty archive.
 */
async function * notEmpty (tar: AsyncIterable<Uint8Array>, path: string, fileSize: number): AsyncGenerator<Uint8Array> {
  let any = false
  for await (const bytes of tar) {
    if (bytes.length > 0) any = true
    yield bytes
  }
  if (!any) throw new TarNotArchiveError(`${path}: not a tar archive: ${fileSize === 0 ? 'the file is empty (0 bytes)' : 'it decompresses to no bytes'}; an empty layer is a tar of two zero blocks`)
}

/**
 * Apply the layer at `path` and commit the result. A file that holds no
 * bytes, or is not a tar (plain, gzip or zstd) at all, is
 * `TarNotArchiveError` (`ERR_TAR_NOT_ARCHIVE`); a directory or a file that
 * cannot be read is `UnreadableSourceError` (`ERR_UNREADABLE_SOURCE`).
 */
export async function importLayerFile (store: Pick<ObjectStore, 'putChunk' | 'putTree' | 'commitSnapshot' | 'flush'> & ReaderStore, path: string, options: ImportLayerFileOptions = {}): Promise<ImportResult> {
  // A session pins what the import writes or reuses, so a gc running
  // meanwhile in this process keeps it (docs/FORMAT.md §6.1).
  return await withStoreSession(store, async () => await importLayerFileInSession(store, path, options))
}

async function importLayerFileInSession (store: Pick<ObjectStore, 'putChunk' | 'putTree' | 'commitSnapshot' | 'flush'> & ReaderStore, path: string, options: ImportLayerFileOptions): Promise<ImportResult> {
  let size: number
  try {
    await access(path, constants.R_OK)
    const st = await stat(path)
    if (st.isDirectory()) throw new UnreadableSourceError(`cannot read layer ${path}: it is a directory (dir:${path} imports a directory)`)
    size = st.size
  } catch (err) {
    if (err instanceof UnreadableSourceError) throw err
    throw new UnreadableSourceError(`cannot read layer ${path}: ${(err as Error).message}`, { cause: err })
  }
  const baseReader = options.base !== undefined ? await SnapshotReader.open(store, options.base) : undefined
  const params: SnapshotParams = { ...(baseReader?.snapshot.params ?? DEFAULT_SNAPSHOT_PARAMS), ...options.params }
  validateSnapshotParams(params)
  if (baseReader !== undefined) {
    const b = baseReader.snapshot.params
    if (b.min !== params.min || b.avg !== params.avg || b.max !== params.max || b.inlineMax !== params.inlineMax) {
      // Base files keep their chunk lists: new files must be cut the same way (FORMAT.md §2).
      throw new InvalidArgumentError(`params must equal the base snapshot's (${b.min}/${b.avg}/${b.max}, inline ${b.inlineMax})`)
    }
  }
  const base = baseReader !== undefined ? await loadSnapshotTree(baseReader, options.signal !== undefined ? { signal: options.signal } : {}) : undefined
  const limits = { ...DEFAULT_LAYER_LIMITS, ...options.limits }
  const open = (): AsyncIterable<Uint8Array> => notEmpty(openLayerFile(path, { maxLayerBytes: limits.maxLayerBytes, ...(options.signal !== undefined ? { signal: options.signal } : {}) }), path, size)
  const flat = await flattenLayers(store, [{ label: path, open }], {
    params,
    maxEntrySize: limits.maxEntryBytes,
    maxEntries: limits.maxEntries,
    maxDepth: limits.maxDepth,
    ...(options.dialect !== undefined ? { dialect: options.dialect } : {}),
    ...(base !== undefined ? { base } : {}),
    ...(options.mtime !== undefined ? { mtime: options.mtime } : {}),
    ...(options.signal !== undefined ? { signal: options.signal } : {}),
    ...(options.onProgress !== undefined ? { onProgress: options.onProgress } : {}),
    ...(options.onWarning !== undefined ? { onWarning: options.onWarning } : {})
  }).catch((err: unknown) => {
    if (err instanceof TarNotArchiveError && !err.message.startsWith(path)) throw new TarNotArchiveError(`${path}: ${err.message}`, { cause: err })
    throw err
  })
  const { files, logicalBytes, newChunks, newBytes, holeBytes } = flat
  return await commitImport(store, params, flat.root, { files, logicalBytes, newChunks, newBytes, holeBytes }, options)
}
