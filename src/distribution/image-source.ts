/**
 * An ordinary image in a registry as a {@link SourceImage}, for
 * `importImage`: the config fetched whole (verified), each layer streamed
 * (verified at its end by the client), as `import oci:` reads a layout.
 * Each layer is downloaded once: the import's second read of a layer comes
 * from a local spool (`./layer-spool.ts`), removed when the image is closed.
 *
 * @module
 */
import { LimitExceededError } from '../errors.js'
import type { Digest } from '../hash/digest.js'
import { OciUnsupportedMediaTypeError } from '../oci/errors.js'
import { CONFIG_MEDIA_TYPES, DEFAULT_OCI_LIMITS, parseConfig } from '../oci/json.js'
import { LAYER_MEDIA_TYPES, type LayerSource, type SourceImage } from '../oci/types.js'
import type { RegistryRepository } from './client/types.js'
import { LayerSpool } from './layer-spool.js'
import type { ResolvedImage } from './resolve.js'

/** Options of {@link registryImageSource}. */
export interface RegistryImageSourceOptions {
  /** The reference the image was selected by, kept as an annotation. */
  reference?: string
  signal?: AbortSignal
  /** Where downloaded layers are kept while the image is open (default `os.tmpdir()`). */
  spoolDir?: string
}

/** Open `image` (resolved in `repository`) as a source for `importImage`. */
export async function registryImageSource (repository: RegistryRepository, image: ResolvedImage, options: RegistryImageSourceOptions = {}): Promise<SourceImage> {
  const { manifest, manifestDigest } = image
  const what = `manifest ${manifestDigest}`
  const configDesc = manifest.config
  if (!CONFIG_MEDIA_TYPES.has(configDesc.mediaType)) {
    throw new OciUnsupportedMediaTypeError(`${what}: config media type ${JSON.stringify(configDesc.mediaType)} is not an image config`, configDesc.mediaType)
  }
  manifest.layers.forEach((l, i) => {
    if (!LAYER_MEDIA_TYPES.has(l.mediaType)) throw new OciUnsupportedMediaTypeError(`${what}: layer ${i} has unsupported media type ${JSON.stringify(l.mediaType)}`, l.mediaType)
  })
  const max = DEFAULT_OCI_LIMITS.maxConfigBytes
  if (configDesc.size > max) throw new LimitExceededError(`${what}: the config declares ${configDesc.size} bytes, above the limit of ${max}`)
  const config = await repository.getBlob(configDesc.digest, configDesc.size, options.signal !== undefined ? { signal: options.signal } : {})
  parseConfig(config, { what: `config ${configDesc.digest}` })
  const spool = new LayerSpool(options.spoolDir)
  const layers: LayerSource[] = manifest.layers.map((descriptor) => spool.wrap({
    descriptor,
    open: (o: { signal?: AbortSignal } = {}) => repository.streamBlob(descriptor.digest, descriptor.size, o.signal !== undefined ? { signal: o.signal } : {})
  }))
  return {
    manifestDigest: manifestDigest as Digest,
    manifestMediaType: image.mediaType,
    configDigest: configDesc.digest,
    config,
    layers,
    ...(options.reference !== undefined ? { reference: options.reference } : {}),
    close: async () => await spool.close()
  }
}
