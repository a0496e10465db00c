/**
 * {@link ObjectStore} on any `abstract-level` database: classic-level
 * (LevelDB) on disk, memory-level in memory. Writes are queued into batches
 * and written in order; counters are updated in the same batch as the
 * objects they count.
 *
 * @module
 */
import type { AbstractLevel, AbstractSublevel } from 'abstract-level'
import { NotFoundError, RefExistsError, StoreError, UnsupportedError } from '../errors.js'
import { digestToString } from '../hash/digest.js'
import { assertRefName, decodeRef, encodeRef, type RefRecord } from '../format/ref.js'
import { decodeCanonical, encodeCanonical } from '../format/canonical.js'
import type { CommitOptions, ObjectStore, PutResult, StoreStats } from './index.js'
import { CompressPool } from './compress-pool.js'
import { DigestFilter } from './digest-filter.js'
import { decodeStored, DEFAULT_COMPRESSION_LEVEL, encodeStored } from './stored-object.js'
import { loadZstd } from './zstd.js'

type Bytes = Uint8Array
type Db = AbstractLevel<any, Bytes, Bytes>
type Sub = AbstractSublevel<Db, any, Bytes, Bytes>

/** Value of the `format` meta key. */
export const STORE_FORMAT = 'tessera-store-1'
const MAX_CHUNK = 64 * 1024 * 1024
const MAX_TREE = 256 * 1024 * 1024

/** Options for {@link LevelObjectStore}. */
export interface LevelObjectStoreOptions {
  /** zstd level for chunks and trees; 0 stores everything raw. Default 6 (see docs/FORMAT.md §7). */
  compressionLevel?: number
  /** Bytes queued before a batch is written. Default 8 MiB. */
  batchBytes?: number
  /** Worker threads compressing objects; default 0 (on the calling thread). `openStore` uses one per CPU. */
  compressionThreads?: number
}

interface Counters {
  chunks: number
  chunkBytes: number
  chunkStored: number
  trees: number
  treeBytes: number
  treeStored: number
  snapshots: number
}

interface Op { type: 'put' | 'del', sublevel: Sub, key: Bytes, value?: Bytes }

const enc = { keyEncoding: 'view', valueEncoding: 'view' } as const
const EMPTY = new Uint8Array(0)
const keyOf = (digest: Bytes): string => Buffer.from(digest.buffer, digest.byteOffset, digest.byteLength).toString('latin1')

/** An object store over an abstract-level database. */
export class LevelObjectStore implements ObjectStore {
  readonly #db: Db
  readonly #chunks: Sub
  readonly #trees: Sub
  readonly #snapshots: Sub
  readonly #refs: Sub
  readonly #meta: Sub
  /** Chunk digests with empty values: a small keyspace to build the Bloom filter from. */
  readonly #chunkIndex: Sub
  readonly #level: number
  readonly #batchLimit: number
  #counters: Counters = { chunks: 0, chunkBytes: 0, chunkStored: 0, trees: 0, treeBytes: 0, treeStored: 0, snapshots: 0 }
  /** Objects queued but not yet written: key (latin1 of sublevel+digest) → stored value. */
  readonly #pending = new Map<string, Bytes>()
  /** Objects being compressed: key → promise settled once they are queued. */
  readonly #inflight = new Map<string, Promise<void>>()
  readonly #pool: CompressPool
  /** Per sublevel, a Bloom filter of the keys present, built on first write. */
  readonly #filters = new Map<Sub, Promise<DigestFilter>>()
  #ops: Op[] = []
  #opsBytes = 0
  #writing: Promise<void> = Promise.resolve()
  #closed = false

  private constructor (db: Db, options: LevelObjectStoreOptions) {
    this.#db = db
    this.#chunks = db.sublevel<Bytes, Bytes>('c', enc) as unknown as Sub
    this.#trees = db.sublevel<Bytes, Bytes>('t', enc) as unknown as Sub
    this.#snapshots = db.sublevel<Bytes, Bytes>('s', enc) as unknown as Sub
    this.#refs = db.sublevel<Bytes, Bytes>('r', enc) as unknown as Sub
    this.#meta = db.sublevel<Bytes, Bytes>('m', enc) as unknown as Sub
    this.#chunkIndex = db.sublevel<Bytes, Bytes>('x', enc) as unknown as Sub
    this.#level = options.compressionLevel ?? DEFAULT_COMPRESSION_LEVEL
    this.#batchLimit = options.batchBytes ?? 8 * 1024 * 1024
    this.#pool = new CompressPool({ level: this.#level, threads: options.compressionThreads ?? 0 })
  }

