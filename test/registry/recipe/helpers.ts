/** Helpers of the layer tests: a store, blobs on disk, decompose + rebuild. */
import assert from 'node:assert/strict'
import { createHash } from 'node:crypto'
import { mkdtemp, rm, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { MemoryLevel } from 'memory-level'
import { decomposeLayer, rebuildLayer } from '../../../src/registry/recipe/index.js'
import type { LayerDecomposition } from '../../../src/registry/recipe/index.js'
import fc from 'fast-check'
import { lcgBytes } from '../../helpers/fixture.js'
import { encodeUstarHeader } from '../../../src/tar/header.js'
import { openLevelStore, type LocalObjectStore } from '../../../src/store/index.js'

/** A memory store and its database (to corrupt values in tests). */
export async function memoryStore (): Promise<{ store: LocalObjectStore, db: MemoryLevel<Uint8Array, Uint8Array> }> {
  const db = new MemoryLevel<Uint8Array, Uint8Array>({ keyEncoding: 'view', valueEncoding: 'view' })
  const store = await openLevelStore(db as any)
  return { store, db }
}

export function digestOf (bytes: Uint8Array): string {
  return 'sha256:' + createHash('sha256').update(bytes).digest('hex')
}

/** A fresh temporary directory, removed by `cleanup`. */
export async function tempDir (): Promise<{ dir: string, cleanup: () => Promise<void> }> {
  const dir = await mkdtemp(join(tmpdir(), 'tessera-layer-'))
  return { dir, cleanup: async () => await rm(dir, { recursive: true, force: true }) }
}

export async function collect (source: AsyncIterable<Uint8Array>): Promise<Buffer> {
  const parts: Uint8Array[] = []
  for await (const p of source) parts.push(p)
  return Buffer.concat(parts)
}

let counter = 0
/** Write `bytes` to a file in `dir` and decompose it. */
export async function decomposeBytes (dir: string, bytes: Uint8Array, store: LocalObjectStore): Promise<LayerDecomposition> {
  const file = join(dir, `blob-${counter++}`)
  await writeFile(file, bytes)
  return await decomposeLayer(file, { digest: digestOf(bytes), size: bytes.length }, store)
}

/** Decompose, expect `reproduced` in `format`, and check the rebuild (whole and some ranges). */
export async function assertReproduced (dir: string, bytes: Uint8Array, store: LocalObjectStore, format: string): Promise<Uint8Array> {
  const r = await decomposeBytes(dir, bytes, store)
  assert.equal(r.kind, 'reproduced', r.kind === 'whole' ? r.reason : '')
  if (r.kind !== 'reproduced') throw new Error('unreachable')
  assert.equal(r.format, format)
  assert.ok(r.recipe.length < 64 * 1024)
  const again = await collect(rebuildLayer(r.recipe, store))
  assert.ok(again.equals(Buffer.from(bytes)), 'rebuild equals the blob')
  const n = bytes.length
  for (const [s, e] of [[0, 1], [1, Math.min(n, 700)], [Math.floor(n / 3), Math.floor(n / 2)], [n - 1, n], [0, n], [n, n]] as const) {
    const part = await collect(rebuildLayer(r.recipe, store, { range: { start: s, end: e } }))
    assert.ok(part.equals(Buffer.from(bytes.subarray(s, e))), `range [${s}, ${e})`)
  }
  return r.recipe
}

const utf8 = (s: string): Uint8Array => new TextEncoder().encode(s)

/** A plain ustar archive of regular files (0644, uid 0, mtime 0), in the order given. */
export function tarOf (files: Array<[string, Uint8Array]>): Buffer {
  const parts: Uint8Array[] = []
  for (const [name, content] of files) {
    parts.push(encodeUstarHeader({ name: utf8(name), prefix: new Uint8Array(0), mode: 0o644, uid: 0, gid: 0, size: content.length, mtime: 0, typeflag: '0', linkname: new Uint8Array(0), uname: new Uint8Array(0), gname: new Uint8Array(0), devmajor: 0, devminor: 0 }))
    parts.push(content, new Uint8Array((512 - (content.length % 512)) % 512))
  }
  parts.push(new Uint8Array(1024))
  return Buffer.concat(parts)
}

/**
 * One to five files for {@link tarOf}: random bytes, incompressible noise
 * of up to `maxNoiseBytes`, or a repeated string (compressible).
 */
export function tarFiles (maxNoiseBytes: number): fc.Arbitrary<Array<[string, Uint8Array]>> {
  const content = fc.oneof(
    fc.uint8Array({ maxLength: 70_000 }),
    fc.tuple(fc.integer({ min: 0, max: maxNoiseBytes }), fc.integer({ min: 1, max: 1000 })).map(([n, seed]): Uint8Array => lcgBytes(n, seed)),
    fc.tuple(fc.string({ minLength: 1, maxLength: 40 }), fc.integer({ min: 1, max: 20_000 })).map(([s, n]) => utf8(s.repeat(n)))
  )
  return fc.array(fc.tuple(fc.stringMatching(/^[a-z]{1,20}$/), content), { minLength: 1, maxLength: 5 })
}
