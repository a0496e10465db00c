/**
 * The distribution spec's error responses: a code, an HTTP status and the
 * JSON body `{"errors":[{"code","message","detail"}]}`, and the mapping
 * from tessera's errors (`ERR_REGISTRY_*`, `ERR_INTEGRITY`, ...) to them.
 *
 * | spec code               | status | when |
 * |-------------------------|--------|------|
 * | `BLOB_UNKNOWN`          | 404 | the blob is not in the repository |
 * | `BLOB_UPLOAD_INVALID`   | 400 | an upload request is malformed (bad `Content-Range`, ...) |
 * | `BLOB_UPLOAD_UNKNOWN`   | 404 | no upload session with this id in this repository |
 * | `DIGEST_INVALID`        | 400 | a malformed digest, or bytes that do not match it |
 * | `MANIFEST_BLOB_UNKNOWN` | 400 | a manifest references a blob or manifest the repository lacks |
 * | `MANIFEST_INVALID`      | 400 (413 when too large) | a manifest that does not parse, or is above the size limit |
 * | `MANIFEST_UNKNOWN`      | 404 | no manifest under this tag or digest |
 * | `NAME_INVALID`          | 400 | a repository name outside the grammar or too long |
 * | `NAME_UNKNOWN`          | 404 | the repository is not known |
 * | `SIZE_INVALID`          | 400 (413 above the upload limit) | the bytes received do not have the announced size |
 * | `UNAUTHORIZED`          | 401 | credentials missing or wrong |
 * | `DENIED`                | 403 | credentials valid but not allowed to do this |
 * | `UNSUPPORTED`           | 405 or 415 | a method or media type the server does not support |
 * | `TOOMANYREQUESTS`       | 429 | too many upload sessions open |
 *
 * Range errors answer 416: `BLOB_UPLOAD_INVALID` for upload chunks out of
 * order (with the session's `Range`), an empty body with
 * `Content-Range: bytes *\/size` for blob reads. `ERR_REGISTRY_TAG_INVALID`
 * (a tag outside the grammar; v1.1 has no code of its own) answers
 * `MANIFEST_INVALID`.
 *
 * @module
 */
import { TesseraError } from '../../errors.js'

/** Error codes of the OCI distribution spec v1.1. */
export type SpecErrorCode =
  | 'BLOB_UNKNOWN' | 'BLOB_UPLOAD_INVALID' | 'BLOB_UPLOAD_UNKNOWN' | 'DIGEST_INVALID'
  | 'MANIFEST_BLOB_UNKNOWN' | 'MANIFEST_INVALID' | 'MANIFEST_UNKNOWN' | 'NAME_INVALID'
  | 'NAME_UNKNOWN' | 'SIZE_INVALID' | 'UNAUTHORIZED' | 'DENIED' | 'UNSUPPORTED' | 'TOOMANYREQUESTS'

/** The usual HTTP status of each spec code. */
export const SPEC_ERROR_STATUS: Readonly<Record<SpecErrorCode, number>> = {
  BLOB_UNKNOWN: 404,
  BLOB_UPLOAD_INVALID: 400,
  BLOB_UPLOAD_UNKNOWN: 404,
  DIGEST_INVALID: 400,
  MANIFEST_BLOB_UNKNOWN: 400,
  MANIFEST_INVALID: 400,
  MANIFEST_UNKNOWN: 404,
  NAME_INVALID: 400,
  NAME_UNKNOWN: 404,
  SIZE_INVALID: 400,
  UNAUTHORIZED: 401,
  DENIED: 403,
  UNSUPPORTED: 415,
  TOOMANYREQUESTS: 429
}

/** The spec's one-line message of each code. */
const SPEC_MESSAGE: Readonly<Record<SpecErrorCode, string>> = {
  BLOB_UNKNOWN: 'blob unknown to registry',
  BLOB_UPLOAD_INVALID: 'blob upload invalid',
  BLOB_UPLOAD_UNKNOWN: 'blob upload unknown to registry',
  DIGEST_INVALID: 'provided digest did not match uploaded content',
  MANIFEST_BLOB_UNKNOWN: 'manifest references a manifest or blob unknown to registry',
  MANIFEST_INVALID: 'manifest invalid',
  MANIFEST_UNKNOWN: 'manifest unknown to registry',
  NAME_INVALID: 'invalid repository name',
  NAME_UNKNOWN: 'repository name not known to registry',
  SIZE_INVALID: 'provided length did not match content length',
  UNAUTHORIZED: 'authentication required',
  DENIED: 'requested access to the resource is denied',
  UNSUPPORTED: 'the operation is unsupported',
  TOOMANYREQUESTS: 'too many requests'
}

