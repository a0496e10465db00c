/**
 * Registry storage: what `tessera serve` and registries embedding tessera
 * use to keep OCI blobs and manifests deduplicated at the chunk level.
 *
 * - `types.ts`: the contract ({@link BlobStore}, {@link RegistryStore}).
 * - `recipe/`: decomposing a layer blob (tar, tar+gzip, tar+zstd) into file
 *   contents stored as chunks plus a recipe that rebuilds it bit for bit;
 *   the same for tessera pack blobs (pack recipes).
 * - `backend/`: the LevelDB-backed implementation of the contract.
 * - `server/`: the OCI distribution-spec v1.1 HTTP API over a {@link RegistryStore}.
 * - `offer/`: images pushed as layers offered in tessera's format
 *   (docs/FORMAT.md §11.5), built from the chunks the store holds.
 *
 * Rules every implementation keeps:
 * - Nothing is committed before its bytes matched the expected digest and size.
 * - Nothing is served before the bytes produced matched the digest.
 * - A failure leaves the store as it was before the call.
 *
 * @module
 */
export type * from './types.js'
export * from './errors.js'
export {
  openRegistryStore, registryChunkRoots, LevelRegistryStore, LevelBlobStore, DEFAULT_MAX_MANIFEST_BYTES, assertRepositoryName, assertTag, isTag, parseReference,
  type RegistryStoreOptions, type BlobStoreOptions, type RegistryBackingStore
} from './backend/index.js'
export * from './server/index.js'
export * from './offer/index.js'
