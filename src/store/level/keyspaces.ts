/**
 * The store's keyspaces in its database (docs/FORMAT.md §6): `c` chunk
 * locations, `x` the chunk index (digests with empty values), `t` trees,
 * `s` snapshots, `r` refs, `m` meta (format marker, counters), and the
 * in-memory key of an object: its keyspace's tag and its digest as
 * latin1, so that sets and maps of objects are keyed by strings.
 *
 * @module
 */
import type { AbstractLevel, AbstractSublevel } from 'abstract-level'
import type { ObjectKind } from '../index.js'

export type Bytes = Uint8Array
/** The database: any abstract-level with byte keys and values. */
export type Db = AbstractLevel<any, Bytes, Bytes>
/** One keyspace of it. */
export type Sub = AbstractSublevel<Db, any, Bytes, Bytes>
/** The tag of an object keyspace: the first character of its objects' in-memory keys. */
export type Tag = 'c' | 't' | 's'

/** Every sublevel is opened with byte keys and values. */
export const ENCODINGS = { keyEncoding: 'view', valueEncoding: 'view' } as const

/** Names of the store's own sublevels, which record sublevels may not take. */
export const OWN_SUBLEVEL = /^[cxtsrm]$/

/** The store's keyspaces. */
export class Keyspaces {
  /** Chunk digest → pack location (or, in stores written before packs, the stored form). */
  readonly chunks: Sub
  /** Chunk digests with empty values: a small keyspace to build the Bloom filter from and check presence in. */
  readonly chunkIndex: Sub
  readonly trees: Sub
  readonly snapshots: Sub
  readonly refs: Sub
  readonly meta: Sub

  constructor (db: Db) {
    const sub = (name: string): Sub => db.sublevel<Bytes, Bytes>(name, ENCODINGS) as unknown as Sub
    this.chunks = sub('c')
    this.trees = sub('t')
    this.snapshots = sub('s')
    this.refs = sub('r')
    this.meta = sub('m')
    this.chunkIndex = sub('x')
  }

  /** The object keyspace of a tag. */
  of (tag: string): Sub {
    return tag === 'c' ? this.chunks : tag === 't' ? this.trees : this.snapshots
  }

  /** The tag of an object keyspace; undefined for the others. */
  tagOf (sublevel: Sub): Tag | undefined {
    return sublevel === this.chunks ? 'c' : sublevel === this.trees ? 't' : sublevel === this.snapshots ? 's' : undefined
  }

  /** Where presence is checked: chunks in their index keyspace (reading `c` would page in values). */
  presenceOf (sublevel: Sub): Sub { return sublevel === this.chunks ? this.chunkIndex : sublevel }
}

/** A digest as latin1: the key of an object within its kind. */
export const keyOf = (digest: Bytes): string => Buffer.from(digest.buffer, digest.byteOffset, digest.byteLength).toString('latin1')

const TAGS: Record<ObjectKind, Tag> = { chunk: 'c', tree: 't', snapshot: 's' }
/** The tag of a kind. */
export function kindTag (kind: ObjectKind): Tag { return TAGS[kind] }
/** The kind of a tag. */
export function tagKind (tag: string): ObjectKind { return tag === 'c' ? 'chunk' : tag === 't' ? 'tree' : 'snapshot' }
/** The digest of an in-memory key. */
export function keyDigest (k: string): Uint8Array { return new Uint8Array(Buffer.from(k.slice(1), 'latin1')) }
