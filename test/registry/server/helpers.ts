/**
 * Shared by the server tests: start a registry server over a store on a
 * free port with a fresh upload directory, and small HTTP helpers.
 */
import { createHash } from 'node:crypto'
import { mkdtemp, readdir, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { createRegistryServer, type RegistryServer, type RegistryServerOptions } from '../../../src/registry/server/index.js'
import type { RegistryStore } from '../../../src/registry/types.js'

/** A store under test and how to look inside it. */
export interface StoreUnderTest {
  registry: RegistryStore
  /** Everything the store holds, in a form that compares equal when nothing changed. */
  dump: () => Promise<unknown>
  close: () => Promise<void>
}

/** A running server. */
export interface Running {
  url: string
  server: RegistryServer
  store: StoreUnderTest
  uploadDirectory: string
  /** Files in the upload directory now. */
  uploadFiles: () => Promise<string[]>
  stop: () => Promise<void>
}

/** Start a server over `store` on 127.0.0.1 and a free port. */
export async function startServer (store: StoreUnderTest, options: Omit<RegistryServerOptions, 'uploadDirectory'> = {}): Promise<Running> {
  const dir = await mkdtemp(join(tmpdir(), 'tessera-serve-'))
  const uploadDirectory = join(dir, 'uploads')
  const server = await createRegistryServer(store.registry, { ...options, uploadDirectory })
  const url = await server.listen({ port: 0 })
  return {
    url,
    server,
    store,
    uploadDirectory,
    uploadFiles: async () => await readdir(uploadDirectory),
    stop: async () => {
      await server.close()
      await store.close()
      await rm(dir, { recursive: true, force: true })
    }
  }
}

/** `sha256:<hex>` of bytes. */
export const digestOf = (bytes: Uint8Array | string): string => `sha256:${createHash('sha256').update(bytes).digest('hex')}`

/** The spec's error code of a response body. */
export async function errorCode (response: Response): Promise<string | undefined> {
  const body = await response.json() as { errors?: Array<{ code: string }> }
  return body.errors?.[0]?.code
}

/** Push a blob in one monolithic POST; returns its digest. */
export async function pushBlob (url: string, repository: string, bytes: Uint8Array | string, headers: Record<string, string> = {}): Promise<string> {
  const digest = digestOf(bytes)
  const r = await fetch(`${url}/v2/${repository}/blobs/uploads/?digest=${digest}`, { method: 'POST', body: bytes, headers: { 'content-type': 'application/octet-stream', ...headers } })
  if (r.status !== 201) throw new Error(`push blob: ${r.status} ${await r.text()}`)
  return digest
}

/** An OCI image manifest over a config and layers already pushed. */
export function imageManifest (config: { digest: string, size: number }, layers: Array<{ digest: string, size: number }>, extra: Record<string, unknown> = {}): string {
  return JSON.stringify({
    schemaVersion: 2,
    mediaType: 'application/vnd.oci.image.manifest.v1+json',
    config: { mediaType: 'application/vnd.oci.image.config.v1+json', ...config },
    layers: layers.map((l) => ({ mediaType: 'application/vnd.oci.image.layer.v1.tar+gzip', ...l })),
    ...extra
  })
}

/** Push a manifest; returns the response. */
export async function putManifest (url: string, repository: string, reference: string, body: string, mediaType = 'application/vnd.oci.image.manifest.v1+json', headers: Record<string, string> = {}): Promise<Response> {
  return await fetch(`${url}/v2/${repository}/manifests/${reference}`, { method: 'PUT', body, headers: { 'content-type': mediaType, ...headers } })
}
