/**
 * The tessera image manifest (docs/FORMAT.md §11.1): writing it as
 * tessera does, and reading one (from any writer) into its metadata and
 * pack descriptors, checked.
 *
 * @module
 */
import { IntegrityError, LimitExceededError, NonCanonicalError } from '../errors.js'
import { digestToString } from '../hash/digest.js'
import { parseManifest } from '../oci/json.js'
import type { Descriptor } from '../oci/types.js'
import {
  EMPTY_CONFIG, EMPTY_CONFIG_DIGEST, EMPTY_CONFIG_MEDIA_TYPE, MAX_READ_LAYERS, METADATA_MEDIA_TYPE, OCI_MANIFEST_MEDIA_TYPE, PACK_MEDIA_TYPE,
  SNAPSHOT_DIGEST_ANNOTATION, SNAPSHOT_ROOT_ANNOTATION, TESSERA_ARTIFACT_TYPE
} from './media-types.js'
import type { SnapshotMetadata } from './metadata.js'

/** A blob as a manifest lists it. */
export interface BlobRef {
  digest: string
  size: number
}

/** What a tessera manifest says. */
export interface TesseraManifest {
  metadata: BlobRef
  packs: BlobRef[]
  /** The annotations, when present. */
  snapshotDigest?: string
  root?: string
  subject?: Descriptor
}

/** What {@link buildManifest} takes. */
export interface ManifestInput {
  metadata: BlobRef
  packs: readonly BlobRef[]
  snapshotDigest: string
  root: string
  subject?: Descriptor
}

/** The manifest bytes tessera writes (key order and form of §11.1). */
export function buildManifest (input: ManifestInput): Uint8Array {
  const descriptor = (mediaType: string, b: BlobRef): object => ({ mediaType, digest: b.digest, size: b.size })
  const manifest: Record<string, unknown> = {
    schemaVersion: 2,
    mediaType: OCI_MANIFEST_MEDIA_TYPE,
    artifactType: TESSERA_ARTIFACT_TYPE,
    config: descriptor(EMPTY_CONFIG_MEDIA_TYPE, { digest: EMPTY_CONFIG_DIGEST, size: EMPTY_CONFIG.length }),
    layers: [descriptor(METADATA_MEDIA_TYPE, input.metadata), ...input.packs.map((p) => descriptor(PACK_MEDIA_TYPE, p))]
  }
  if (input.subject !== undefined) manifest.subject = { mediaType: input.subject.mediaType, digest: input.subject.digest, size: input.subject.size }
  manifest.annotations = { [SNAPSHOT_DIGEST_ANNOTATION]: input.snapshotDigest, [SNAPSHOT_ROOT_ANNOTATION]: input.root }
  return new Uint8Array(Buffer.from(JSON.stringify(manifest), 'utf8'))
}

/** Whether a parsed manifest is a tessera image. */
export function isTesseraManifest (m: { artifactType?: string }): boolean {
  return m.artifactType === TESSERA_ARTIFACT_TYPE
}

/**
 * Read a tessera manifest: its layers must be the metadata then packs,
 * of tessera's media types (`ERR_NON_CANONICAL`), at most
 * {@link MAX_READ_LAYERS} (`ERR_LIMIT_EXCEEDED`). Malformed JSON is
 * `ERR_OCI_INVALID`.
 */
export function parseTesseraManifest (bytes: Uint8Array, what: string): TesseraManifest {
  const m = parseManifest(bytes, { mediaType: OCI_MANIFEST_MEDIA_TYPE, what, limits: { maxLayers: Number.MAX_SAFE_INTEGER } })
  // (the layer count is bounded by the manifest's size, at most 4 MiB, until it is checked here)
  if (!isTesseraManifest(m)) throw new NonCanonicalError(`${what} is not a tessera image (its artifactType is ${JSON.stringify(m.artifactType ?? null)})`)
  if (m.layers.length > MAX_READ_LAYERS) throw new LimitExceededError(`${what} lists ${m.layers.length} layers, above the limit of ${MAX_READ_LAYERS}`)
  const [first, ...rest] = m.layers
  if (first === undefined || first.mediaType !== METADATA_MEDIA_TYPE) throw new NonCanonicalError(`${what}: its first layer must be the metadata blob (${METADATA_MEDIA_TYPE})`)
  rest.forEach((l, i) => {
    if (l.mediaType !== PACK_MEDIA_TYPE) throw new NonCanonicalError(`${what}: layer ${i + 1} is of media type ${JSON.stringify(l.mediaType)}, not a pack (${PACK_MEDIA_TYPE})`)
  })
  const out: TesseraManifest = {
    metadata: { digest: first.digest, size: first.size },
    packs: rest.map((l) => ({ digest: l.digest, size: l.size }))
  }
  const snapshotDigest = m.annotations?.[SNAPSHOT_DIGEST_ANNOTATION]
  const root = m.annotations?.[SNAPSHOT_ROOT_ANNOTATION]
  if (snapshotDigest !== undefined) out.snapshotDigest = snapshotDigest
  if (root !== undefined) out.root = root
  if (m.subject !== undefined) out.subject = m.subject
  return out
}

/** Check a manifest against the metadata it leads to (§11.1, §11.2). */
export function checkManifestAgainstMetadata (manifest: TesseraManifest, metadata: SnapshotMetadata, what: string): void {
  if (manifest.packs.length !== metadata.packs.length) {
    throw new NonCanonicalError(`${what} lists ${manifest.packs.length} packs and its metadata ${metadata.packs.length}`)
  }
  metadata.packs.forEach((p, i) => {
    const l = manifest.packs[i]!
    if (l.digest !== digestToString(p.digest) || l.size !== p.size) {
      throw new NonCanonicalError(`${what}: layer ${i + 1} (${l.digest}, ${l.size} bytes) is not the metadata's pack ${i} (${digestToString(p.digest)}, ${p.size} bytes)`)
    }
  })
  const snapshot = digestToString(metadata.snapshot.digest)
  const root = digestToString(metadata.decoded.root.tree)
  if (manifest.snapshotDigest !== undefined && manifest.snapshotDigest !== snapshot) {
    throw new IntegrityError(`${what} says snapshot ${manifest.snapshotDigest}, its metadata holds ${snapshot}`)
  }
  if (manifest.root !== undefined && manifest.root !== root) {
    throw new IntegrityError(`${what} says root ${manifest.root}, its metadata holds ${root}`)
  }
}
