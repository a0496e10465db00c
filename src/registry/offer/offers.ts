/**
 * {@link SnapshotOffers} over a registry store and its object store: one
 * build at a time (an import uses the CPU and memory of one image),
 * concurrent requests for one image sharing it, and what was built
 * recorded (`setSnapshotOffer`) so that another repository holding the
 * same image links the same manifest and blobs instead of building again.
 * Images that cannot be offered are remembered, with the reason, for the
 * life of the process (a bounded number of them).
 *
 * @module
 */
import { AbortedError, StoreError } from '../../errors.js'
import { TESSERA_ARTIFACT_TYPE } from '../../distribution/media-types.js'
import { Limiter } from '../../util/index.js'
import type { ReferrerDescriptor, RegistryStore, SnapshotOffers, StoredManifest } from '../types.js'
import { buildOffer, type OfferObjectStore } from './build.js'
import { offerableImage } from './image-source.js'

/** Options of {@link createSnapshotOffers}. */
export interface SnapshotOffersOptions {
  /** Called with one line for each image built or refused. */
  onLog?: (line: string) => void
}

/** Refusals remembered at most (the oldest are forgotten first). */
const MAX_REFUSALS = 10_000

/** Failures that say nothing about the image: not remembered. */
const TRANSIENT = new Set([AbortedError.code, StoreError.code])

function descriptorOf (manifest: StoredManifest): ReferrerDescriptor {
  const doc = JSON.parse(Buffer.from(manifest.bytes).toString('utf8')) as { artifactType?: string, annotations?: Record<string, string> }
  return {
    mediaType: manifest.mediaType,
    digest: manifest.digest,
    size: manifest.bytes.length,
    ...(doc.artifactType !== undefined ? { artifactType: doc.artifactType } : {}),
    ...(doc.annotations !== undefined ? { annotations: doc.annotations } : {})
  }
}

class Offers implements SnapshotOffers {
  readonly #registry: RegistryStore
  readonly #store: OfferObjectStore
  readonly #log: (line: string) => void
  readonly #limiter = new Limiter(1)
  readonly #building = new Map<string, Promise<StoredManifest | undefined>>()
  readonly #refused = new Map<string, string>()
  readonly #stop = new AbortController()

  constructor (registry: RegistryStore, store: OfferObjectStore, options: SnapshotOffersOptions) {
    this.#registry = registry
    this.#store = store
    this.#log = options.onLog ?? (() => {})
  }

  async offer (repository: string, digest: string): Promise<ReferrerDescriptor | undefined> {
    if (this.#stop.signal.aborted) return undefined
    const listed = await this.#registry.listReferrers(repository, digest, { artifactType: TESSERA_ARTIFACT_TYPE })
    if (listed.length > 0) return listed[0]
    if (this.#refused.has(digest)) return undefined
    const manifest = await this.#registry.getManifest(repository, digest)
    if (manifest === undefined) return undefined
    const recorded = await this.#registry.getSnapshotOffer?.(digest)
    if (recorded !== undefined && await this.#link(repository, recorded)) return descriptorOf(recorded)
    let build = this.#building.get(digest)
    if (build === undefined) {
      build = this.#limiter.run(async () => await this.#build(repository, manifest))
      this.#building.set(digest, build)
      void build.finally(() => this.#building.delete(digest)).catch(() => {})
    }
    const built = await build
    if (built === undefined || !await this.#link(repository, built)) return undefined
    return descriptorOf(built)
  }

  /** Link an offered manifest and its blobs into `repository`; false when a blob of it is gone. */
  async #link (repository: string, manifest: StoredManifest): Promise<boolean> {
    const doc = JSON.parse(Buffer.from(manifest.bytes).toString('utf8')) as { config: { digest: string }, layers: Array<{ digest: string }> }
    for (const d of [doc.config, ...doc.layers]) {
      if (await this.#registry.hasBlobLink(repository, d.digest)) continue
      if (await this.#registry.blobs.statBlob(d.digest) === undefined) return false
      await this.#registry.linkBlob(repository, d.digest)
    }
    await this.#registry.putManifest(repository, manifest.digest, manifest.mediaType, manifest.bytes)
    return true
  }

  async #build (repository: string, manifest: StoredManifest): Promise<StoredManifest | undefined> {
    const what = `${repository}@${manifest.digest}`
    const image = await offerableImage(this.#registry.blobs, manifest)
    if (typeof image === 'string') { this.#refuse(manifest.digest, what, image); return undefined }
    const started = Date.now()
    try {
      const built = await buildOffer(this.#registry, this.#store, repository, image, { signal: this.#stop.signal })
      await this.#registry.setSnapshotOffer?.(manifest.digest, built.digest)
      this.#log(`offering ${what} in tessera's format as ${built.digest} (built in ${Date.now() - started} ms)`)
      return built
    } catch (err) {
      const code = (err as { code?: string }).code
      if (this.#stop.signal.aborted || (code !== undefined && TRANSIENT.has(code))) throw err
      this.#refuse(manifest.digest, what, `${code !== undefined ? `${code}: ` : ''}${(err as Error).message}`)
      return undefined
    }
  }

  #refuse (digest: string, what: string, reason: string): void {
    if (this.#refused.size >= MAX_REFUSALS) this.#refused.delete(this.#refused.keys().next().value!)
    this.#refused.set(digest, reason)
    this.#log(`not offering ${what} in tessera's format: ${reason}`)
  }

  async close (): Promise<void> {
    this.#stop.abort()
    await Promise.allSettled([...this.#building.values()])
  }
}

/**
 * Offer the images of `registry` in tessera's format (see the module
 * comment). `store` is the object store the registry keeps its chunks in.
 */
export function createSnapshotOffers (registry: RegistryStore, store: OfferObjectStore, options: SnapshotOffersOptions = {}): SnapshotOffers {
  return new Offers(registry, store, options)
}
