/**
 * From a reference to what it holds (docs/FORMAT.md §11.5): a tessera
 * image (named directly, or found as a referrer of an ordinary image), or
 * an ordinary image to be pulled by its layers. Indexes are resolved to
 * the platform asked for, as `import oci:` resolves them.
 *
 * @module
 */
import { throwIfAborted } from '../errors.js'
import { INDEX_MEDIA_TYPES, MANIFEST_MEDIA_TYPES, parseIndex, parseManifest, type ImageManifest } from '../oci/json.js'
import { OciInvalidError, OciUnsupportedMediaTypeError } from '../oci/errors.js'
import { resolvePlatformOption, selectByPlatform } from '../oci/platform.js'
import { MEDIA_TYPES, type Platform } from '../oci/types.js'
import type { FetchedManifest, RegistryRepository } from './client/types.js'
import { isTesseraManifest, parseTesseraManifest, type TesseraManifest } from './manifest.js'
import { TESSERA_ARTIFACT_TYPE } from './media-types.js'

/** The manifest types asked for. */
export const MANIFEST_ACCEPT = [MEDIA_TYPES.ociManifest, MEDIA_TYPES.ociIndex, MEDIA_TYPES.dockerManifest, MEDIA_TYPES.dockerManifestList]

/** Most indexes followed from the top to a manifest. */
const MAX_INDEX_DEPTH = 8
/** Most referrers looked at for a tessera image. */
const MAX_REFERRERS = 16

/** A tessera image. */
export interface ResolvedTessera {
  kind: 'tessera'
  manifestDigest: string
  manifest: TesseraManifest
  /** The ordinary image it was found as a referrer of, if so. */
  imageDigest?: string
}

/** An ordinary image. */
export interface ResolvedImage {
  kind: 'image'
  manifestDigest: string
  mediaType: string
  manifest: ImageManifest
}

/** Options of {@link resolveReference}. */
export interface ResolveOptions {
  /** The platform picked in indexes (default: this machine's). */
  platform?: string | Platform
  /** Look for a tessera referrer of an ordinary image (default true). */
  referrers?: boolean
  signal?: AbortSignal
}

/** The reference a repository was opened with: its digest, else its tag, else `latest`. */
export function referenceOf (repository: RegistryRepository): string {
  return repository.reference.digest ?? repository.reference.tag ?? 'latest'
}

function isNotFound (err: unknown): boolean {
  return (err as { code?: unknown } | null)?.code === 'ERR_REGISTRY_NOT_FOUND'
}

/** Resolve `reference` (a tag or digest of `repository`). */
export async function resolveReference (repository: RegistryRepository, reference: string, options: ResolveOptions = {}): Promise<ResolvedTessera | ResolvedImage> {
  const signal = options.signal
  const platform = resolvePlatformOption(options.platform)
  let fetched: FetchedManifest = await repository.getManifest(reference, { accept: MANIFEST_ACCEPT, ...(signal !== undefined ? { signal } : {}) })
  for (let depth = 0; INDEX_MEDIA_TYPES.has(fetched.mediaType); depth++) {
    throwIfAborted(signal)
    if (depth >= MAX_INDEX_DEPTH) throw new OciInvalidError(`indexes are nested deeper than the limit of ${MAX_INDEX_DEPTH}`)
    const where = `index ${fetched.digest}`
    const index = parseIndex(fetched.bytes, { mediaType: fetched.mediaType, what: where })
    const entry = selectByPlatform(platform, index.manifests, where)
    fetched = await repository.getManifest(entry.digest, { accept: MANIFEST_ACCEPT, ...(signal !== undefined ? { signal } : {}) })
  }
  if (!MANIFEST_MEDIA_TYPES.has(fetched.mediaType)) {
    throw new OciUnsupportedMediaTypeError(`${fetched.digest} is of media type ${JSON.stringify(fetched.mediaType)}, not an image manifest or index`, fetched.mediaType)
  }
  const what = `manifest ${fetched.digest}`
  const manifest = parseManifest(fetched.bytes, { mediaType: fetched.mediaType, what, limits: { maxLayers: Number.MAX_SAFE_INTEGER } })
  if (isTesseraManifest(manifest)) return { kind: 'tessera', manifestDigest: fetched.digest, manifest: parseTesseraManifest(fetched.bytes, what) }
  if (options.referrers !== false) {
    const found = await tesseraReferrer(repository, fetched.digest, signal)
    if (found !== undefined) return found
  }
  return { kind: 'image', manifestDigest: fetched.digest, mediaType: fetched.mediaType, manifest }
}

/** The first tessera referrer of an image manifest whose subject is that manifest. */
async function tesseraReferrer (repository: RegistryRepository, imageDigest: string, signal: AbortSignal | undefined): Promise<ResolvedTessera | undefined> {
  let referrers
  try {
    referrers = await repository.listReferrers(imageDigest, { artifactType: TESSERA_ARTIFACT_TYPE, ...(signal !== undefined ? { signal } : {}) })
  } catch (err) {
    if (isNotFound(err)) return undefined
    throw err
  }
  for (const d of referrers.filter((r) => r.artifactType === TESSERA_ARTIFACT_TYPE).slice(0, MAX_REFERRERS)) {
    const fetched = await repository.getManifest(d.digest, { accept: [MEDIA_TYPES.ociManifest], ...(signal !== undefined ? { signal } : {}) })
    const manifest = parseTesseraManifest(fetched.bytes, `referrer ${fetched.digest}`)
    if (manifest.subject?.digest !== imageDigest) continue
    return { kind: 'tessera', manifestDigest: fetched.digest, manifest, imageDigest }
  }
  return undefined
}

/**
 * The tessera image a tag or digest names, or undefined when it names
 * nothing or something else (for a push: the packs it may reuse).
 */
export async function findTesseraImage (repository: RegistryRepository, reference: string, signal?: AbortSignal): Promise<ResolvedTessera | undefined> {
  let fetched: FetchedManifest
  try {
    fetched = await repository.getManifest(reference, { accept: MANIFEST_ACCEPT, ...(signal !== undefined ? { signal } : {}) })
  } catch (err) {
    if (isNotFound(err)) return undefined
    throw err
  }
  if (fetched.mediaType !== MEDIA_TYPES.ociManifest) return undefined
  const what = `manifest ${fetched.digest}`
  const manifest = parseManifest(fetched.bytes, { what, limits: { maxLayers: Number.MAX_SAFE_INTEGER } })
  if (!isTesseraManifest(manifest)) return undefined
  return { kind: 'tessera', manifestDigest: fetched.digest, manifest: parseTesseraManifest(fetched.bytes, what) }
}
