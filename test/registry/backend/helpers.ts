/**
 * Helpers of the registry store tests: stores over a database the test can
 * inspect and corrupt, blobs, manifests.
 */
import assert from 'node:assert/strict'
import { createHash } from 'node:crypto'
import { mkdtemp, readdir, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import type { AbstractLevel } from 'abstract-level'
import { openRegistryStore, type LevelRegistryStore } from '../../../src/registry/backend/index.js'
import { openLevelStore, type LocalObjectStore } from '../../../src/store/index.js'

export type Db = AbstractLevel<any, Uint8Array, Uint8Array>
export type DbFactory = () => Promise<Db>

/** A registry store, its object store, its database and its temp directory. */
export interface Fixture {
  db: Db
  store: LocalObjectStore
  registry: LevelRegistryStore
  tempDirectory: string
  close: () => Promise<void>
}

const dirs: string[] = []

/** A fresh directory removed by {@link removeTempDirs}. */
export async function tempDir (prefix = 'tessera-registry-'): Promise<string> {
  const d = await mkdtemp(join(tmpdir(), prefix))
  dirs.push(d)
  return d
}

/** Remove every directory {@link tempDir} made. */
export async function removeTempDirs (): Promise<void> {
  for (const d of dirs.splice(0)) await rm(d, { recursive: true, force: true })
}

/** Open a registry over a database from `factory`. */
export async function openFixture (factory: DbFactory, options: { maxManifestBytes?: number } = {}): Promise<Fixture> {
  const db = await factory()
  const store = await openLevelStore(db)
  const tempDirectory = await tempDir('tessera-spool-')
  const registry = await openRegistryStore(store, { tempDirectory, ...options })
  return { db, store, registry, tempDirectory, close: async () => { await store.close() } }
}

/** Every key and value of the database, hex, in order. */
export async function dump (db: Db): Promise<string[]> {
  const out: string[] = []
  for await (const [k, v] of db.iterator()) out.push(`${Buffer.from(k).toString('hex')}=${Buffer.from(v).toString('hex')}`)
  return out
}

/** `sha256:` digest of bytes. */
export function digestOf (bytes: Uint8Array): string {
  return `sha256:${createHash('sha256').update(bytes).digest('hex')}`
}

/** `bytes` as a stream of pieces of `size` bytes. */
export async function * streamOf (bytes: Uint8Array, size = 7000): AsyncIterable<Uint8Array> {
  for (let at = 0; at < bytes.length; at += size) yield bytes.subarray(at, at + size)
}

/** Collect a stream. */
export async function collect (stream: AsyncIterable<Uint8Array>): Promise<Buffer> {
  const parts: Uint8Array[] = []
  for await (const p of stream) parts.push(p)
  return Buffer.concat(parts)
}

/** An assert.rejects predicate on the error code. */
export const code = (expected: string) => (err: unknown): boolean => {
  assert.equal((err as { code?: string }).code, expected, `expected ${expected}, got ${String((err as Error).stack)}`)
  return true
}

/** Names of the files in a directory. */
export async function filesIn (dir: string): Promise<string[]> { return await readdir(dir) }

/** Bytes of a JSON document. */
export function json (value: unknown): Uint8Array { return new Uint8Array(Buffer.from(JSON.stringify(value))) }

/** An OCI image manifest of a config and layers. */
export function imageManifest (config: Uint8Array, layers: Uint8Array[], extra: Record<string, unknown> = {}): Uint8Array {
  return json({
    schemaVersion: 2,
    mediaType: 'application/vnd.oci.image.manifest.v1+json',
    config: { mediaType: 'application/vnd.oci.image.config.v1+json', digest: digestOf(config), size: config.length },
    layers: layers.map((l) => ({ mediaType: 'application/vnd.oci.image.layer.v1.tar+gzip', digest: digestOf(l), size: l.length })),
    ...extra
  })
}

/** An OCI index of manifests. */
export function imageIndex (manifests: Uint8Array[]): Uint8Array {
  return json({
    schemaVersion: 2,
    mediaType: 'application/vnd.oci.image.index.v1+json',
    manifests: manifests.map((m) => ({ mediaType: 'application/vnd.oci.image.manifest.v1+json', digest: digestOf(m), size: m.length, platform: { os: 'linux', architecture: 'amd64' } }))
  })
}
