/**
 * Pack recipes (docs/FORMAT.md §10, "Pack recipes"): any pack of records,
 * with any of its chunks already in the store in the same or another
 * stored form, splits into a recipe that rebuilds it byte for byte, whole
 * and by any range; packs built from stored chunks too. Golden vector G11
 * pins the encoding.
 */
import { test } from 'node:test'
import assert from 'node:assert/strict'
import { createHash } from 'node:crypto'
import { join } from 'node:path'
import { writeFile } from 'node:fs/promises'
import fc from 'fast-check'
import { buildPackRecipe, decodePackRecipe, rebuildPack, splitPack } from '../../../src/registry/recipe/index.js'
import { encodeStored } from '../../../src/store/index.js'
import { lcgBytes } from '../../helpers/fixture.js'
import { collect, memoryStore, tempDir } from './helpers.js'

const sha = (b: Uint8Array): Buffer => createHash('sha256').update(b).digest()
const hex = (b: Uint8Array): string => Buffer.from(b).toString('hex')

/** A pack blob of records `[digest, u32 LE length, stored]`, after the header. */
function packOf (records: Array<{ digest: Uint8Array, stored: Uint8Array }>): Buffer {
  const parts: Buffer[] = [Buffer.from('tspack1\n', 'latin1')]
  for (const r of records) {
    const header = Buffer.alloc(36)
    Buffer.from(r.digest).copy(header)
    header.writeUInt32LE(r.stored.length, 32)
    parts.push(header, Buffer.from(r.stored))
  }
  return Buffer.concat(parts)
}

/** Compressible bytes of `n`, from `seed`. */
const text = (n: number, seed: number): Buffer => Buffer.from(lcgBytes(n, seed).map((b) => 97 + (b % 4)))

test('property: any pack splits into a recipe that rebuilds it, whole and by any range', async () => {
  const { dir, cleanup } = await tempDir()
  let n = 0
  try {
    await fc.assert(fc.asyncProperty(
      fc.array(fc.record({
        size: fc.integer({ min: 1, max: 3000 }),
        seed: fc.integer({ min: 1, max: 50 }), // few seeds: chunks repeat inside and across packs
        level: fc.constantFrom(0, 1, 5, 19),
        before: fc.constantFrom('absent', 'same', 'other')
      }), { minLength: 1, maxLength: 12 }),
      fc.array(fc.tuple(fc.nat(), fc.nat()), { minLength: 1, maxLength: 6 }),
      async (specs, cuts) => {
        const { store } = await memoryStore()
        try {
          const records = []
          for (const s of specs) {
            const bytes = text(s.size, s.seed)
            const digest = sha(bytes)
            const stored = encodeStored(bytes, { level: s.level })
            if (s.before === 'same' && !await store.hasChunk(digest)) await store.putEncodedChunk(digest, bytes.length, stored)
            if (s.before === 'other' && !await store.hasChunk(digest)) await store.putEncodedChunk(digest, bytes.length, encodeStored(bytes, { level: s.level === 0 ? 3 : 0 }))
            records.push({ digest, stored })
          }
          await store.flush()
          const blob = packOf(records)
          const file = join(dir, `pack-${n++}`)
          await writeFile(file, blob)
          const digest = `sha256:${hex(sha(blob))}`
          const split = await splitPack(file, { digest, size: blob.length }, store)
          assert.equal(split.kind, 'pack', split.kind === 'bad' ? split.reason : split.kind)
          if (split.kind !== 'pack') return
          assert.equal(split.records + split.kept, records.length)
          const recipe = decodePackRecipe(split.recipe)
          assert.ok((await collect(rebuildPack(recipe, store))).equals(blob))
          const singles = cuts.map(([a, b]) => {
            const start = a % (blob.length + 1)
            return { start, end: start + (b % (blob.length - start + 1)) }
          })
          for (const { start, end } of singles) {
            assert.ok((await collect(rebuildPack(recipe, store, { range: { start, end } }))).equals(blob.subarray(start, end)), `range [${start}, ${end})`)
          }
          // The same ranges at once, made ascending and apart.
          const ranges: Array<{ start: number, end: number }> = []
          for (const r of singles.filter((r) => r.end > r.start).sort((x, y) => x.start - y.start)) {
            const last = ranges.at(-1)
            if (last !== undefined && r.start <= last.end) last.end = Math.max(last.end, r.end)
            else ranges.push({ ...r })
          }
          if (ranges.length > 0) {
            assert.ok((await collect(rebuildPack(recipe, store, { ranges }))).equals(Buffer.concat(ranges.map((r) => blob.subarray(r.start, r.end)))), JSON.stringify(ranges))
          }
        } finally {
          await store.close()
        }
      }), { numRuns: 40 })
  } finally {
    await cleanup()
  }
})

