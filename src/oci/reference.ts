/**
 * Image locations (`oci:PATH[:REF]`, `docker-archive:PATH[:REF]`) and
 * docker image references, parsed as skopeo (containers/image) parses them.
 *
 * **Where the path ends.** containers/image splits `PATH[:REF]` at the
 * *first* `:` on every OS but Windows (`strings.Cut(reference, ":")` in
 * `oci/internal.SplitPathAndImage`, `strings.SplitN(s, ":", 2)` in
 * `docker/archive.ParseReference`), and its `oci:` transport refuses a path
 * holding a `:`. It does not look for the last `:` — that would break
 * references that themselves hold colons, `oci:/l:sha256:…` or
 * `docker-archive:/a.tar:localhost:5000/img:tag`. tessera follows the same
 * rule, so a location string means the same image in both tools:
 * - `oci:/srv/layout` → path `/srv/layout`, no reference;
 * - `oci:/srv/layout:v1` → reference `v1`;
 * - `oci:/srv/layout:sha256:<hex>` → a digest reference;
 * - `docker-archive:/tmp/a.tar:example.com:5000/img:tag` → reference `example.com:5000/img:tag`;
 * - `oci:/srv/a:b/layout` → path `/srv/a`, reference `b/layout` (a path
 *   with a `:` cannot be written as a location; pass it to
 *   {@link openOciLayout} / {@link openDockerArchive} directly).
 *
 * An empty reference (`oci:/srv/layout:`) is no reference.
 *
 * @module
 */
import { InvalidArgumentError } from '../errors.js'
import { isDigest } from '../hash/digest.js'
import { quote } from './errors.js'

/** The transports {@link parseImageLocation} knows. */
export type ImageTransport = 'oci' | 'docker-archive'

/** A parsed image location. */
export interface ImageLocation {
  transport: ImageTransport
  /** The layout directory or the archive file. */
  path: string
  /**
   * For `oci`: a tag (the `org.opencontainers.image.ref.name` annotation)
   * or a digest `sha256:<hex>`. For `docker-archive`: a docker reference
   * matched against `RepoTags`, or `@N`, the N-th image (from 0) of the
   * archive's `manifest.json`. Absent when not given.
   */
  reference?: string
}

// containers/image oci/internal: the ref.name grammar of the OCI annotations spec
const OCI_SEPARATOR = '(?:[-._:@+]|--)'
const OCI_COMPONENT = `(?:[A-Za-z0-9]+(?:${OCI_SEPARATOR}[A-Za-z0-9]+)*)`
const OCI_REF_RE = new RegExp(`^${OCI_COMPONENT}(?:/${OCI_COMPONENT})*$`)

/**
 * Whether `value` is a valid OCI ref name (what `oci:PATH:REF` accepts):
 * components of letters and digits joined by `-` `.` `_` `:` `@` `+` or
 * `--`, separated by `/`. Digests `sha256:<hex>` are valid ref names.
 */
export function isValidOciRefName (value: string): boolean {
  return value.length <= 4096 && OCI_REF_RE.test(value)
}

/** Whether `value` is a docker-archive image index `@N`. */
export function parseArchiveIndex (value: string): number | undefined {
  const m = /^@(0|[1-9][0-9]{0,8})$/.exec(value)
  return m === null ? undefined : Number(m[1])
}

/**
 * Parse `oci:PATH[:REF]` or `docker-archive:PATH[:REF]` (see the module
 * comment for where the path ends).
 *
 * @throws {@link InvalidArgumentError} (`ERR_INVALID_ARGUMENT`) for an unknown transport, an empty path or an invalid reference
 */
export function parseImageLocation (value: string): ImageLocation {
  if (typeof value !== 'string') throw new InvalidArgumentError('an image location must be a string')
  const colon = value.indexOf(':')
  const transport = colon < 0 ? '' : value.slice(0, colon)
  if (transport !== 'oci' && transport !== 'docker-archive') {
    throw new InvalidArgumentError(`unsupported image location ${quote(value)}: expected oci:PATH[:REF] or docker-archive:PATH[:REF]`)
  }
  const rest = value.slice(colon + 1)
  const sep = rest.indexOf(':')
  const path = sep < 0 ? rest : rest.slice(0, sep)
  const reference = sep < 0 ? '' : rest.slice(sep + 1)
  if (path === '') throw new InvalidArgumentError(`image location ${quote(value)} has an empty path`)
  if (reference === '') return { transport, path }
  if (transport === 'oci') {
    if (!isValidOciRefName(reference)) throw new InvalidArgumentError(`invalid OCI reference ${quote(reference)} in ${quote(value)}`)
  } else if (parseArchiveIndex(reference) === undefined) {
    const parsed = parseDockerReference(reference)
    if (parsed.digest !== undefined) {
      throw new InvalidArgumentError(`docker-archive does not support digest references: ${quote(value)}`)
    }
  }
  return { transport, path, reference }
}

// ---------------------------------------------------------------- docker references

