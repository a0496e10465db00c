/**
 * Manifests by tag or digest.
 *
 * - GET sends the `Accept` list (OCI manifest and index, Docker v2 manifest
 *   and list by default), reads at most `maxBytes` (4 MiB by default, the
 *   limit registries apply), and checks the bytes: against the digest the
 *   manifest was asked by, and against `Docker-Content-Digest` when the
 *   registry sends a sha256 one. A mismatch is `ERR_INTEGRITY`. The media
 *   type is the answer's `Content-Type`, else the manifest's `mediaType`.
 * - PUT sends the bytes with their media type; a registry refusing them
 *   for their size (413, or distribution's 400 `MANIFEST_INVALID` "request
 *   body too large") is `ERR_MANIFEST_TOO_LARGE`. A `Docker-Content-Digest`
 *   in the answer must be the bytes' digest.
 *
 * @module
 */
import { createHash } from 'node:crypto'
import { IntegrityError } from '../../errors.js'
import { isDigest } from '../../hash/digest.js'
import { formatRepositoryReference } from '../../oci/reference.js'
import { repoPath, type RepositoryContext } from './context.js'
import { InvalidReferenceError, ManifestTooLargeError, RegistryNotFoundError, RegistryProtocolError, quoteRemote } from './errors.js'
import { isValidTag } from './reference.js'
import { errorFromResponse } from './response-error.js'
import type { CallOptions, FetchedManifest } from './types.js'

/** OCI image manifest. */
export const OCI_MANIFEST = 'application/vnd.oci.image.manifest.v1+json'
/** OCI image index. */
export const OCI_INDEX = 'application/vnd.oci.image.index.v1+json'
/** Docker image manifest v2 schema 2. */
export const DOCKER_MANIFEST = 'application/vnd.docker.distribution.manifest.v2+json'
/** Docker manifest list. */
export const DOCKER_MANIFEST_LIST = 'application/vnd.docker.distribution.manifest.list.v2+json'

/** What GET accepts unless told otherwise. */
export const DEFAULT_MANIFEST_ACCEPT: readonly string[] = [OCI_MANIFEST, OCI_INDEX, DOCKER_MANIFEST, DOCKER_MANIFEST_LIST]
/** The manifest size limit of GET (and of distribution and most registries). */
export const DEFAULT_MAX_MANIFEST_BYTES = 4 * 1024 * 1024

/** `sha256:<hex>` of bytes. */
export function sha256Digest (bytes: Uint8Array): string {
  return `sha256:${createHash('sha256').update(bytes).digest('hex')}`
}

/** Check a tag or digest given to a manifest call. */
export function checkManifestReference (tagOrDigest: string): void {
  if (typeof tagOrDigest !== 'string' || (!isDigest(tagOrDigest) && !isValidTag(tagOrDigest))) {
    throw new InvalidReferenceError(`${quoteRemote(String(tagOrDigest))} is neither a tag nor a sha256 digest`)
  }
}

function mediaTypeOf (contentType: string | undefined, bytes: Uint8Array): string | undefined {
  const fromHeader = contentType?.split(';')[0]?.trim().toLowerCase()
  if (fromHeader !== undefined && fromHeader !== '' && fromHeader !== 'application/json' && fromHeader !== 'text/plain' && fromHeader !== 'application/octet-stream') return fromHeader
  try {
    const mt = (JSON.parse(Buffer.from(bytes).toString('utf8')) as { mediaType?: unknown }).mediaType
    if (typeof mt === 'string' && mt !== '' && mt.length <= 255) return mt
  } catch {}
  return fromHeader === '' ? undefined : fromHeader
}

/** GET a manifest (see the module comment). */
export async function getManifest (ctx: RepositoryContext, tagOrDigest: string, options: CallOptions & { accept?: string[], maxBytes?: number } = {}): Promise<FetchedManifest> {
  checkManifestReference(tagOrDigest)
  const maxBytes = options.maxBytes ?? DEFAULT_MAX_MANIFEST_BYTES
  const what = `manifest ${formatRepositoryReference(ctx.name, tagOrDigest)}`
  const res = await ctx.session.request({
    method: 'GET',
    target: repoPath(ctx, `manifests/${tagOrDigest}`),
    headers: { accept: (options.accept ?? DEFAULT_MANIFEST_ACCEPT).join(', ') },
    scopes: ctx.pull,
    signal: options.signal
  })
  if (res.status === 404) throw new RegistryNotFoundError(`${(await errorFromResponse(res, 'GET', `${what} at ${ctx.session.origin.host}`)).message}`, { status: 404 })
  if (res.status !== 200) throw await errorFromResponse(res, 'GET', what)
  const bytes = await res.readAll(maxBytes, what)
  const digest = sha256Digest(bytes)
  if (isDigest(tagOrDigest) && digest !== tagOrDigest) throw new IntegrityError(`${what}: the registry sent bytes of digest ${digest}`)
  const claimed = res.header('docker-content-digest')?.trim()
  if (claimed !== undefined && claimed.startsWith('sha256:') && claimed !== digest) {
    throw new IntegrityError(`${what}: the bytes have digest ${digest}, the registry says ${quoteRemote(claimed, 80)}`)
  }
  const mediaType = mediaTypeOf(res.header('content-type'), bytes)
  if (mediaType === undefined) throw new RegistryProtocolError(`${what}: the answer names no media type`)
  return { mediaType, digest, bytes }
}

/** PUT a manifest under a tag or its digest; returns its digest. */
export async function putManifest (ctx: RepositoryContext, tagOrDigest: string, mediaType: string, bytes: Uint8Array, options: CallOptions = {}): Promise<string> {
  checkManifestReference(tagOrDigest)
  const digest = sha256Digest(bytes)
  if (isDigest(tagOrDigest) && tagOrDigest !== digest) throw new IntegrityError(`a manifest put under ${tagOrDigest} has digest ${digest}`)
  const what = `putting manifest ${formatRepositoryReference(ctx.name, tagOrDigest)}`
  const res = await ctx.session.request({
    method: 'PUT',
    target: repoPath(ctx, `manifests/${tagOrDigest}`),
    headers: { 'content-type': mediaType },
    body: bytes,
    scopes: ctx.push,
    signal: options.signal
  })
  if (res.status === 201 || res.status === 200 || res.status === 202) {
    const claimed = res.header('docker-content-digest')?.trim()
    res.discard()
    if (claimed !== undefined && claimed.startsWith('sha256:') && claimed !== digest) {
      throw new RegistryProtocolError(`${what}: the registry says it stored digest ${quoteRemote(claimed, 80)}, the bytes have ${digest}`)
    }
    return digest
  }
  const err = await errorFromResponse(res, 'PUT', what)
  if (res.status === 413 || (res.status === 400 && err.registryCodes.includes('MANIFEST_INVALID') && /too large/i.test(err.message))) {
    throw new ManifestTooLargeError(`${what}: the registry refused a manifest of ${bytes.length} bytes as too large (${err.message.slice(what.length + 2)})`, { status: res.status, registryCodes: err.registryCodes, cause: err })
  }
  throw err
}
