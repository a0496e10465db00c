/**
 * Shared by the registry client tests: blobs, manifests, and a client
 * opened on a host with fast retries.
 */
import assert from 'node:assert/strict'
import { createHash } from 'node:crypto'
import { openRepository, type ByteRange, type HttpRepository, type RegistryClientOptions } from '../../../src/distribution/client/index.js'

/** `sha256:<hex>` of bytes. */
export const digestOf = (bytes: Uint8Array | string): string => `sha256:${createHash('sha256').update(bytes).digest('hex')}`

/** Deterministic pseudo-random bytes. */
export function randomBlob (n: number, seed = 1): Buffer {
  const out = Buffer.alloc(n)
  let x = seed >>> 0
  for (let i = 0; i < n; i++) {
    x = (Math.imul(x, 1103515245) + 12345) >>> 0
    out[i] = x >>> 24
  }
  return out
}

/** Open `docker://HOST/REPO` over plain HTTP with quick retries. */
export function open (host: string, repository: string, options: RegistryClientOptions = {}): HttpRepository {
  return openRepository(`docker://${host}/${repository}`, { tlsVerify: false, retryDelayMs: 5, ...options }) as HttpRepository
}

export const OCI_MANIFEST = 'application/vnd.oci.image.manifest.v1+json'
export const CONFIG = Buffer.from('{"architecture":"amd64","os":"linux"}')

/** An OCI image manifest over the config and blobs (pushed by the caller). */
export function manifestOf (blobs: Uint8Array[], extra: Record<string, unknown> = {}): Buffer {
  return Buffer.from(JSON.stringify({
    schemaVersion: 2,
    mediaType: OCI_MANIFEST,
    config: { mediaType: 'application/vnd.oci.image.config.v1+json', digest: digestOf(CONFIG), size: CONFIG.length },
    layers: blobs.map((b) => ({ mediaType: 'application/octet-stream', digest: digestOf(b), size: b.length })),
    ...extra
  }))
}

/** Push the config and `blobs`, then the manifest under `tag`; returns the manifest's digest and bytes. */
export async function pushImage (repo: HttpRepository, tag: string, blobs: Uint8Array[] = [], extra: Record<string, unknown> = {}): Promise<{ digest: string, bytes: Buffer }> {
  await repo.putBlob({ digest: digestOf(CONFIG), size: CONFIG.length }, CONFIG)
  for (const b of blobs) await repo.putBlob({ digest: digestOf(b), size: b.length }, b)
  const bytes = manifestOf(blobs, extra)
  const digest = await repo.putManifest(tag, OCI_MANIFEST, bytes)
  return { digest, bytes }
}

/**
 * Read getRanges to the end and check it against the blob: every entry of
 * `ranges` (by identity) yielded exactly once, with the blob's bytes.
 */
export async function assertRanges (iter: AsyncIterable<{ range: ByteRange, bytes: Uint8Array }>, ranges: ByteRange[], blob: Uint8Array): Promise<void> {
  const count = new Map<ByteRange, number>()
  for await (const { range, bytes } of iter) {
    assert.ok(ranges.includes(range), 'a range that was asked for')
    count.set(range, (count.get(range) ?? 0) + 1)
    assert.ok(Buffer.from(bytes).equals(Buffer.from(blob.subarray(range.offset, range.offset + range.length))), `bytes of ${range.offset}+${range.length}`)
  }
  for (const r of ranges) assert.equal(count.get(r), 1, `range ${r.offset}+${r.length} yielded once`)
}
