/**
 * Golden vector G10 of docs/FORMAT.md §8: a small snapshot pushed as a
 * tessera image (§11) gives a pinned pack blob, metadata blob and
 * manifest. The registry is an in-memory test double: the vector is of the
 * format, not of a registry. A change here is a change of the format.
 */
import { test } from 'node:test'
import assert from 'node:assert/strict'
import { createHash } from 'node:crypto'
import { pushSnapshot } from '../../src/distribution/push.js'
import { decodeMetadataBlob } from '../../src/distribution/metadata.js'
import { parseTesseraManifest } from '../../src/distribution/manifest.js'
import { digestToString } from '../../src/hash/digest.js'
import { openMemoryStore } from '../../src/store/open.js'
import { lcgBytes } from '../helpers/fixture.js'
import { MemoryRegistry } from '../helpers/memory-repository.js'
import { commitSpec } from '../helpers/memory-snapshot.js'

const sha = (b: Uint8Array): string => `sha256:${createHash('sha256').update(b).digest('hex')}`

const G10 = {
  root: 'sha256:b178bcdbb283a45762c1f8b15940470798f7b2ce9a551de68e40f6352d3a5c88',
  snapshot: 'sha256:2c8ca99483c9faa4552922de881ec46fdbff706bcf3c0cf0b7d9784efc768f0f',
  pack: 'sha256:7b09903266b868cf7f1b8f8833c2311b562eeb2f8a409357e2d55447facb7c41',
  packSize: 370341,
  metadata: 'sha256:1471a6238052e5ab7cfe0e95d34a8a855b318b6d5bc92b482a66219106ee5058',
  metadataSize: 1297,
  manifest: 'sha256:237136bf2b1f9b4a07083fa78e8497230cc14dad329c751cdcbb4d6b528eb2e9'
}

/** The tree of G10: `a` inline, `big` chunked, `d/copy` (the same bytes as `big`) and `d/small`. */
export function g10Spec (): { a: Buffer, big: Buffer, d: { copy: Buffer, small: Buffer } } {
  const big = lcgBytes(300000, 7)
  return { a: Buffer.from('hello'), big, d: { copy: big, small: lcgBytes(70000, 8) } }
}

test('G10: a tessera image of a fixed tree has a pinned pack, metadata and manifest', async () => {
  const store = await openMemoryStore({ compressionLevel: 0 })
  const ids = await commitSpec(store, 'g10', g10Spec())
  assert.equal(ids.root, G10.root)
  assert.equal(ids.snapshot, G10.snapshot)
  const registry = new MemoryRegistry()
  const result = await pushSnapshot(store, 'g10', registry.repository('g/ten', 'v1'), { compressionLevel: 0 })
  assert.equal(result.manifest, G10.manifest)
  const manifest = registry.manifests.get(result.manifest)!.bytes
  assert.equal(sha(manifest), G10.manifest)
  assert.equal(Buffer.from(manifest).toString(), JSON.stringify({
    schemaVersion: 2,
    mediaType: 'application/vnd.oci.image.manifest.v1+json',
    artifactType: 'application/vnd.tessera.snapshot.v1',
    config: { mediaType: 'application/vnd.oci.empty.v1+json', digest: 'sha256:44136fa355b3678a1146ad16f7e8649e94fb4fc21fe77e8310c060f61caaff8a', size: 2 },
    layers: [
      { mediaType: 'application/vnd.tessera.snapshot.metadata.v1', digest: G10.metadata, size: G10.metadataSize },
      { mediaType: 'application/vnd.tessera.pack.v1', digest: G10.pack, size: G10.packSize }
    ],
    annotations: { 'tessera.snapshot.digest': G10.snapshot, 'tessera.snapshot.root': G10.root }
  }))
  const parsed = parseTesseraManifest(manifest, 'G10')
  const blob = registry.blobs.get(parsed.metadata.digest)!
  assert.equal(sha(blob), G10.metadata)
  assert.equal(blob[0], 0x00, 'a raw metadata blob')
  // [4, 1, snapshot (bin8 of 61 bytes), ...
  assert.equal(Buffer.from(blob.subarray(1, 6)).toString('hex'), '950401c43d')
  const metadata = decodeMetadataBlob(blob)
  assert.equal(digestToString(metadata.snapshot.digest), G10.snapshot)
  assert.equal(metadata.trees.size, 2)
  assert.equal(metadata.packs.length, 1)
  const table = metadata.packs[0]!
  assert.equal(digestToString(table.digest), G10.pack)
  // 9 distinct chunks (d/copy repeats big's); records back to back after the 8-byte header, each stored raw (length + 1)
  assert.equal(table.offsets.length, 9)
  assert.equal(table.offsets[0], 44)
  for (let j = 0; j < 9; j++) {
    assert.equal(table.storedLengths[j], table.lengths[j]! + 1)
    if (j > 0) assert.equal(table.offsets[j], table.offsets[j - 1]! + table.storedLengths[j - 1]! + 36)
  }
  assert.equal(table.lengths.reduce((a, b) => a + b, 0), 300000 + 70000)
  const pack = registry.blobs.get(G10.pack)!
  assert.equal(pack.length, G10.packSize)
  assert.equal(Buffer.from(pack.subarray(0, 8)).toString('latin1'), 'tspack1\n')
  await store.close()
})
