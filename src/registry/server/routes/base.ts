/**
 * `GET /v2/` (the API version check: 200 `{}` once authenticated) and
 * `GET /tessera/stats` (the store's figures as JSON, see docs/API.md).
 *
 * @module
 */
import type { FastifyInstance } from 'fastify'
import type { ServerContext } from '../context.js'

/** Register the base routes. */
export function baseRoutes (context: ServerContext) {
  return async function register (app: FastifyInstance): Promise<void> {
    app.route({
      method: ['GET', 'HEAD'],
      url: '/v2/',
      handler: async (_request, reply) => {
        reply.type('application/json')
        return {}
      }
    })
    app.get('/tessera/stats', async (_request, reply) => {
      const stats = await context.registry.stats()
      reply.type('application/json')
      return { ...stats, uploadsInProgress: context.uploads.count }
    })
  }
}
