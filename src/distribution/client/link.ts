/**
 * The `Link: <url>; rel="next"` header of paged listings (RFC 8288), as
 * distribution-spec registries page tag lists and referrers. The next page
 * must be on the same origin as the page that links it.
 *
 * @module
 */
import { RegistryProtocolError, quoteRemote } from './errors.js'

/** The `rel="next"` target of `Link` header values, resolved against `base`; undefined when there is none. */
export function nextLink (values: string[], base: URL): URL | undefined {
  for (const value of values) {
    for (const m of value.slice(0, 16 * 1024).matchAll(/<([^>]*)>((?:\s*;\s*[A-Za-z0-9*-]+\s*=\s*(?:"[^"]*"|[^;,\s]*))*)/g)) {
      const rels = /;\s*rel\s*=\s*(?:"([^"]*)"|([^;,\s]*))/i.exec(m[2] ?? '')
      const rel = rels?.[1] ?? rels?.[2]
      if (rel === undefined || !rel.split(/\s+/).includes('next')) continue
      let url: URL
      try { url = new URL(m[1]!, base) } catch { throw new RegistryProtocolError(`an invalid next-page link ${quoteRemote(m[1]!, 120)}`) }
      if (url.origin !== base.origin) throw new RegistryProtocolError(`a next-page link to another origin ${quoteRemote(url.origin, 120)}`)
      return url
    }
  }
  return undefined
}
