/**
 * Building the tessera image of an image pushed as layers (docs/FORMAT.md
 * §11.5, "For registries"): the image is imported as `import oci:` imports
 * it, with default parameters (its snapshot goes into the metadata blob,
 * not under a ref of the store: the import's commit is caught), its chunks are laid out in packs as `tessera push`
 * lays out new ones (§11.4: walk order, content-defined cuts, at most 250
 * packs), each pack a blob made of the stored objects the store holds
 * (a pack recipe: nothing of the chunks is stored again), then the
 * metadata blob, the empty config and the manifest, whose `subject` is
 * the image manifest, are stored and linked into the repository. The same
 * image in the same store gives the same blobs and manifest every time.
 *
 * @module
 */
import { readClosure } from '../../distribution/closure.js'
import { buildManifest } from '../../distribution/manifest.js'
import { EMPTY_CONFIG, EMPTY_CONFIG_DIGEST, OCI_MANIFEST_MEDIA_TYPE } from '../../distribution/media-types.js'
import { encodeMetadata, type PackTable } from '../../distribution/metadata.js'
import { planPacks } from '../../distribution/pack-layout.js'
import { DEFAULT_METADATA_LEVEL } from '../../distribution/push.js'
import { IntegrityError, throwIfAborted, UnsupportedError } from '../../errors.js'
import { bytesEqual, digestToBytes, digestToString, type Digest } from '../../hash/digest.js'
import { sha256 } from '../../hash/index.js'
import { importImage } from '../../oci/import.js'
import type { ChunkReader, MetadataReader, ObjectWriter } from '../../store/index.js'
import { withStoreSession } from '../../store/session.js'
import type { RegistryStore, StoredManifest } from '../types.js'
import { registryImageSource, type OfferableImage } from './image-source.js'

/** What building needs of the object store under the registry: import, then read the snapshot's closure. */
export type OfferObjectStore = Pick<ObjectWriter, 'putChunk' | 'putTree' | 'flush'> & MetadataReader & ChunkReader

async function * once (bytes: Uint8Array): AsyncIterable<Uint8Array> { yield bytes }

/** Build and store the tessera image of `image`, linked into `repository`; returns its manifest. */
export async function buildOffer (registry: RegistryStore, store: OfferObjectStore, repository: string, image: OfferableImage, options: { signal?: AbortSignal } = {}): Promise<StoredManifest> {
  const { signal } = options
  const blobs = registry.blobs
  const putChunkPack = blobs.putChunkPack
  if (putChunkPack === undefined) throw new UnsupportedError('this registry store cannot make pack blobs')
  // One session from the import to the manifest: a gc meanwhile keeps
  // the unnamed snapshot, its trees and its chunks.
  return await withStoreSession(store, async () => {
    // The snapshot is committed to the metadata blob, not under a ref: the
    // import's commit is caught here, and the closure read with it.
    let snapshot: { digest: Uint8Array, bytes: Uint8Array } | undefined
    const committer: Parameters<typeof importImage>[0] = {
      putChunk: async (digest, bytes) => await store.putChunk(digest, bytes),
      putTree: async (digest, bytes) => await store.putTree(digest, bytes),
      flush: async () => { await store.flush() },
      commitSnapshot: async (_name, s) => { snapshot = s; await store.flush() }
    }
    const imported = await importImage(committer, await registryImageSource(blobs, image), { name: 'offer', ...(signal !== undefined ? { signal } : {}) })
    const caught = snapshot
    if (caught === undefined || digestToString(caught.digest) !== imported.snapshot) throw new IntegrityError('the import committed no snapshot')
    const reader: Parameters<typeof readClosure>[0] = {
      getSnapshot: async (d) => bytesEqual(d, caught.digest) ? caught.bytes : await store.getSnapshot(d),
      getTree: async (d) => await store.getTree(d),
      getChunk: async (d) => await store.getChunk(d),
      getRef: async () => undefined
    }
    const closure = await readClosure(reader, imported.snapshot, signal)
    const plan = planPacks(closure.chunks, [])
    const tables: PackTable[] = []
    for (const chunks of plan.fresh) {
      throwIfAborted(signal)
      const { info, table } = await putChunkPack.call(blobs, chunks, { repository, ...(signal !== undefined ? { signal } : {}) })
      tables.push({ digest: digestToBytes(info.digest), size: info.size, ...table })
    }
    const metadata = encodeMetadata({ snapshot: closure.snapshot.bytes, trees: closure.trees, packs: tables }, DEFAULT_METADATA_LEVEL)
    const metadataDigest = digestToString(sha256.digest(metadata))
    await blobs.putBlob(once(metadata), { digest: metadataDigest, size: metadata.length }, { repository })
    await blobs.putBlob(once(EMPTY_CONFIG), { digest: EMPTY_CONFIG_DIGEST, size: EMPTY_CONFIG.length }, { repository })
    const bytes = buildManifest({
      metadata: { digest: metadataDigest, size: metadata.length },
      packs: tables.map((t) => ({ digest: digestToString(t.digest), size: t.size })),
      snapshotDigest: digestToString(closure.snapshot.digest),
      root: digestToString(closure.snapshot.decoded.root.tree),
      subject: { mediaType: image.manifest.mediaType, digest: image.manifest.digest as Digest, size: image.manifest.bytes.length }
    })
    throwIfAborted(signal)
    const digest = await registry.putManifest(repository, digestToString(sha256.digest(bytes)), OCI_MANIFEST_MEDIA_TYPE, bytes)
    return { digest, mediaType: OCI_MANIFEST_MEDIA_TYPE, bytes }
  })
}
