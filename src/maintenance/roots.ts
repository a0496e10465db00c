/**
 * The root set of `gc`: what must be kept, with everything it reaches.
 * Refs are always roots; other parts of a program (the registry's own
 * records, for example) add theirs as {@link RootProvider}s, either per
 * call (`gc(store, { extraRoots })`) or for every gc in the process
 * ({@link registerRootProvider}).
 *
 * @module
 */
import { digestToBytes, digestToString } from '../hash/digest.js'
import type { ChunkReader, MetadataReader, ObjectKind, RefReader } from '../store/index.js'

/** One object to keep, with everything it reaches. */
export interface GcRoot {
  kind: ObjectKind
  /** Its digest, `sha256:<64 hex>`. */
  digest: string
}

/**
 * What a root provider may read of the store: refs, chunks and metadata,
 * and whatever optional capability it checks for (the registry's provider
 * reads its record sublevels when the store has them: `hasRecords`).
 */
export type RootSource = RefReader & ChunkReader & MetadataReader

/** A source of roots. `roots` is read once per gc, after the gc has begun its session. */
export interface RootProvider {
  /** Shown in errors and progress. */
  readonly name: string
  /** The roots this provider holds in `store` (none if the store is not its own). */
  roots (store: RootSource): AsyncIterable<GcRoot> | Iterable<GcRoot>
}

const registered = new Set<RootProvider>()

/**
 * Make every later `gc` in this process consult `provider`. Returns a
 * function that unregisters it.
 */
export function registerRootProvider (provider: RootProvider): () => void {
  registered.add(provider)
  return () => { registered.delete(provider) }
}

/** The providers registered with {@link registerRootProvider}. */
export function registeredRootProviders (): RootProvider[] {
  return [...registered]
}

/**
 * Every root of `store`: its refs, then the registered providers' and
 * `extra`'s roots, with their digests as bytes. A malformed digest from a
 * provider is `ERR_INVALID_DIGEST` (a gc must not guess what it meant).
 */
export async function * allRoots (store: RootSource, extra: readonly RootProvider[] = []): AsyncIterable<{ provider: RootProvider, kind: ObjectKind, digest: Uint8Array }> {
  for (const provider of [refRoots, ...registeredRootProviders(), ...extra]) {
    for await (const root of provider.roots(store)) yield { provider, kind: root.kind, digest: digestToBytes(root.digest) }
  }
}

/** The built-in provider: every ref's snapshot. */
export const refRoots: RootProvider = {
  name: 'refs',
  async * roots (store) {
    for await (const [, ref] of store.listRefs()) yield { kind: 'snapshot', digest: digestToString(ref.snapshot) }
  }
}
