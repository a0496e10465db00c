/**
 * `pullSnapshot`: an image of a registry into a local store under a name
 * (docs/FORMAT.md §11.5). A tessera image (named, or found as a referrer
 * of an ordinary image) is pulled by its metadata and only the chunks the
 * store lacks, by range, each verified and written in its stored form;
 * the trees follow, children first, and the snapshot is committed last,
 * in one batch. An ordinary image is pulled by its layers and imported as
 * `import oci:` imports a layout, to the same root.
 *
 * An interrupted pull leaves only verified, unreferenced objects: a rerun
 * finds them and fetches what is still missing.
 *
 * @module
 */
import { RefExistsError, throwIfAborted } from '../errors.js'
import { assertRefName } from '../format/ref.js'
import { digestToString } from '../hash/digest.js'
import type { ImportResult } from '../importer/commit.js'
import { importImage, type ImageLimits } from '../oci/import.js'
import type { Platform } from '../oci/types.js'
import type { ChunkReader, ObjectPresence, ObjectWriter, RefReader, SnapshotCommitter } from '../store/index.js'
import { withStoreSession } from '../store/session.js'
import { ChunkFetcher, storeFetched } from './chunk-fetcher.js'
import { VerifyPool } from './verify-pool.js'
import type { RegistryRepository, TransferCounters } from './client/types.js'
import { registryImageSource } from './image-source.js'
import { findMissing, snapshotFigures } from './missing.js'
import { fetchMetadata } from './remote-metadata.js'
import { referenceOf, resolveReference } from './resolve.js'

/** What a pull writes to. */
export type PullStore = ObjectPresence & ObjectWriter & SnapshotCommitter & ChunkReader & Pick<RefReader, 'getRef'>

/** Progress of a pull. */
export interface PullProgress {
  /** Chunk bytes (decoded) fetched and stored so far. */
  bytes: number
  /** Chunks fetched and stored so far. */
  chunks: number
  /** Of the chunks to fetch, their bytes (decoded), once known. */
  totalBytes?: number
  totalChunks?: number
}

/** Options of {@link pullSnapshot}. */
export interface PullOptions {
  /** The snapshot name to commit. */
  name: string
  /** Re-point `name` if it exists. */
  replace?: boolean
  /** A tag or digest of the repository; default the repository reference's digest, else its tag, else `latest`. */
  reference?: string
  /** The platform picked in indexes (default: this machine's). */
  platform?: string | Platform
  /** Largest metadata blob accepted (default 256 MiB). */
  maxMetadataBytes?: number
  /** Limits of an ordinary image's import (see `importImage`). */
  limits?: ImageLimits
  signal?: AbortSignal
  onProgress?: (progress: PullProgress) => void
  onWarning?: (message: string) => void
}

/** What a pull did. */
export interface PullResult {
  name: string
  snapshot: string
  root: string
  /** `tessera`: pulled as a tessera image; `image`: by the layers of an ordinary image. */
  kind: 'tessera' | 'image'
  /** The digest of the manifest pulled (the tessera manifest, or the image's). */
  manifest: string
  /** When the reference named an ordinary image and its tessera referrer was pulled: that image's manifest digest. */
  image?: string
  files: number
  logicalBytes: number
  /** Chunks fetched and stored (for an image: new chunks of the import). */
  chunks: number
  /** Their bytes, decoded. */
  chunkBytes: number
  /** Trees written. */
  trees: number
  /** Requests and bytes of the repository during the pull (as its client counts them). */
  transfer: TransferCounters
}

function transferSince (repository: RegistryRepository, before: TransferCounters): TransferCounters {
  const now = repository.counters
  return { requests: now.requests - before.requests, bytesReceived: now.bytesReceived - before.bytesReceived, bytesSent: now.bytesSent - before.bytesSent }
}

