/**
 * `GET /v2/<name>/tags/list?n=&last=`: the repository's tags in lexical
 * order, at most `n` (and at most `maxTagsPerPage`) after `last`, with a
 * `Link: <...>; rel="next"` header when more follow. 404 `NAME_UNKNOWN` for
 * a repository the store does not know.
 *
 * @module
 */
import type { FastifyInstance } from 'fastify'
import { queryString, repositoryOf, type ServerContext } from '../context.js'
import { RegistryHttpError } from '../errors.js'

/** Register the tag listing route. */
export function tagRoutes (context: ServerContext) {
  const { registry, limits } = context
  return async function register (app: FastifyInstance): Promise<void> {
    app.get('/v2/:name/tags/list', async (request, reply) => {
      const repository = repositoryOf(request, context)
      const rawN = queryString(request, 'n')
      if (rawN !== undefined && !/^\d{1,9}$/.test(rawN)) throw new RegistryHttpError('UNSUPPORTED', `n must be a non-negative integer, got ${JSON.stringify(rawN.slice(0, 50))}`, { status: 400 })
      const n = Math.min(rawN === undefined ? limits.maxTagsPerPage : Number(rawN), limits.maxTagsPerPage)
      const last = queryString(request, 'last')
      const page = n === 0 ? [] : await registry.listTags(repository, { ...(last !== undefined ? { last } : {}), n: n + 1 })
      const tags = page.slice(0, n)
      if (page.length === 0 && last === undefined && !(await registry.listRepositories()).includes(repository)) {
        throw new RegistryHttpError('NAME_UNKNOWN', `repository ${repository} not known`)
      }
      if (page.length > n) {
        reply.header('link', `</v2/${repository}/tags/list?n=${n}&last=${encodeURIComponent(tags[tags.length - 1]!)}>; rel="next"`)
      }
      reply.type('application/json')
      return { name: repository, tags }
    })
  }
}
