/**
 * Listing tags: `GET /v2/<name>/tags/list?n=1000`, then every `Link`
 * rel="next" page (same origin, each page at most 4 MiB, at most 10,000
 * pages, a page seen twice ends it as a protocol error). Tags that break
 * the tag grammar are a protocol error.
 *
 * @module
 */
import { repoPath, type RepositoryContext } from './context.js'
import { RegistryNotFoundError, RegistryProtocolError, quoteRemote } from './errors.js'
import { nextLink } from './link.js'
import { isValidTag } from './reference.js'
import { errorFromResponse } from './response-error.js'
import type { CallOptions } from './types.js'

const PAGE_SIZE = 1000
const MAX_PAGE_BYTES = 4 * 1024 * 1024
const MAX_PAGES = 10_000

/** Every tag of the repository, in the registry's order. */
export async function listTags (ctx: RepositoryContext, options: CallOptions = {}): Promise<string[]> {
  const what = `tags of ${ctx.name}`
  const tags: string[] = []
  const seen = new Set<string>()
  let target: string | URL = repoPath(ctx, `tags/list?n=${PAGE_SIZE}`)
  for (let page = 0; ; page++) {
    if (page >= MAX_PAGES) throw new RegistryProtocolError(`${what}: more than ${MAX_PAGES} pages`)
    const res = await ctx.session.request({ method: 'GET', target, headers: { accept: 'application/json' }, scopes: ctx.pull, signal: options.signal })
    if (res.status === 404) throw new RegistryNotFoundError((await errorFromResponse(res, 'GET', what)).message, { status: 404 })
    if (res.status !== 200) throw await errorFromResponse(res, 'GET', what)
    seen.add(res.url.href)
    const next = nextLink(res.headerAll('link'), res.url)
    const bytes = await res.readAll(MAX_PAGE_BYTES, what)
    let doc: { tags?: unknown }
    try { doc = JSON.parse(Buffer.from(bytes).toString('utf8')) } catch (err) { throw new RegistryProtocolError(`${what}: the answer is not JSON`, { cause: err }) }
    const list = doc?.tags ?? []
    if (!Array.isArray(list)) throw new RegistryProtocolError(`${what}: "tags" is not an array`)
    for (const t of list) {
      if (typeof t !== 'string' || !isValidTag(t)) throw new RegistryProtocolError(`${what}: an invalid tag ${quoteRemote(String(t), 80)}`)
      tags.push(t)
    }
    if (next === undefined || list.length === 0) return tags
    if (seen.has(next.href)) throw new RegistryProtocolError(`${what}: the next-page link goes back to a page already read`)
    target = next
  }
}
