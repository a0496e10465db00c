/** fast-check generators for tree entries (shared by format and store tests). */
import fc from 'fast-check'
import type { ChunkRef, Entry, InodeAttrs, Xattr } from '../../src/format/entry.js'
import { compareBytes } from '../../src/hash/digest.js'

const nameByte = fc.integer({ min: 1, max: 255 }).filter((b) => b !== 0x2f)
/** A valid entry name as raw bytes (not "." or ".."). */
export const arbName = fc.uint8Array({ minLength: 1, maxLength: 40 })
  .map((a) => a.map((b) => (b === 0 || b === 0x2f ? 0x41 : b)))
  .filter((a) => !(a[0] === 0x2e && (a.length === 1 || (a.length === 2 && a[1] === 0x2e))))
void nameByte

const arbDigest = fc.uint8Array({ minLength: 32, maxLength: 32 })

const arbXattrs: fc.Arbitrary<Xattr[]> = fc.uniqueArray(
  fc.tuple(fc.uint8Array({ minLength: 1, maxLength: 20 }).map((k) => k.map((b) => (b === 0 ? 1 : b))), fc.uint8Array({ maxLength: 30 })),
  { maxLength: 3, comparator: (a, b) => compareBytes(a[0], b[0]) === 0 }
).map((list) => list.sort((a, b) => compareBytes(a[0], b[0])) as Xattr[])

const arbAttrs: fc.Arbitrary<InodeAttrs> = fc.record({
  mode: fc.integer({ min: 0, max: 0o7777 }),
  uid: fc.oneof(fc.constant(0), fc.integer({ min: 0, max: 2 ** 32 - 1 })),
  gid: fc.oneof(fc.constant(0), fc.integer({ min: 0, max: 2 ** 32 - 1 })),
  mtimeNs: fc.bigInt({ min: -(2n ** 62n), max: 2n ** 62n }),
  xattrs: arbXattrs
})

const arbChunks: fc.Arbitrary<ChunkRef[]> = fc.array(fc.record({ digest: arbDigest, length: fc.integer({ min: 1, max: 2 ** 32 - 1 }) }), { minLength: 1, maxLength: 5 })

/** Any entry except its name (filled in by {@link arbEntries}). */
export const arbEntryBody = (inlineMax: number): fc.Arbitrary<Omit<Entry, 'name'>> => fc.oneof(
  fc.tuple(arbAttrs, fc.uint8Array({ maxLength: inlineMax })).map(([a, bytes]) => ({ kind: 'file' as const, ...a, size: bytes.length, content: bytes })),
  fc.tuple(arbAttrs, arbChunks).map(([a, chunks]) => {
    const size = chunks.reduce((n, c) => n + c.length, 0)
    return size > inlineMax ? { kind: 'file' as const, ...a, size, content: chunks } : { kind: 'file' as const, ...a, size: 0, content: new Uint8Array(0) }
  }),
  fc.tuple(arbAttrs, arbDigest).map(([a, tree]) => ({ kind: 'dir' as const, ...a, tree })),
  fc.tuple(arbAttrs, fc.uint8Array({ minLength: 1, maxLength: 50 }).map((t) => t.map((b) => (b === 0 ? 1 : b)))).map(([a, target]) => ({ kind: 'symlink' as const, ...a, target })),
  fc.array(arbName, { minLength: 1, maxLength: 3 }).map((names) => ({ kind: 'hardlink' as const, path: new Uint8Array(Buffer.from(names.map((n) => Buffer.from(n).toString('latin1')).join('/'), 'latin1')) })),
  fc.tuple(arbAttrs, fc.constantFrom('fifo' as const, 'socket' as const)).map(([a, kind]) => ({ kind, ...a })),
  fc.tuple(arbAttrs, fc.constantFrom('char' as const, 'block' as const), fc.nat(2 ** 32 - 1), fc.nat(2 ** 32 - 1)).map(([a, kind, major, minor]) => ({ kind, ...a, major, minor }))
)

/** A sorted, duplicate-free list of entries. */
export const arbEntries = (inlineMax = 64): fc.Arbitrary<Entry[]> =>
  fc.uniqueArray(arbName, { maxLength: 12, comparator: (a, b) => compareBytes(a, b) === 0 })
    .chain((names) => fc.tuple(...names.map(() => arbEntryBody(inlineMax))).map((bodies) => {
      const sorted = [...names].sort(compareBytes)
      return sorted.map((name, i) => ({ ...bodies[i]!, name }) as Entry)
    }))
