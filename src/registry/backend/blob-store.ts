/**
 * The {@link BlobStore} over tessera's chunk store. A blob is spooled to a
 * temporary file while it is hashed; only once its digest and size are
 * right are its bytes cut into chunks (or decomposed into a layer recipe)
 * and its record committed, in one batch with its last chunks, its link
 * and the counters. Reads verify every chunk and the blob's digest.
 *
 * @module
 */
import { withStoreSession } from '../../store/session.js'
import { tmpdir } from 'node:os'
import { InvalidRangeError, throwIfAborted, UnsupportedError } from '../../errors.js'
import { hasStoredChunkReads } from '../../store/index.js'
import { digestToBytes, digestToString } from '../../hash/digest.js'
import { quoteInput, RegistryBlobUnknownError, RegistrySizeInvalidError } from '../errors.js'
import type { BlobExpectation, BlobInfo, BlobStore, ByteRange, OperationOptions, PackBlobTable } from '../types.js'
import type { RegistryBackingStore, RegistryDatabase, Transaction } from './database.js'
import { KeyedMutex } from './mutex.js'
import { assertRepositoryName, assertSha256Digest } from './names.js'
import { decodeBlobRecord, digestRepositoryKey, encodeBlobRecord, OVERALL_STATS_KEY, repositoryKey, repositoryStatsKey, type BlobRecord, type RegistryCounters } from './records.js'
import { spoolBlob, verifyBlobFile, type SpooledBlob } from './spool.js'
import { readBlob, readBlobRanges, readLayerTar, storeBlobFile, storeChunkPack } from './layer-bridge.js'

/** Options of {@link LevelBlobStore}. */
export interface BlobStoreOptions {
  /** Directory for blobs being received; default `os.tmpdir()`. Put it on the store's filesystem for large blobs. */
  tempDirectory?: string
  /** Longest repository name accepted (default 255). */
  maxNameLength?: number
}

const EMPTY = new Uint8Array(0)

/** The info the contract exposes about a record. */
export function blobInfo (digest: string, record: BlobRecord): BlobInfo {
  return { digest, size: record.size, storage: record.body.storage }
}

/** What one blob adds to a repository's counters when linked there. */
export function linkCounters (record: BlobRecord, sign: 1 | -1): Partial<RegistryCounters> {
  const reproduced = record.body.storage !== 'whole'
  return {
    pushedBytes: sign * record.size,
    reproducedBlobs: reproduced ? sign : 0,
    wholeBlobs: reproduced ? 0 : sign,
    wholeLayers: !reproduced && record.isLayer ? sign : 0
  }
}

/** {@link BlobStore} over a {@link RegistryDatabase}. */
export class LevelBlobStore implements BlobStore {
  readonly #db: RegistryDatabase
  readonly #tempDirectory: string
  readonly #maxNameLength: number | undefined
  /** Puts of one digest run one at a time: the second finds the first's record. */
  readonly #putLocks = new KeyedMutex()

  constructor (db: RegistryDatabase, options: BlobStoreOptions = {}) {
    this.#db = db
    this.#tempDirectory = options.tempDirectory ?? tmpdir()
    this.#maxNameLength = options.maxNameLength
  }

  get #store (): RegistryBackingStore { return this.#db.store }

  /** The record of a blob, or undefined. */
  async record (digest: string): Promise<BlobRecord | undefined> {
    assertSha256Digest(digest)
    const raw = await this.#db.blobs.get(digestToBytes(digest))
    return raw === undefined ? undefined : decodeBlobRecord(raw)
  }

