/**
 * What the repository's operations share: the session to its registry and
 * the repository's name, scopes and URL paths.
 *
 * @module
 */
import type { RegistrySession } from './session.js'

/** One repository of one registry, as its operations see it. */
export interface RepositoryContext {
  readonly session: RegistrySession
  /** The repository path, `lib/app`. */
  readonly name: string
  /** The token scopes of reads and of writes. */
  readonly pull: readonly string[]
  readonly push: readonly string[]
}

/** `/v2/<name>/<rest>`. */
export function repoPath (ctx: RepositoryContext, rest: string): string {
  return `/v2/${ctx.name}/${rest}`
}

/** The scopes for reading and for writing `name`. */
export function scopesOf (name: string): { pull: string[], push: string[] } {
  return { pull: [`repository:${name}:pull`], push: [`repository:${name}:pull,push`] }
}
