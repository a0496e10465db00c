/**
 * The media types, annotations and limits of a tessera image in a
 * registry (docs/FORMAT.md §11.1).
 *
 * @module
 */

/** The `artifactType` of a tessera image manifest. */
export const TESSERA_ARTIFACT_TYPE = 'application/vnd.tessera.snapshot.v1'
/** The media type of `layers[0]`, the metadata blob (§11.2). */
export const METADATA_MEDIA_TYPE = 'application/vnd.tessera.snapshot.metadata.v1'
/** The media type of `layers[1…]`, the pack blobs (§11.3). */
export const PACK_MEDIA_TYPE = 'application/vnd.tessera.pack.v1'
/** The OCI image manifest media type. */
export const OCI_MANIFEST_MEDIA_TYPE = 'application/vnd.oci.image.manifest.v1+json'
/** The OCI empty descriptor's media type, used as the config. */
export const EMPTY_CONFIG_MEDIA_TYPE = 'application/vnd.oci.empty.v1+json'
/** The empty config's bytes: `{}`. */
export const EMPTY_CONFIG = new Uint8Array([0x7b, 0x7d])
/** The digest of {@link EMPTY_CONFIG}. */
export const EMPTY_CONFIG_DIGEST = 'sha256:44136fa355b3678a1146ad16f7e8649e94fb4fc21fe77e8310c060f61caaff8a'

/** Manifest annotation: the snapshot digest. */
export const SNAPSHOT_DIGEST_ANNOTATION = 'tessera.snapshot.digest'
/** Manifest annotation: the root tree digest. */
export const SNAPSHOT_ROOT_ANNOTATION = 'tessera.snapshot.root'

/** Most packs a tessera manifest lists (§11.1, §11.4). */
export const MAX_PACKS = 250
/** Most layers a reader looks at in a tessera manifest. */
export const MAX_READ_LAYERS = 4096
/** Default largest metadata blob, stored and decoded (§11.2). */
export const DEFAULT_MAX_METADATA_BYTES = 256 * 1024 * 1024
/** Largest chunk (decoded) a table may list. */
export const MAX_TABLE_CHUNK_BYTES = 64 * 1024 * 1024
