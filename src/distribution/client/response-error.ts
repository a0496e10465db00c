/**
 * Turning an unwanted answer into one error line. The body is read up to
 * 16 KiB; a distribution-spec error body (`{"errors":[{"code","message"}]}`)
 * gives its codes and first messages (quoted, shortened); a markup body
 * (an HTML error page, `text/html`, anything starting with `<`) is left
 * out, any other its first line, shortened. The status picks the class:
 * 401/403 `ERR_REGISTRY_AUTH`, 404 `ERR_REGISTRY_NOT_FOUND`, 429
 * `ERR_REGISTRY_RATE_LIMITED`, 5xx `ERR_REGISTRY_UNAVAILABLE`, other 4xx
 * `ERR_REGISTRY_REJECTED`, anything else `ERR_REGISTRY_PROTOCOL`.
 *
 * @module
 */
import {
  quoteRemote, RegistryAuthError, RegistryNotFoundError, RegistryProtocolError, RegistryRateLimitedError,
  RegistryRejectedError, RegistryUnavailableError, type RegistryError, type RegistryErrorOptions
} from './errors.js'
import type { HttpResponse } from './http.js'

const MAX_ERROR_BODY = 16 * 1024
const MAX_ERRORS_SHOWN = 3

/** What a registry error body says. */
export interface ErrorBody {
  codes: string[]
  summary: string
}

/** Parse a registry error body (bounded, never throws); `contentType` is the answer's. */
export function parseErrorBody (text: string, contentType = ''): ErrorBody {
  try {
    const doc = JSON.parse(text) as { errors?: unknown }
    if (Array.isArray(doc.errors)) {
      const codes: string[] = []
      const shown: string[] = []
      for (const e of doc.errors.slice(0, 100)) {
        if (e === null || typeof e !== 'object') continue
        const code = typeof (e as { code?: unknown }).code === 'string' ? (e as { code: string }).code.slice(0, 64) : 'UNKNOWN'
        const text = typeof (e as { message?: unknown }).message === 'string' ? (e as { message: string }).message : ''
        const detail = (e as { detail?: unknown }).detail
        const message = typeof detail === 'string' && detail !== '' && detail !== text ? `${text}: ${detail}` : text
        codes.push(code)
        if (shown.length < MAX_ERRORS_SHOWN) shown.push(message !== '' ? `${code} ${quoteRemote(message, 120)}` : code)
      }
      const more = codes.length > shown.length ? ` (+${codes.length - shown.length} more)` : ''
      return { codes, summary: shown.join(', ') + more }
    }
  } catch {}
  // a web page says nothing a line can hold, and would flood it
  if (/html/i.test(contentType) || text.trimStart().startsWith('<')) return { codes: [], summary: '' }
  const line = text.split('\n').find((l) => l.trim() !== '')?.trim() ?? ''
  return { codes: [], summary: line === '' ? '' : quoteRemote(line, 120) }
}

/** The error class for an HTTP status. */
export function errorClassFor (status: number): new (message: string, options?: RegistryErrorOptions) => RegistryError {
  if (status === 401 || status === 403) return RegistryAuthError
  if (status === 404) return RegistryNotFoundError
  if (status === 429) return RegistryRateLimitedError
  if (status >= 500 && status <= 599) return RegistryUnavailableError
  if (status >= 400 && status <= 499) return RegistryRejectedError
  return RegistryProtocolError
}

/** `METHOD PATH` of a request, for messages (query dropped, path shortened). */
export function describeRequest (method: string, url: URL): string {
  const path = url.pathname.length > 160 ? `${url.pathname.slice(0, 160)}...` : url.pathname
  return `${method} ${url.host}${path}`
}

/** Read the (bounded) body of an unwanted answer and make the error for it; `what` says what was asked. */
export async function errorFromResponse (res: HttpResponse, method: string, what?: string): Promise<RegistryError> {
  const text = method === 'HEAD' ? '' : await res.readPrefix(MAX_ERROR_BODY)
  res.discard()
  const body = parseErrorBody(text, res.header('content-type'))
  const Class = errorClassFor(res.status)
  const head = what ?? describeRequest(method, res.url)
  return new Class(`${head}: HTTP ${res.status}${body.summary !== '' ? ` ${body.summary}` : ''}`, { status: res.status, registryCodes: body.codes })
}
