/**
 * `GET /v2/<name>/referrers/<digest>?artifactType=`: the manifests of the
 * repository whose `subject` is `digest`, as an OCI image index (200 with an
 * empty list when there are none), filtered by `artifactType` when given
 * (then `OCI-Filters-Applied: artifactType`).
 *
 * @module
 */
import type { FastifyInstance } from 'fastify'
import { queryString, repositoryOf, type ServerContext } from '../context.js'
import { checkDigest } from '../names.js'

/** The media type of the answer. */
export const IMAGE_INDEX_MEDIA_TYPE = 'application/vnd.oci.image.index.v1+json'

/** Register the referrers route. */
export function referrerRoutes (context: ServerContext) {
  return async function register (app: FastifyInstance): Promise<void> {
    app.get('/v2/:name/referrers/:digest', async (request, reply) => {
      const repository = repositoryOf(request, context)
      const digest = checkDigest((request.params as { digest: string }).digest)
      const artifactType = queryString(request, 'artifactType')
      let manifests = await context.registry.listReferrers(repository, digest, artifactType !== undefined ? { artifactType } : {})
      if (artifactType !== undefined) {
        manifests = manifests.filter((m) => m.artifactType === artifactType)
        reply.header('oci-filters-applied', 'artifactType')
      }
      reply.header('content-type', IMAGE_INDEX_MEDIA_TYPE)
      return await reply.send(Buffer.from(JSON.stringify({ schemaVersion: 2, mediaType: IMAGE_INDEX_MEDIA_TYPE, manifests })))
    })
  }
}
