/**
 * `RemoteSnapshot`: a tessera image read where it is, through the reading
 * capabilities of a local store ({@link SnapshotSource}), so that
 * `SnapshotReader`, the exporters, `cat`, `ls`, `stat` and `diff` run over
 * it unchanged (docs/FORMAT.md §11.5, remote reads).
 *
 * Opening fetches the manifest and the metadata blob; after that, only
 * chunks are fetched, when read: the `getChunk` calls of one turn of the
 * event loop go out together, one `getRanges` per pack, and a bounded
 * number of chunks is in flight. With a local store as its cache, the
 * reader takes every chunk it can from there, and writes there every
 * chunk it fetched (verified) and the metadata blob, so nothing is
 * fetched twice.
 *
 * @module
 */
import { NotFoundError } from '../errors.js'
import type { RefRecord } from '../format/ref.js'
import { bytesEqual, digestToString } from '../hash/digest.js'
import type { SnapshotSource } from '../store/index.js'
import { Limiter } from '../util/limiter.js'
import { ChunkFetcher, storeFetched } from './chunk-fetcher.js'
import type { RegistryRepository } from './client/types.js'
import { digestKey, type SnapshotMetadata } from './metadata.js'
import { snapshotFigures } from './missing.js'
import { type CacheStore, fetchMetadata } from './remote-metadata.js'
import { referenceOf, resolveReference } from './resolve.js'
import { formatRepositoryReference } from '../oci/reference.js'
import type { Platform } from '../oci/types.js'
import { NotTesseraImageError } from './errors.js'

/** Default most chunks fetched at once. */
export const DEFAULT_CHUNKS_IN_FLIGHT = 256

/** Options of {@link RemoteSnapshot.open}. */
export interface RemoteSnapshotOptions {
  /** A tag or digest; default the repository reference's digest, else its tag, else `latest`. */
  reference?: string
  /** A local store to read from first and to keep what is fetched in. */
  cache?: CacheStore
  platform?: string | Platform
  /** Largest metadata blob accepted (default 256 MiB). */
  maxMetadataBytes?: number
  /** Most chunks being fetched at once (default 256). */
  maxChunksInFlight?: number
  signal?: AbortSignal
}

interface Waiting {
  digest: Uint8Array
  resolve: (bytes: Uint8Array) => void
  reject: (err: unknown) => void
}

/** A tessera image of a registry, readable as a snapshot source. */
export class RemoteSnapshot implements SnapshotSource {
  /** The digest of the tessera manifest. */
  readonly manifestDigest: string
  /** The reference it was opened by (its name for `getRef`). */
  readonly reference: string
  /** The snapshot's digest. */
  readonly snapshotDigest: string
  /** The root tree's digest. */
  readonly root: string
  readonly #repository: RegistryRepository
  readonly #metadata: SnapshotMetadata
  readonly #cache: CacheStore | undefined
  readonly #fetcher: ChunkFetcher
  readonly #inFlight: Limiter
  readonly #pending = new Map<string, Promise<Uint8Array>>()
  #queue: Waiting[] = []
  #scheduled = false
  #fetched = { chunks: 0, bytes: 0 }

  private constructor (repository: RegistryRepository, reference: string, manifestDigest: string, metadata: SnapshotMetadata, options: RemoteSnapshotOptions) {
    this.#repository = repository
    this.reference = reference
    this.manifestDigest = manifestDigest
    this.#metadata = metadata
    this.#cache = options.cache
    this.#fetcher = new ChunkFetcher(repository, metadata)
    this.#inFlight = new Limiter(options.maxChunksInFlight ?? DEFAULT_CHUNKS_IN_FLIGHT)
    this.snapshotDigest = digestToString(metadata.snapshot.digest)
    this.root = digestToString(metadata.decoded.root.tree)
  }

