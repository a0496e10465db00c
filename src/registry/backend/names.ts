/**
 * The grammars of repository names, tags and digest references (OCI
 * distribution spec v1.1, "Pulling manifests"), checked before anything is
 * looked up or stored.
 *
 * @module
 */
import { isDigest } from '../../hash/digest.js'
import { quoteInput, RegistryDigestInvalidError, RegistryNameInvalidError, RegistryTagInvalidError } from '../errors.js'

/** Longest repository name accepted by default, in bytes. */
export const DEFAULT_MAX_NAME_LENGTH = 255

const NAME_RE = /^[a-z0-9]+((\.|_|__|-+)[a-z0-9]+)*(\/[a-z0-9]+((\.|_|__|-+)[a-z0-9]+)*)*$/
const TAG_RE = /^[a-zA-Z0-9_][a-zA-Z0-9._-]{0,127}$/
/** The spec's general digest grammar: `algorithm ":" encoded`. */
const ANY_DIGEST_RE = /^[a-z0-9]+([+._-][a-z0-9]+)*:[a-zA-Z0-9=_-]+$/

/** Check a repository name; throws `ERR_REGISTRY_NAME_INVALID`. */
export function assertRepositoryName (name: string, maxLength = DEFAULT_MAX_NAME_LENGTH): void {
  if (typeof name !== 'string' || !NAME_RE.test(name)) {
    throw new RegistryNameInvalidError(`repository name ${quoteInput(String(name))} does not follow the grammar [a-z0-9]+((\\.|_|__|-+)[a-z0-9]+)*(/[a-z0-9]+((\\.|_|__|-+)[a-z0-9]+)*)*`)
  }
  if (name.length > maxLength) throw new RegistryNameInvalidError(`repository name ${quoteInput(name)} is longer than ${maxLength} characters`)
}

/** True when `tag` follows the tag grammar. */
export function isTag (tag: string): boolean { return typeof tag === 'string' && TAG_RE.test(tag) }

/** Check a tag; throws `ERR_REGISTRY_TAG_INVALID`. */
export function assertTag (tag: string): void {
  if (!isTag(tag)) throw new RegistryTagInvalidError(`tag ${quoteInput(String(tag))} does not follow the grammar [a-zA-Z0-9_][a-zA-Z0-9._-]{0,127}`)
}

/**
 * Check a digest string this store can address (`sha256:` + 64 lowercase
 * hex); throws `ERR_REGISTRY_DIGEST_INVALID` for anything else, including
 * well-formed digests of other algorithms.
 */
export function assertSha256Digest (digest: string): void {
  if (isDigest(digest)) return
  const what = typeof digest === 'string' && ANY_DIGEST_RE.test(digest) ? 'is not a sha256 digest (the only algorithm this registry stores)' : 'is not a digest'
  throw new RegistryDigestInvalidError(`${quoteInput(String(digest))} ${what}`, { digest: String(digest) })
}

/** What a manifest reference is: a digest (it contains `:`) or a tag. */
export function parseReference (reference: string): { kind: 'digest', digest: string } | { kind: 'tag', tag: string } {
  if (typeof reference === 'string' && reference.includes(':')) {
    assertSha256Digest(reference)
    return { kind: 'digest', digest: reference }
  }
  assertTag(reference)
  return { kind: 'tag', tag: reference }
}