  /** The zstd level objects are stored with (0: raw). */
  get compressionLevel (): number { return this.#level }

  /** Open a store on an abstract-level database (opened or not); checks or writes the format marker. */
  static async open (db: Db, options: LevelObjectStoreOptions = {}): Promise<LevelObjectStore> {
    await loadZstd()
    await db.open()
    const store = new LevelObjectStore(db, options)
    await store.#init()
    return store
  }

  async #init (): Promise<void> {
    const format = await this.#meta.get(Buffer.from('format'))
    if (format === undefined) {
      await this.#meta.put(Buffer.from('format'), Buffer.from(STORE_FORMAT))
    } else if (Buffer.from(format).toString() !== STORE_FORMAT) {
      throw new UnsupportedError(`store format ${JSON.stringify(Buffer.from(format).toString())} is not ${STORE_FORMAT}`)
    }
    const raw = await this.#meta.get(Buffer.from('stats'))
    if (raw !== undefined) {
      const v = decodeCanonical(raw)
      if (!Array.isArray(v) || v.length !== 7) throw new StoreError('store counters are malformed')
      const n = v.map((x) => Number(x))
      this.#counters = { chunks: n[0]!, chunkBytes: n[1]!, chunkStored: n[2]!, trees: n[3]!, treeBytes: n[4]!, treeStored: n[5]!, snapshots: n[6]! }
    }
  }

