/**
 * Moving snapshots through OCI registries (docs/FORMAT.md §11): a
 * snapshot travels as a **tessera image**, an OCI image manifest whose
 * blobs are the snapshot's metadata (snapshot, trees, chunk table) and
 * pack blobs of chunk records.
 *
 * - {@link pushSnapshot}: a local snapshot to a repository; packs the
 *   repository has (the target tag's image, `reuse`, the repository's
 *   other tags) are listed again, not uploaded; new chunks go into
 *   content-defined packs; the manifest is written last.
 * - {@link pullSnapshot}: an image into a local store under a name; a
 *   tessera image by its metadata and only the chunks the store lacks
 *   (multi-range GETs), an ordinary image by its layers, imported as
 *   `import oci:` imports it (same root). The name is committed
 *   atomically once everything it reaches is stored.
 * - {@link RemoteSnapshot}: a tessera image read where it is, as a
 *   `SnapshotSource` (`SnapshotReader`, the exporters, `diff` run over it
 *   unchanged); with a local store as its cache, nothing is fetched twice.
 *
 * Contract:
 * - everything fetched is verified before it is stored or returned:
 *   blobs fetched whole against their digest (the client), every chunk
 *   after decompression against its digest (`ERR_INTEGRITY`);
 * - metadata and manifests are untrusted: sizes bounded before anything
 *   is allocated (`ERR_LIMIT_EXCEEDED`), the encoding canonical and the
 *   chunk table inside its blobs (`ERR_NON_CANONICAL`);
 * - an interrupted push leaves the tag as it was, an interrupted pull a
 *   consistent store (verified, unreferenced objects a rerun reuses);
 * - the registry is reached only through a {@link RegistryRepository}
 *   (`./client/`), every call with the caller's `AbortSignal`.
 *
 * Files: `media-types.ts`, `metadata.ts` (the metadata blob),
 * `manifest.ts`, `pack-layout.ts` (which packs a push lists), `sibling-tags.ts`
 * (the other tags a push reads),
 * `pack-blob.ts` (building a pack), `closure.ts` (a local snapshot's
 * trees and chunks), `resolve.ts` (reference → image), `remote-metadata.ts`,
 * `missing.ts` (what a store lacks), `chunk-fetcher.ts` (ranged, verified
 * chunk reads), `image-source.ts` (an ordinary image for `importImage`,
 * its layers downloaded once through `layer-spool.ts`),
 * `push.ts`, `pull.ts`, `remote-snapshot.ts`, `errors.ts`; `client/` is
 * the registry client.
 *
 * @module
 */
export type { RegistryRepository, RegistryClientOptions, RemoteReference, TransferCounters, BlobDescriptor, FetchedManifest } from './client/types.js'
export { openRepository, parseRemoteReference, formatRemoteReference, addReferrer } from './client/index.js'
export { pushSnapshot, DEFAULT_METADATA_LEVEL, type PushOptions, type PushResult, type PushSource, type ReuseSource } from './push.js'
export { pullSnapshot, type PullOptions, type PullProgress, type PullResult, type PullStore } from './pull.js'
export { RemoteSnapshot, DEFAULT_CHUNKS_IN_FLIGHT, type RemoteSnapshotOptions } from './remote-snapshot.js'
export { NotTesseraImageError } from './errors.js'
export { decodeMetadataBlob, encodeMetadata, type SnapshotMetadata, type PackTable, type ChunkLocation } from './metadata.js'
export { buildManifest, parseTesseraManifest, type TesseraManifest } from './manifest.js'
export {
  TESSERA_ARTIFACT_TYPE, METADATA_MEDIA_TYPE, PACK_MEDIA_TYPE, EMPTY_CONFIG_MEDIA_TYPE, SNAPSHOT_DIGEST_ANNOTATION, SNAPSHOT_ROOT_ANNOTATION,
  MAX_PACKS, DEFAULT_MAX_METADATA_BYTES
} from './media-types.js'
