/**
 * `tessera serve`: an OCI distribution-spec v1.1 registry over a
 * {@link RegistryStore}, built on fastify.
 *
 * Contract:
 * - Every route of the spec: `/v2/`, blob `GET`/`HEAD` (with `Range`) and
 *   `DELETE`, uploads (`POST`, chunked `PATCH`, `PUT`, monolithic `POST`,
 *   cross-repository mount), manifests by tag and digest
 *   (`GET`/`HEAD`/`PUT`/`DELETE`), tag listing with `Link` pagination, the
 *   referrers API; plus `GET /tessera/stats` (the store's figures).
 * - Errors are the spec's JSON body with its codes (`errors.ts`); a request
 *   that fails leaves the store as it was (the store commits a blob only
 *   after its digest and size matched).
 * - Blob bodies are streamed to upload files or to the store, never held
 *   whole in memory; manifests are read up to a limit (`limits.ts`).
 * - Listens on `127.0.0.1` unless told otherwise; optional basic/bearer
 *   authentication (`auth.ts`).
 *
 * Files: `server.ts` (the factory and URL routing), `routes/` (one file per
 * route group), `uploads.ts` (upload sessions), `auth.ts`, `limits.ts`,
 * `names.ts` (name, tag, digest grammars), `ranges.ts`, `errors.ts`.
 *
 * @module
 */
export { createRegistryServer, routeUrl, type ListenOptions, type RegistryServer, type RegistryServerOptions } from './server.js'
export { DEFAULT_REGISTRY_LIMITS, resolveRegistryLimits, type RegistryLimits } from './limits.js'
export { Authenticator, hashPassword, verifyPassword, loadAuthConfig, parseAuthConfig, type Access as RegistryAccess, type AuthConfig, type Principal as RegistryPrincipal } from './auth.js'
export { RegistryHttpError, SPEC_ERROR_STATUS, errorBody, toHttpError, type SpecErrorCode, type SpecErrorBody } from './errors.js'
export { parseRangeHeader, contentRange, type RangeRequest } from './ranges.js'
