/**
 * An image manifest of the registry store as a {@link SourceImage}, for
 * `importImage`: the config read whole (verified against its digest by the
 * store), each layer kept as a recipe streamed as its uncompressed tar from
 * its chunks (nothing recompressed; the tar is checked against the
 * config's `diff_ids` by the import), any other layer as its bytes.
 *
 * @module
 */
import { IntegrityError } from '../../errors.js'
import type { Digest } from '../../hash/digest.js'
import { configDiffIds, CONFIG_MEDIA_TYPES, DEFAULT_OCI_LIMITS, MANIFEST_MEDIA_TYPES, parseConfig, parseManifest, type ImageManifest } from '../../oci/json.js'
import { LAYER_MEDIA_TYPES, MEDIA_TYPES, type LayerSource, type SourceImage } from '../../oci/types.js'
import type { BlobStore, StoredManifest } from '../types.js'

/** An image whose layers can be flattened, with its parsed manifest and config. */
export interface OfferableImage {
  manifest: StoredManifest
  parsed: ImageManifest
  config: Uint8Array
}

async function collect (stream: AsyncIterable<Uint8Array>): Promise<Uint8Array> {
  const parts: Uint8Array[] = []
  for await (const p of stream) parts.push(p)
  return new Uint8Array(Buffer.concat(parts))
}

/**
 * The image `manifest` is, when it is one `import oci:` can flatten: an
 * image manifest (not a tessera image or another artifact) with an image
 * config whose `diff_ids` list one digest per layer, every layer of a
 * layer media type and in the store. Otherwise the reason it is not.
 */
export async function offerableImage (blobs: BlobStore, manifest: StoredManifest): Promise<OfferableImage | string> {
  if (!MANIFEST_MEDIA_TYPES.has(manifest.mediaType)) return `${manifest.mediaType} is not an image manifest`
  let parsed: ImageManifest
  try {
    parsed = parseManifest(manifest.bytes, { mediaType: manifest.mediaType, what: `manifest ${manifest.digest}` })
  } catch (err) {
    return (err as Error).message
  }
  if (parsed.artifactType !== undefined) return `an artifact of type ${parsed.artifactType}, not an image`
  if (!CONFIG_MEDIA_TYPES.has(parsed.config.mediaType)) return `its config is of media type ${parsed.config.mediaType}, not an image config`
  for (const [i, layer] of parsed.layers.entries()) {
    if (!LAYER_MEDIA_TYPES.has(layer.mediaType)) return `layer ${i} is of media type ${layer.mediaType}`
    if (await blobs.statBlob(layer.digest) === undefined) return `layer ${i} (${layer.digest}) is not in the registry`
  }
  const max = DEFAULT_OCI_LIMITS.maxConfigBytes
  if (parsed.config.size > max) return `its config declares ${parsed.config.size} bytes, above the limit of ${max}`
  if (await blobs.statBlob(parsed.config.digest) === undefined) return `its config ${parsed.config.digest} is not in the registry`
  const config = await collect(blobs.getBlob(parsed.config.digest))
  try {
    const ids = configDiffIds(parseConfig(config, { what: `config ${parsed.config.digest}` }), `config ${parsed.config.digest}`)
    if (ids.length !== parsed.layers.length) return `its config lists ${ids.length} diff_ids for ${parsed.layers.length} layers`
  } catch (err) {
    return (err as Error).message
  }
  return { manifest, parsed, config }
}

/** The image as `importImage` reads it (see the module comment). */
export async function registryImageSource (blobs: BlobStore, image: OfferableImage): Promise<SourceImage> {
  const layers: LayerSource[] = []
  for (const descriptor of image.parsed.layers) {
    const tarOf = blobs.layerTar
    const asTar = tarOf !== undefined && (await blobs.statBlob(descriptor.digest))?.storage === 'reproduced'
    if (asTar) {
      layers.push({
        descriptor: { ...descriptor, mediaType: MEDIA_TYPES.ociLayer },
        open: (o: { signal?: AbortSignal } = {}) => (async function * () {
          const tar = await tarOf.call(blobs, descriptor.digest, o)
          if (tar === undefined) throw new IntegrityError(`layer ${descriptor.digest} is no longer kept as a recipe`)
          yield * tar
        })()
      })
    } else {
      layers.push({ descriptor, open: (o: { signal?: AbortSignal } = {}) => blobs.getBlob(descriptor.digest, o) })
    }
  }
  return {
    manifestDigest: image.manifest.digest as Digest,
    manifestMediaType: image.manifest.mediaType,
    configDigest: image.parsed.config.digest,
    config: image.config,
    layers,
    async close () {}
  }
}
