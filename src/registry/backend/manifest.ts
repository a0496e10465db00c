/**
 * Checking a pushed manifest or index against its media type (OCI image
 * spec v1.1, Docker image manifest v2 schema 2) and finding what it
 * references: the blobs it needs, the child manifests of an index, and its
 * `subject` for the referrers API.
 *
 * Manifests of other media types are stored when they are JSON, without
 * looking for references (the distribution spec lets registries accept
 * types they do not know).
 *
 * @module
 */
import { isDigest } from '../../hash/digest.js'
import { checkFieldCase, DESCRIPTOR_FIELDS, MANIFEST_FIELDS, parseStrictJson, PLATFORM_FIELDS } from '../../oci/json.js'
import { quoteInput, RegistryManifestInvalidError } from '../errors.js'
import type { ReferrerDescriptor } from '../types.js'

/** OCI image manifest. */
export const OCI_MANIFEST = 'application/vnd.oci.image.manifest.v1+json'
/** OCI image index. */
export const OCI_INDEX = 'application/vnd.oci.image.index.v1+json'
/** Docker image manifest v2, schema 2. */
export const DOCKER_MANIFEST = 'application/vnd.docker.distribution.manifest.v2+json'
/** Docker manifest list. */
export const DOCKER_MANIFEST_LIST = 'application/vnd.docker.distribution.manifest.list.v2+json'

const IMAGE_MANIFESTS = new Set([OCI_MANIFEST, DOCKER_MANIFEST])
const INDEXES = new Set([OCI_INDEX, DOCKER_MANIFEST_LIST])

/** A content descriptor, checked. */
export interface Descriptor {
  mediaType: string
  digest: string
  size: number
}

/** What a manifest references. */
export interface ManifestReferences {
  /** The media type the manifest is stored under. */
  mediaType: string
  /** Blobs that must be in the repository (config and layers; not foreign layers, which are not pushed). */
  blobs: Descriptor[]
  /** Child manifests that must be in the repository (of an index). */
  manifests: Descriptor[]
  /** The manifest this one refers to (referrers API), if any. */
  subject: Descriptor | undefined
  /** `artifactType`, or for an image manifest without it, its config's media type. */
  artifactType: string | undefined
  /** Its annotations, if any. */
  annotations: Record<string, string> | undefined
}

/** The media type part of a `Content-Type` value: parameters dropped, trimmed. */
export function baseMediaType (contentType: string): string {
  return String(contentType ?? '').split(';')[0]!.trim()
}

function invalid (message: string): never { throw new RegistryManifestInvalidError(message) }

function isObject (v: unknown): v is Record<string, unknown> { return typeof v === 'object' && v !== null && !Array.isArray(v) }

/** {@link checkFieldCase} as a registry error. */
function checkCase (o: Record<string, unknown>, fields: readonly string[], where: string): void {
  try {
    checkFieldCase(o, fields, where)
  } catch (err) {
    throw new RegistryManifestInvalidError((err as Error).message, { cause: err })
  }
}

function descriptor (v: unknown, where: string): Descriptor {
  if (!isObject(v)) invalid(`${where} is not a descriptor object`)
  checkCase(v, DESCRIPTOR_FIELDS, where)
  if (isObject(v.platform)) checkCase(v.platform, PLATFORM_FIELDS, `${where}.platform`)
  const { mediaType, digest, size } = v
  if (typeof mediaType !== 'string' || mediaType.length === 0) invalid(`${where} has no mediaType`)
  if (typeof digest !== 'string' || !isDigest(digest)) invalid(`${where} has digest ${quoteInput(String(digest))}, not a sha256 digest`)
  if (typeof size !== 'number' || !Number.isSafeInteger(size) || size < 0) invalid(`${where} has size ${quoteInput(String(size))}, not a non-negative integer`)
  return { mediaType, digest, size }
}

function annotationsOf (v: unknown, where: string): Record<string, string> | undefined {
  if (v === undefined) return undefined
  if (!isObject(v)) invalid(`${where}.annotations is not an object`)
  const out: Record<string, string> = {}
  for (const [k, value] of Object.entries(v)) {
    if (typeof value !== 'string') invalid(`${where}.annotations[${quoteInput(k)}] is not a string`)
    out[k] = value
  }
  return out
}

