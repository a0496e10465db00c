/**
 * The contract between tessera's registry storage (`src/registry/backend/`),
 * its layer decomposition (`src/registry/recipe/`) and the HTTP server of
 * `tessera serve` (`src/registry/server/`). See `index.ts` for the rules.
 *
 * Digests are strings `sha256:<64 lowercase hex>` as in the OCI specs.
 * Repository names follow the distribution spec's name grammar.
 *
 * @module
 */

/** What the store knows about one blob. */
export interface BlobInfo {
  /** `sha256:...` of the bytes exactly as pushed (compressed, if they were). */
  digest: string
  /** Size in bytes of the blob exactly as pushed. */
  size: number
  /**
   * How the blob is kept: a layer rebuilt from chunks and a recipe, a
   * tessera pack blob rebuilt from the chunks of its records and a pack
   * recipe, or its bytes as they are.
   */
  storage: 'reproduced' | 'pack' | 'whole'
}

/** What a client claims about a blob it uploads; verified before anything is committed. */
export interface BlobExpectation {
  /** The digest the bytes must have. */
  digest: string
  /** The size the bytes must have, when the client said it. */
  size?: number
}

/** Options common to long operations. */
export interface OperationOptions {
  signal?: AbortSignal
  /** Called now and then with bytes processed so far. */
  onProgress?: (bytes: number) => void
}

/** A half-open byte range `[start, end)` of a blob. */
export interface ByteRange { start: number, end: number }

/**
 * Content-addressed blobs shared by every repository. Layer blobs (tar,
 * tar+gzip, tar+zstd, recognised by their bytes: the media type is not known
 * when a blob is pushed) are kept as chunks plus a recipe; anything else, and
 * any layer whose compressed stream cannot be recreated bit for bit, is kept
 * whole. A blob is committed only after its bytes matched `expected`, and is
 * served only after the rebuilt bytes matched its digest.
 */
export interface BlobStore {
  /**
   * Store a blob read from `source`. Throws `ERR_REGISTRY_DIGEST_INVALID`
   * when the bytes do not match `expected.digest`, `ERR_REGISTRY_SIZE_INVALID`
   * on a size mismatch; nothing is committed then. Idempotent: storing a
   * present blob returns its info.
   */
  putBlob (source: AsyncIterable<Uint8Array>, expected: BlobExpectation, options?: OperationOptions & { repository?: string }): Promise<BlobInfo>
  /**
   * Optional: {@link putBlob} of the bytes already in the file at `path`
   * (a finished upload), verified the same way but not copied first. The
   * caller owns the file, deletes it afterwards, and must not change it
   * meanwhile.
   */
  putBlobFile? (path: string, expected: BlobExpectation, options?: OperationOptions & { repository?: string }): Promise<BlobInfo>
  /** The blob's info, or undefined if absent. */
  statBlob (digest: string): Promise<BlobInfo | undefined>
  /**
   * The blob's bytes (or the bytes of `range`). Rebuilt from chunks where
   * it is reproduced; the stream fails with `ERR_INTEGRITY` rather than end
   * if the bytes it produced do not match the digest. Throws
   * `ERR_REGISTRY_BLOB_UNKNOWN` if absent, `ERR_INVALID_RANGE` for a bad range.
   */
  getBlob (digest: string, options?: { range?: ByteRange, signal?: AbortSignal }): AsyncIterable<Uint8Array>
  /**
   * Optional: the bytes of several ranges of the blob (ascending, apart,
   * not empty; `ERR_INVALID_RANGE` otherwise), one after the other, each
   * verified as a ranged {@link getBlob} verifies it, in one pass over the
   * blob where it is rebuilt (what several {@link getBlob} calls would
   * read again from the start).
   */
  getBlobRanges? (digest: string, ranges: readonly ByteRange[], options?: { signal?: AbortSignal }): AsyncIterable<Uint8Array>
  /** Remove the blob; false if absent. Its chunks stay until `gc`. */
  deleteBlob (digest: string): Promise<boolean>
  /**
   * Optional: the uncompressed tar of a layer blob kept as a recipe,
   * rebuilt from its chunks without recompressing (every chunk verified;
   * the tar's digest is the caller's to check); undefined for a blob kept
   * otherwise. Throws `ERR_REGISTRY_BLOB_UNKNOWN` if absent.
   */
  layerTar? (digest: string, options?: { signal?: AbortSignal }): Promise<AsyncIterable<Uint8Array> | undefined>
  /**
   * Optional: store a tessera pack blob (docs/FORMAT.md §11.3) of one
   * record per chunk, in the order given, made of the stored objects this
   * store holds (`ERR_NOT_FOUND` if it lacks one), linked into
   * `repository` when given. The same chunks give the same blob as long as
   * the store keeps their stored objects. Idempotent.
   */
  putChunkPack? (chunks: ReadonlyArray<{ digest: Uint8Array, length: number }>, options?: OperationOptions & { repository?: string }): Promise<{ info: BlobInfo, table: PackBlobTable }>
  /** Every blob, in digest order. */
  listBlobs (): AsyncIterable<BlobInfo>
}

