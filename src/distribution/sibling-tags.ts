/**
 * The other tags of a repository a push reads for packs to reuse
 * (docs/FORMAT.md §11.4): a registry's blob `HEAD` answers for one
 * repository only, and a new tag would otherwise find none of the packs
 * its repository's other tessera images hold. Bounded: the tag list is
 * sorted (the distribution spec lists tags in lexical order, not by age)
 * and the last {@link DEFAULT_REUSE_TAGS} kept, so that `v1.9`, `v2.0` or
 * dated tags read the newest first of their kind.
 *
 * @module
 */
import type { RegistryRepository } from './client/types.js'

/** Most other tags of the target repository a push reads by default. */
export const DEFAULT_REUSE_TAGS = 16

/** Most metadata bytes a push reads from those tags together; a tag whose metadata would pass it is skipped. */
export const REUSE_TAGS_METADATA_BYTES = 64 * 1024 * 1024

/** Tags of the referrers-schema fallback (`sha256-<hex>`): indexes of referrers, not images. */
const REFERRERS_TAG = /^sha256-[0-9a-f]{64}/

/** Answers that mean the repository cannot be listed, or has no tags yet: then there is nothing to reuse. */
const UNLISTABLE = new Set(['ERR_REGISTRY_NOT_FOUND', 'ERR_REGISTRY_AUTH', 'ERR_REGISTRY_REJECTED'])

/** At most `max` tags of `repository` other than those of `exclude` and the referrers' fallback tags, the last in lexical order. */
export async function siblingTags (repository: Pick<RegistryRepository, 'listTags'>, exclude: ReadonlySet<string>, max: number, signal?: AbortSignal): Promise<string[]> {
  if (max <= 0) return []
  let tags: string[]
  try {
    tags = await repository.listTags(signal !== undefined ? { signal } : {})
  } catch (err) {
    if (UNLISTABLE.has((err as { code?: string } | null)?.code ?? '')) return []
    throw err
  }
  return tags.filter((t) => !exclude.has(t) && !REFERRERS_TAG.test(t)).sort().slice(-max)
}
