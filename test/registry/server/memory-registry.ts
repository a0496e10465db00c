/**
 * A small in-memory {@link RegistryStore} used to develop the server before
 * the LevelDB-backed store existed, and kept as a second implementation the
 * HTTP tests run against: it keeps the contract's rules (verify before
 * commit, blobs visible per repository, manifests checked for their
 * references) in the simplest way.
 */
import { createHash } from 'node:crypto'
import type { BlobExpectation, BlobInfo, BlobStore, ByteRange, ReferrerDescriptor, RegistryStats, RegistryStore, StoredManifest } from '../../../src/registry/types.js'

class CodedError extends Error {
  constructor (readonly code: string, message: string) { super(message) }
}

const sha = (b: Uint8Array): string => `sha256:${createHash('sha256').update(b).digest('hex')}`

class MemoryBlobs implements BlobStore {
  readonly bytes = new Map<string, Buffer>()
  async putBlob (source: AsyncIterable<Uint8Array>, expected: BlobExpectation): Promise<BlobInfo> {
    const parts: Buffer[] = []
    for await (const p of source) parts.push(Buffer.from(p))
    const all = Buffer.concat(parts)
    if (expected.size !== undefined && all.length !== expected.size) throw new CodedError('ERR_REGISTRY_SIZE_INVALID', `size ${all.length} != ${expected.size}`)
    if (sha(all) !== expected.digest) throw new CodedError('ERR_REGISTRY_DIGEST_INVALID', 'digest mismatch')
    this.bytes.set(expected.digest, all)
    return { digest: expected.digest, size: all.length, storage: 'whole' }
  }

  async statBlob (digest: string): Promise<BlobInfo | undefined> {
    const b = this.bytes.get(digest)
    return b === undefined ? undefined : { digest, size: b.length, storage: 'whole' }
  }

  async * getBlob (digest: string, options: { range?: ByteRange } = {}): AsyncIterable<Uint8Array> {
    const b = this.bytes.get(digest)
    if (b === undefined) throw new CodedError('ERR_REGISTRY_BLOB_UNKNOWN', digest)
    const { start, end } = options.range ?? { start: 0, end: b.length }
    if (start < 0 || end > b.length || start > end) throw new CodedError('ERR_INVALID_RANGE', 'bad range')
    yield b.subarray(start, end)
  }

  async deleteBlob (digest: string): Promise<boolean> { return this.bytes.delete(digest) }
  async * listBlobs (): AsyncIterable<BlobInfo> {
    for (const d of [...this.bytes.keys()].sort()) yield (await this.statBlob(d))!
  }
}

/** The in-memory registry. */
export class MemoryRegistry implements RegistryStore {
  readonly blobs = new MemoryBlobs()
  readonly links = new Map<string, Set<string>>()
  readonly manifests = new Map<string, Map<string, StoredManifest>>()
  readonly tags = new Map<string, Map<string, string>>()

  async linkBlob (repository: string, digest: string): Promise<void> {
    if (!this.links.has(repository)) this.links.set(repository, new Set())
    this.links.get(repository)!.add(digest)
  }

  async hasBlobLink (repository: string, digest: string): Promise<boolean> { return this.links.get(repository)?.has(digest) === true }
  async unlinkBlob (repository: string, digest: string): Promise<boolean> { return this.links.get(repository)?.delete(digest) === true }

  async putManifest (repository: string, reference: string, mediaType: string, bytes: Uint8Array): Promise<string> {
    if (bytes.length > 4 * 1024 * 1024) throw new CodedError('ERR_REGISTRY_MANIFEST_INVALID', 'too large')
    let doc: any
    try { doc = JSON.parse(Buffer.from(bytes).toString('utf8')) } catch { throw new CodedError('ERR_REGISTRY_MANIFEST_INVALID', 'not JSON') }
    const digest = sha(bytes)
    if (reference.includes(':') && reference !== digest) throw new CodedError('ERR_REGISTRY_DIGEST_INVALID', 'reference mismatch')
    const own = this.manifests.get(repository) ?? new Map<string, StoredManifest>()
    for (const d of [doc.config, ...(doc.layers ?? [])].filter(Boolean)) {
      if (!await this.hasBlobLink(repository, d.digest)) throw new CodedError('ERR_REGISTRY_MANIFEST_BLOB_UNKNOWN', d.digest)
    }
    for (const m of doc.manifests ?? []) if (!own.has(m.digest)) throw new CodedError('ERR_REGISTRY_MANIFEST_BLOB_UNKNOWN', m.digest)
    own.set(digest, { digest, mediaType, bytes: new Uint8Array(bytes) })
    this.manifests.set(repository, own)
    if (!reference.includes(':')) {
      if (!this.tags.has(repository)) this.tags.set(repository, new Map())
      this.tags.get(repository)!.set(reference, digest)
    }
    return digest
  }

  async getManifest (repository: string, reference: string): Promise<StoredManifest | undefined> {
    const digest = reference.includes(':') ? reference : this.tags.get(repository)?.get(reference)
    return digest === undefined ? undefined : this.manifests.get(repository)?.get(digest)
  }

  async deleteManifest (repository: string, reference: string): Promise<boolean> {
    if (!reference.includes(':')) return this.tags.get(repository)?.delete(reference) === true
    const had = this.manifests.get(repository)?.delete(reference) === true
    for (const [t, d] of this.tags.get(repository) ?? []) if (d === reference) this.tags.get(repository)!.delete(t)
    return had
  }

  async listTags (repository: string, options: { last?: string, n?: number } = {}): Promise<string[]> {
    const all = [...(this.tags.get(repository)?.keys() ?? [])].sort().filter((t) => options.last === undefined || t > options.last)
    return options.n === undefined ? all : all.slice(0, options.n)
  }

  async listRepositories (): Promise<string[]> { return [...new Set([...this.links.keys(), ...this.manifests.keys()])].sort() }

  async listReferrers (repository: string, digest: string, options: { artifactType?: string } = {}): Promise<ReferrerDescriptor[]> {
    const out: ReferrerDescriptor[] = []
    for (const m of this.manifests.get(repository)?.values() ?? []) {
      const doc = JSON.parse(Buffer.from(m.bytes).toString('utf8'))
      if (doc.subject?.digest !== digest) continue
      const artifactType = doc.artifactType ?? doc.config?.mediaType
      if (options.artifactType !== undefined && artifactType !== options.artifactType) continue
      out.push({ mediaType: m.mediaType, digest: m.digest, size: m.bytes.length, ...(artifactType !== undefined ? { artifactType } : {}), ...(doc.annotations !== undefined ? { annotations: doc.annotations } : {}) })
    }
    return out
  }

  async stats (): Promise<{ overall: RegistryStats, repositories: Record<string, RegistryStats> }> {
    const bytes = [...this.blobs.bytes.values()].reduce((a, b) => a + b.length, 0)
    const overall = { pushedBytes: bytes, storedBytes: bytes, reproducedBlobs: 0, wholeBlobs: this.blobs.bytes.size, wholeLayers: 0 }
    return { overall, repositories: {} }
  }
}
