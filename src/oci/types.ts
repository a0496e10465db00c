/**
 * OCI image-spec types used by tessera, and the media types it accepts.
 *
 * @module
 */
import type { Digest } from '../hash/digest.js'

/** Media types. */
export const MEDIA_TYPES = {
  ociIndex: 'application/vnd.oci.image.index.v1+json',
  ociManifest: 'application/vnd.oci.image.manifest.v1+json',
  ociConfig: 'application/vnd.oci.image.config.v1+json',
  ociLayer: 'application/vnd.oci.image.layer.v1.tar',
  ociLayerGzip: 'application/vnd.oci.image.layer.v1.tar+gzip',
  ociLayerZstd: 'application/vnd.oci.image.layer.v1.tar+zstd',
  ociLayerNondistributable: 'application/vnd.oci.image.layer.nondistributable.v1.tar',
  ociLayerNondistributableGzip: 'application/vnd.oci.image.layer.nondistributable.v1.tar+gzip',
  ociLayerNondistributableZstd: 'application/vnd.oci.image.layer.nondistributable.v1.tar+zstd',
  dockerManifestList: 'application/vnd.docker.distribution.manifest.list.v2+json',
  dockerManifest: 'application/vnd.docker.distribution.manifest.v2+json',
  dockerConfig: 'application/vnd.docker.container.image.v1+json',
  dockerLayerGzip: 'application/vnd.docker.image.rootfs.diff.tar.gzip',
  dockerLayerForeign: 'application/vnd.docker.image.rootfs.foreign.diff.tar.gzip'
} as const

/** Layer media types tessera can apply, and how they are compressed. */
export const LAYER_MEDIA_TYPES: ReadonlyMap<string, 'none' | 'gzip' | 'zstd'> = new Map([
  [MEDIA_TYPES.ociLayer, 'none'],
  [MEDIA_TYPES.ociLayerGzip, 'gzip'],
  [MEDIA_TYPES.ociLayerZstd, 'zstd'],
  [MEDIA_TYPES.ociLayerNondistributable, 'none'],
  [MEDIA_TYPES.ociLayerNondistributableGzip, 'gzip'],
  [MEDIA_TYPES.ociLayerNondistributableZstd, 'zstd'],
  [MEDIA_TYPES.dockerLayerGzip, 'gzip'],
  [MEDIA_TYPES.dockerLayerForeign, 'gzip']
])

/** An OCI platform. */
export interface Platform {
  architecture: string
  os: string
  variant?: string
  'os.version'?: string
  'os.features'?: string[]
}

/** An OCI content descriptor. */
export interface Descriptor {
  mediaType: string
  digest: Digest
  size: number
  annotations?: Record<string, string>
  platform?: Platform
  urls?: string[]
}

/** One layer of a source image: its descriptor and a way to read its (compressed) bytes, verified. */
export interface LayerSource {
  descriptor: Descriptor
  /**
   * Stream the blob as stored (compressed). The stream checks size and
   * digest as it goes and throws at the end if either is wrong, so a
   * consumer must read it to the end before trusting what it derived.
   */
  open (options?: { signal?: AbortSignal }): AsyncIterable<Uint8Array>
}

/** An image read from a source (OCI layout, docker archive), ready to be flattened. */
export interface SourceImage {
  /** Digest of the manifest, as the source names it. */
  manifestDigest: Digest
  /** Media type of the manifest. */
  manifestMediaType: string
  /** Digest of the config blob. */
  configDigest: Digest
  /** The config blob's bytes, verified against configDigest. */
  config: Uint8Array
  /** Layers, bottom first. */
  layers: LayerSource[]
  /** The reference (tag) the image was selected by, if any. */
  reference?: string
  /** Release resources (open files). */
  close (): Promise<void>
}