function optionalString (v: unknown, where: string): string | undefined {
  if (v === undefined) return undefined
  if (typeof v !== 'string') invalid(`${where} is not a string`)
  return v
}

/** Foreign and non-distributable layers are not pushed to registries. */
function isNondistributable (mediaType: string): boolean {
  return /(foreign|nondistributable)/.test(mediaType)
}

/**
 * A pushed manifest's JSON, read by the strict parser of image documents
 * (`oci/json.ts`): a duplicate key, invalid UTF-8, a byte order mark or a
 * lone surrogate is refused, so the registry never keeps a document that
 * other readers (Go's encoding/json in containerd and docker) read
 * differently. Numbers with a fraction or exponent come back as
 * `JsonNonInteger`, which no integer field accepts.
 *
 * @throws `RegistryManifestInvalidError` (`ERR_REGISTRY_MANIFEST_INVALID`)
 */
export function parseManifestJson (bytes: Uint8Array): unknown {
  try {
    return parseStrictJson(bytes, 'the manifest')
  } catch (err) {
    throw new RegistryManifestInvalidError((err as Error).message, { cause: err })
  }
}

/**
 * Parse `bytes` as a manifest of `contentType` and list its references.
 * Throws `ERR_REGISTRY_MANIFEST_INVALID` when the bytes are not strict
 * JSON ({@link parseManifestJson}) or not an object, when a key differs
 * from a field only in case (`"Layers"`, as Go would read it), when the
 * `mediaType` field disagrees with `contentType`, or when a known type
 * lacks its required fields.
 */
export function parseManifest (contentType: string, bytes: Uint8Array): ManifestReferences {
  const json = parseManifestJson(bytes)
  if (!isObject(json)) invalid('the manifest is not a JSON object')
  checkCase(json, MANIFEST_FIELDS, 'the manifest')
  const declared = optionalString(json.mediaType, 'mediaType')
  let mediaType = baseMediaType(contentType)
  if (mediaType === '' && declared !== undefined) mediaType = declared
  if (declared !== undefined && declared !== mediaType) {
    invalid(`the manifest's mediaType ${quoteInput(declared)} is not the content type ${quoteInput(mediaType)}`)
  }
  const none: ManifestReferences = { mediaType, blobs: [], manifests: [], subject: undefined, artifactType: optionalStringOrUndefined(json.artifactType), annotations: undefined }
  if (!IMAGE_MANIFESTS.has(mediaType) && !INDEXES.has(mediaType)) return none
  if (json.schemaVersion !== 2) invalid(`schemaVersion is ${quoteInput(String(json.schemaVersion))}, not 2`)
  const subject = json.subject === undefined ? undefined : descriptor(json.subject, 'subject')
  const annotations = annotationsOf(json.annotations, 'manifest')
  const artifactType = optionalString(json.artifactType, 'artifactType')
  if (IMAGE_MANIFESTS.has(mediaType)) {
    const config = descriptor(json.config, 'config')
    if (!Array.isArray(json.layers)) invalid('layers is not an array')
    const layers = json.layers.map((l, i) => descriptor(l, `layers[${i}]`))
    return {
      mediaType,
      blobs: [config, ...layers.filter((l) => !isNondistributable(l.mediaType))],
      manifests: [],
      subject,
      artifactType: artifactType ?? config.mediaType,
      annotations
    }
  }
  if (!Array.isArray(json.manifests)) invalid('manifests is not an array')
  const manifests = json.manifests.map((m, i) => descriptor(m, `manifests[${i}]`))
  return { mediaType, blobs: [], manifests, subject, artifactType, annotations }
}

function optionalStringOrUndefined (v: unknown): string | undefined { return typeof v === 'string' ? v : undefined }

/** The referrers-API descriptor of a stored manifest. */
export function referrerDescriptor (digest: string, mediaType: string, bytes: Uint8Array): ReferrerDescriptor {
  const refs = parseManifest(mediaType, bytes)
  const out: ReferrerDescriptor = { mediaType: refs.mediaType, digest, size: bytes.length }
  if (refs.artifactType !== undefined) out.artifactType = refs.artifactType
  if (refs.annotations !== undefined) out.annotations = refs.annotations
  return out
}