  #countersOp (): Op {
    const c = this.#counters
    return {
      type: 'put',
      sublevel: this.#meta,
      key: Buffer.from('stats'),
      value: encodeCanonical([c.chunks, c.chunkBytes, c.chunkStored, c.trees, c.treeBytes, c.treeStored, c.snapshots])
    }
  }

  #assertOpen (): void {
    if (this.#closed) throw new StoreError('the store is closed')
  }

  #queue (sublevel: Sub, tag: string, digest: Bytes, stored: Bytes): void {
    this.#pending.set(tag + keyOf(digest), stored)
    this.#ops.push({ type: 'put', sublevel, key: digest, value: stored })
    if (sublevel === this.#chunks) this.#ops.push({ type: 'put', sublevel: this.#chunkIndex, key: digest, value: EMPTY })
    this.#opsBytes += stored.length + 32
  }

  async #maybeFlush (): Promise<void> {
    if (this.#opsBytes >= this.#batchLimit || this.#ops.length >= 4096) await this.flush()
  }

  /** Write the queued operations (and counters) as one batch, in order with earlier batches. */
  async flush (): Promise<void> {
    this.#assertOpen()
    while (this.#inflight.size > 0) await Promise.all(this.#inflight.values())
    if (this.#ops.length === 0) { await this.#writing; return }
    const ops = this.#ops
    ops.push(this.#countersOp())
    this.#ops = []
    this.#opsBytes = 0
    const previous = this.#writing
    const write = (async () => {
      await previous
      try {
        await this.#db.batch(ops as any)
      } catch (err) {
        throw new StoreError(`writing to the store failed: ${(err as Error).message}`, { cause: err })
      }
      for (const op of ops) {
        if (op.sublevel === this.#chunks) this.#pending.delete('c' + keyOf(op.key))
        else if (op.sublevel === this.#trees) this.#pending.delete('t' + keyOf(op.key))
      }
    })()
    this.#writing = write.catch(() => {})
    await write
  }

  async #has (sublevel: Sub, tag: string, digest: Bytes): Promise<boolean> {
    const k = tag + keyOf(digest)
    if (this.#pending.has(k) || this.#inflight.has(k)) return true
    return await this.#keyspaceOf(sublevel).has(digest)
  }

  /**
   * Store `bytes` under `digest` unless present: compressed (possibly on a
   * worker), then queued for the next batch. Concurrent puts of one digest
   * store it once.
   */
  async #put (sublevel: Sub, tag: 'c' | 't', digest: Bytes, length: number, encode: () => Promise<Bytes>): Promise<PutResult> {
    this.#assertOpen()
    const k = tag + keyOf(digest)
    if (this.#pending.has(k) || this.#inflight.has(k)) return 'present'
    let settle!: () => void
    const done = new Promise<void>((resolve) => { settle = resolve })
    this.#inflight.set(k, done)
    try {
      const filter = await this.#filterOf(sublevel, tag)
      if (filter.mayHave(digest) && await this.#keyspaceOf(sublevel).has(digest)) return 'present'
      filter.add(digest)
      const stored = await encode()
      this.#queue(sublevel, tag, digest, stored)
      const c = this.#counters
      if (tag === 'c') { c.chunks++; c.chunkBytes += length; c.chunkStored += stored.length } else { c.trees++; c.treeBytes += length; c.treeStored += stored.length }
    } finally {
      this.#inflight.delete(k)
      settle()
    }
    await this.#maybeFlush()
    return 'stored'
  }

  async #get (sublevel: Sub, tag: string, digest: Bytes, what: string, max: number): Promise<Bytes> {
    this.#assertOpen()
    if (digest.length !== 32) throw new NotFoundError(`${what}: a digest has 32 bytes`)
    const k = tag + keyOf(digest)
    await this.#inflight.get(k)
    const stored = this.#pending.get(k) ?? await sublevel.get(digest)
    if (stored === undefined) throw new NotFoundError(`${what} ${digestToString(digest)} is not in the store`)
    return decodeStored(stored, digest, what, max)
  }

  /** Where existence is checked: chunks in their small index keyspace (reading `c` would page in values). */
  #keyspaceOf (sublevel: Sub): Sub { return sublevel === this.#chunks ? this.#chunkIndex : sublevel }

  /**
   * The Bloom filter of a sublevel's keys, built once per open store from a
   * key-only scan (about a second per million objects), the first time
   * something is written there.
   */
  async #filterOf (sublevel: Sub, tag: string): Promise<DigestFilter> {
    let f = this.#filters.get(sublevel)
    if (f === undefined) {
      const expected = tag === 'c' ? this.#counters.chunks : this.#counters.trees
      f = (async () => {
        const filter = new DigestFilter(expected * 2 + 100_000)
        // Chunk keys come from the index keyspace: scanning the chunks
        // themselves would read (and map into memory) every stored byte.
        for await (const key of this.#keyspaceOf(sublevel).keys()) filter.add(key)
        return filter
      })()
      this.#filters.set(sublevel, f)
    }
    return await f
  }

  async hasChunk (digest: Bytes): Promise<boolean> { return await this.#has(this.#chunks, 'c', digest) }

  async putChunk (digest: Bytes, bytes: Bytes): Promise<PutResult> {
    return await this.#put(this.#chunks, 'c', digest, bytes.length, async () => await this.#pool.encode(bytes))
  }

  /**
   * Store a chunk already in its stored form (framed, maybe compressed, by
   * a worker). The caller vouches that it decodes to `length` bytes hashing
   * to `digest`; reads verify it as always.
   */
  async putEncodedChunk (digest: Bytes, length: number, stored: Bytes): Promise<PutResult> {
    return await this.#put(this.#chunks, 'c', digest, length, async () => stored)
  }

  /** The Bloom filter of stored chunk digests (shared memory, for workers that pre-compress only new chunks). */
  async chunkFilter (): Promise<DigestFilter> { return await this.#filterOf(this.#chunks, 'c') }

  async getChunk (digest: Bytes): Promise<Bytes> { return await this.#get(this.#chunks, 'c', digest, 'chunk', MAX_CHUNK) }

  async hasTree (digest: Bytes): Promise<boolean> { return await this.#has(this.#trees, 't', digest) }

  async putTree (digest: Bytes, bytes: Bytes): Promise<PutResult> {
    return await this.#put(this.#trees, 't', digest, bytes.length, async () => await this.#pool.encode(bytes))
  }

  async getTree (digest: Bytes): Promise<Bytes> { return await this.#get(this.#trees, 't', digest, 'tree', MAX_TREE) }

  async getSnapshot (digest: Bytes): Promise<Bytes> { return await this.#get(this.#snapshots, 's', digest, 'snapshot', MAX_TREE) }

  async commitSnapshot (name: string, snapshot: { digest: Bytes, bytes: Bytes }, record: Omit<RefRecord, 'snapshot'>, options: CommitOptions = {}): Promise<void> {
    this.#assertOpen()
    assertRefName(name)
    await this.flush()
    const refKey = Buffer.from(name, 'utf8')
    if (options.replace !== true && await this.#refs.has(refKey)) {
      throw new RefExistsError(`a snapshot named ${JSON.stringify(name)} already exists`)
    }
    const ops: Op[] = []
    if (!await this.#snapshots.has(snapshot.digest)) {
      const stored = encodeStored(snapshot.bytes, { level: 0 })
      ops.push({ type: 'put', sublevel: this.#snapshots, key: snapshot.digest, value: stored })
      this.#counters.snapshots++
      this.#counters.treeBytes += snapshot.bytes.length
      this.#counters.treeStored += stored.length
    }
    ops.push({ type: 'put', sublevel: this.#refs, key: refKey, value: encodeRef({ snapshot: snapshot.digest, ...record }) })
    ops.push(this.#countersOp())
    try {
      await this.#db.batch(ops as any)
    } catch (err) {
      throw new StoreError(`committing snapshot ${JSON.stringify(name)} failed: ${(err as Error).message}`, { cause: err })
    }
  }

  async getRef (name: string): Promise<RefRecord | undefined> {
    this.#assertOpen()
    assertRefName(name)
    const raw = await this.#refs.get(Buffer.from(name, 'utf8'))
    return raw === undefined ? undefined : decodeRef(raw)
  }

  async * listRefs (): AsyncIterable<[string, RefRecord]> {
    this.#assertOpen()
    for await (const [key, value] of this.#refs.iterator()) {
      yield [Buffer.from(key).toString('utf8'), decodeRef(value)]
    }
  }

  async deleteRef (name: string): Promise<boolean> {
    this.#assertOpen()
    assertRefName(name)
    const key = Buffer.from(name, 'utf8')
    if (!await this.#refs.has(key)) return false
    await this.#refs.del(key)
    return true
  }

  async stats (): Promise<StoreStats> {
    let logicalBytes = 0
    let snapshots = 0
    for await (const [, ref] of this.listRefs()) {
      logicalBytes += ref.logicalBytes
      snapshots++
    }
    const c = this.#counters
    const total = c.chunkStored + c.treeStored
    return {
      logicalBytes,
      chunks: c.chunks,
      chunkBytes: c.chunkBytes,
      storedBytes: c.chunkStored,
      metadataObjects: c.trees + c.snapshots,
      metadataBytes: c.treeStored,
      snapshotObjects: c.snapshots,
      snapshots,
      dedupRatio: total === 0 ? 0 : logicalBytes / total
    }
  }

  /**
   * A sublevel of this store's database for records kept beside the objects
   * (the registry records of docs/FORMAT.md, "Registry records"). Names of
   * the store's own sublevels (`c x t s r m`) are refused.
   */
  recordSublevel (name: string): AbstractSublevel<Db, any, Bytes, Bytes> {
    if (/^[cxtsrm]$/.test(name)) throw new StoreError(`sublevel ${JSON.stringify(name)} belongs to the object store`)
    return this.#db.sublevel<Bytes, Bytes>(name, enc) as unknown as Sub
  }

  /**
   * Write every object queued so far, the counters and `records` (puts and
   * deletes in sublevels from {@link recordSublevel}) in one atomic batch,
   * in order with earlier batches.
   */
  async commitRecords (records: Array<{ type: 'put' | 'del', sublevel: AbstractSublevel<Db, any, Bytes, Bytes>, key: Bytes, value?: Bytes }>): Promise<void> {
    this.#assertOpen()
    for (const op of records) this.#ops.push(op as Op)
    await this.flush()
  }

  /** {@link putChunk}, also saying how many bytes the chunk takes in the store when this call stored it (0 when present). */
  async putChunkMeasured (digest: Bytes, bytes: Bytes): Promise<{ result: PutResult, storedBytes: number }> {
    let storedBytes = 0
    const result = await this.#put(this.#chunks, 'c', digest, bytes.length, async () => {
      const stored = await this.#pool.encode(bytes)
      storedBytes = stored.length
      return stored
    })
    return { result, storedBytes }
  }

  async close (): Promise<void> {
    if (this.#closed) return
    try {
      await this.flush()
    } finally {
      this.#closed = true
      await this.#pool.close()
      await this.#db.close()
    }
  }
}
