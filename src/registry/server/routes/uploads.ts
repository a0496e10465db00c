/**
 * Blob uploads of the distribution spec:
 *
 * - `POST /v2/<name>/blobs/uploads/`: start a session (202, `Location`,
 *   `Range`, `Docker-Upload-UUID`); with `?digest=` the body is the whole
 *   blob (monolithic, 201); with `?mount=<digest>&from=<repo>` the blob is
 *   linked from the other repository when it is there (201), else a session
 *   starts as without it (202).
 * - `PATCH .../uploads/<uuid>`: append a chunk (`Content-Range` checked, 416
 *   when out of order). `GET`: where the session is (204). `DELETE`: cancel.
 * - `PUT .../uploads/<uuid>?digest=`: append an optional last chunk, then
 *   stream the file into the blob store, which verifies digest and size
 *   before committing; the blob is linked to the repository (201).
 *
 * Request bodies are streamed to the session file or the store, never
 * held in memory.
 *
 * @module
 */
import { createReadStream } from 'node:fs'
import { Transform } from 'node:stream'
import { pipeline } from 'node:stream/promises'
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify'
import { contentLengthOf, queryString, repositoryOf, type ServerContext } from '../context.js'
import { RegistryHttpError } from '../errors.js'
import { checkDigest, checkName } from '../names.js'
import { parseChunkRange, type UploadSession } from '../uploads.js'

/** Register the upload routes. Bodies of any content type are left unread for the handlers to stream. */
export function uploadRoutes (context: ServerContext) {
  const { registry, uploads, limits } = context

  /** 201 for a blob now in `repository`. */
  async function created (reply: FastifyReply, repository: string, digest: string): Promise<FastifyReply> {
    reply.code(201).headers({ location: `/v2/${repository}/blobs/${digest}`, 'docker-content-digest': digest, 'content-length': '0' })
    return await reply.send('')
  }

  /** The request body, failing with 413 `SIZE_INVALID` past the upload limit. */
  function limitedBody (request: FastifyRequest): AsyncIterable<Uint8Array> {
    const max = limits.maxUploadBytes
    let seen = 0
    const limiter = new Transform({
      transform (chunk: Buffer, _encoding, callback) {
        seen += chunk.length
        if (seen > max) callback(new RegistryHttpError('SIZE_INVALID', `blob larger than the limit of ${max} bytes`, { status: 413 }))
        else callback(null, chunk)
      }
    })
    // pipeline (not pipe) so that a client that goes away fails the store's read instead of stalling it.
    pipeline(request.raw, limiter).catch(() => {})
    return limiter
  }

  async function start (request: FastifyRequest, reply: FastifyReply): Promise<FastifyReply> {
    const repository = repositoryOf(request, context)
    const mount = queryString(request, 'mount')
    const from = queryString(request, 'from')
    if (mount !== undefined) {
      const digest = checkDigest(mount)
      if (from !== undefined && from !== repository) {
        const source = checkName(from, limits.maxNameLength)
        if (await registry.hasBlobLink(source, digest) && await registry.blobs.statBlob(digest) !== undefined) {
          await registry.linkBlob(repository, digest)
          return await created(reply, repository, digest)
        }
      } else if (await registry.hasBlobLink(repository, digest) && await registry.blobs.statBlob(digest) !== undefined) {
        return await created(reply, repository, digest)
      }
    }
    const digestParam = queryString(request, 'digest')
    if (digestParam !== undefined || (request.query as Record<string, unknown>).digest !== undefined) {
      const digest = checkDigest(digestParam)
      const size = contentLengthOf(request)
      if (size !== undefined && size > limits.maxUploadBytes) throw new RegistryHttpError('SIZE_INVALID', `blob larger than the limit of ${limits.maxUploadBytes} bytes`, { status: 413 })
      await registry.blobs.putBlob(limitedBody(request), { digest, ...(size !== undefined ? { size } : {}) }, { repository })
      await registry.linkBlob(repository, digest)
      return await created(reply, repository, digest)
    }
    const session = await uploads.create(repository)
    reply.code(202).headers({ ...uploads.headers(session), 'content-length': '0' })
    return await reply.send('')
  }

  function sessionOf (request: FastifyRequest): { repository: string, session: UploadSession } {
    const repository = repositoryOf(request, context)
    return { repository, session: uploads.get(repository, (request.params as { uuid: string }).uuid) }
  }

  /** Append the body, if any, as a chunk. */
  async function appendBody (request: FastifyRequest, session: UploadSession): Promise<void> {
    const range = parseChunkRange(request.headers['content-range'])
    const contentLength = contentLengthOf(request)
    const chunked = request.headers['transfer-encoding'] !== undefined
    if (range === undefined && !chunked && (contentLength ?? 0) === 0) return
    await uploads.append(session, request.raw, { range, contentLength })
  }

  async function patch (request: FastifyRequest, reply: FastifyReply): Promise<FastifyReply> {
    const { session } = sessionOf(request)
    await uploads.hold(session, async () => { await appendBody(request, session) })
    reply.code(202).headers({ ...uploads.headers(session), 'content-length': '0' })
    return await reply.send('')
  }

  async function status (request: FastifyRequest, reply: FastifyReply): Promise<FastifyReply> {
    const { session } = sessionOf(request)
    reply.code(204).headers(uploads.headers(session))
    return await reply.send()
  }

  async function finish (request: FastifyRequest, reply: FastifyReply): Promise<FastifyReply> {
    const { repository, session } = sessionOf(request)
    const digest = checkDigest(queryString(request, 'digest'))
    await uploads.hold(session, async () => {
      await appendBody(request, session)
      try {
        // The session file is complete and held: stored from where it is, not copied again.
        const expected = { digest, size: session.size }
        if (registry.blobs.putBlobFile !== undefined) await registry.blobs.putBlobFile(session.path, expected, { repository })
        else await registry.blobs.putBlob(createReadStream(session.path), expected, { repository })
      } catch (err) {
        // The bytes cannot become this blob: the session can no longer proceed.
        const code = (err as { code?: unknown }).code
        if (code === 'ERR_REGISTRY_DIGEST_INVALID' || code === 'ERR_REGISTRY_SIZE_INVALID') await uploads.remove(session)
        throw err
      }
      await registry.linkBlob(repository, digest)
      await uploads.remove(session)
    })
    return await created(reply, repository, digest)
  }

  async function cancel (request: FastifyRequest, reply: FastifyReply): Promise<FastifyReply> {
    const { session } = sessionOf(request)
    if (session.busy) throw new RegistryHttpError('BLOB_UPLOAD_INVALID', 'the upload is being written', { status: 409 })
    await uploads.remove(session)
    reply.code(204)
    return await reply.send()
  }

  return async function register (app: FastifyInstance): Promise<void> {
    app.removeAllContentTypeParsers()
    app.addContentTypeParser('*', (_request, _payload, done) => { done(null) })
    app.post('/v2/:name/blobs/uploads/', start)
    app.patch('/v2/:name/blobs/uploads/:uuid', patch)
    app.put('/v2/:name/blobs/uploads/:uuid', finish)
    app.get('/v2/:name/blobs/uploads/:uuid', status)
    app.delete('/v2/:name/blobs/uploads/:uuid', cancel)
  }
}
