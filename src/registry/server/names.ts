/**
 * The distribution spec's grammars for what comes in a URL: repository
 * names, tags and digests. Every check throws the spec's error.
 *
 * @module
 */
import { RegistryHttpError } from './errors.js'

/** `<name>`: components of lowercase alphanumerics joined by `.`, `_`, `__` or dashes, separated by `/`. */
const NAME_RE = /^[a-z0-9]+(?:(?:\.|_|__|-+)[a-z0-9]+)*(?:\/[a-z0-9]+(?:(?:\.|_|__|-+)[a-z0-9]+)*)*$/
/** `<reference>` as a tag. */
const TAG_RE = /^[a-zA-Z0-9_][a-zA-Z0-9._-]{0,127}$/
/** `<digest>` of any algorithm, as the spec's grammar has it. */
const ANY_DIGEST_RE = /^[a-z0-9]+(?:[+._-][a-z0-9]+)*:[a-zA-Z0-9=_-]+$/
/** The only algorithm tessera stores. */
const SHA256_RE = /^sha256:[0-9a-f]{64}$/

/** Check a repository name; `NAME_INVALID` when outside the grammar or longer than `maxLength`. */
export function checkName (name: string, maxLength: number): string {
  if (name.length > maxLength) throw new RegistryHttpError('NAME_INVALID', `repository name longer than ${maxLength} characters`)
  if (!NAME_RE.test(name)) throw new RegistryHttpError('NAME_INVALID', `invalid repository name ${JSON.stringify(name.slice(0, 300))}`)
  return name
}

/** True when `reference` is a digest (it has a colon), false for a tag. */
export function isDigestReference (reference: string): boolean {
  return reference.includes(':')
}

/** Check a tag; `MANIFEST_INVALID` (`code`) when outside the grammar. */
export function checkTag (tag: string, code: 'MANIFEST_INVALID' | 'MANIFEST_UNKNOWN' = 'MANIFEST_INVALID'): string {
  if (!TAG_RE.test(tag)) throw new RegistryHttpError(code, `invalid tag ${JSON.stringify(tag.slice(0, 200))}`)
  return tag
}

/**
 * Check a digest: `DIGEST_INVALID` when malformed; `UNSUPPORTED` for a
 * well-formed digest of an algorithm other than sha256.
 */
export function checkDigest (digest: string | undefined): string {
  if (digest === undefined || digest === '') throw new RegistryHttpError('DIGEST_INVALID', 'a digest is required')
  if (SHA256_RE.test(digest)) return digest
  if (ANY_DIGEST_RE.test(digest) && !digest.startsWith('sha256:')) throw new RegistryHttpError('UNSUPPORTED', `only sha256 digests are supported, got ${JSON.stringify(digest.slice(0, 200))}`, { status: 400 })
  throw new RegistryHttpError('DIGEST_INVALID', `invalid digest ${JSON.stringify(digest.slice(0, 200))}`)
}

/** Check a reference (tag or digest). */
export function checkReference (reference: string): string {
  return isDigestReference(reference) ? checkDigest(reference) : checkTag(reference)
}
