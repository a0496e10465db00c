/**
 * Blob reads and deletes: `GET`/`HEAD /v2/<name>/blobs/<digest>` (with a
 * `Range`: 206 and `Content-Range`, a `multipart/byteranges` body for
 * several ranges, or 416) and
 * `DELETE /v2/<name>/blobs/<digest>` (unlinks the blob from the repository;
 * its bytes stay until gc). A blob is visible only in repositories it was
 * pushed or mounted to.
 *
 * @module
 */
import { Readable } from 'node:stream'
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify'
import { repositoryOf, type ServerContext } from '../context.js'
import { RegistryHttpError } from '../errors.js'
import { checkDigest } from '../names.js'
import { contentRange, multipartAnswer, parseRangeHeader } from '../ranges.js'
import type { BlobInfo } from '../../types.js'

/** The blob `digest` as seen from `repository`; `BLOB_UNKNOWN` if not linked there or absent. */
export async function linkedBlob (context: ServerContext, repository: string, digest: string): Promise<BlobInfo> {
  const info = await context.registry.hasBlobLink(repository, digest) ? await context.registry.blobs.statBlob(digest) : undefined
  if (info === undefined) throw new RegistryHttpError('BLOB_UNKNOWN', `blob ${digest} unknown to ${repository}`)
  return info
}

/** Register the blob routes. */
export function blobRoutes (context: ServerContext) {
  async function read (request: FastifyRequest, reply: FastifyReply): Promise<unknown> {
    const repository = repositoryOf(request, context)
    const digest = checkDigest((request.params as { digest: string }).digest)
    const info = await linkedBlob(context, repository, digest)
    reply.header('docker-content-digest', info.digest)
    reply.header('accept-ranges', 'bytes')
    reply.header('etag', `"${info.digest}"`)
    reply.type('application/octet-stream')
    const wanted = request.method === 'GET' ? parseRangeHeader(request.headers.range, info.size) : { kind: 'whole' as const }
    if (wanted.kind === 'unsatisfiable') {
      reply.header('content-range', `bytes */${info.size}`)
      reply.code(416)
      return await reply.send('')
    }
    if (wanted.kind === 'multi') {
      // One pass over the blob where the store offers it (a rebuilt blob is not rebuilt once per range).
      const abort = new AbortController()
      reply.raw.once('close', () => abort.abort())
      const blobs = context.registry.blobs
      const body = blobs.getBlobRanges !== undefined
        ? () => blobs.getBlobRanges!(digest, wanted.ranges, { signal: abort.signal })
        : async function * () { for (const range of wanted.ranges) yield * blobs.getBlob(digest, { range, signal: abort.signal }) }
      const answer = multipartAnswer(wanted.ranges, info.size, body)
      reply.code(206)
      reply.header('content-type', answer.contentType)
      reply.header('content-length', String(answer.length))
      return await reply.send(Readable.from(answer.body(), { objectMode: false }))
    }
    const range = wanted.kind === 'partial' ? wanted.range : { start: 0, end: info.size }
    reply.header('content-length', String(range.end - range.start))
    if (wanted.kind === 'partial') {
      reply.code(206)
      reply.header('content-range', contentRange(range, info.size))
    }
    if (request.method === 'HEAD' || range.end === range.start) return await reply.send('')
    const abort = new AbortController()
    reply.raw.once('close', () => abort.abort())
    const options = { signal: abort.signal, ...(wanted.kind === 'partial' ? { range } : {}) }
    return await reply.send(Readable.from(context.registry.blobs.getBlob(digest, options), { objectMode: false }))
  }

  return async function register (app: FastifyInstance): Promise<void> {
    app.route({ method: ['GET', 'HEAD'], url: '/v2/:name/blobs/:digest', handler: read })
    app.delete('/v2/:name/blobs/:digest', async (request, reply) => {
      const repository = repositoryOf(request, context)
      const digest = checkDigest((request.params as { digest: string }).digest)
      if (!await context.registry.unlinkBlob(repository, digest)) throw new RegistryHttpError('BLOB_UNKNOWN', `blob ${digest} unknown to ${repository}`)
      reply.code(202).header('content-length', '0')
      return await reply.send('')
    })
  }
}