/** Pull the image `repository` names (or `options.reference`) into `store` as `options.name`. */
export async function pullSnapshot (store: PullStore, repository: RegistryRepository, options: PullOptions): Promise<PullResult> {
  assertRefName(options.name)
  const signal = options.signal
  const before = { ...repository.counters }
  if (options.replace !== true && await store.getRef(options.name) !== undefined) {
    throw new RefExistsError(`a snapshot named ${JSON.stringify(options.name)} exists (replace it with --replace)`)
  }
  const reference = options.reference ?? referenceOf(repository)
  const resolved = await resolveReference(repository, reference, {
    ...(options.platform !== undefined ? { platform: options.platform } : {}),
    ...(signal !== undefined ? { signal } : {})
  })
  return await withStoreSession(store, async () => {
    if (resolved.kind === 'image') {
      const image = await registryImageSource(repository, resolved, { reference, ...(signal !== undefined ? { signal } : {}) })
      const result: ImportResult = await importImage(store, image, {
        name: options.name,
        replace: options.replace === true,
        ...(options.limits !== undefined ? { limits: options.limits } : {}),
        ...(signal !== undefined ? { signal } : {}),
        ...(options.onProgress !== undefined ? { onProgress: (p: { bytes: number }) => options.onProgress!({ bytes: p.bytes, chunks: 0 }) } : {}),
        ...(options.onWarning !== undefined ? { onWarning: options.onWarning } : {})
      })
      return {
        name: options.name,
        snapshot: result.snapshot,
        root: result.root,
        kind: 'image',
        manifest: resolved.manifestDigest,
        files: result.files,
        logicalBytes: result.logicalBytes,
        chunks: result.newChunks,
        chunkBytes: result.newBytes,
        trees: 0,
        transfer: transferSince(repository, before)
      }
    }
    const what = `${repository.reference.repository}@${resolved.manifestDigest}`
    // Chunks are decoded and hashed on worker threads; the stored objects
    // are written as they came once verified. The workers load while the
    // metadata is fetched and decoded.
    const pool = new VerifyPool()
    pool.start()
    let metadata: Awaited<ReturnType<typeof fetchMetadata>>
    let figures: ReturnType<typeof snapshotFigures>
    let missing: Awaited<ReturnType<typeof findMissing>>
    try {
      metadata = await fetchMetadata(repository, resolved.manifest, what, { cache: store, maxBytes: options.maxMetadataBytes, signal })
      figures = snapshotFigures(metadata)
      missing = await findMissing(store, metadata, signal)
      const progress: PullProgress = { bytes: 0, chunks: 0, totalBytes: missing.chunkBytes, totalChunks: missing.chunks.length }
      options.onProgress?.({ ...progress })
      await new ChunkFetcher(repository, metadata).fetchVerified(missing.chunks, pool, async (batch) => {
        for (const chunk of batch) {
          await storeFetched(store, chunk)
          progress.bytes += chunk.length
          progress.chunks++
        }
        options.onProgress?.({ ...progress })
      }, signal)
    } finally {
      await pool.close()
    }
    // Every chunk is written before any tree, and trees children first: a
    // tree present in the store always has its closure (§11.5).
    await store.flush()
    for (const tree of missing.trees) {
      throwIfAborted(signal)
      await store.putTree(tree.digest, tree.bytes)
    }
    throwIfAborted(signal)
    await store.commitSnapshot(options.name, metadata.snapshot, { createdNs: BigInt(Date.now()) * 1_000_000n, ...figures }, { replace: options.replace === true })
    return {
      name: options.name,
      snapshot: digestToString(metadata.snapshot.digest),
      root: digestToString(metadata.decoded.root.tree),
      kind: 'tessera',
      manifest: resolved.manifestDigest,
      ...(resolved.imageDigest !== undefined ? { image: resolved.imageDigest } : {}),
      ...figures,
      chunks: missing.chunks.length,
      chunkBytes: missing.chunkBytes,
      trees: missing.trees.length,
      transfer: transferSince(repository, before)
    }
  })
}
