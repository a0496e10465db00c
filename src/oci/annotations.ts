/**
 * Snapshot annotations written by the OCI importer (docs/FORMAT.md §5:
 * annotations change the snapshot digest, never the root digest). They
 * keep what is needed to export the snapshot as an image again.
 *
 * @module
 */

/** Keys of the annotations tessera writes for imported images. */
export const IMAGE_ANNOTATIONS = {
  /** The image config JSON, byte for byte as in the source. */
  config: 'tessera.image.config',
  /** Digest of the source config blob. */
  configDigest: 'tessera.image.config.digest',
  /** Digest of the source manifest. */
  manifestDigest: 'tessera.image.manifest.digest',
  /** Media type of the source manifest. */
  manifestMediaType: 'tessera.image.manifest.mediaType',
  /** The tag or reference the image was selected by. */
  reference: 'tessera.image.reference',
  /** Digests of the source layers, comma-separated, bottom first. */
  layers: 'tessera.image.layers'
} as const
