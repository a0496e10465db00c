/**
 * `GET /v2/<name>/referrers/<digest>?artifactType=`: the manifests of the
 * repository whose `subject` is `digest`, as an OCI image index (200 with an
 * empty list when there are none), filtered by `artifactType` when given
 * (then `OCI-Filters-Applied: artifactType`). When the filter is tessera's
 * artifact type and the server offers images in tessera's format, the
 * image's tessera manifest is built (or linked) first, so it is listed.
 *
 * @module
 */
import type { FastifyInstance } from 'fastify'
import type { ReferrerDescriptor } from '../../types.js'
import { queryString, repositoryOf, type ServerContext } from '../context.js'
import { checkDigest } from '../names.js'
import { TESSERA_ARTIFACT_TYPE } from '../../../distribution/media-types.js'

/** The media type of the answer. */
export const IMAGE_INDEX_MEDIA_TYPE = 'application/vnd.oci.image.index.v1+json'

/** The OCI image index listing `manifests`, as the referrers API and the fallback tag answer it. */
export function referrersIndex (manifests: ReferrerDescriptor[]): Uint8Array {
  return new Uint8Array(Buffer.from(JSON.stringify({ schemaVersion: 2, mediaType: IMAGE_INDEX_MEDIA_TYPE, manifests })))
}

/** Register the referrers route. */
export function referrerRoutes (context: ServerContext) {
  return async function register (app: FastifyInstance): Promise<void> {
    app.get('/v2/:name/referrers/:digest', async (request, reply) => {
      const repository = repositoryOf(request, context)
      const digest = checkDigest((request.params as { digest: string }).digest)
      const artifactType = queryString(request, 'artifactType')
      if (artifactType === TESSERA_ARTIFACT_TYPE) await context.offers?.offer(repository, digest)
      let manifests = await context.registry.listReferrers(repository, digest, artifactType !== undefined ? { artifactType } : {})
      if (artifactType !== undefined) {
        manifests = manifests.filter((m) => m.artifactType === artifactType)
        reply.header('oci-filters-applied', 'artifactType')
      }
      reply.header('content-type', IMAGE_INDEX_MEDIA_TYPE)
      return await reply.send(Buffer.from(referrersIndex(manifests)))
    })
  }
}
