/**
 * Differences between two snapshots, computed from their Merkle trees: a
 * subtree whose digest is the same on both sides is skipped without being
 * read, so the cost follows the size of the change, not of the rootfs.
 *
 * @module
 */
import { encodeCanonical } from '../format/canonical.js'
import type { Entry } from '../format/entry.js'
import { joinPath } from '../format/names.js'
import { entryToValue } from '../format/tree.js'
import { bytesEqual } from '../hash/digest.js'
import type { RootEntry, SnapshotReader } from './snapshot-reader.js'

/** What changed about an entry present on both sides. */
export type ChangeAspect = 'kind' | 'content' | 'metadata' | 'link'

/** One difference. Paths are raw bytes from the root (`""` is the root itself). */
export type DiffItem =
  | { change: 'added', path: Uint8Array, kind: Entry['kind'] }
  | { change: 'removed', path: Uint8Array, kind: Entry['kind'] }
  | { change: 'modified', path: Uint8Array, kind: Entry['kind'], aspects: ChangeAspect[] }

/** Options for {@link diffSnapshots}. */
export interface DiffOptions {
  signal?: AbortSignal
}

function metadataOf (e: Entry | RootEntry): Uint8Array {
  if (e.kind === 'hardlink') return new Uint8Array(0)
  return encodeCanonical([e.mode, e.uid, e.gid, e.mtimeNs, e.xattrs.map(([k, v]) => [k, v])])
}

function payloadOf (e: Entry): Uint8Array {
  const v = entryToValue(e) as unknown[]
  // Everything after name, kind and the five attributes (hard links: their path).
  return encodeCanonical((e.kind === 'hardlink' ? v.slice(2) : v.slice(7)) as never)
}

function aspectsOf (a: Entry, b: Entry): ChangeAspect[] {
  if (a.kind !== b.kind) return ['kind']
  const out: ChangeAspect[] = []
  if (a.kind !== 'dir' && !bytesEqual(payloadOf(a), payloadOf(b))) out.push(a.kind === 'file' ? 'content' : 'link')
  if (!bytesEqual(metadataOf(a), metadataOf(b))) out.push('metadata')
  return out
}

/** Every difference between snapshots `a` and `b`, in canonical path order. */
export async function * diffSnapshots (a: SnapshotReader, b: SnapshotReader, options: DiffOptions = {}): AsyncGenerator<DiffItem> {
  const ra = a.rootEntry
  const rb = b.rootEntry
  if (!bytesEqual(metadataOf(ra), metadataOf(rb))) yield { change: 'modified', path: new Uint8Array(0), kind: 'dir', aspects: ['metadata'] }

  async function * whole (reader: SnapshotReader, tree: Uint8Array, names: Uint8Array[], change: 'added' | 'removed'): AsyncGenerator<DiffItem> {
    for (const e of await reader.readTree(tree)) {
      const childNames = [...names, e.name]
      yield { change, path: joinPath(childNames), kind: e.kind }
      if (e.kind === 'dir') yield * whole(reader, e.tree, childNames, change)
    }
  }

  async function * dir (ta: Uint8Array, tb: Uint8Array, names: Uint8Array[]): AsyncGenerator<DiffItem> {
    if (bytesEqual(ta, tb)) return
    if (options.signal?.aborted === true) throw options.signal.reason
    const ea = await a.readTree(ta)
    const eb = await b.readTree(tb)
    let i = 0
    let j = 0
    while (i < ea.length || j < eb.length) {
      const x = ea[i]
      const y = eb[j]
      const order = x === undefined ? 1 : y === undefined ? -1 : Buffer.compare(x.name, y.name)
      if (order < 0) {
        const childNames = [...names, x!.name]
        yield { change: 'removed', path: joinPath(childNames), kind: x!.kind }
        if (x!.kind === 'dir') yield * whole(a, x!.tree, childNames, 'removed')
        i++
      } else if (order > 0) {
        const childNames = [...names, y!.name]
        yield { change: 'added', path: joinPath(childNames), kind: y!.kind }
        if (y!.kind === 'dir') yield * whole(b, y!.tree, childNames, 'added')
        j++
      } else {
        const childNames = [...names, x!.name]
        const aspects = aspectsOf(x!, y!)
        if (aspects.includes('kind')) {
          yield { change: 'modified', path: joinPath(childNames), kind: y!.kind, aspects }
          if (x!.kind === 'dir') yield * whole(a, x!.tree, childNames, 'removed')
          if (y!.kind === 'dir') yield * whole(b, y!.tree, childNames, 'added')
        } else {
          if (aspects.length > 0) yield { change: 'modified', path: joinPath(childNames), kind: y!.kind, aspects }
          if (x!.kind === 'dir' && y!.kind === 'dir') yield * dir(x!.tree, y!.tree, childNames)
        }
        i++
        j++
      }
    }
  }

  yield * dir(ra.tree, rb.tree, [])
}
