/**
 * Hostile input the issue lists that no other test covers: directories
 * nested 10,000 deep, a path 1 MiB long, a layer of a million empty files,
 * and fuzzing of OCI JSON documents, gzip/zstd streams and stored objects
 * (each either succeeds or fails with one of tessera's own `ERR_` codes).
 * Covered elsewhere: tar headers declaring petabytes and random tar
 * mutations (test/tar/reader-hostile.test.ts), decompression bombs
 * (test/tar/compression.test.ts), symlink loops (test/layers/apply.test.ts),
 * hard links out of the rootfs (test/layers/layer-file.test.ts), a manifest
 * with 100,000 layers (test/oci-sources/json.test.ts), single-byte changes
 * of tree encodings (test/format/codec.test.ts).
 */
import { test } from 'node:test'
import assert from 'node:assert/strict'
import { gzipSync } from 'node:zlib'
import { mkdtemp, readdir, rm, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import fc from 'fast-check'
import { TesseraError } from '../../src/errors.js'
import { writeTar, type TarEntry } from '../../src/tar/index.js'
import { autoDecompress } from '../../src/tar/compression.js'
import { flattenLayers } from '../../src/flatten/flatten.js'
import { importLayerFile } from '../../src/importer/layer-file.js'
import { openMemoryStore } from '../../src/store/open.js'
import { SnapshotReader } from '../../src/exporter/snapshot-reader.js'
import { exportDirectory } from '../../src/exporter/directory.js'
import { DEFAULT_SNAPSHOT_PARAMS, decodeSnapshot } from '../../src/format/snapshot.js'
import { decodeTree } from '../../src/format/tree.js'
import { decodeStored } from '../../src/store/stored-object.js'
import { loadZstd } from '../../src/store/zstd.js'
import { sha256 } from '../../src/hash/index.js'
import { parseConfig, parseIndex, parseManifest, parseDockerArchiveManifest } from '../../src/oci/json.js'

const root = await mkdtemp(join(tmpdir(), 'tessera-hostile-'))
test.after(async () => { await rm(root, { recursive: true, force: true }) })
const b = (s: string): Buffer => Buffer.from(s)
const file = (path: string, data = ''): TarEntry => ({ path: b(path), type: 'file', mode: 0o644, uid: 0, gid: 0, mtimeNs: 0n, size: data.length, content: data.length > 0 ? [b(data)] : [] })
const ownError = (err: unknown): boolean => {
  assert.ok(err instanceof TesseraError && /^ERR_[A-Z_]+$/.test(err.code), `not a tessera error: ${String(err)}`)
  return true
}

async function layerFile (name: string, entries: Iterable<TarEntry>): Promise<string> {
  const parts: Uint8Array[] = []
  for await (const piece of writeTar(entries)) parts.push(piece)
  const path = join(root, name)
  await writeFile(path, Buffer.concat(parts))
  return path
}

test('directories nested 10,000 deep are ERR_LIMIT_EXCEEDED; 1,000 deep import and export inside the target', async () => {
  const store = await openMemoryStore()
  const deep = await layerFile('deep.tar', [file('d/'.repeat(10_000) + 'f', 'x')])
  await assert.rejects(importLayerFile(store, deep, { name: 'deep' }), (err: any) => err.code === 'ERR_LIMIT_EXCEEDED' && /maxDepth/.test(err.message))
  assert.equal(await store.getRef('deep'), undefined)
  const ok = await layerFile('deep-ok.tar', [file('d/'.repeat(1000) + 'f', 'x')])
  await importLayerFile(store, ok, { name: 'deep-ok' })
  const target = join(root, 'deep-out')
  await exportDirectory(await SnapshotReader.open(store, 'deep-ok'), target)
  assert.deepEqual(await readdir(target), ['d'])
  await store.close()
})

test('a path 1 MiB long is refused by the header limit, and nothing is committed', async () => {
  const store = await openMemoryStore()
  const long = await layerFile('long.tar', [file('p/'.repeat(512 * 1024) + 'f', 'x')])
  await assert.rejects(importLayerFile(store, long, { name: 'long' }), (err: any) => err.code === 'ERR_TAR_HEADER_TOO_LARGE')
  // A single component of 1 MiB is refused as well.
  const wide = await layerFile('wide.tar', [file('n'.repeat(1024 * 1024), 'x')])
  await assert.rejects(importLayerFile(store, wide, { name: 'wide' }), ownError)
  assert.equal(await store.getRef('long'), undefined)
  await store.close()
})

test('a layer of a million empty files stops at maxEntries without reading the rest', async () => {
  const store = await openMemoryStore()
  let produced = 0
  function * million (): Iterable<TarEntry> {
    for (let i = 0; i < 1_000_000; i++) { produced++; yield file(`d${i % 1000}/f${i}`) }
  }
  await assert.rejects(flattenLayers(store, [{ label: 'million', open: () => writeTar(million()) }], { params: DEFAULT_SNAPSHOT_PARAMS, maxEntries: 20_000 }),
    (err: any) => err.code === 'ERR_LIMIT_EXCEEDED' && /maxEntries/.test(err.message))
  assert.ok(produced < 40_000, `stopped early: ${produced} entries generated`)
  await store.close()
})

test('OCI JSON documents: any bytes parse or fail with an ERR_ code (property)', () => {
  const valid = b(JSON.stringify({ schemaVersion: 2, mediaType: 'application/vnd.oci.image.manifest.v1+json', config: { mediaType: 'application/vnd.oci.image.config.v1+json', digest: 'sha256:' + 'a'.repeat(64), size: 2 }, layers: [] }))
  const mutated = fc.tuple(fc.nat(valid.length - 1), fc.integer({ min: 0, max: 255 }), fc.nat(valid.length)).map(([at, byte, cut]) => {
    const m = Buffer.from(valid)
    m[at] = byte
    return m.subarray(0, Math.max(cut, at + 1))
  })
  const json = fc.jsonValue({ maxDepth: 6 }).map((v) => b(JSON.stringify(v)))
  fc.assert(fc.property(fc.oneof(mutated, json, fc.uint8Array({ maxLength: 300 })), (bytes) => {
    for (const parse of [parseManifest, parseIndex, parseConfig, parseDockerArchiveManifest] as Array<(x: Uint8Array) => unknown>) {
      try { parse(bytes) } catch (err) { ownError(err) }
    }
  }), { numRuns: 500, seed: 11 })
})

test('gzip and zstd streams: corrupted or random input decompresses or fails with an ERR_ code (property)', async () => {
  const payload = b('tessera '.repeat(2000))
  const gz = gzipSync(payload)
  await fc.assert(fc.asyncProperty(fc.nat(gz.length - 1), fc.integer({ min: 0, max: 255 }), fc.boolean(), async (at, byte, truncate) => {
    const m = Buffer.from(gz)
    m[at] = byte
    try {
      for await (const piece of autoDecompress([truncate ? m.subarray(0, at + 1) : m], { maxOutputBytes: 1 << 20 })) assert.ok(piece.length >= 0)
    } catch (err) { ownError(err) }
  }), { numRuns: 150, seed: 12 })
  // A zstd frame magic followed by junk.
  try {
    for await (const piece of autoDecompress([Buffer.concat([Buffer.from([0x28, 0xb5, 0x2f, 0xfd]), Buffer.alloc(64, 0xee)])], { maxOutputBytes: 1 << 20 })) assert.ok(piece.length >= 0)
  } catch (err) { ownError(err) }
})

test('stored tree and snapshot objects: any bytes decode or fail with ERR_INTEGRITY / ERR_NON_CANONICAL (property)', async () => {
  await loadZstd()
  fc.assert(fc.property(fc.uint8Array({ maxLength: 400 }), (bytes) => {
    for (const decode of [decodeTree, decodeSnapshot] as Array<(x: Uint8Array) => unknown>) {
      try { decode(bytes) } catch (err) { assert.ok(ownError(err) && ['ERR_NON_CANONICAL'].includes((err as TesseraError).code), String(err)) }
    }
    // As a stored object under the digest of some other bytes: never accepted.
    const digest = sha256.digest(Buffer.concat([b('other'), bytes]))
    assert.throws(() => decodeStored(bytes, digest, 'tree', 1 << 20), (err: any) => err.code === 'ERR_INTEGRITY')
  }), { numRuns: 1000, seed: 13 })
})
