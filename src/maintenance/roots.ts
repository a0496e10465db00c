/**
 * The root set of `gc`: what must be kept, with everything it reaches.
 * Refs are always roots; other parts of a program (the registry's own
 * records, for example) add theirs as {@link RootProvider}s, either per
 * call (`gc(store, { extraRoots })`) or for every gc in the process
 * ({@link registerRootProvider}).
 *
 * @module
 */
import type { LevelObjectStore, ObjectKind } from '../store/level-store.js'

/** One object to keep, with everything it reaches. */
export interface GcRoot {
  kind: ObjectKind
  /** 32-byte digest. */
  digest: Uint8Array
}

/** A source of roots. `roots` is read once per gc, after the gc has begun its session. */
export interface RootProvider {
  /** Shown in errors and progress. */
  readonly name: string
  /** The roots this provider holds in `store` (none if the store is not its own). */
  roots (store: LevelObjectStore): AsyncIterable<GcRoot> | Iterable<GcRoot>
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

/** The built-in provider: every ref's snapshot. */
export const refRoots: RootProvider = {
  name: 'refs',
  async * roots (store) {
    for await (const [, ref] of store.listRefs()) yield { kind: 'snapshot', digest: ref.snapshot }
  }
}
