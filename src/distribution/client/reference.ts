/**
 * `docker://HOST[:PORT]/REPO[:TAG|@sha256:<hex>]` references, parsed with
 * distribution's reference grammar (the docker reference parser of
 * `src/oci/reference.ts`), stricter where tessera needs it:
 * - the registry must be written: the first component is a host (it holds
 *   a `.` or a `:`, is `localhost`, or an IPv6 literal `[...]`), so
 *   `docker://busybox` is refused instead of silently meaning docker.io;
 * - a port is 1..65535;
 * - a digest is `sha256:` and 64 lowercase hex digits (the only algorithm
 *   tessera verifies);
 * - a tag and a digest together are refused (as containers/image's docker
 *   transport does), and so is anything after the reference.
 *
 * `docker.io/busybox` is `docker.io/library/busybox`, as in docker; the
 * registry is otherwise kept as written. No default tag is added: a
 * reference without tag and digest has neither.
 *
 * @module
 */
import { InvalidArgumentError } from '../../errors.js'
import { isDigest } from '../../hash/digest.js'
import { parseDockerReference } from '../../oci/reference.js'
import { InvalidReferenceError, quoteRemote } from './errors.js'
import type { RemoteReference } from './types.js'

const PREFIX = 'docker://'
const MAX_REFERENCE = 4096

/** Whether the first component of a reference names a registry. */
function isRegistryComponent (value: string): boolean {
  return value.includes('.') || value.includes(':') || value === 'localhost' || value.startsWith('[')
}

/**
 * Parse `docker://HOST[:PORT]/REPO[:TAG|@sha256:<hex>]`.
 *
 * @throws {@link InvalidReferenceError} (`ERR_INVALID_REFERENCE`) naming what is wrong
 */
export function parseRemoteReference (value: string): RemoteReference {
  if (typeof value !== 'string') throw new InvalidReferenceError('a registry reference must be a string')
  const bad = (why: string, cause?: unknown): never => {
    throw new InvalidReferenceError(`invalid registry reference ${quoteRemote(value)}: ${why}`, cause === undefined ? undefined : { cause })
  }
  if (value.length > MAX_REFERENCE) bad(`longer than ${MAX_REFERENCE} characters`)
  if (!value.startsWith(PREFIX)) bad('expected docker://HOST[:PORT]/REPO[:TAG|@sha256:DIGEST]')
  const rest = value.slice(PREFIX.length)
  const slash = rest.indexOf('/')
  if (slash <= 0) bad('no repository: expected docker://HOST[:PORT]/REPO')
  const registry = rest.slice(0, slash)
  if (!isRegistryComponent(registry)) bad(`${quoteRemote(registry)} is not a registry host: write it out (docker://docker.io/${rest})`)
  const port = /:([0-9]+)$/.exec(registry)?.[1]
  if (port !== undefined && (port.length > 5 || Number(port) < 1 || Number(port) > 65535)) bad(`port ${port} is out of range`)
  let parsed
  try {
    parsed = parseDockerReference(rest)
  } catch (err) {
    if (err instanceof InvalidArgumentError) bad(err.message.replace(/^invalid docker reference "[^]*?": /, ''), err)
    throw err
  }
  if (parsed.digest !== undefined && parsed.tag !== undefined) bad('a tag and a digest together are not supported')
  if (parsed.digest !== undefined && !isDigest(parsed.digest)) bad('only sha256 digests of 64 lowercase hex digits are supported')
  const name = parsed.name
  // the host as written (parseDockerReference only rewrites index.docker.io to docker.io)
  const domain = name.slice(0, name.indexOf('/'))
  const out: RemoteReference = { registry: domain, repository: name.slice(domain.length + 1) }
  if (parsed.tag !== undefined) out.tag = parsed.tag
  if (parsed.digest !== undefined) out.digest = parsed.digest
  return out
}

/** A reference written back as `docker://HOST/REPO[:TAG][@DIGEST]`. */
export function formatRemoteReference (ref: RemoteReference): string {
  return `${PREFIX}${ref.registry}/${ref.repository}${ref.tag !== undefined ? `:${ref.tag}` : ''}${ref.digest !== undefined ? `@${ref.digest}` : ''}`
}

/** Whether `value` is a valid tag (distribution's grammar: `[\w][\w.-]{0,127}`). */
export function isValidTag (value: string): boolean {
  return /^[\w][\w.-]{0,127}$/.test(value)
}
