/**
 * Building small snapshots in a store from a description in memory, for
 * the transfer tests: files (inline or chunked with the default params)
 * and directories, every attribute fixed (mode 0644 / 0755, owner 0:0,
 * mtime 0).
 *
 * @module
 */
import { storeContent } from '../../src/content/file-content.js'
import type { Entry } from '../../src/format/entry.js'
import { DEFAULT_SNAPSHOT_PARAMS, encodeSnapshot } from '../../src/format/snapshot.js'
import { TreeBuilder } from '../../src/format/tree.js'
import { digestToString } from '../../src/hash/digest.js'
import type { ObjectStore } from '../../src/store/index.js'

/** A directory: names to file bytes or subdirectories. */
export interface TreeSpec { [name: string]: Uint8Array | TreeSpec }

async function buildTree (store: ObjectStore, spec: TreeSpec): Promise<Uint8Array> {
  const builder = new TreeBuilder({ inlineMax: DEFAULT_SNAPSHOT_PARAMS.inlineMax })
  const names = Object.keys(spec).sort((a, b) => Buffer.compare(Buffer.from(a), Buffer.from(b)))
  for (const name of names) {
    const v = spec[name]!
    const base = { name: Buffer.from(name), uid: 0, gid: 0, mtimeNs: 0n, xattrs: [] }
    let entry: Entry
    if (v instanceof Uint8Array) {
      const stored = await storeContent([v], { store, params: DEFAULT_SNAPSHOT_PARAMS })
      entry = { kind: 'file', ...base, mode: 0o644, size: v.length, content: stored.content }
    } else {
      entry = { kind: 'dir', ...base, mode: 0o755, tree: await buildTree(store, v) }
    }
    builder.add(entry)
  }
  const tree = builder.build()
  await store.putTree(tree.digest, tree.bytes)
  return tree.digest
}

/** Store `spec` as snapshot `name` (root 0755, owner 0:0, mtime 0, default params, no annotations); returns its digests. */
export async function commitSpec (store: ObjectStore, name: string, spec: TreeSpec): Promise<{ snapshot: string, root: string }> {
  const root = await buildTree(store, spec)
  const snapshot = encodeSnapshot({ params: DEFAULT_SNAPSHOT_PARAMS, root: { mode: 0o755, uid: 0, gid: 0, mtimeNs: 0n, xattrs: [], tree: root }, annotations: [] })
  await store.commitSnapshot(name, snapshot, { createdNs: 0n, files: 0, logicalBytes: 0 }, { replace: true })
  return { snapshot: digestToString(snapshot.digest), root: digestToString(root) }
}
