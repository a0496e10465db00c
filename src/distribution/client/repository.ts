/**
 * {@link HttpRepository}: the {@link RegistryRepository} of one repository
 * over HTTP, tying the operations (one file each) to one session.
 *
 * @module
 */
import { getBlob, statBlob, streamBlob } from './blobs.js'
import { scopesOf, type RepositoryContext } from './context.js'
import { getManifest, putManifest } from './manifests.js'
import { getRanges, initialRangeState, type RangeMode, type RangeState } from './ranged.js'
import { listReferrers } from './referrers.js'
import { RegistrySession, type SessionOptions } from './session.js'
import { listTags } from './tags.js'
import type { BlobDescriptor, ByteRange, CallOptions, FetchedManifest, RegistryRepository, RemoteReference, TransferCounters } from './types.js'
import { putBlob } from './upload.js'

/** One repository of one registry, over HTTP. */
export class HttpRepository implements RegistryRepository, RepositoryContext {
  readonly reference: RemoteReference
  readonly session: RegistrySession
  readonly name: string
  readonly pull: readonly string[]
  readonly push: readonly string[]
  readonly #ranges: RangeState = initialRangeState()

  constructor (reference: RemoteReference, options: SessionOptions) {
    this.reference = reference
    this.name = reference.repository
    this.session = new RegistrySession(options)
    const scopes = scopesOf(this.name)
    this.pull = scopes.pull
    this.push = scopes.push
  }

  get counters (): TransferCounters { return this.session.counters }

  /** What this repository's registry has shown it does with ranges so far (`multi`, `single`, `whole`). */
  get rangeMode (): RangeMode { return this.#ranges.mode }

  /** Close idle connections (open ones end with their requests). */
  close (): void { this.session.close() }

  async getManifest (tagOrDigest: string, options?: CallOptions & { accept?: string[], maxBytes?: number }): Promise<FetchedManifest> {
    return await getManifest(this, tagOrDigest, options)
  }

  async putManifest (tagOrDigest: string, mediaType: string, bytes: Uint8Array, options?: CallOptions): Promise<string> {
    return await putManifest(this, tagOrDigest, mediaType, bytes, options)
  }

  async statBlob (digest: string, options?: CallOptions): Promise<number | undefined> {
    return await statBlob(this, digest, options)
  }

  async getBlob (digest: string, size: number, options?: CallOptions): Promise<Uint8Array> {
    return await getBlob(this, digest, size, options)
  }

  streamBlob (digest: string, size: number, options?: CallOptions): AsyncIterable<Uint8Array> {
    return streamBlob(this, digest, size, options)
  }

  getRanges (digest: string, size: number, ranges: ByteRange[], options?: CallOptions): AsyncIterable<{ range: ByteRange, bytes: Uint8Array }> {
    return getRanges(this, this.#ranges, digest, size, ranges, options)
  }

  async putBlob (descriptor: { digest: string, size: number }, body: Uint8Array | (() => AsyncIterable<Uint8Array>), options?: CallOptions & { mountFrom?: string }): Promise<'uploaded' | 'present' | 'mounted'> {
    return await putBlob(this, descriptor, body, options)
  }

  async listReferrers (digest: string, options?: CallOptions & { artifactType?: string }): Promise<BlobDescriptor[]> {
    return await listReferrers(this, digest, options)
  }

  async listTags (options?: CallOptions): Promise<string[]> {
    return await listTags(this, options)
  }
}
