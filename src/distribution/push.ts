/**
 * `pushSnapshot`: a local snapshot to a registry as a tessera image
 * (docs/FORMAT.md §11.4). Packs the repository already has (those of the
 * tessera image under the target tag, of the images named in `reuse`,
 * and of the repository's other tessera tags) are listed again, not
 * uploaded; the other chunks go into new
 * content-defined packs, each uploaded unless the registry has it. Every
 * stored object is verified before it is sent. The manifest is written
 * last: a push that fails leaves the tag as it was.
 *
 * @module
 */
import { AbortedError, InvalidArgumentError, throwIfAborted } from '../errors.js'
import { digestToString, isDigest } from '../hash/digest.js'
import { sha256 } from '../hash/index.js'
import type { ChunkReader, MetadataReader, RefReader } from '../store/index.js'
import { hasStoredChunkReads } from '../store/capability-guards.js'
import { encodeStored } from '../store/stored-object.js'
import { withStoreSession } from '../store/session.js'
import { loadZstd } from '../store/zstd.js'
import { Limiter } from '../util/limiter.js'
import { RegistryNotFoundError, type RegistryError } from './client/errors.js'
import type { RegistryRepository } from './client/types.js'
import { readClosure } from './closure.js'
import { buildManifest } from './manifest.js'
import { EMPTY_CONFIG, EMPTY_CONFIG_DIGEST, OCI_MANIFEST_MEDIA_TYPE } from './media-types.js'
import { digestKey, encodeMetadata, type PackTable, type SnapshotMetadata } from './metadata.js'
import { buildPack, type StoredReader } from './pack-blob.js'
import { type KnownPack, planPacks } from './pack-layout.js'
import { fetchMetadata } from './remote-metadata.js'
import { OciPlatformNotFoundError, OciUnsupportedMediaTypeError } from '../oci/errors.js'
import { formatRepositoryReference } from '../oci/reference.js'
import { findTesseraImage, resolveReference, type ResolvedImage, type ResolvedTessera } from './resolve.js'
import { DEFAULT_REUSE_TAGS, REUSE_TAGS_METADATA_BYTES, siblingTags } from './sibling-tags.js'

/** Default zstd level of the metadata blob. */
export const DEFAULT_METADATA_LEVEL = 9

/** Packs built and uploaded at once. */
const PACK_CONCURRENCY = 2

/** What a push reads from the local store. */
export type PushSource = MetadataReader & ChunkReader & Pick<RefReader, 'getRef'>

/** An image whose packs a push may reuse: a tag or digest of the target repository, or of another repository of the same registry. */
export type ReuseSource = string | { repository: RegistryRepository, reference: string }

/** Options of {@link pushSnapshot}. */
export interface PushOptions {
  /** The tag to write; default the repository reference's tag, else `latest`. */
  tag?: string
  /** Images whose packs may be reused, after the target tag's own (§11.4). */
  reuse?: readonly ReuseSource[]
  /**
   * Most other tags of the target repository whose tessera images' packs
   * are reused too, after `reuse` (the last in lexical order; default
   * {@link DEFAULT_REUSE_TAGS}; 0: none). A tag that cannot be read is
   * skipped.
   */
  reuseTags?: number
  /** zstd level of the metadata blob (0: raw). Default 9. */
  compressionLevel?: number
  signal?: AbortSignal
  /** Bytes uploaded so far, after each blob. */
  onProgress?: (progress: { bytes: number }) => void
  /** Told, before anything is uploaded, of an image of `reuse` that is not a tessera image (nothing of it is reused). */
  onWarning?: (message: string) => void
}

/** What a push did. */
export interface PushResult {
  /** The manifest's digest. */
  manifest: string
  tag: string
  snapshot: string
  root: string
  /** Chunks the snapshot reaches. */
  chunks: number
  /**
   * Packs the manifest lists. Each is counted once in one of the four
   * counts that follow, which add up to it.
   */
  packs: number
  /** Packs of earlier images of this repository, listed again without a request. */
  reusedPacks: number
  /** Packs whose bytes were sent: new ones, and those of another repository copied through when the registry refused a mount. */
  uploadedPacks: number
  /** Packs a `HEAD` found already in the repository (nothing sent). */
  presentPacks: number
  /** Packs of another repository mounted from it (nothing sent). */
  mountedPacks: number
  /** Blob bytes sent (packs, metadata, config, manifest). */
  uploadedBytes: number
}

interface ReuseImage {
  repository: RegistryRepository
  /** For a mount: the repository name, when it is not the target. */
  mountFrom?: string
}

