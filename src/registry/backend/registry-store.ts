/**
 * The {@link RegistryStore} over registry records: repositories see blobs
 * through links, manifests are stored once by digest and linked into each
 * repository that pushed them, tags point at manifest digests, and the
 * referrers index lists, per repository and subject, the manifests whose
 * `subject` is that digest.
 *
 * @module
 */
import { IntegrityError } from '../../errors.js'
import { digestToBytes, digestToString } from '../../hash/digest.js'
import { sha256 } from '../../hash/index.js'
import {
  quoteInput, RegistryBlobUnknownError, RegistryDigestInvalidError, RegistryManifestBlobUnknownError,
  RegistryManifestInvalidError, RegistryNameUnknownError
} from '../errors.js'
import type { ReferrerDescriptor, RegistryStats, RegistryStore, StoredManifest } from '../types.js'
import { LevelBlobStore, linkCounters, type BlobStoreOptions } from './blob-store.js'
import type { RegistryDatabase, Transaction } from './database.js'
import { parseManifest, referrerDescriptor } from './manifest.js'
import { assertRepositoryName, assertSha256Digest, parseReference } from './names.js'
import {
  decodeBlobRecord, decodeCounters, decodeManifestRecord, digestRepositoryKey, encodeManifestRecord, OVERALL_STATS_KEY,
  prefixEnd, repositoryKey, repositoryPrefix, repositoryStatsKey, splitRepositoryKey, textBytes, zeroCounters, type ManifestRecord
} from './records.js'

/** Default largest manifest accepted: 4 MiB. */
export const DEFAULT_MAX_MANIFEST_BYTES = 4 * 1024 * 1024

/** Options of {@link LevelRegistryStore}. */
export interface RegistryStoreOptions extends BlobStoreOptions {
  /** Largest manifest accepted, in bytes (default 4 MiB). */
  maxManifestBytes?: number
}

const EMPTY = new Uint8Array(0)
const utf8 = new TextDecoder()

/** {@link RegistryStore} over a {@link RegistryDatabase}. */
export class LevelRegistryStore implements RegistryStore {
  readonly blobs: LevelBlobStore
  readonly #db: RegistryDatabase
  readonly #maxManifestBytes: number
  readonly #maxNameLength: number | undefined

  constructor (db: RegistryDatabase, options: RegistryStoreOptions = {}) {
    this.#db = db
    this.blobs = new LevelBlobStore(db, options)
    this.#maxManifestBytes = options.maxManifestBytes ?? DEFAULT_MAX_MANIFEST_BYTES
    this.#maxNameLength = options.maxNameLength
  }

  #name (repository: string): void { assertRepositoryName(repository, this.#maxNameLength) }