test('a pack built from stored chunks describes its records where they are, and rebuilds to its digest', async () => {
  const { store } = await memoryStore()
  try {
    const chunks = []
    for (let i = 0; i < 100; i++) {
      const bytes = i % 2 === 0 ? lcgBytes(700 + i, i + 1) : text(900 + i, i + 1)
      const digest = sha(bytes)
      await store.putChunk(digest, bytes)
      chunks.push({ digest, length: bytes.length })
    }
    await store.flush()
    const built = await buildPackRecipe(chunks, store)
    const blob = await collect(rebuildPack(decodePackRecipe(built.recipe), store))
    assert.equal(blob.length, built.size)
    assert.equal(hex(sha(blob)), hex(built.digest))
    assert.equal(hex(built.chunks), chunks.map((c) => hex(c.digest)).join(''))
    const stored = await store.readStoredChunks(chunks.map((c) => c.digest))
    for (let j = 0; j < chunks.length; j++) {
      const at = built.offsets[j]!
      assert.equal(hex(blob.subarray(at - 36, at - 4)), hex(chunks[j]!.digest))
      assert.equal(blob.readUInt32LE(at - 4), built.storedLengths[j])
      assert.ok(blob.subarray(at, at + built.storedLengths[j]!).equals(Buffer.from(stored[j]!)), 'the store\'s own stored object')
      assert.equal(built.lengths[j], chunks[j]!.length)
    }
    assert.equal(built.offsets[0], 44)
  } finally {
    await store.close()
  }
})

test('golden vector G11: the pack recipe of a two-record pack (docs/FORMAT.md §10)', async () => {
  const { dir, cleanup } = await tempDir()
  const { store } = await memoryStore()
  try {
    const a = text(300, 11)
    const b = lcgBytes(200, 12)
    // The store holds `a` compressed; the pack carries both raw: `b` is stored
    // as pushed, `a`'s record differs from the store's and goes into the meta stream.
    await store.putEncodedChunk(sha(a), a.length, encodeStored(a, { level: 5 }))
    await store.flush()
    const raw = (bytes: Uint8Array): Buffer => Buffer.concat([Buffer.from([0]), bytes])
    const blob = packOf([{ digest: sha(b), stored: raw(b) }, { digest: sha(a), stored: raw(a) }])
    assert.equal(blob.length, 8 + 36 + 201 + 36 + 301)
    const file = join(dir, 'g11')
    await writeFile(file, blob)
    const digest = `sha256:${hex(sha(blob))}`
    assert.equal(digest, G11_BLOB)
    const split = await splitPack(file, { digest, size: blob.length }, store)
    assert.equal(split.kind, 'pack')
    if (split.kind !== 'pack') return
    assert.deepEqual([split.records, split.kept, split.encodedBytes], [1, 1, 201])
    assert.equal(hex(split.recipe), G11_RECIPE, 'the recipe bytes')
    assert.equal(hex(sha(split.recipe)), G11_DIGEST)
    assert.ok((await collect(rebuildPack(decodePackRecipe(split.recipe), store))).equals(blob))
  } finally {
    await store.close()
    await cleanup()
  }
})

const G11_BLOB = 'sha256:2fb0ebe0e4ac7601d15d5240a28f84831eb876dda87366e5535dba3e8269eb44'
const G11_RECIPE = '970501cd0246c4202fb0ebe0e4ac7601d15d5240a28f84831eb876dda87366e5535dba3e8269eb44019300cd01599192c42065797c6250e3a4f90fb72d5229119c5181f36c4f85002ac787923a937f8be0d4cd01599300289192c4209a1cea7b88c442371be8d4c30e6107798991018e5436e24629a5c8346202ac8928'
const G11_DIGEST = '718105bf43edfd99e782447ca1f035a94c31f0bb0ddb0d8617bb20330696cf8e'
