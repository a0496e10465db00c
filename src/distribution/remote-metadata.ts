/**
 * Fetching the metadata blob of a tessera image (docs/FORMAT.md §11.2),
 * checked against its manifest, through an optional local cache: a cache
 * that holds the blob (kept as a chunk object named by the blob's digest,
 * §11.5) gives it without a request.
 *
 * @module
 */
import { LimitExceededError } from '../errors.js'
import { digestToBytes } from '../hash/digest.js'
import type { ChunkReader, ObjectPresence, ObjectWriter } from '../store/index.js'
import { hasEncodedChunkWrites } from '../store/capability-guards.js'
import { CODEC_RAW, MAX_CHUNK_BYTES } from '../store/stored-object.js'
import { loadZstd } from '../store/zstd.js'
import type { RegistryRepository } from './client/types.js'
import { checkManifestAgainstMetadata, type TesseraManifest } from './manifest.js'
import { DEFAULT_MAX_METADATA_BYTES } from './media-types.js'
import { decodeMetadataBlob, type SnapshotMetadata } from './metadata.js'

/** A local store used as a cache of what is fetched. */
export type CacheStore = ChunkReader & Pick<ObjectPresence, 'hasChunk'> & Pick<ObjectWriter, 'putChunk' | 'flush'>

/** Options of {@link fetchMetadata}. */
export interface FetchMetadataOptions {
  cache?: CacheStore | undefined
  maxBytes?: number | undefined
  signal?: AbortSignal | undefined
}

/** Store a verified blob in the cache as a chunk named by its digest (raw: it is compressed already). */
export async function cacheBlob (cache: CacheStore, digest: Uint8Array, blob: Uint8Array): Promise<void> {
  if (blob.length > MAX_CHUNK_BYTES) return
  if (hasEncodedChunkWrites(cache)) {
    const stored = new Uint8Array(blob.length + 1)
    stored[0] = CODEC_RAW
    stored.set(blob, 1)
    await cache.putEncodedChunk(digest, blob.length, stored)
  } else {
    await cache.putChunk(digest, blob)
  }
}

/** The metadata of `manifest` (named `what` in errors), fetched or from the cache, checked. */
export async function fetchMetadata (repository: RegistryRepository, manifest: TesseraManifest, what: string, options: FetchMetadataOptions = {}): Promise<SnapshotMetadata> {
  const max = options.maxBytes ?? DEFAULT_MAX_METADATA_BYTES
  const { digest, size } = manifest.metadata
  if (size > max) throw new LimitExceededError(`the metadata blob of ${what} declares ${size} bytes, above the limit of ${max}`)
  const key = digestToBytes(digest)
  const cache = options.cache
  let blob: Uint8Array | undefined
  if (cache !== undefined && await cache.hasChunk(key)) {
    blob = await cache.getChunk(key)
  }
  if (blob === undefined) {
    blob = await repository.getBlob(digest, size, options.signal !== undefined ? { signal: options.signal } : {})
    if (cache !== undefined) await cacheBlob(cache, key, blob)
  }
  await loadZstd() // the metadata and the chunks may be zstd frames, with no local store to have loaded it
  const metadata = decodeMetadataBlob(blob, { maxBytes: max, what: `the metadata blob ${digest} of ${what}` })
  checkManifestAgainstMetadata(manifest, metadata, what)
  return metadata
}
