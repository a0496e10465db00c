/**
 * Referrers of a manifest (OCI distribution-spec v1.1):
 * - `GET /v2/<name>/referrers/<digest>[?artifactType=T]`: an OCI index of
 *   descriptors, paged by `Link` (at most 100 pages of 4 MiB). The
 *   filter is applied here too, whether or not the registry applied it.
 * - A 404 (or 405) means the registry has no referrers API (distribution
 *   2.8 and 3.0): the *referrers tag schema* is read instead, the OCI
 *   index tagged `sha256-<hex>` of the subject; no such tag is no referrers.
 *
 * {@link addReferrer} is the pusher's side: it makes a descriptor listed
 * as a referrer of a subject, on any registry. If the listing already has
 * it (a registry with the API lists a manifest pushed with a `subject` by
 * itself), nothing is written; else the fallback index is read, the
 * descriptor added (once, by digest) and the index put back under the tag.
 * That read-modify-write is not atomic: two pushers adding referrers to
 * the same subject at once can lose one (the spec's fallback has the same
 * race); rerunning the push adds it again.
 *
 * @module
 */
import { repoPath, type RepositoryContext } from './context.js'
import { parseDescriptor, parseIndex } from './descriptor.js'
import { RegistryNotFoundError, RegistryProtocolError } from './errors.js'
import { nextLink } from './link.js'
import { getManifest, OCI_INDEX } from './manifests.js'
import { errorFromResponse } from './response-error.js'
import type { BlobDescriptor, CallOptions, RegistryRepository } from './types.js'
import { parseDigest } from '../../hash/digest.js'

const MAX_PAGE_BYTES = 4 * 1024 * 1024
const MAX_PAGES = 100

/** The fallback tag of a subject digest: `sha256:<hex>` → `sha256-<hex>`. */
export function referrersTag (digest: string): string {
  return parseDigest(digest).replace(':', '-')
}

function filter (list: BlobDescriptor[], artifactType: string | undefined): BlobDescriptor[] {
  return artifactType === undefined ? list : list.filter((d) => d.artifactType === artifactType)
}

/** The referrers of `digest` (see the module comment). */
export async function listReferrers (ctx: RepositoryContext, digest: string, options: CallOptions & { artifactType?: string } = {}): Promise<BlobDescriptor[]> {
  parseDigest(digest)
  const what = `referrers of ${digest} in ${ctx.name}`
  const out: BlobDescriptor[] = []
  let target: string | URL = repoPath(ctx, `referrers/${digest}${options.artifactType !== undefined ? `?artifactType=${encodeURIComponent(options.artifactType)}` : ''}`)
  for (let page = 0; ; page++) {
    if (page >= MAX_PAGES) throw new RegistryProtocolError(`${what}: more than ${MAX_PAGES} pages`)
    const res = await ctx.session.request({ method: 'GET', target, headers: { accept: OCI_INDEX }, scopes: ctx.pull, signal: options.signal })
    if ((res.status === 404 || res.status === 405) && page === 0) {
      res.discard()
      return await fromTag(ctx, digest, options)
    }
    if (res.status !== 200) throw await errorFromResponse(res, 'GET', what)
    const next = nextLink(res.headerAll('link'), res.url)
    const { manifests } = parseIndex(await res.readAll(MAX_PAGE_BYTES, what), what)
    out.push(...filter(manifests, options.artifactType))
    if (next === undefined || next.href === res.url.href) return out
    target = next
  }
}

async function fromTag (ctx: RepositoryContext, digest: string, options: CallOptions & { artifactType?: string }): Promise<BlobDescriptor[]> {
  const tag = referrersTag(digest)
  try {
    const m = await getManifest(ctx, tag, { accept: [OCI_INDEX], ...(options.signal !== undefined ? { signal: options.signal } : {}) })
    return filter(parseIndex(m.bytes, `the referrers index ${ctx.name}:${tag}`).manifests, options.artifactType)
  } catch (err) {
    if (err instanceof RegistryNotFoundError) return []
    throw err
  }
}

/**
 * Make `descriptor` a listed referrer of `subject` in `repository` (see the
 * module comment): `'listed'` when the registry lists it already,
 * `'tagged'` when the fallback index was written.
 */
export async function addReferrer (repository: RegistryRepository, subject: string, descriptor: BlobDescriptor, options: CallOptions = {}): Promise<'listed' | 'tagged'> {
  parseDigest(subject)
  const checked = parseDescriptor(descriptor, 'the referrer to add')
  const listed = await repository.listReferrers(subject, options)
  if (listed.some((d) => d.digest === checked.digest)) return 'listed'
  const tag = referrersTag(subject)
  let doc: Record<string, unknown> = { schemaVersion: 2, mediaType: OCI_INDEX, manifests: [] }
  let manifests: BlobDescriptor[] = []
  try {
    const current = await repository.getManifest(tag, { accept: [OCI_INDEX], ...options })
    ;({ doc, manifests } = parseIndex(current.bytes, `the referrers index ${repository.reference.repository}:${tag}`))
  } catch (err) {
    if (!(err instanceof RegistryNotFoundError)) throw err
  }
  if (!manifests.some((d) => d.digest === checked.digest)) {
    const raw = Array.isArray(doc.manifests) ? doc.manifests : []
    doc = { ...doc, schemaVersion: 2, mediaType: OCI_INDEX, manifests: [...raw, checked] }
    await repository.putManifest(tag, OCI_INDEX, new TextEncoder().encode(JSON.stringify(doc)), options)
  }
  return 'tagged'
}