/**
 * An error answered to the client as the spec's JSON body. `message` is
 * for people; `detail` is the spec's free-form detail (a string here).
 */
export class RegistryHttpError extends TesseraError {
  static readonly code = 'ERR_REGISTRY_HTTP'
  /** The spec's error code put in the body. */
  readonly specCode: SpecErrorCode
  /** The HTTP status answered. */
  readonly status: number
  /** Extra response headers (for example `WWW-Authenticate`, `Range`). */
  readonly headers: Record<string, string | string[]>

  constructor (specCode: SpecErrorCode, detail?: string, options: { status?: number, headers?: Record<string, string | string[]>, cause?: unknown } = {}) {
    super(RegistryHttpError.code, detail ?? SPEC_MESSAGE[specCode], options.cause === undefined ? {} : { cause: options.cause })
    this.specCode = specCode
    this.status = options.status ?? SPEC_ERROR_STATUS[specCode]
    this.headers = options.headers ?? {}
  }
}

/** The JSON body of an error response. */
export interface SpecErrorBody {
  errors: Array<{ code: SpecErrorCode, message: string, detail: string | null }>
}

/** The body the spec wants for `error`. */
export function errorBody (error: RegistryHttpError): SpecErrorBody {
  const message = SPEC_MESSAGE[error.specCode]
  return { errors: [{ code: error.specCode, message, detail: error.message === message ? null : error.message }] }
}

/** tessera error codes (from `src/registry/errors.ts` and `src/errors.ts`) and their spec codes. */
const TESSERA_TO_SPEC: Readonly<Record<string, SpecErrorCode>> = {
  ERR_REGISTRY_BLOB_UNKNOWN: 'BLOB_UNKNOWN',
  ERR_REGISTRY_BLOB_UPLOAD_INVALID: 'BLOB_UPLOAD_INVALID',
  ERR_REGISTRY_BLOB_UPLOAD_UNKNOWN: 'BLOB_UPLOAD_UNKNOWN',
  ERR_REGISTRY_DIGEST_INVALID: 'DIGEST_INVALID',
  ERR_REGISTRY_MANIFEST_BLOB_UNKNOWN: 'MANIFEST_BLOB_UNKNOWN',
  ERR_REGISTRY_MANIFEST_INVALID: 'MANIFEST_INVALID',
  ERR_REGISTRY_MANIFEST_UNKNOWN: 'MANIFEST_UNKNOWN',
  ERR_REGISTRY_NAME_INVALID: 'NAME_INVALID',
  ERR_REGISTRY_NAME_UNKNOWN: 'NAME_UNKNOWN',
  ERR_REGISTRY_SIZE_INVALID: 'SIZE_INVALID',
  ERR_REGISTRY_UNSUPPORTED: 'UNSUPPORTED',
  ERR_REGISTRY_DENIED: 'DENIED',
  ERR_REGISTRY_TAG_INVALID: 'MANIFEST_INVALID',
  ERR_INVALID_DIGEST: 'DIGEST_INVALID',
  ERR_UNSUPPORTED: 'UNSUPPORTED'
}

/**
 * The response for any error thrown while handling a request: a
 * {@link RegistryHttpError} as it is, a tessera error by its code (see the
 * table above), fastify's own (body too large, bad content type) by its
 * status; anything else is an internal error (500, no detail leaked).
 */
export function toHttpError (err: unknown): RegistryHttpError | { status: number, body: SpecErrorBody | { errors: Array<{ code: string, message: string, detail: null }> } } {
  if (err instanceof RegistryHttpError) return err
  const code = typeof (err as { code?: unknown })?.code === 'string' ? (err as { code: string }).code : undefined
  const message = err instanceof Error ? err.message : String(err)
  if (code !== undefined) {
    const spec = TESSERA_TO_SPEC[code]
    if (spec !== undefined) return new RegistryHttpError(spec, message, { cause: err })
    if (code === 'ERR_INVALID_RANGE') return new RegistryHttpError('BLOB_UPLOAD_INVALID', message, { status: 416, cause: err })
    if (code === 'FST_ERR_CTP_BODY_TOO_LARGE') return new RegistryHttpError('SIZE_INVALID', 'request body above the size limit', { status: 413, cause: err })
    if (code === 'FST_ERR_CTP_INVALID_MEDIA_TYPE') return new RegistryHttpError('UNSUPPORTED', message, { status: 415, cause: err })
  }
  const status = (err as { statusCode?: unknown })?.statusCode
  if (typeof status === 'number' && status >= 400 && status < 500) {
    return { status, body: { errors: [{ code: 'BAD_REQUEST', message, detail: null }] } }
  }
  return { status: 500, body: { errors: [{ code: 'INTERNAL', message: 'internal server error', detail: null }] } }
}