  /**
   * Within a transaction: link a stored blob into `repository` unless it is
   * linked already. Returns false when the blob is absent.
   */
  async linkIn (tx: Transaction, repository: string, digest: string, record?: BlobRecord): Promise<boolean> {
    const d = digestToBytes(digest)
    const rec = record ?? await this.record(digest)
    if (rec === undefined) return false
    const key = repositoryKey(repository, d)
    if (await this.#db.blobLinks.has(key)) return true
    tx.put(this.#db.blobLinks, key, EMPTY)
    tx.put(this.#db.blobLinksByDigest, digestRepositoryKey(d, repository), EMPTY)
    await tx.count(repositoryStatsKey(repository), linkCounters(rec, 1))
    return true
  }

  async putBlob (source: AsyncIterable<Uint8Array>, expected: BlobExpectation, options: OperationOptions & { repository?: string } = {}): Promise<BlobInfo> {
    this.#checkPut(expected, options)
    return await this.#putVerified(await spoolBlob(source, expected, this.#tempDirectory, options), expected, options)
  }

  async putBlobFile (path: string, expected: BlobExpectation, options: OperationOptions & { repository?: string } = {}): Promise<BlobInfo> {
    this.#checkPut(expected, options)
    return await this.#putVerified(await verifyBlobFile(path, expected, options), expected, options)
  }

  #checkPut (expected: BlobExpectation, options: { repository?: string }): void {
    assertSha256Digest(expected.digest)
    if (expected.size !== undefined && (!Number.isSafeInteger(expected.size) || expected.size < 0)) {
      throw new RegistrySizeInvalidError(`blob size ${quoteInput(String(expected.size))} is not a non-negative integer`, { expectedSize: Number(expected.size), receivedSize: 0 })
    }
    if (options.repository !== undefined) assertRepositoryName(options.repository, this.#maxNameLength)
  }

  /** Commit a blob whose bytes in `spooled` matched `expected` (then `spooled.remove()`). */
  async #putVerified (spooled: SpooledBlob, expected: BlobExpectation, options: OperationOptions & { repository?: string }): Promise<BlobInfo> {
    const repository = options.repository
    try {
      return await this.#putLocks.run(expected.digest, async () => {
        const present = await this.record(expected.digest)
        if (present !== undefined) {
          if (repository !== undefined) await this.#db.transaction(async (tx) => { await this.linkIn(tx, repository, expected.digest, present) })
          return blobInfo(expected.digest, present)
        }
        // Progress reports the bytes received; the passes over the file after that are not counted again.
        // In a store session: a gc in this process keeps every chunk this
        // blob writes or finds present until its record is committed.
        return await withStoreSession(this.#store, async () => {
          const stored = await storeBlobFile(this.#store, spooled.path, { digest: spooled.digest, size: spooled.size }, { signal: options.signal })
          const record: BlobRecord = { ...stored, owner: repository ?? '' }
          const d = digestToBytes(expected.digest)
          await this.#db.transaction(async (tx) => {
            tx.put(this.#db.blobs, d, encodeBlobRecord(record))
            const kind = linkCounters(record, 1)
            await tx.count(OVERALL_STATS_KEY, { ...kind, storedBytes: record.storedBytes })
            if (repository !== undefined) {
              await tx.count(repositoryStatsKey(repository), { storedBytes: record.storedBytes })
              await this.linkIn(tx, repository, expected.digest, record)
            }
          })
          return blobInfo(expected.digest, record)
        })
      })
    } finally {
      await spooled.remove()
    }
  }

  async putChunkPack (chunks: ReadonlyArray<{ digest: Uint8Array, length: number }>, options: OperationOptions & { repository?: string } = {}): Promise<{ info: BlobInfo, table: PackBlobTable }> {
    const repository = options.repository
    if (repository !== undefined) assertRepositoryName(repository, this.#maxNameLength)
    const store = this.#store
    if (!hasStoredChunkReads(store)) throw new UnsupportedError('this store cannot read stored chunks, so it cannot make pack blobs')
    return await withStoreSession(store, async () => {
      const built = await storeChunkPack(store, chunks, { signal: options.signal })
      const digest = digestToString(built.digest)
      const table: PackBlobTable = { chunks: built.chunks, offsets: built.offsets, storedLengths: built.storedLengths, lengths: built.lengths }
      const info = await this.#putLocks.run(digest, async () => {
        const present = await this.record(digest)
        const record: BlobRecord = present ?? { ...built.record, owner: repository ?? '' }
        await this.#db.transaction(async (tx) => {
          if (present === undefined) {
            tx.put(this.#db.blobs, built.digest, encodeBlobRecord(record))
            await tx.count(OVERALL_STATS_KEY, { ...linkCounters(record, 1), storedBytes: record.storedBytes })
            if (repository !== undefined) await tx.count(repositoryStatsKey(repository), { storedBytes: record.storedBytes })
          }
          if (repository !== undefined) await this.linkIn(tx, repository, digest, record)
        })
        return blobInfo(digest, record)
      })
      return { info, table }
    })
  }

  async layerTar (digest: string, options: { signal?: AbortSignal } = {}): Promise<AsyncIterable<Uint8Array> | undefined> {
    const record = await this.record(digest)
    if (record === undefined) throw new RegistryBlobUnknownError(digest)
    return readLayerTar(this.#store, digest, record, options)
  }

  async statBlob (digest: string): Promise<BlobInfo | undefined> {
    const record = await this.record(digest)
    return record === undefined ? undefined : blobInfo(digest, record)
  }

  getBlob (digest: string, options: { range?: ByteRange, signal?: AbortSignal } = {}): AsyncIterable<Uint8Array> {
    assertSha256Digest(digest)
    return this.#read(digest, options)
  }

  async * #read (digest: string, options: { range?: ByteRange, signal?: AbortSignal }): AsyncIterable<Uint8Array> {
    throwIfAborted(options.signal)
    const record = await this.record(digest)
    if (record === undefined) throw new RegistryBlobUnknownError(digest)
    const range = options.range
    if (range !== undefined) {
      const { start, end } = range
      if (!Number.isSafeInteger(start) || !Number.isSafeInteger(end) || start < 0 || end < start || end > record.size) {
        throw new InvalidRangeError(`range [${String(start)}, ${String(end)}) is not within blob ${digest} of ${record.size} bytes`)
      }
    }
    yield * readBlob(this.#store, digest, record, options)
  }

  getBlobRanges (digest: string, ranges: readonly ByteRange[], options: { signal?: AbortSignal } = {}): AsyncIterable<Uint8Array> {
    assertSha256Digest(digest)
    const store = this.#store
    const record = async (): Promise<BlobRecord> => {
      throwIfAborted(options.signal)
      const r = await this.record(digest)
      if (r === undefined) throw new RegistryBlobUnknownError(digest)
      return r
    }
    return (async function * () { yield * readBlobRanges(store, digest, await record(), ranges, options) })()
  }

  async deleteBlob (digest: string): Promise<boolean> {
    assertSha256Digest(digest)
    const d = digestToBytes(digest)
    return await this.#putLocks.run(digest, async () => await this.#db.transaction(async (tx) => {
      const raw = await this.#db.blobs.get(d)
      if (raw === undefined) return false
      const record = decodeBlobRecord(raw)
      tx.del(this.#db.blobs, d)
      const minus = linkCounters(record, -1)
      await tx.count(OVERALL_STATS_KEY, { ...minus, storedBytes: -record.storedBytes })
      if (record.owner !== '') await tx.count(repositoryStatsKey(record.owner), { storedBytes: -record.storedBytes })
      for await (const key of this.#db.keysWithPrefix(this.#db.blobLinksByDigest, d)) {
        const repository = new TextDecoder().decode(key.subarray(32))
        tx.del(this.#db.blobLinksByDigest, key)
        tx.del(this.#db.blobLinks, repositoryKey(repository, d))
        await tx.count(repositoryStatsKey(repository), minus)
      }
      return true
    }))
  }

  async * listBlobs (): AsyncIterable<BlobInfo> {
    for await (const [key, value] of this.#db.blobs.iterator()) {
      yield blobInfo(digestToString(key as Uint8Array), decodeBlobRecord(value as Uint8Array))
    }
  }
}