const ALNUM = '[a-z0-9]+'
const SEPARATOR = '(?:[._]|__|[-]+)'
const PATH_COMPONENT = `${ALNUM}(?:${SEPARATOR}${ALNUM})*`
const DOMAIN_COMPONENT = '(?:[a-zA-Z0-9]|[a-zA-Z0-9][a-zA-Z0-9-]*[a-zA-Z0-9])'
const DOMAIN = `(?:${DOMAIN_COMPONENT}(?:\\.${DOMAIN_COMPONENT})*|\\[[a-fA-F0-9:]+\\])(?::[0-9]+)?`
const DOMAIN_RE = new RegExp(`^${DOMAIN}$`)
const REMOTE_RE = new RegExp(`^${PATH_COMPONENT}(?:/${PATH_COMPONENT})*$`)
const TAG_RE = /^[\w][\w.-]{0,127}$/
const DIGEST_RE = /^[A-Za-z][A-Za-z0-9]*(?:[-_+.][A-Za-z][A-Za-z0-9]*)*:[0-9a-fA-F]{32,}$/
const NAME_MAX = 255

/** A docker reference, normalised: `domain/path`, tag, digest. */
export interface DockerReference {
  /** `docker.io/library/busybox`, `example.com:5000/team/app`. */
  name: string
  tag?: string
  digest?: string
}

/**
 * Parse and normalise a docker reference as `reference.ParseNormalizedNamed`
 * does: `busybox` is `docker.io/library/busybox`, `index.docker.io` is
 * `docker.io`, the first component is a registry only when it holds `.` or
 * `:` or is `localhost`. No default tag is added here.
 *
 * @throws {@link InvalidArgumentError} (`ERR_INVALID_ARGUMENT`)
 */
export function parseDockerReference (value: string): DockerReference {
  const bad = (why: string): never => { throw new InvalidArgumentError(`invalid docker reference ${quote(value)}: ${why}`) }
  if (typeof value !== 'string' || value === '') bad('empty')
  if (/^[a-f0-9]{64}$/.test(value)) bad('a 64-character hexadecimal string is an image ID, not a name')
  let rest = value
  let digest: string | undefined
  const at = rest.indexOf('@')
  if (at >= 0) {
    digest = rest.slice(at + 1)
    rest = rest.slice(0, at)
    if (!DIGEST_RE.test(digest)) bad('malformed digest')
  }
  let tag: string | undefined
  const lastSlash = rest.lastIndexOf('/')
  const colon = rest.indexOf(':', lastSlash + 1)
  if (colon >= 0) {
    tag = rest.slice(colon + 1)
    rest = rest.slice(0, colon)
    if (!TAG_RE.test(tag)) bad('malformed tag')
  }
  let domain: string
  let remainder: string
  const slash = rest.indexOf('/')
  const first = slash < 0 ? '' : rest.slice(0, slash)
  if (slash < 0 || (!/[.:]/.test(first) && first !== 'localhost' && first.toLowerCase() === first)) {
    domain = 'docker.io'
    remainder = rest
  } else {
    domain = first
    remainder = rest.slice(slash + 1)
    if (!DOMAIN_RE.test(domain)) bad('malformed registry')
  }
  if (domain === 'index.docker.io') domain = 'docker.io'
  if (domain === 'docker.io' && !remainder.includes('/')) remainder = `library/${remainder}`
  if (remainder.toLowerCase() !== remainder) bad('repository names must be lowercase')
  if (!REMOTE_RE.test(remainder)) bad('malformed repository name')
  const name = `${domain}/${remainder}`
  if (name.length > NAME_MAX) bad(`longer than ${NAME_MAX} characters`)
  const out: DockerReference = { name }
  if (tag !== undefined) out.tag = tag
  if (digest !== undefined) out.digest = digest
  return out
}

/**
 * A docker reference in its fully qualified form, with `latest` as the tag
 * when it has neither tag nor digest: `busybox` is
 * `docker.io/library/busybox:latest`. Two references name the same image
 * in a docker archive when their normalised forms are equal.
 *
 * @throws {@link InvalidArgumentError} (`ERR_INVALID_ARGUMENT`)
 */
export function normalizeDockerReference (value: string): string {
  const r = parseDockerReference(value)
  const tag = r.tag ?? (r.digest === undefined ? 'latest' : undefined)
  return `${r.name}${tag !== undefined ? `:${tag}` : ''}${r.digest !== undefined ? `@${r.digest}` : ''}`
}

/**
 * A repository and one of its tags or digests as a reference is written:
 * `lib/app:v1` for a tag, `lib/app@sha256:…` for a digest (a tag never
 * holds a `:`, a digest always does). For messages, the way skopeo and
 * docker print references.
 */
export function formatRepositoryReference (repository: string, tagOrDigest: string): string {
  return `${repository}${tagOrDigest.includes(':') ? '@' : ':'}${tagOrDigest}`
}

/** Whether `value` is a digest reference `sha256:<64 hex>` (for OCI layouts). */
export function isDigestReference (value: string): boolean {
  return isDigest(value)
}
