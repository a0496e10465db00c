/**
 * The LevelDB-backed implementation of the registry contract
 * (`../types.ts`), in the same database as the chunk store so that blob
 * contents are deduplicated with everything else. Records are specified in
 * docs/FORMAT.md, "Registry records".
 *
 * Rules this implementation keeps:
 * - `putBlob` spools the stream to a temporary file while hashing it and
 *   stores nothing unless digest and size match; then its chunks (or layer
 *   recipe), record, link and counters are committed, the record in one
 *   atomic batch with the counters and the last chunks. The file is deleted
 *   in every case.
 * - Every read verifies: chunks against their digests, full blob reads
 *   against the blob digest (the last piece is withheld and `ERR_INTEGRITY`
 *   thrown on a mismatch), manifests against their digests. A ranged read
 *   verifies every chunk it reads but cannot verify the blob's digest.
 * - Record changes run one at a time per store (read-modify-write is
 *   atomic); puts of one digest run one at a time, so concurrent identical
 *   pushes store the blob once. Repeating a put is harmless (idempotent).
 * - Deleting a blob or manifest removes records only; chunks stay until
 *   `gc`, which keeps {@link registryChunkRoots}: loading this module
 *   registers them as a gc root provider (`gc-roots.ts`).
 *
 * @module
 */
import { RegistryDatabase, type RegistryBackingStore } from './database.js'
import { LevelRegistryStore, type RegistryStoreOptions } from './registry-store.js'

export { LevelRegistryStore, DEFAULT_MAX_MANIFEST_BYTES, type RegistryStoreOptions } from './registry-store.js'
export { LevelBlobStore, type BlobStoreOptions } from './blob-store.js'
export { registryChunkRoots, registryRootProvider } from './gc-roots.js'
export type { RegistryBackingStore } from './database.js'
export { assertRepositoryName, assertTag, isTag, parseReference, DEFAULT_MAX_NAME_LENGTH } from './names.js'
export { OCI_MANIFEST, OCI_INDEX, DOCKER_MANIFEST, DOCKER_MANIFEST_LIST, baseMediaType } from './manifest.js'

/**
 * Open the registry records in `store`'s database. The store stays the
 * caller's: close it when done with both.
 */
export async function openRegistryStore (store: RegistryBackingStore, options: RegistryStoreOptions = {}): Promise<LevelRegistryStore> {
  return new LevelRegistryStore(new RegistryDatabase(store), options)
}
