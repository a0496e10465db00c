/**
 * A snapshot source that is not a LevelDB store: stored forms kept in
 * plain maps, verified on every read with the codec's own check. It is
 * what a remote reader looks like to the readers (a `SnapshotSource` and
 * nothing else), so the readers, exporters and diff are run over it.
 */
import { NotFoundError } from '../../src/errors.js'
import type { RefRecord } from '../../src/format/ref.js'
import { digestToString } from '../../src/hash/digest.js'
import type { FsckView, SnapshotSource } from '../../src/store/index.js'
import { decodeStored, encodeStored, MAX_CHUNK_BYTES, MAX_TREE_BYTES } from '../../src/store/stored-object.js'
import type { Contents } from './conformance.js'

const hex = (d: Uint8Array): string => Buffer.from(d).toString('hex')

/** Chunks, trees, snapshots (stored forms) and refs in maps. */
export class MapSnapshotSource implements SnapshotSource {
  readonly chunks = new Map<string, Uint8Array>()
  readonly trees = new Map<string, Uint8Array>()
  readonly snapshots = new Map<string, Uint8Array>()
  readonly refs = new Map<string, RefRecord>()
  /** Reads served, per kind. */
  readonly reads = { chunk: 0, tree: 0, snapshot: 0 }

  /** A source holding `contents`. */
  static of (contents: Contents): MapSnapshotSource {
    const source = new MapSnapshotSource()
    for (const c of contents.chunks) source.chunks.set(hex(c.digest), encodeStored(c.bytes))
    for (const t of contents.trees) source.trees.set(hex(t.digest), encodeStored(t.bytes, { level: 0 }))
    for (const s of contents.snapshots) {
      source.snapshots.set(hex(s.digest), encodeStored(s.bytes, { level: 0 }))
      if (s.name !== undefined) source.refs.set(s.name, { snapshot: s.digest, ...s.record })
    }
    return source
  }

  /** A copy of everything a local store holds (its stored forms as they are). */
  static async copyOf (store: Pick<FsckView, 'listStored' | 'listRefs'>): Promise<MapSnapshotSource> {
    const source = new MapSnapshotSource()
    for (const [kind, map] of [['chunk', source.chunks], ['tree', source.trees], ['snapshot', source.snapshots]] as const) {
      for await (const [digest, stored] of store.listStored(kind)) map.set(hex(digest), new Uint8Array(stored))
    }
    for await (const [name, ref] of store.listRefs()) source.refs.set(name, ref)
    return source
  }

  #read (map: Map<string, Uint8Array>, kind: 'chunk' | 'tree' | 'snapshot', digest: Uint8Array, max: number): Uint8Array {
    const stored = map.get(hex(digest))
    if (stored === undefined) throw new NotFoundError(`${kind} ${digest.length === 32 ? digestToString(digest) : 'of a bad digest'} is not here`)
    this.reads[kind]++
    return decodeStored(stored, digest, kind, max)
  }

  async getChunk (digest: Uint8Array): Promise<Uint8Array> { return this.#read(this.chunks, 'chunk', digest, MAX_CHUNK_BYTES) }
  async getTree (digest: Uint8Array): Promise<Uint8Array> { return this.#read(this.trees, 'tree', digest, MAX_TREE_BYTES) }
  async getSnapshot (digest: Uint8Array): Promise<Uint8Array> { return this.#read(this.snapshots, 'snapshot', digest, MAX_TREE_BYTES) }
  async getRef (name: string): Promise<RefRecord | undefined> { return this.refs.get(name) }

  /** Flip the last byte of a stored payload (raw forms keep decoding, so only the digest check can notice). */
  corrupt (kind: 'chunk' | 'tree', digest: Uint8Array): void {
    const map = kind === 'chunk' ? this.chunks : this.trees
    const stored = new Uint8Array(map.get(hex(digest))!)
    stored[stored.length - 1]! ^= 0x01
    map.set(hex(digest), stored)
  }
}