/** Push snapshot `nameOrDigest` of `store` to `repository` (docs/FORMAT.md §11.4). */
export async function pushSnapshot (store: PushSource, nameOrDigest: string, repository: RegistryRepository, options: PushOptions = {}): Promise<PushResult> {
  const tag = options.tag ?? repository.reference.tag ?? 'latest'
  if (isDigest(tag)) throw new InvalidArgumentError('a push writes a tag, not a digest')
  const level = options.compressionLevel ?? DEFAULT_METADATA_LEVEL
  const reuseTags = options.reuseTags ?? DEFAULT_REUSE_TAGS
  if (!Number.isSafeInteger(reuseTags) || reuseTags < 0) throw new InvalidArgumentError(`reuseTags must be a non-negative integer, got ${String(reuseTags)}`)
  const signal = options.signal
  const call = signal !== undefined ? { signal } : {}
  await loadZstd()
  return await withStoreSession(store, async () => {
    const closure = await readClosure(store, nameOrDigest, signal)

    // The packs the repository has that may be reused (§11.4), in order.
    const sources: Array<{ image: ReuseImage, reference: string }> = [{ image: { repository }, reference: tag }]
    for (const r of options.reuse ?? []) {
      if (typeof r === 'string') { sources.push({ image: { repository }, reference: r }); continue }
      const other = r.repository.reference.repository
      sources.push({ image: { repository: r.repository, ...(other !== repository.reference.repository ? { mountFrom: other } : {}) }, reference: r.reference })
    }
    const known: KnownPack[] = []
    const images: ReuseImage[] = []
    const seen = new Set<string>()
    const readManifests = new Set<string>()
    const addPacks = (i: number, image: ReuseImage, metadata: SnapshotMetadata): void => {
      images[i] = image
      for (const p of metadata.packs) {
        const key = digestKey(p.digest)
        if (seen.has(key)) continue
        seen.add(key)
        const records = new Map<string, { offset: number, storedLength: number, length: number }>()
        p.offsets.forEach((offset, j) => {
          records.set(digestKey(p.chunks.subarray(32 * j, 32 * j + 32)), { offset, storedLength: p.storedLengths[j]!, length: p.lengths[j]! })
        })
        known.push({ digest: p.digest, size: p.size, records, source: i })
      }
    }
    for (const [i, { image, reference }] of sources.entries()) {
      throwIfAborted(signal)
      const found = i === 0 ? await findTesseraImage(image.repository, reference, signal) : await findReuseImage(image.repository, reference, options.onWarning, signal)
      if (found === undefined) continue
      readManifests.add(found.manifestDigest)
      addPacks(i, image, await fetchMetadata(image.repository, found.manifest, `${image.repository.reference.repository}@${found.manifestDigest}`, { signal }))
    }
    // The repository's other tessera tags (bounded): their packs are in it already.
    const exclude = new Set(sources.filter((s) => s.image.mountFrom === undefined).map((s) => s.reference))
    let budget = REUSE_TAGS_METADATA_BYTES
    for (const [j, other] of (await siblingTags(repository, exclude, reuseTags, signal)).entries()) {
      throwIfAborted(signal)
      try {
        const found = await findTesseraImage(repository, other, signal)
        if (found === undefined || readManifests.has(found.manifestDigest) || found.manifest.metadata.size > budget) continue
        readManifests.add(found.manifestDigest)
        budget -= found.manifest.metadata.size
        addPacks(sources.length + j, { repository }, await fetchMetadata(repository, found.manifest, `${repository.reference.repository}@${found.manifestDigest}`, { signal }))
      } catch (err) {
        // a tag that cannot be read is only a missed chance to reuse
        if (signal?.aborted === true || (err as { code?: string } | null)?.code === AbortedError.code) throw err
      }
    }
    const plan = planPacks(closure.chunks, known)

    const read: StoredReader = hasStoredChunkReads(store)
      ? async (digests) => await store.readStoredChunks(digests)
      : async (digests) => await Promise.all(digests.map(async (d) => encodeStored(await store.getChunk(d))))
    let uploadedBytes = 0
    const progress = (bytes: number): void => {
      uploadedBytes += bytes
      options.onProgress?.({ bytes: uploadedBytes })
    }
    const counts = { uploaded: 0, present: 0, mounted: 0 }
    const count = (how: 'uploaded' | 'present' | 'mounted'): void => { counts[how]++ }

    // Reused packs of another repository are mounted (or copied through).
    for (const r of plan.reused) {
      const image = images[r.pack.source]!
      if (image.mountFrom === undefined) continue
      const digest = digestToString(r.pack.digest)
      const how = await repository.putBlob({ digest, size: r.pack.size }, () => image.repository.streamBlob(digest, r.pack.size, call), { ...call, mountFrom: image.mountFrom })
      count(how)
      if (how === 'uploaded') progress(r.pack.size)
    }

    const tables: PackTable[] = new Array(plan.fresh.length)
    const limiter = new Limiter(PACK_CONCURRENCY)
    await Promise.all(plan.fresh.map(async (chunks, i) => await limiter.run(async () => {
      throwIfAborted(signal)
      const built = await buildPack(chunks, read, signal)
      tables[i] = built.table
      const how = await repository.putBlob({ digest: digestToString(built.table.digest), size: built.table.size }, built.body, call)
      count(how)
      if (how === 'uploaded') progress(built.table.size)
    })))

    const packs: PackTable[] = [
      ...plan.reused.map((r) => ({
        digest: r.pack.digest,
        size: r.pack.size,
        chunks: concatDigests(r.taken.map((t) => t.digest)),
        offsets: r.taken.map((t) => t.offset),
        storedLengths: r.taken.map((t) => t.storedLength),
        lengths: r.taken.map((t) => t.length)
      })),
      ...tables
    ]
    const metadata = encodeMetadata({ snapshot: closure.snapshot.bytes, trees: closure.trees, packs }, level)
    const metadataDigest = digestToString(sha256.digest(metadata))
    if (await repository.putBlob({ digest: metadataDigest, size: metadata.length }, metadata, call) === 'uploaded') progress(metadata.length)
    if (await repository.putBlob({ digest: EMPTY_CONFIG_DIGEST, size: EMPTY_CONFIG.length }, EMPTY_CONFIG, call) === 'uploaded') progress(EMPTY_CONFIG.length)
    const snapshot = digestToString(closure.snapshot.digest)
    const root = digestToString(closure.snapshot.decoded.root.tree)
    const manifest = buildManifest({
      metadata: { digest: metadataDigest, size: metadata.length },
      packs: packs.map((p) => ({ digest: digestToString(p.digest), size: p.size })),
      snapshotDigest: snapshot,
      root
    })
    throwIfAborted(signal)
    const manifestDigest = await repository.putManifest(tag, OCI_MANIFEST_MEDIA_TYPE, manifest, call)
    progress(manifest.length)
    return {
      manifest: manifestDigest,
      tag,
      snapshot,
      root,
      chunks: closure.chunks.length,
      packs: packs.length,
      reusedPacks: plan.reused.filter((r) => images[r.pack.source]!.mountFrom === undefined).length,
      uploadedPacks: counts.uploaded,
      presentPacks: counts.present,
      mountedPacks: counts.mounted,
      uploadedBytes
    }
  })
}

