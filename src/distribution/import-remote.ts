/**
 * Reading an ordinary image of a registry (one with no tessera form) as a
 * snapshot without naming it: its layers are fetched and imported as
 * `import oci:` imports them, the chunks and trees going into `store`
 * (unreferenced, as a cache: `gc` reclaims them) and the snapshot object
 * kept in memory, so no ref is created.
 *
 * @module
 */
import { SnapshotReader } from '../exporter/snapshot-reader.js'
import { bytesEqual, digestToString } from '../hash/digest.js'
import { importImage } from '../oci/import.js'
import type { ChunkReader, MetadataReader, ObjectWriter, SnapshotSource } from '../store/index.js'
import type { RegistryRepository } from './client/types.js'
import { registryImageSource } from './image-source.js'
import { referenceOf, resolveReference } from './resolve.js'

/** Import the ordinary image `repository` names into `store` and open its snapshot. */
export async function importRemoteImage (store: ObjectWriter & ChunkReader & MetadataReader, repository: RegistryRepository, options: { reference?: string, signal?: AbortSignal } = {}): Promise<SnapshotReader> {
  const reference = options.reference ?? referenceOf(repository)
  const signal = options.signal
  const resolved = await resolveReference(repository, reference, { referrers: false, ...(signal !== undefined ? { signal } : {}) })
  if (resolved.kind !== 'image') throw new Error('unreachable: resolved without referrers')
  const image = await registryImageSource(repository, resolved, { reference, ...(signal !== undefined ? { signal } : {}) })
  let snapshot: { digest: Uint8Array, bytes: Uint8Array } | undefined
  // The import's commit keeps the snapshot here instead of naming it.
  const writer = {
    putChunk: async (digest: Uint8Array, bytes: Uint8Array) => await store.putChunk(digest, bytes),
    putTree: async (digest: Uint8Array, bytes: Uint8Array) => await store.putTree(digest, bytes),
    flush: async () => await store.flush(),
    commitSnapshot: async (_name: string, s: { digest: Uint8Array, bytes: Uint8Array }) => { snapshot = s; await store.flush() },
    ...('beginSession' in store ? { beginSession: (store as unknown as { beginSession: () => unknown }).beginSession.bind(store) } : {})
  }
  await importImage(writer, image, { name: 'remote', ...(signal !== undefined ? { signal } : {}) })
  const kept = snapshot!
  const source: SnapshotSource = {
    getChunk: async (d) => await store.getChunk(d),
    getTree: async (d) => await store.getTree(d),
    getSnapshot: async (d) => bytesEqual(d, kept.digest) ? kept.bytes : await store.getSnapshot(d),
    getRef: async () => undefined
  }
  return await SnapshotReader.open(source, digestToString(kept.digest))
}
