/**
 * Importing one layer file (`import tar:PATH [--base NAME]`): a plain,
 * gzip or zstd tar (told by its magic bytes), applied with OCI layer
 * semantics on an empty rootfs or on an existing snapshot.
 *
 * @module
 */
import { createReadStream } from 'node:fs'
import { access } from 'node:fs/promises'
import { InvalidArgumentError, UnreadableSourceError } from '../errors.js'
import { SnapshotReader, type ReaderStore } from '../exporter/snapshot-reader.js'
import { DEFAULT_SNAPSHOT_PARAMS, type SnapshotParams, validateSnapshotParams } from '../format/snapshot.js'
import { flattenLayers, type FlattenProgress } from '../flatten/flatten.js'
import { loadSnapshotTree } from '../flatten/load.js'
import type { ObjectStore } from '../store/index.js'
import { autoDecompress } from '../tar/compression.js'
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
  /** Most bytes the decompressed layer may have (decompression-bomb guard). Default: no limit. */
  maxLayerBytes?: number
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

/** Apply the layer at `path` and commit the result. */
export async function importLayerFile (store: Pick<ObjectStore, 'putChunk' | 'putTree' | 'commitSnapshot' | 'flush'> & ReaderStore, path: string, options: ImportLayerFileOptions = {}): Promise<ImportResult> {
  // A session pins what the import writes or reuses, so a gc running
  // meanwhile in this process keeps it (docs/FORMAT.md §6.1).
  return await withStoreSession(store, async () => await importLayerFileInSession(store, path, options))
}

async function importLayerFileInSession (store: Pick<ObjectStore, 'putChunk' | 'putTree' | 'commitSnapshot' | 'flush'> & ReaderStore, path: string, options: ImportLayerFileOptions): Promise<ImportResult> {
  try {
    await access(path)
  } catch (err) {
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
  const flat = await flattenLayers(store, [{ label: path, open: () => openLayerFile(path, options) }], {
    params,
    ...(base !== undefined ? { base } : {}),
    ...(options.mtime !== undefined ? { mtime: options.mtime } : {}),
    ...(options.signal !== undefined ? { signal: options.signal } : {}),
    ...(options.onProgress !== undefined ? { onProgress: options.onProgress } : {}),
    ...(options.onWarning !== undefined ? { onWarning: options.onWarning } : {})
  })
  const { files, logicalBytes, newChunks, newBytes } = flat
  return await commitImport(store, params, flat.root, { files, logicalBytes, newChunks, newBytes }, options)
}
