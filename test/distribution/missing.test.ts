// findMissing walks subtrees at once: a tree reached by several parents
// must still be listed once, after all of its children and before every
// parent, and trees the store has are skipped with their closure.
import { test } from 'node:test'
import assert from 'node:assert/strict'
import { findMissing } from '../../src/distribution/missing.js'
import { digestKey, type SnapshotMetadata } from '../../src/distribution/metadata.js'
import { fetchMetadata } from '../../src/distribution/remote-metadata.js'
import { resolveReference } from '../../src/distribution/resolve.js'
import { pushSnapshot } from '../../src/distribution/push.js'
import { pullSnapshot } from '../../src/distribution/pull.js'
import { decodeTree } from '../../src/format/tree.js'
import { fsck } from '../../src/maintenance/fsck.js'
import { openMemoryStore } from '../../src/store/open.js'
import { lcgBytes } from '../helpers/fixture.js'
import { MemoryRegistry } from '../helpers/memory-repository.js'
import { commitSpec, type TreeSpec } from '../helpers/memory-snapshot.js'

/** Identical subtrees under many parents and at several depths (one tree object each). */
function sharedSpec (): TreeSpec {
  const leaf: TreeSpec = { a: lcgBytes(3000, 1), b: Buffer.from('b') }
  const mid: TreeSpec = { leaf, other: { leaf }, c: lcgBytes(5000, 2) }
  return { x: { mid, leaf }, y: { mid, deeper: { mid, leaf } }, z: { leaf }, leaf, mid }
}

async function metadataOf (registry: MemoryRegistry): Promise<SnapshotMetadata> {
  const repository = registry.repository('lib/shared', 'v1')
  const resolved = await resolveReference(repository, 'v1')
  assert.equal(resolved.kind, 'tessera')
  if (resolved.kind !== 'tessera') throw new Error('unreachable')
  return await fetchMetadata(repository, resolved.manifest, 'shared')
}

function childrenOf (bytes: Uint8Array): Uint8Array[] {
  return decodeTree(bytes).flatMap((e) => e.kind === 'dir' ? [e.tree] : [])
}

test('findMissing lists each missing tree once, children before parents, and skips present subtrees', async () => {
  const source = await openMemoryStore()
  await commitSpec(source, 'app', sharedSpec())
  const registry = new MemoryRegistry()
  await pushSnapshot(source, 'app', registry.repository('lib/shared', 'v1'))
  const metadata = await metadataOf(registry)

  const empty = await openMemoryStore()
  const all = await findMissing(empty, metadata)
  const keys = all.trees.map((t) => digestKey(t.digest))
  assert.equal(new Set(keys).size, keys.length, 'a tree is listed twice')
  assert.equal(keys.length, metadata.trees.size)
  assert.equal(keys.at(-1), digestKey(metadata.decoded.root.tree))
  const position = new Map(keys.map((k, i) => [k, i]))
  for (const t of all.trees) {
    for (const child of childrenOf(t.bytes)) assert.ok(position.get(digestKey(child))! < position.get(digestKey(t.digest))!, 'a parent comes before its child')
  }
  assert.equal(all.chunks.length, metadata.chunks.size)

  // A store holding the shared `mid` subtree (pulled from an image of it alone) skips it and its closure.
  const partial = await openMemoryStore()
  await commitSpec(partial, 'mid', (sharedSpec().mid as TreeSpec))
  const some = await findMissing(partial, metadata)
  const someKeys = new Set(some.trees.map((t) => digestKey(t.digest)))
  for (const t of some.trees) for (const child of childrenOf(t.bytes)) if (someKeys.has(digestKey(child))) assert.ok([...someKeys].indexOf(digestKey(child)) < [...someKeys].indexOf(digestKey(t.digest)))
  for (const t of all.trees) {
    if (!someKeys.has(digestKey(t.digest))) assert.equal(await partial.hasTree(t.digest), true, 'a tree the store lacks was skipped')
  }
  assert.ok(some.trees.length < all.trees.length)
  assert.ok(some.chunks.length < all.chunks.length)

  // And the pull through it is complete.
  await pullSnapshot(partial, registry.repository('lib/shared', 'v1'), { name: 'copy' })
  const report = await fsck(partial)
  assert.equal(report.ok, true, JSON.stringify(report.problems))
  await Promise.all([source.close(), empty.close(), partial.close()])
})