/**
 * The tessera image an image of `reuse` names: directly, or as the
 * tessera referrer of an ordinary image. An image that does not exist
 * fails the push (`ERR_REGISTRY_NOT_FOUND`) before anything is
 * uploaded; one with no tessera form is reported to `onWarning` and
 * gives nothing.
 */
async function findReuseImage (repository: RegistryRepository, reference: string, onWarning: ((message: string) => void) | undefined, signal: AbortSignal | undefined): Promise<ResolvedTessera | undefined> {
  const name = formatRepositoryReference(repository.reference.repository, reference)
  let found: ResolvedTessera | ResolvedImage
  try {
    found = await resolveReference(repository, reference, signal !== undefined ? { signal } : {})
  } catch (err) {
    const code = (err as { code?: string } | null)?.code
    if (code === RegistryNotFoundError.code) throw new RegistryNotFoundError(`cannot reuse the packs of ${name}: the registry has no such image`, { cause: err, status: (err as RegistryError).status ?? 404 })
    if (code === OciUnsupportedMediaTypeError.code || code === OciPlatformNotFoundError.code) {
      onWarning?.(`${name} is not a tessera image (${(err as Error).message}): none of its packs are reused`)
      return undefined
    }
    throw err
  }
  if (found.kind === 'tessera') return found
  onWarning?.(`${name} is an ordinary image with no tessera form: none of its packs are reused`)
  return undefined
}

function concatDigests (digests: readonly Uint8Array[]): Uint8Array {
  const out = new Uint8Array(32 * digests.length)
  digests.forEach((d, i) => out.set(d, 32 * i))
  return out
}

