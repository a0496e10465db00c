/**
 * Importing an image (from an OCI layout or a docker archive) as one
 * snapshot: its layers are flattened in two passes (src/flatten), each
 * layer's uncompressed digest is checked against the config's `diff_ids`,
 * and the config and source digests are kept as snapshot annotations
 * (src/oci/annotations.ts) so the image can be exported again.
 *
 * @module
 */
import { IntegrityError } from '../errors.js'
import type { SnapshotReader } from '../exporter/snapshot-reader.js'
import { DEFAULT_SNAPSHOT_PARAMS, type SnapshotParams, validateSnapshotParams } from '../format/snapshot.js'
import { isDigest, type Digest } from '../hash/digest.js'
import { commitImport, type CommitImportOptions, type ImportResult } from '../importer/commit.js'
import type { MtimePolicy } from '../format/mtime.js'
import { flattenLayers, type FlattenProgress, type LayerStream } from '../flatten/flatten.js'
import type { ObjectStore } from '../store/index.js'
import { decompress } from '../tar/compression.js'
import { IMAGE_ANNOTATIONS } from './annotations.js'
import { LAYER_MEDIA_TYPES, type SourceImage } from './types.js'
import { withStoreSession } from '../store/session.js'
import { DEFAULT_MAX_LAYER_ENTRIES, DEFAULT_MAX_PATH_DEPTH } from '../flatten/flatten.js'

/** Resource limits of an image import (see docs/SECURITY.md). */
export interface ImageLimits {
  /** Most bytes one decompressed layer may have. Default 64 GiB. */
  maxLayerBytes?: number
  /** Most bytes one file in a layer may declare (sparse files included). Default 64 GiB. */
  maxEntryBytes?: number
  /** Most tar entries over all layers. Default 500,000 (`DEFAULT_MAX_LAYER_ENTRIES`). */
  maxEntries?: number
  /** Most path components of an entry. Default 1024 (`DEFAULT_MAX_PATH_DEPTH`). */
  maxDepth?: number
}

/** Default limits. */
export const DEFAULT_IMAGE_LIMITS: Required<ImageLimits> = { maxLayerBytes: 64 * 2 ** 30, maxEntryBytes: 64 * 2 ** 30, maxEntries: DEFAULT_MAX_LAYER_ENTRIES, maxDepth: DEFAULT_MAX_PATH_DEPTH }

/** Options for {@link importImage}. */
export interface ImportImageOptions extends CommitImportOptions {
  params?: Partial<SnapshotParams>
  mtime?: MtimePolicy
  limits?: ImageLimits
  signal?: AbortSignal
  onProgress?: (p: FlattenProgress) => void
  onWarning?: (message: string) => void
}

/** The `rootfs.diff_ids` of an image config, checked. */
function diffIdsOf (config: Uint8Array, layers: number): Digest[] {
  let parsed: unknown
  try {
    parsed = JSON.parse(Buffer.from(config).toString('utf8'))
  } catch (err) {
    throw new IntegrityError(`the image config is not JSON: ${(err as Error).message}`, { cause: err })
  }
  const ids = (parsed as { rootfs?: { diff_ids?: unknown } } | null)?.rootfs?.diff_ids
  if (!Array.isArray(ids) || ids.length !== layers || !ids.every(isDigest)) {
    throw new IntegrityError(`the image config's rootfs.diff_ids must list ${layers} sha256 digests, one per layer`)
  }
  return ids
}

/** Flatten `image` and commit it as one snapshot. The image is closed afterwards. */
export async function importImage (store: Pick<ObjectStore, 'putChunk' | 'putTree' | 'commitSnapshot' | 'flush'>, image: SourceImage, options: ImportImageOptions = {}): Promise<ImportResult> {
  // A session pins what the import writes or reuses, so a gc running
  // meanwhile in this process keeps it (docs/FORMAT.md §6.1).
  return await withStoreSession(store, async () => await importImageInSession(store, image, options))
}

async function importImageInSession (store: Pick<ObjectStore, 'putChunk' | 'putTree' | 'commitSnapshot' | 'flush'>, image: SourceImage, options: ImportImageOptions): Promise<ImportResult> {
  try {
    const params: SnapshotParams = { ...DEFAULT_SNAPSHOT_PARAMS, ...options.params }
    validateSnapshotParams(params)
    const limits = { ...DEFAULT_IMAGE_LIMITS, ...options.limits }
    const diffIds = diffIdsOf(image.config, image.layers.length)
    const signal = options.signal
    const layers: LayerStream[] = image.layers.map((layer, i) => {
      const kind = LAYER_MEDIA_TYPES.get(layer.descriptor.mediaType) ?? 'none'
      return {
        label: layer.descriptor.digest,
        diffId: diffIds[i]!,
        open: () => decompress(layer.open(signal !== undefined ? { signal } : {}), kind, {
          maxOutputBytes: limits.maxLayerBytes,
          ...(signal !== undefined ? { signal } : {})
        })
      }
    })
    const flat = await flattenLayers(store, layers, {
      params,
      maxEntrySize: limits.maxEntryBytes,
      maxEntries: limits.maxEntries,
      maxDepth: limits.maxDepth,
      ...(options.mtime !== undefined ? { mtime: options.mtime } : {}),
      ...(signal !== undefined ? { signal } : {}),
      ...(options.onProgress !== undefined ? { onProgress: options.onProgress } : {}),
      ...(options.onWarning !== undefined ? { onWarning: options.onWarning } : {})
    })
    const annotations: Array<[string, string | Uint8Array]> = [
      [IMAGE_ANNOTATIONS.config, image.config],
      [IMAGE_ANNOTATIONS.configDigest, image.configDigest],
      [IMAGE_ANNOTATIONS.manifestDigest, image.manifestDigest],
      [IMAGE_ANNOTATIONS.manifestMediaType, image.manifestMediaType],
      [IMAGE_ANNOTATIONS.layers, image.layers.map((l) => l.descriptor.digest).join(',')],
      ...(image.reference !== undefined ? [[IMAGE_ANNOTATIONS.reference, image.reference] as [string, string]] : []),
      ...[...(options.annotations ?? [])].map(([k, v]) => [typeof k === 'string' ? k : Buffer.from(k).toString('utf8'), v] as [string, string | Uint8Array])
    ]
    const { files, logicalBytes, newChunks, newBytes } = flat
    return await commitImport(store, params, flat.root, { files, logicalBytes, newChunks, newBytes }, { ...options, annotations })
  } finally {
    await image.close()
  }
}

/** The image config a snapshot was imported with, if it came from an image. */
export function imageConfigOf (reader: SnapshotReader): Uint8Array | undefined {
  const key = Buffer.from(IMAGE_ANNOTATIONS.config)
  return reader.snapshot.annotations.find(([k]) => Buffer.from(k).equals(key))?.[1]
}
