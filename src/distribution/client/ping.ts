/**
 * The registry ping, as containers/image does it: `GET /v2/` before the
 * first request to a registry. Its answer says three things at once:
 * - that the server is a registry: 2xx, 401 (auth needed) or 403 (a
 *   registry refusing this client) are; anything else (a web server's
 *   404 page, a redirect to a login page) is {@link NotARegistryError};
 * - which scheme reaches it (the session tries `https://` and, with
 *   `tlsVerify: false`, `http://`);
 * - how to authenticate: a 401's `WWW-Authenticate` challenges let every
 *   later request carry its `Authorization` at once, so the ping takes
 *   the place of the 401 round trip the first request would otherwise
 *   make.
 *
 * A registry is pinged once per process ({@link pingOnce}, keyed by host
 * and scheme policy): the ping costs one request, in the counters of the
 * session that made it, and none per blob or per repository opened
 * later. A failed ping is not kept: the next request pings again.
 *
 * @module
 */
import { parseChallenges, type Challenge } from './challenge.js'
import { NotARegistryError } from './errors.js'
import type { HttpResponse } from './http.js'

/** The path every distribution-spec registry answers. */
export const PING_PATH = '/v2/'

/** What a ping learnt. */
export interface PingResult {
  /** The origin that answered (`https://host` or `http://host`). */
  origin: URL
  /** The challenges of a 401, else none. */
  challenges: Challenge[]
}

const pinged = new Map<string, Promise<PingResult>>()

/** The result of `ping` for `key`, pinging only the first time in this process (or after a failure). */
export async function pingOnce (key: string, ping: () => Promise<PingResult>): Promise<PingResult> {
  let result = pinged.get(key)
  if (result === undefined) {
    const started = ping()
    result = started
    pinged.set(key, started)
    started.catch(() => { if (pinged.get(key) === started) pinged.delete(key) })
  }
  return await result
}

/**
 * The challenges of a ping's answer (the body is dropped).
 *
 * @throws {@link NotARegistryError} for an answer no registry gives
 */
export function pingChallenges (res: HttpResponse): Challenge[] {
  res.discard()
  if (res.status === 401) return parseChallenges(res.headerAll('www-authenticate'))
  if ((res.status >= 200 && res.status <= 299) || res.status === 403) return []
  throw new NotARegistryError(`${res.url.host} is not an OCI registry (GET ${PING_PATH} answered ${res.status})`, { status: res.status })
}
