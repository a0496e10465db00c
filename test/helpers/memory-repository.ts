/**
 * A test double of `RegistryRepository` (src/distribution/client/types.ts):
 * one repository kept in memory, for unit tests of the transfer logic
 * (pack planning, metadata, golden vectors). It verifies what it is given
 * as a registry would, and counts calls; the end-to-end tests use the real
 * client against a real docker-registry instead.
 *
 * @module
 */
import { createHash } from 'node:crypto'
import { IntegrityError, TesseraError } from '../../src/errors.js'
import type { BlobDescriptor, ByteRange, FetchedManifest, RegistryRepository, RemoteReference, TransferCounters } from '../../src/distribution/client/types.js'

const sha = (b: Uint8Array): string => `sha256:${createHash('sha256').update(b).digest('hex')}`

function notFound (what: string): TesseraError {
  return new TesseraError('ERR_REGISTRY_NOT_FOUND', `${what} not found`)
}

/** Blobs and manifests shared by the repositories of one fake registry. */
export class MemoryRegistry {
  readonly blobs = new Map<string, Uint8Array>()
  readonly manifests = new Map<string, { mediaType: string, bytes: Uint8Array }>()
  /** repository → tag → digest */
  readonly tags = new Map<string, Map<string, string>>()
  /** repository → blobs linked */
  readonly links = new Map<string, Set<string>>()

  repository (name: string, tag?: string): MemoryRepository {
    return new MemoryRepository(this, { registry: 'memory', repository: name, ...(tag !== undefined ? { tag } : {}) })
  }
}

/** What the double saw. */
export interface MemoryCalls {
  getRanges: number
  rangesAsked: number
  blobGets: number
  blobPuts: number
  bytesPut: number
}

/** One repository of a {@link MemoryRegistry}. */
export class MemoryRepository implements RegistryRepository {
  readonly counters: TransferCounters = { requests: 0, bytesReceived: 0, bytesSent: 0 }
  readonly calls: MemoryCalls = { getRanges: 0, rangesAsked: 0, blobGets: 0, blobPuts: 0, bytesPut: 0 }

  constructor (readonly registry: MemoryRegistry, readonly reference: RemoteReference) {}

  #linked (): Set<string> {
    let s = this.registry.links.get(this.reference.repository)
    if (s === undefined) { s = new Set(); this.registry.links.set(this.reference.repository, s) }
    return s
  }

  #blob (digest: string): Uint8Array {
    const b = this.registry.blobs.get(digest)
    if (b === undefined || !this.#linked().has(digest)) throw notFound(`blob ${digest}`)
    return b
  }

  async getManifest (tagOrDigest: string): Promise<FetchedManifest> {
    this.counters.requests++
    const digest = tagOrDigest.startsWith('sha256:') ? tagOrDigest : this.registry.tags.get(this.reference.repository)?.get(tagOrDigest)
    const m = digest === undefined ? undefined : this.registry.manifests.get(digest)
    if (m === undefined || digest === undefined) throw notFound(`manifest ${tagOrDigest}`)
    this.counters.bytesReceived += m.bytes.length
    return { mediaType: m.mediaType, digest, bytes: m.bytes }
  }

  async putManifest (tagOrDigest: string, mediaType: string, bytes: Uint8Array): Promise<string> {
    this.counters.requests++
    this.counters.bytesSent += bytes.length
    const digest = sha(bytes)
    const doc = JSON.parse(Buffer.from(bytes).toString('utf8')) as { config: { digest: string }, layers: Array<{ digest: string }> }
    for (const d of [doc.config, ...doc.layers]) this.#blob(d.digest)
    this.registry.manifests.set(digest, { mediaType, bytes })
    let tags = this.registry.tags.get(this.reference.repository)
    if (tags === undefined) { tags = new Map(); this.registry.tags.set(this.reference.repository, tags) }
    if (!tagOrDigest.startsWith('sha256:')) tags.set(tagOrDigest, digest)
    return digest
  }

  async statBlob (digest: string): Promise<number | undefined> {
    this.counters.requests++
    return this.registry.blobs.has(digest) && this.#linked().has(digest) ? this.registry.blobs.get(digest)!.length : undefined
  }

  async getBlob (digest: string, size: number): Promise<Uint8Array> {
    this.counters.requests++
    this.calls.blobGets++
    const b = this.#blob(digest)
    if (b.length !== size) throw new IntegrityError(`blob ${digest} has ${b.length} bytes, not ${size}`)
    this.counters.bytesReceived += b.length
    return b
  }

  async * streamBlob (digest: string, size: number): AsyncIterable<Uint8Array> {
    yield await this.getBlob(digest, size)
  }

  async * getRanges (digest: string, size: number, ranges: ByteRange[]): AsyncIterable<{ range: ByteRange, bytes: Uint8Array }> {
    this.counters.requests++
    this.calls.getRanges++
    this.calls.rangesAsked += ranges.length
    const b = this.#blob(digest)
    if (b.length !== size) throw new IntegrityError(`blob ${digest} has ${b.length} bytes, not ${size}`)
    for (const range of ranges) {
      this.counters.bytesReceived += range.length
      yield { range, bytes: b.subarray(range.offset, range.offset + range.length) }
    }
  }

  async putBlob (descriptor: { digest: string, size: number }, body: Uint8Array | (() => AsyncIterable<Uint8Array>), options: { mountFrom?: string } = {}): Promise<'uploaded' | 'present' | 'mounted'> {
    this.counters.requests++
    if (this.registry.blobs.has(descriptor.digest) && this.#linked().has(descriptor.digest)) return 'present'
    if (options.mountFrom !== undefined && this.registry.links.get(options.mountFrom)?.has(descriptor.digest) === true) {
      this.#linked().add(descriptor.digest)
      return 'mounted'
    }
    let bytes: Uint8Array
    if (body instanceof Uint8Array) bytes = body
    else {
      const parts: Uint8Array[] = []
      for await (const p of body()) parts.push(p)
      bytes = new Uint8Array(Buffer.concat(parts))
    }
    if (bytes.length !== descriptor.size || sha(bytes) !== descriptor.digest) throw new IntegrityError(`upload of ${descriptor.digest} does not match it`)
    this.calls.blobPuts++
    this.calls.bytesPut += bytes.length
    this.counters.bytesSent += bytes.length
    this.registry.blobs.set(descriptor.digest, bytes)
    this.#linked().add(descriptor.digest)
    return 'uploaded'
  }

  async listReferrers (digest: string, options: { artifactType?: string } = {}): Promise<BlobDescriptor[]> {
    this.counters.requests++
    const out: BlobDescriptor[] = []
    for (const [d, m] of this.registry.manifests) {
      const doc = JSON.parse(Buffer.from(m.bytes).toString('utf8')) as { subject?: { digest: string }, artifactType?: string }
      if (doc.subject?.digest !== digest) continue
      if (options.artifactType !== undefined && doc.artifactType !== options.artifactType) continue
      out.push({ mediaType: m.mediaType, digest: d, size: m.bytes.length, ...(doc.artifactType !== undefined ? { artifactType: doc.artifactType } : {}) })
    }
    return out
  }

  async listTags (): Promise<string[]> {
    return [...this.registry.tags.get(this.reference.repository)?.keys() ?? []]
  }
}
