/**
 * Manifests and indexes by tag or digest: `GET`/`HEAD` (the stored bytes
 * with their media type as `Content-Type` and `Docker-Content-Digest`; an
 * unknown tag `sha256-<hex>` answers the referrers schema's fallback
 * index of that subject's referrers when it has any),
 * `PUT` (201 with `Location`, `Docker-Content-Digest`, and `OCI-Subject`
 * when the manifest has a subject) and `DELETE` (202). Bodies are read up
 * to `maxManifestBytes` (413 `MANIFEST_INVALID` above, refused from the
 * `Content-Length` before reading when it is given).
 *
 * @module
 */
import { createHash } from 'node:crypto'
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify'
import { IntegrityError } from '../../../errors.js'
import { parseStrictJson } from '../../../oci/json.js'
import { repositoryOf, type ServerContext } from '../context.js'
import { RegistryHttpError } from '../errors.js'
import { checkDigest, checkTag, isDigestReference } from '../names.js'
import type { StoredManifest } from '../../types.js'
import { IMAGE_INDEX_MEDIA_TYPE, referrersIndex } from './referrers.js'
import { MANIFEST_MEDIA_TYPES } from '../../../oci/json.js'

/** The media type of a `Content-Type` header (parameters dropped), or undefined. */
function mediaTypeOf (header: string | undefined): string | undefined {
  const type = header?.split(';')[0]?.trim().toLowerCase()
  return type === undefined || type === '' ? undefined : type
}

/** The subject's digest of a manifest, if it has one. */
function subjectOf (bytes: Uint8Array): string | undefined {
  try {
    const doc = parseStrictJson(bytes, 'the manifest') as { subject?: { digest?: unknown } }
    return typeof doc?.subject?.digest === 'string' ? doc.subject.digest : undefined
  } catch {
    return undefined
  }
}

/** The `mediaType` field of a manifest's JSON, if it has one. */
function declaredMediaType (bytes: Uint8Array): string | undefined {
  try {
    const doc = parseStrictJson(bytes, 'the manifest') as { mediaType?: unknown }
    return typeof doc?.mediaType === 'string' ? doc.mediaType : undefined
  } catch {
    return undefined
  }
}

/** Register the manifest routes. */
export function manifestRoutes (context: ServerContext) {
  const { registry, limits } = context

  function referenceOf (request: FastifyRequest, unknownTag: 'MANIFEST_INVALID' | 'MANIFEST_UNKNOWN'): string {
    const reference = (request.params as { reference: string }).reference
    return isDigestReference(reference) ? checkDigest(reference) : checkTag(reference, unknownTag)
  }

  /**
   * The referrers schema's fallback tag (`sha256-<hex>` of a subject), when
   * no such tag was pushed: the index of the subject's referrers, as the
   * referrers API lists them (the tessera manifest offered first), or
   * undefined when there are none.
   */
  async function fallbackIndex (repository: string, reference: string): Promise<StoredManifest | undefined> {
    const m = /^sha256-([0-9a-f]{64})$/.exec(reference)
    if (m === null) return undefined
    const subject = `sha256:${m[1]!}`
    await context.offers?.offer(repository, subject)
    const manifests = await registry.listReferrers(repository, subject)
    if (manifests.length === 0) return undefined
    const bytes = referrersIndex(manifests)
    return { digest: `sha256:${createHash('sha256').update(bytes).digest('hex')}`, mediaType: IMAGE_INDEX_MEDIA_TYPE, bytes }
  }

  async function read (request: FastifyRequest, reply: FastifyReply): Promise<FastifyReply> {
    const repository = repositoryOf(request, context)
    const reference = referenceOf(request, 'MANIFEST_UNKNOWN')
    const manifest = await registry.getManifest(repository, reference) ?? await fallbackIndex(repository, reference)
    if (manifest === undefined) throw new RegistryHttpError('MANIFEST_UNKNOWN', `manifest ${reference} unknown to ${repository}`)
    const actual = `sha256:${createHash('sha256').update(manifest.bytes).digest('hex')}`
    if (actual !== manifest.digest) throw new IntegrityError(`stored manifest ${manifest.digest} has digest ${actual}`)
    reply.headers({
      'content-type': manifest.mediaType,
      'docker-content-digest': manifest.digest,
      etag: `"${manifest.digest}"`,
      'content-length': String(manifest.bytes.length)
    })
    return await reply.send(request.method === 'HEAD' ? '' : Buffer.from(manifest.bytes.buffer, manifest.bytes.byteOffset, manifest.bytes.byteLength))
  }

  async function write (request: FastifyRequest, reply: FastifyReply): Promise<FastifyReply> {
    const repository = repositoryOf(request, context)
    const reference = referenceOf(request, 'MANIFEST_INVALID')
    const bytes = request.body
    if (!(bytes instanceof Uint8Array) || bytes.length === 0) throw new RegistryHttpError('MANIFEST_INVALID', 'the manifest body is empty')
    const mediaType = mediaTypeOf(request.headers['content-type']) ?? declaredMediaType(bytes)
    if (mediaType === undefined) throw new RegistryHttpError('MANIFEST_INVALID', 'no Content-Type and no mediaType field: the manifest\'s media type is unknown')
    const digest = await registry.putManifest(repository, reference, mediaType, bytes)
    if (context.offerOnPush === true && context.offers !== undefined && MANIFEST_MEDIA_TYPES.has(mediaType)) {
      context.offers.offer(repository, digest).catch((err: Error) => { context.onLog?.(`offering ${repository}@${digest} failed: ${err.message}`) })
    }
    reply.code(201).headers({ location: `/v2/${repository}/manifests/${digest}`, 'docker-content-digest': digest, 'content-length': '0' })
    const subject = subjectOf(bytes)
    if (subject !== undefined) reply.header('oci-subject', subject)
    return await reply.send('')
  }

  async function remove (request: FastifyRequest, reply: FastifyReply): Promise<FastifyReply> {
    const repository = repositoryOf(request, context)
    const reference = referenceOf(request, 'MANIFEST_UNKNOWN')
    if (!await registry.deleteManifest(repository, reference)) throw new RegistryHttpError('MANIFEST_UNKNOWN', `manifest ${reference} unknown to ${repository}`)
    reply.code(202).header('content-length', '0')
    return await reply.send('')
  }

  return async function register (app: FastifyInstance): Promise<void> {
    app.removeAllContentTypeParsers()
    app.addContentTypeParser('*', { parseAs: 'buffer', bodyLimit: limits.maxManifestBytes }, (_request, body, done) => { done(null, body) })
    app.route({ method: ['GET', 'HEAD'], url: '/v2/:name/manifests/:reference', handler: read })
    app.put('/v2/:name/manifests/:reference', { bodyLimit: limits.maxManifestBytes }, write)
    app.delete('/v2/:name/manifests/:reference', remove)
  }
}
