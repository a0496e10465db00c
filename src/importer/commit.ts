/**
 * Committing an imported root as a snapshot under a ref.
 *
 * @module
 */
import { canonicalAnnotations, encodeSnapshot, type SnapshotParams, type SnapshotRoot } from '../format/snapshot.js'
import { type Digest, digestToString } from '../hash/digest.js'
import type { ObjectStore } from '../store/index.js'

/** The outcome of an import. */
export interface ImportResult {
  /** Ref name, when the snapshot was committed under one. */
  name?: string
  /** Digest of the snapshot object. */
  snapshot: Digest
  /** Digest of the root tree: the canonical identity of the rootfs. */
  root: Digest
  /** Entries below the root. */
  files: number
  /** Sum of regular-file sizes. */
  logicalBytes: number
  /** Chunks that were not in the store before. */
  newChunks: number
  /** Uncompressed bytes of those chunks. */
  newBytes: number
  /** Zero bytes of the files recorded as holes (docs/FORMAT.md §2.1): in `logicalBytes`, neither read from the store nor stored. */
  holeBytes: number
}

/** Options shared by every importer for the commit step. */
export interface CommitImportOptions {
  /** Ref name to point at the snapshot; without it the snapshot object is stored but unnamed. */
  name?: string
  /** Replace an existing ref of that name. */
  replace?: boolean
  /** Annotations recorded in the snapshot (provenance, image config). */
  annotations?: Iterable<readonly [string | Uint8Array, string | Uint8Array]>
}

/** Encode the snapshot and commit it with its ref in one atomic write. */
export async function commitImport (
  store: Pick<ObjectStore, 'commitSnapshot' | 'flush'>,
  params: SnapshotParams,
  root: SnapshotRoot,
  totals: { files: number, logicalBytes: number, newChunks: number, newBytes: number, holeBytes?: number },
  options: CommitImportOptions
): Promise<ImportResult> {
  const snapshot = encodeSnapshot({ params, root, annotations: canonicalAnnotations(options.annotations ?? []) })
  const record = { createdNs: BigInt(Date.now()) * 1_000_000n, files: totals.files, logicalBytes: totals.logicalBytes }
  if (options.name !== undefined) {
    await store.commitSnapshot(options.name, snapshot, record, { replace: options.replace === true })
  } else {
    await store.flush()
  }
  return {
    ...(options.name !== undefined ? { name: options.name } : {}),
    snapshot: digestToString(snapshot.digest),
    root: digestToString(root.tree),
    ...totals,
    holeBytes: totals.holeBytes ?? 0
  }
}