  /**
   * Open the tessera image `repository` names. An ordinary image with no
   * tessera referrer is {@link NotTesseraImageError} (`ERR_NOT_TESSERA_IMAGE`):
   * its layers must be imported to be read.
   */
  static async open (repository: RegistryRepository, options: RemoteSnapshotOptions = {}): Promise<RemoteSnapshot> {
    const reference = options.reference ?? referenceOf(repository)
    const signal = options.signal
    const resolved = await resolveReference(repository, reference, {
      ...(options.platform !== undefined ? { platform: options.platform } : {}),
      ...(signal !== undefined ? { signal } : {})
    })
    if (resolved.kind !== 'tessera') throw new NotTesseraImageError(`${formatRepositoryReference(repository.reference.repository, reference)} is an ordinary image with no tessera form`, resolved.manifestDigest)
    const what = `${repository.reference.repository}@${resolved.manifestDigest}`
    const metadata = await fetchMetadata(repository, resolved.manifest, what, { cache: options.cache, maxBytes: options.maxMetadataBytes, signal })
    return new RemoteSnapshot(repository, reference, resolved.manifestDigest, metadata, options)
  }

  /** The checked metadata. */
  get metadata (): SnapshotMetadata { return this.#metadata }

  /** Chunks and their bytes (decoded) fetched from the registry so far. */
  get fetched (): { chunks: number, bytes: number } { return { ...this.#fetched } }

  /** A ref record for the reference it was opened by (`SnapshotReader.open(remote, remote.reference)`). */
  async getRef (name: string): Promise<RefRecord | undefined> {
    if (name !== this.reference) return undefined
    return { snapshot: this.#metadata.snapshot.digest, createdNs: 0n, ...snapshotFigures(this.#metadata) }
  }

  async getSnapshot (digest: Uint8Array): Promise<Uint8Array> {
    if (!bytesEqual(digest, this.#metadata.snapshot.digest)) throw new NotFoundError(`snapshot ${digestToString(digest)} is not the remote image's`)
    return this.#metadata.snapshot.bytes
  }

  async getTree (digest: Uint8Array): Promise<Uint8Array> {
    const tree = this.#metadata.trees.get(digestKey(digest))
    if (tree === undefined) throw new NotFoundError(`tree ${digestToString(digest)} is not in the remote image`)
    return tree.bytes
  }

  async getChunk (digest: Uint8Array): Promise<Uint8Array> {
    const key = digestKey(digest)
    if (!this.#metadata.chunks.has(key)) throw new NotFoundError(`chunk ${digestToString(digest)} is not in the remote image`)
    const pending = this.#pending.get(key)
    if (pending !== undefined) return await pending
    const p = this.#read(digest)
    this.#pending.set(key, p)
    try {
      return await p
    } finally {
      this.#pending.delete(key)
    }
  }

  async #read (digest: Uint8Array): Promise<Uint8Array> {
    const cache = this.#cache
    if (cache !== undefined && await cache.hasChunk(digest)) return await cache.getChunk(digest)
    await this.#inFlight.acquire()
    try {
      return await new Promise<Uint8Array>((resolve, reject) => {
        this.#queue.push({ digest, resolve, reject })
        if (!this.#scheduled) {
          this.#scheduled = true
          setImmediate(() => { void this.#flush() })
        }
      })
    } finally {
      this.#inFlight.release()
    }
  }

  /** Fetch every chunk asked for since the last flush, together. */
  async #flush (): Promise<void> {
    this.#scheduled = false
    const batch = this.#queue
    this.#queue = []
    const waiting = new Map<string, Waiting[]>()
    for (const w of batch) {
      const key = digestKey(w.digest)
      waiting.set(key, [...waiting.get(key) ?? [], w])
    }
    try {
      await this.#fetcher.fetch(batch.map((w) => w.digest), async (chunk) => {
        if (this.#cache !== undefined) await storeFetched(this.#cache, chunk)
        this.#fetched.chunks++
        this.#fetched.bytes += chunk.length
        const key = digestKey(chunk.digest)
        for (const w of waiting.get(key) ?? []) w.resolve(chunk.bytes)
        waiting.delete(key)
      })
    } catch (err) {
      for (const list of waiting.values()) for (const w of list) w.reject(err)
      return
    }
    for (const list of waiting.values()) for (const w of list) w.reject(new NotFoundError('a chunk asked for was not fetched'))
  }

  /** The repository's transfer counters. */
  get counters (): RegistryRepository['counters'] { return this.#repository.counters }
}