/** Where the chunks of a pack blob lie in it: a `pack` of the metadata blob (docs/FORMAT.md §11.2) without its digest and size. */
export interface PackBlobTable {
  /** The chunk digests, 32 bytes each, in record order. */
  chunks: Uint8Array
  /** Per chunk: the offset of its stored object in the blob, that object's length, the chunk's length. */
  offsets: number[]
  storedLengths: number[]
  lengths: number[]
}

/** A manifest or index, stored exactly as pushed. */
export interface StoredManifest {
  digest: string
  mediaType: string
  bytes: Uint8Array
}

/** One entry of the referrers API (an OCI descriptor). */
export interface ReferrerDescriptor {
  mediaType: string
  digest: string
  size: number
  artifactType?: string
  annotations?: Record<string, string>
}

/** Per-repository and overall figures. */
export interface RegistryStats {
  /** Bytes of blobs and manifests received (each distinct blob counted once per repository). */
  pushedBytes: number
  /**
   * Bytes they take in the store: each chunk is counted once, by the blob
   * whose push first wrote it, and that blob is counted in the repository
   * it was first pushed to (docs/FORMAT.md §9 defines it exactly).
   */
  storedBytes: number
  /** Blobs rebuilt from chunks: layers (from recipes) and tessera pack blobs (from pack recipes). */
  reproducedBlobs: number
  /** Blobs kept as their bytes (layers whose compression could not be recreated, configs, other blobs). */
  wholeBlobs: number
  /** Of `wholeBlobs`, those that were layers (a tar inside) but whose compressed stream could not be recreated. */
  wholeLayers: number
}

/**
 * Repositories, tags and manifests over a {@link BlobStore}. A repository
 * sees a blob only once it has been pushed or mounted into it.
 */
export interface RegistryStore {
  readonly blobs: BlobStore
  /** Make a stored blob visible in `repository` (push or cross-repository mount). */
  linkBlob (repository: string, digest: string): Promise<void>
  /** True if `repository` may see the blob. */
  hasBlobLink (repository: string, digest: string): Promise<boolean>
  /** Hide the blob from `repository`; false if it was not linked. */
  unlinkBlob (repository: string, digest: string): Promise<boolean>
  /**
   * Store a manifest or index under its digest and, when `reference` is a
   * tag, point the tag at it. Checks that the bytes parse as the declared
   * media type, that every blob and child manifest it references is present
   * in `repository` (`ERR_REGISTRY_MANIFEST_BLOB_UNKNOWN`), that a digest
   * reference matches (`ERR_REGISTRY_DIGEST_INVALID`), and the size limit
   * (`ERR_REGISTRY_MANIFEST_INVALID`). Returns the manifest's digest.
   */
  putManifest (repository: string, reference: string, mediaType: string, bytes: Uint8Array): Promise<string>
  /** By tag or digest; undefined if unknown in this repository. */
  getManifest (repository: string, reference: string): Promise<StoredManifest | undefined>
  /** Delete by digest (the manifest and every tag pointing to it) or by tag (the tag only); false if absent. */
  deleteManifest (repository: string, reference: string): Promise<boolean>
  /** Tags in lexical order, after `last` when given, at most `n` when given. */
  listTags (repository: string, options?: { last?: string, n?: number }): Promise<string[]>
  /** Repository names in lexical order. */
  listRepositories (): Promise<string[]>
  /** Manifests of `repository` whose `subject` is `digest`, optionally only of `artifactType`. */
  listReferrers (repository: string, digest: string, options?: { artifactType?: string }): Promise<ReferrerDescriptor[]>
  /** Overall and per-repository figures. */
  stats (): Promise<{ overall: RegistryStats, repositories: Record<string, RegistryStats> }>
  /**
   * Optional: the tessera manifest offered for the image manifest `digest`
   * (docs/FORMAT.md §11.5), if one was recorded and is still stored
   * (verified against its digest); it need not be linked in any repository.
   */
  getSnapshotOffer? (digest: string): Promise<StoredManifest | undefined>
  /** Optional: record `manifest` (a stored manifest's digest) as the tessera manifest offered for the image manifest `digest`. */
  setSnapshotOffer? (digest: string, manifest: string): Promise<void>
}

/**
 * Offering images pushed as ordinary layers in tessera's format
 * (docs/FORMAT.md §11.5): what the server asks before it lists referrers.
 */
export interface SnapshotOffers {
  /**
   * Make sure the tessera manifest of the image manifest `digest` of
   * `repository` is linked there as its referrer, building it (or linking
   * one built for another repository) when it is not; undefined when the
   * manifest is absent, not an image whose layers can be flattened, or
   * its import failed (the reason is remembered, not retried until the
   * process restarts). Concurrent calls for one image share one build.
   */
  offer (repository: string, digest: string, options?: { signal?: AbortSignal }): Promise<ReferrerDescriptor | undefined>
  /** Stop building (builds in progress are aborted) and wait for them. */
  close (): Promise<void>
}