  async linkBlob (repository: string, digest: string): Promise<void> {
    this.#name(repository)
    assertSha256Digest(digest)
    await this.#db.transaction(async (tx) => {
      if (!await this.blobs.linkIn(tx, repository, digest)) throw new RegistryBlobUnknownError(digest)
    })
  }

  async hasBlobLink (repository: string, digest: string): Promise<boolean> {
    this.#name(repository)
    assertSha256Digest(digest)
    return await this.#db.blobLinks.has(repositoryKey(repository, digestToBytes(digest)))
  }

  async unlinkBlob (repository: string, digest: string): Promise<boolean> {
    this.#name(repository)
    assertSha256Digest(digest)
    const d = digestToBytes(digest)
    return await this.#db.transaction(async (tx) => {
      const key = repositoryKey(repository, d)
      if (!await this.#db.blobLinks.has(key)) return false
      tx.del(this.#db.blobLinks, key)
      tx.del(this.#db.blobLinksByDigest, digestRepositoryKey(d, repository))
      const raw = await this.#db.blobs.get(d)
      if (raw !== undefined) await tx.count(repositoryStatsKey(repository), linkCounters(decodeBlobRecord(raw), -1))
      return true
    })
  }

  async putManifest (repository: string, reference: string, mediaType: string, bytes: Uint8Array): Promise<string> {
    this.#name(repository)
    const ref = parseReference(reference)
    if (bytes.length > this.#maxManifestBytes) {
      throw new RegistryManifestInvalidError(`the manifest has ${bytes.length} bytes, more than the limit of ${this.#maxManifestBytes}`)
    }
    const digest = digestToString(sha256.digest(bytes))
    if (ref.kind === 'digest' && ref.digest !== digest) {
      throw new RegistryDigestInvalidError(`the manifest's bytes have digest ${digest}, not ${quoteInput(ref.digest)}`, { digest: ref.digest, actualDigest: digest })
    }
    const refs = parseManifest(mediaType, bytes)
    const d = digestToBytes(digest)
    const copy = new Uint8Array(bytes)
    await this.#db.transaction(async (tx) => {
      await this.#checkReferences(repository, refs.blobs, refs.manifests)
      if (await this.#db.manifests.get(d) === undefined) {
        tx.put(this.#db.manifests, d, encodeManifestRecord({ mediaType: refs.mediaType, bytes: copy, owner: repository }))
        await tx.count(OVERALL_STATS_KEY, { pushedBytes: copy.length, storedBytes: copy.length })
        await tx.count(repositoryStatsKey(repository), { storedBytes: copy.length })
      }
      const link = repositoryKey(repository, d)
      if (!await this.#db.manifestLinks.has(link)) {
        tx.put(this.#db.manifestLinks, link, EMPTY)
        tx.put(this.#db.manifestLinksByDigest, digestRepositoryKey(d, repository), EMPTY)
        await tx.count(repositoryStatsKey(repository), { pushedBytes: copy.length })
      }
      if (ref.kind === 'tag') tx.put(this.#db.tags, repositoryKey(repository, textBytes(ref.tag)), d)
      if (refs.subject !== undefined) tx.put(this.#db.referrers, repositoryKey(repository, digestToBytes(refs.subject.digest), d), EMPTY)
    })
    return digest
  }

  /** Every blob and child manifest must be visible in the repository, with the size the manifest says. */
  async #checkReferences (repository: string, blobs: Array<{ digest: string, size: number }>, manifests: Array<{ digest: string, size: number }>): Promise<void> {
    const missing: string[] = []
    for (const b of blobs) {
      const d = digestToBytes(b.digest)
      const raw = await this.#db.blobs.get(d)
      if (raw === undefined || !await this.#db.blobLinks.has(repositoryKey(repository, d))) { missing.push(b.digest); continue }
      const size = decodeBlobRecord(raw).size
      if (size !== b.size) throw new RegistryManifestInvalidError(`the manifest says blob ${b.digest} has ${b.size} bytes; it has ${size}`)
    }
    for (const m of manifests) {
      const d = digestToBytes(m.digest)
      const raw = await this.#db.manifests.get(d)
      if (raw === undefined || !await this.#db.manifestLinks.has(repositoryKey(repository, d))) { missing.push(m.digest); continue }
      const size = decodeManifestRecord(raw).bytes.length
      if (size !== m.size) throw new RegistryManifestInvalidError(`the index says manifest ${m.digest} has ${m.size} bytes; it has ${size}`)
    }
    if (missing.length > 0) {
      const shown = missing.slice(0, 10).join(', ') + (missing.length > 10 ? `, ... and ${missing.length - 10} more` : '')
      throw new RegistryManifestBlobUnknownError(`repository ${quoteInput(repository)} lacks what the manifest references: ${shown}`, missing)
    }
  }

  /** The digest a reference names in `repository`, if it names one there. */
  async #resolve (repository: string, reference: string): Promise<Uint8Array | undefined> {
    const ref = parseReference(reference)
    if (ref.kind === 'tag') {
      const d = await this.#db.tags.get(repositoryKey(repository, textBytes(ref.tag)))
      if (d === undefined) return undefined
      if (d.length !== 32) throw new IntegrityError(`tag ${quoteInput(ref.tag)} of ${quoteInput(repository)} holds ${d.length} bytes, not a digest`)
      return d
    }
    const d = digestToBytes(ref.digest)
    return await this.#db.manifestLinks.has(repositoryKey(repository, d)) ? d : undefined
  }

  /** A manifest record, verified against its digest. */
  async #manifest (d: Uint8Array): Promise<ManifestRecord | undefined> {
    const raw = await this.#db.manifests.get(d)
    if (raw === undefined) return undefined
    const record = decodeManifestRecord(raw)
    const actual = sha256.digest(record.bytes)
    if (Buffer.compare(actual, d) !== 0) throw new IntegrityError(`manifest ${digestToString(d)} in the store has digest ${digestToString(actual)}`)
    return record
  }

  async getManifest (repository: string, reference: string): Promise<StoredManifest | undefined> {
    this.#name(repository)
    const d = await this.#resolve(repository, reference)
    if (d === undefined) return undefined
    const record = await this.#manifest(d)
    if (record === undefined) throw new IntegrityError(`repository ${quoteInput(repository)} links manifest ${digestToString(d)}, which is not in the store`)
    return { digest: digestToString(d), mediaType: record.mediaType, bytes: record.bytes }
  }

  async deleteManifest (repository: string, reference: string): Promise<boolean> {
    this.#name(repository)
    const ref = parseReference(reference)
    return await this.#db.transaction(async (tx) => {
      if (ref.kind === 'tag') {
        const key = repositoryKey(repository, textBytes(ref.tag))
        if (!await this.#db.tags.has(key)) return false
        tx.del(this.#db.tags, key)
        return true
      }
      const d = digestToBytes(ref.digest)
      const link = repositoryKey(repository, d)
      if (!await this.#db.manifestLinks.has(link)) return false
      const record = await this.#manifest(d)
      tx.del(this.#db.manifestLinks, link)
      tx.del(this.#db.manifestLinksByDigest, digestRepositoryKey(d, repository))
      for await (const [key, value] of this.#db.tags.iterator({ gte: repositoryPrefix(repository), lt: prefixEnd(repositoryPrefix(repository)) })) {
        if (Buffer.compare(value as Uint8Array, d) === 0) tx.del(this.#db.tags, key as Uint8Array)
      }
      if (record === undefined) return true
      await tx.count(repositoryStatsKey(repository), { pushedBytes: -record.bytes.length })
      let subject: string | undefined
      try { subject = parseManifest(record.mediaType, record.bytes).subject?.digest } catch { subject = undefined }
      if (subject !== undefined) tx.del(this.#db.referrers, repositoryKey(repository, digestToBytes(subject), d))
      const elsewhere = await this.#linkedElsewhere(d, repository)
      if (!elsewhere) {
        tx.del(this.#db.manifests, d)
        await tx.count(OVERALL_STATS_KEY, { pushedBytes: -record.bytes.length, storedBytes: -record.bytes.length })
        await tx.count(repositoryStatsKey(record.owner), { storedBytes: -record.bytes.length })
      }
      return true
    })
  }

  async #linkedElsewhere (d: Uint8Array, repository: string): Promise<boolean> {
    const own = Buffer.from(digestRepositoryKey(d, repository))
    for await (const key of this.#db.keysWithPrefix(this.#db.manifestLinksByDigest, d, { limit: 2 })) {
      if (Buffer.compare(Buffer.from(key), own) !== 0) return true
    }
    return false
  }

  /** True when anything (a blob link or a manifest) is in `repository`. */
  async #exists (repository: string): Promise<boolean> {
    const prefix = repositoryPrefix(repository)
    return await this.#db.hasPrefix(this.#db.manifestLinks, prefix) || await this.#db.hasPrefix(this.#db.blobLinks, prefix)
  }

  /**
   * Tags in lexical order (after `last`, at most `n`). Throws
   * `ERR_REGISTRY_NAME_UNKNOWN` when the repository holds nothing.
   */
  async listTags (repository: string, options: { last?: string, n?: number } = {}): Promise<string[]> {
    this.#name(repository)
    if (!await this.#exists(repository)) throw new RegistryNameUnknownError(repository)
    const n = options.n
    if (n !== undefined && (!Number.isSafeInteger(n) || n < 0)) throw new RangeError(`n must be a non-negative integer, not ${String(n)}`)
    if (n === 0) return []
    const prefix = repositoryPrefix(repository)
    const after = options.last === undefined ? undefined : repositoryKey(repository, textBytes(options.last))
    const tags: string[] = []
    for await (const key of this.#db.keysWithPrefix(this.#db.tags, prefix, { after, limit: n })) {
      tags.push(utf8.decode(key.subarray(prefix.length)))
    }
    return tags
  }

  async listRepositories (): Promise<string[]> {
    const names = new Set<string>()
    for (const sublevel of [this.#db.blobLinks, this.#db.manifestLinks]) {
      let gte: Uint8Array | undefined = new Uint8Array(0)
      while (gte !== undefined) {
        let next: Uint8Array | undefined
        for await (const key of sublevel.keys({ gte, limit: 1 } as any)) {
          const { repository } = splitRepositoryKey(key as Uint8Array)
          names.add(repository)
          next = prefixEnd(repositoryPrefix(repository))
        }
        gte = next
      }
    }
    return [...names].sort((a, b) => Buffer.compare(Buffer.from(a), Buffer.from(b)))
  }

  async listReferrers (repository: string, digest: string, options: { artifactType?: string } = {}): Promise<ReferrerDescriptor[]> {
    this.#name(repository)
    assertSha256Digest(digest)
    const prefix = repositoryKey(repository, digestToBytes(digest))
    const out: ReferrerDescriptor[] = []
    for await (const key of this.#db.keysWithPrefix(this.#db.referrers, prefix)) {
      const d = key.subarray(prefix.length)
      if (d.length !== 32) throw new IntegrityError(`a referrers key of ${quoteInput(repository)} is malformed`)
      const record = await this.#manifest(d)
      if (record === undefined) continue
      const descriptor = referrerDescriptor(digestToString(d), record.mediaType, record.bytes)
      if (options.artifactType !== undefined && descriptor.artifactType !== options.artifactType) continue
      out.push(descriptor)
    }
    return out
  }

  async getSnapshotOffer (digest: string): Promise<StoredManifest | undefined> {
    assertSha256Digest(digest)
    const d = await this.#db.offers.get(digestToBytes(digest))
    if (d === undefined) return undefined
    if (d.length !== 32) throw new IntegrityError(`the snapshot offer of ${digest} holds ${d.length} bytes, not a digest`)
    const record = await this.#manifest(d)
    return record === undefined ? undefined : { digest: digestToString(d), mediaType: record.mediaType, bytes: record.bytes }
  }

  async setSnapshotOffer (digest: string, manifest: string): Promise<void> {
    assertSha256Digest(digest)
    assertSha256Digest(manifest)
    await this.#db.transaction(async (tx) => { tx.put(this.#db.offers, digestToBytes(digest), digestToBytes(manifest)) })
  }

  async stats (): Promise<{ overall: RegistryStats, repositories: Record<string, RegistryStats> }> {
    let overall = zeroCounters()
    const repositories: Record<string, RegistryStats> = {}
    for await (const [key, value] of this.#db.stats.iterator()) {
      const k = key as Uint8Array
      const counters = decodeCounters(value as Uint8Array)
      if (k.length === 1 && k[0] === 0) overall = counters
      // A repository whose counters all went back to zero holds nothing: not listed.
      else if (k[0] === 1 && Object.values(counters).some((n) => n !== 0)) repositories[utf8.decode(k.subarray(1))] = counters
    }
    return { overall, repositories }
  }
}

export type { Transaction }
