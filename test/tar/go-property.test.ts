/**
 * Property tests against Go's `archive/tar` (the oracle built from
 * scripts/tar-oracle): archives generated from a model, with numeric fields
 * in every encoding readers accept (zero-padded, space- or NUL-led, without
 * terminator, base 256, negative times, times past 2262), PAX records
 * (several headers in a row, global headers, zero-padded decimals, `+`
 * signs, xattrs), GNU long names and sparse files in all four formats, must
 * be read by tessera's `'go'` dialect exactly as Go reads them: the same
 * entries, fields and contents when Go reads the archive, an error when Go
 * fails on it.
 */
import { createHash } from 'node:crypto'
import fs from 'node:fs'
import os from 'node:os'
import path from 'node:path'
import { test } from 'node:test'
import assert from 'node:assert/strict'
import fc from 'fast-check'
import { encodePaxRecords, writeTar } from '../../src/tar/index.js'
import { goList, goReading, goSkip, tesseraReading, type Reading, type View } from './go-oracle.js'
import { resum } from './reader-helpers.js'

const skip = goSkip()

type NumStyle = 'octal' | 'octal-space' | 'leading-spaces' | 'leading-nuls' | 'full' | 'base256'

/** `value` in a numeric field of `width` bytes in `style`, or undefined when it does not fit. */
function encodeNumber (value: bigint, width: number, style: NumStyle): number[] | undefined {
  if (style === 'base256') {
    const bits = BigInt(8 * width - 1)
    if (value >= 2n ** bits || value < -(2n ** bits)) return undefined
    const u = BigInt.asUintN(8 * width, value)
    const out = Array.from({ length: width }, (_, i) => Number((u >> BigInt(8 * (width - 1 - i))) & 0xffn))
    out[0] = value < 0n ? 0xff : 0x80 | (out[0] ?? 0)
    return out
  }
  if (value < 0n) return undefined
  const digits = value.toString(8)
  let text: string
  switch (style) {
    case 'octal': text = `${digits.padStart(width - 1, '0')}\0`; break
    case 'octal-space': text = `${digits.padStart(width - 2, '0')} \0`; break
    case 'leading-spaces': text = `${digits.padStart(width - 1, ' ')}\0`; break
    case 'leading-nuls': text = `${digits.padStart(width - 1, '\0')}\0`; break
    case 'full': text = digits.padStart(width, '0'); break
  }
  if (text.length > width) return undefined
  return [...Buffer.from(text, 'latin1')]
}

interface Header {
  typeflag: string
  name: string
  linkname: string
  mode: number
  uid: number
  gid: number
  mtime: bigint
  size: number
  dev: [number, number]
  magic: 'ustar' | 'gnu' | 'v7'
  styles: NumStyle[]
}

/** A 512-byte header; numeric fields that do not fit a style fall back to plain octal, then base 256. */
function headerBlock (h: Header, extra?: (block: Uint8Array) => void): Uint8Array {
  const block = new Uint8Array(512)
  block.set(Buffer.from(h.name, 'latin1').subarray(0, 100), 0)
  const fields: Array<[number, number, bigint]> = [[100, 8, BigInt(h.mode)], [108, 8, BigInt(h.uid)], [116, 8, BigInt(h.gid)], [124, 12, BigInt(h.size)], [136, 12, h.mtime]]
  if (h.magic !== 'v7') fields.push([329, 8, BigInt(h.dev[0])], [337, 8, BigInt(h.dev[1])])
  fields.forEach(([at, width, value], i) => {
    const bytes = encodeNumber(value, width, h.styles[i % h.styles.length] ?? 'octal') ?? encodeNumber(value, width, 'octal') ?? encodeNumber(value, width, 'base256')!
    block.set(bytes, at)
  })
  block[156] = h.typeflag.charCodeAt(0)
  block.set(Buffer.from(h.linkname, 'latin1').subarray(0, 100), 157)
  if (h.magic === 'ustar') block.set(Buffer.from('ustar\x0000', 'latin1'), 257)
  if (h.magic === 'gnu') block.set(Buffer.from('ustar  \x00', 'latin1'), 257)
  extra?.(block)
  resum(block)
  return block
}

const padTo = (data: Uint8Array): Uint8Array => {
  const out = new Uint8Array(Math.ceil(data.length / 512) * 512)
  out.set(data)
  return out
}

const nameArb = fc.array(fc.constantFrom('a', 'b', 'dir', '..', '.', 'x.txt', '%3D', 'ü'), { minLength: 1, maxLength: 4 })
  .chain((parts) => fc.record({ lead: fc.constantFrom('', '', '/', './'), trail: fc.constantFrom('', '', '/') }).map(({ lead, trail }) => lead + parts.join('/') + trail))
  .map((s) => Buffer.from(s, 'utf8').toString('latin1'))

const styleArb = fc.constantFrom<NumStyle>('octal', 'octal', 'octal', 'octal-space', 'leading-spaces', 'leading-nuls', 'full', 'base256')

/** PAX time values: whole, fractional, negative, zero-padded, signed, past 2262, malformed. */
const paxTimeArb = fc.oneof(
  { weight: 3, arbitrary: fc.bigInt({ min: -(10n ** 11n), max: 10n ** 11n }).map(String) },
  { weight: 3, arbitrary: fc.tuple(fc.bigInt({ min: -(10n ** 10n), max: 10n ** 10n }), fc.stringMatching(/^[0-9]{0,12}$/)).map(([s, f]) => `${s}.${f}`) },
  { weight: 2, arbitrary: fc.tuple(fc.integer({ min: 0, max: 30 }), fc.integer({ min: 0, max: 2 ** 40 })).map(([z, s]) => `${'0'.repeat(z)}${s}`) },
  { weight: 1, arbitrary: fc.integer({ min: 0, max: 2 ** 31 }).map((s) => `+${s}`) },
  { weight: 2, arbitrary: fc.constantFrom('10000000000', '-10000000000', '-2146608000', '9223372036854775807', '', '5.') },
  { weight: 1, arbitrary: fc.constantFrom('9223372036854775808', '1.2.3', 'x', '-') }
)
/** PAX decimals: zero-padded, signed, malformed. */
const paxDecimalArb = (value: number): fc.Arbitrary<string> => fc.oneof(
  { weight: 4, arbitrary: fc.constant(String(value)) },
  { weight: 4, arbitrary: fc.integer({ min: 1, max: 30 }).map((z) => `${'0'.repeat(z)}${value}`) },
  { weight: 1, arbitrary: fc.constant(`+${value}`) },
  { weight: 1, arbitrary: fc.constantFrom(' 1', '1x', '') }
)

type Meta = { kind: 'x' | 'g', records: Array<[string, string]> } | { kind: 'L' | 'K', value: string }

const recordArb: fc.Arbitrary<[string, string]> = fc.oneof(
  nameArb.map((v): [string, string] => ['path', v]),
  nameArb.map((v): [string, string] => ['linkpath', v]),
  paxDecimalArb(1234).map((v): [string, string] => ['uid', v]),
  paxDecimalArb(77).map((v): [string, string] => ['gid', v]),
  paxTimeArb.map((v): [string, string] => ['mtime', v]),
  paxTimeArb.map((v): [string, string] => ['atime', v]),
  fc.tuple(fc.constantFrom('user.a', 'user.b%3Dc', 'user.%25', 'security.selinux'), fc.string({ maxLength: 8 })).map(([n, v]): [string, string] => [`SCHILY.xattr.${n}`, v]),
  fc.constantFrom<[string, string]>(['comment', 'hi'], ['uname', 'root'], ['hdrcharset', 'BINARY'], ['SCHILY.devmajor', '9'], ['LIBARCHIVE.xattr.user.l', 'dmFs'])
)

const metaArb: fc.Arbitrary<Meta> = fc.oneof(
  { weight: 3, arbitrary: fc.record({ kind: fc.constant('x' as const), records: fc.array(recordArb, { maxLength: 4 }) }) },
  { weight: 1, arbitrary: fc.record({ kind: fc.constant('g' as const), records: fc.array(recordArb, { maxLength: 2 }) }) },
  { weight: 1, arbitrary: fc.record({ kind: fc.constantFrom('L' as const, 'K' as const), value: fc.oneof(nameArb, nameArb.map((n) => `${n}\0`), nameArb.map((n) => `${n}\0junk`), fc.constant('\0')) }) }
)

function metaBytes (m: Meta): Uint8Array {
  const long = m.kind === 'L' || m.kind === 'K'
  const data = 'records' in m ? encodePaxRecords(m.records) : Buffer.from(m.value, 'latin1')
  const h: Header = { typeflag: m.kind, name: long ? '././@LongLink' : 'PaxHeaders/x', linkname: '', mode: 0o644, uid: 0, gid: 0, mtime: 0n, size: data.length, dev: [0, 0], magic: long ? 'gnu' : 'ustar', styles: ['octal'] }
  return Buffer.concat([headerBlock(h), padTo(data)])
}

/** A plain entry: its metadata headers, its header, and data of its declared size (or none, for types without data). */
const plainEntryArb = fc.record({
  metas: fc.array(metaArb, { maxLength: 3 }),
  typeflag: fc.oneof({ weight: 12, arbitrary: fc.constantFrom('0', '0', '0', '\0', '7', '1', '2', '3', '4', '5', '5', '6') }, { weight: 1, arbitrary: fc.constantFrom('V', 'D') }),
  name: nameArb,
  linkname: fc.oneof(nameArb, fc.constant('')),
  mode: fc.oneof(fc.constantFrom(0o644, 0o755, 0o4755, 0o100644), fc.integer({ min: 0, max: 0o7777777 })),
  uid: fc.integer({ min: 0, max: 2 ** 21 - 1 }),
  gid: fc.integer({ min: 0, max: 2 ** 21 - 1 }),
  mtime: fc.oneof(fc.bigInt({ min: 0n, max: 2n ** 33n - 1n }), fc.bigInt({ min: -(2n ** 40n), max: 2n ** 40n })),
  size: fc.integer({ min: 0, max: 1500 }),
  dev: fc.tuple(fc.integer({ min: 0, max: 4095 }), fc.integer({ min: 0, max: 4095 })),
  magic: fc.constantFrom<Header['magic']>('ustar', 'ustar', 'gnu', 'v7'),
  styles: fc.array(styleArb, { minLength: 1, maxLength: 7 }),
  dataForHeaderOnly: fc.boolean().chain((b) => b ? fc.boolean() : fc.constant(false)).chain((b) => b ? fc.boolean() : fc.constant(false)),
  seed: fc.integer({ min: 0, max: 255 })
})

function bytesOf (n: number, seed: number): Uint8Array {
  return Uint8Array.from({ length: n }, (_, i) => (i * 31 + seed * 7 + (i >> 3)) & 0xff)
}

function plainEntry (e: fc.Arbitrary<unknown> extends never ? never : typeof plainEntryArb extends fc.Arbitrary<infer T> ? T : never): Uint8Array {
  const parts: Uint8Array[] = e.metas.map(metaBytes)
  // a PAX size record decides the data length, as every reader takes it
  let size = e.size
  for (const m of e.metas) {
    if (m.kind !== 'x') continue
    const rec = m.records.filter(([k]) => k === 'size').at(-1)
    if (rec !== undefined && /^\+?[0-9]+$/.test(rec[1])) size = Number(rec[1])
  }
  parts.push(headerBlock({ ...e, size: e.size }))
  const headerOnly = '123456'.includes(e.typeflag)
  if (!headerOnly || e.dataForHeaderOnly) parts.push(padTo(bytesOf(size, e.seed)))
  return Buffer.concat(parts)
}

/** A sparse file in one of the four GNU formats, with its segments' data. */
const sparseEntryArb = fc.record({
  format: fc.constantFrom('0.0', '0.1', '1.0', 'old'),
  realSize: fc.oneof(fc.integer({ min: 0, max: 6000 }), fc.constant(2 ** 34 + 5)),
  cuts: fc.array(fc.integer({ min: 0, max: 6000 }), { maxLength: 12 }),
  name: nameArb,
  count: fc.oneof(fc.constant(undefined), fc.integer({ min: 0, max: 8 })),
  padNumbers: fc.boolean(),
  seed: fc.integer({ min: 0, max: 255 })
})

function sparseEntry (e: typeof sparseEntryArb extends fc.Arbitrary<infer T> ? T : never): Uint8Array {
  // segments from sorted cut points: [c0, c1) data, [c1, c2) hole...
  const cuts = [...new Set(e.cuts.map((c) => Math.min(c, e.realSize)))].sort((a, b) => a - b)
  const segments: Array<[number, number]> = []
  for (let i = 0; i + 1 < cuts.length; i += 2) segments.push([cuts[i]!, cuts[i + 1]! - cuts[i]!])
  const data = Buffer.concat(segments.map(([, n], i) => bytesOf(n, e.seed + i)))
  const num = (n: number): string => e.padNumbers ? `00${n}` : String(n)
  const base: Header = { typeflag: '0', name: `GNUSparseFile.0/${e.name}`.slice(0, 99), linkname: '', mode: 0o644, uid: 0, gid: 0, mtime: 0n, size: data.length, dev: [0, 0], magic: 'ustar', styles: ['octal'] }
  // a wrong count makes a map that does not match the data, which Go finds
  // only when it reads the content: only for sizes the oracle reads
  const count = String(e.count !== undefined && e.realSize <= 6000 ? e.count : segments.length)
  switch (e.format) {
    case '0.0': {
      const records: Array<[string, string]> = [['GNU.sparse.size', num(e.realSize)], ['GNU.sparse.numblocks', count], ['GNU.sparse.name', e.name]]
      for (const [o, n] of segments) records.push(['GNU.sparse.offset', num(o)], ['GNU.sparse.numbytes', num(n)])
      return Buffer.concat([metaBytes({ kind: 'x', records }), headerBlock(base), padTo(data)])
    }
    case '0.1': {
      const records: Array<[string, string]> = [['GNU.sparse.major', '0'], ['GNU.sparse.minor', '1'], ['GNU.sparse.size', num(e.realSize)], ['GNU.sparse.numblocks', count],
        ['GNU.sparse.map', segments.map(([o, n]) => `${num(o)},${num(n)}`).join(',')], ['GNU.sparse.name', e.name]]
      return Buffer.concat([metaBytes({ kind: 'x', records }), headerBlock(base), padTo(data)])
    }
    case '1.0': {
      const map = padTo(Buffer.from(`${count}\n${segments.map(([o, n]) => `${num(o)}\n${num(n)}\n`).join('')}`))
      const records: Array<[string, string]> = [['GNU.sparse.major', '1'], ['GNU.sparse.minor', '0'], ['GNU.sparse.realsize', num(e.realSize)], ['GNU.sparse.name', e.name], ['size', String(map.length + data.length)]]
      return Buffer.concat([metaBytes({ kind: 'x', records }), headerBlock({ ...base, size: 0 }), map, padTo(data)])
    }
    case 'old': {
      const octal = (n: number): number[] => encodeNumber(BigInt(n), 12, 'octal') ?? encodeNumber(BigInt(n), 12, 'base256')!
      const entries = segments.map(([o, n]) => [...octal(o), ...octal(n)])
      const first = entries.slice(0, 4)
      const rest = entries.slice(4)
      const head = headerBlock({ ...base, typeflag: 'S', name: e.name.slice(0, 99), magic: 'gnu' }, (block) => {
        first.forEach((bytes, i) => block.set(bytes, 386 + i * 24))
        block[482] = rest.length > 0 ? 1 : 0
        block.set(octal(e.realSize), 483)
      })
      const exts: Uint8Array[] = []
      for (let i = 0; i < rest.length; i += 21) {
        const blk = new Uint8Array(512)
        rest.slice(i, i + 21).forEach((bytes, j) => blk.set(bytes, j * 24))
        blk[504] = i + 21 < rest.length ? 1 : 0
        exts.push(blk)
      }
      return Buffer.concat([head, ...exts, padTo(data)])
    }
  }
  throw new Error('unreachable')
}

const archiveArb = fc.record({
  entries: fc.array(fc.oneof({ weight: 4, arbitrary: plainEntryArb.map(plainEntry) }, { weight: 1, arbitrary: sparseEntryArb.map(sparseEntry) }), { maxLength: 5 }),
  end: fc.constantFrom('two', 'two', 'one', 'none', 'record')
}).map(({ entries, end }) => {
  const body = Buffer.concat(entries)
  const tail = end === 'two' ? 1024 : end === 'one' ? 512 : end === 'none' ? 0 : 1024 + (10240 - ((body.length + 1024) % 10240)) % 10240
  const bytes = Buffer.concat([body, Buffer.alloc(tail)])
  // fast-check prints this instead of the bytes; a failing archive is kept in a file
  return { bytes, [fc.toStringMethod]: () => `<${bytes.length}-byte archive ${createHash('sha256').update(bytes).digest('hex').slice(0, 12)}>` }
})

test('tessera\'s go dialect reads generated archives exactly as Go\'s archive/tar does', { skip }, async () => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'tessera-go-prop-'))
  let n = 0
  const outcomes = { same: 0, bothFail: 0 }
  const errors = new Map<string, number>()
  try {
    await fc.assert(fc.asyncProperty(archiveArb, async ({ bytes }) => {
      const file = path.join(dir, `a${n++}.tar`)
      fs.writeFileSync(file, bytes)
      const go = goReading(goList([file])[0]!)
      const ours = await tesseraReading(bytes)
      try {
        if (go.error === undefined) {
          assert.equal(ours.error, undefined, `Go reads it (${go.entries.length} entries), tessera fails with ${ours.error ?? ''}`)
          assert.deepEqual(ours.entries, go.entries)
          outcomes.same++
        } else {
          assert.notEqual(ours.error, undefined, `Go fails (${go.error}), tessera reads ${JSON.stringify(ours.entries).slice(0, 400)}`)
          // up to where the first of them fails they read the same (tessera finds a
          // bad sparse map at the header, Go when it reads the content)
          const k = Math.min(ours.entries.length, go.entries.length)
          const head = (r: Reading): View[] => r.entries.slice(0, k).map((v, i) => i === k - 1 ? { ...v, sha256: undefined } : v)
          assert.deepEqual(head(ours), head(go))
          outcomes.bothFail++
          errors.set(go.error, (errors.get(go.error) ?? 0) + 1)
        }
      } catch (err) {
        // the failing archive stays for a look (scripts/tar-oracle, readTar)
        fs.copyFileSync(file, path.join(os.tmpdir(), 'tessera-go-property-failure.tar'))
        throw err
      } finally {
        fs.rmSync(file)
      }
    }), { numRuns: 300 })
  } finally {
    fs.rmSync(dir, { recursive: true, force: true })
  }
  if (process.env.TESSERA_DEBUG !== undefined) console.log(outcomes, errors)
  // the generator must exercise both outcomes
  assert.ok(outcomes.same > 50 && outcomes.bothFail > 20, JSON.stringify(outcomes))
})

test('sparse entries tessera writes (GNU sparse 1.0) are read by Go as the files they stand for', { skip }, async () => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'tessera-go-sparse-'))
  const fileArb = fc.record({
    size: fc.integer({ min: 0, max: 200_000 }),
    cuts: fc.array(fc.integer({ min: 0, max: 200_000 }), { maxLength: 10 }),
    name: fc.constantFrom('s', 'dir/s', `${'long/'.repeat(30)}s`, 'ünï')
  })
  try {
    await fc.assert(fc.asyncProperty(fc.array(fileArb, { minLength: 1, maxLength: 3 }), async (files) => {
      const entries = files.map((f, i) => {
        const cuts = [...new Set(f.cuts.map((c) => Math.min(c, f.size)))].sort((a, b) => a - b)
        const sparse: Array<{ offset: number, size: number }> = []
        for (let j = 0; j + 1 < cuts.length; j += 2) sparse.push({ offset: cuts[j]!, size: cuts[j + 1]! - cuts[j]! })
        const logical = Buffer.alloc(f.size)
        const data = Buffer.concat(sparse.map(({ offset, size }) => {
          const d = Buffer.from(bytesOf(size, i + offset))
          d.copy(logical, offset)
          return d
        }))
        return { entry: { path: Buffer.from(`${i}${f.name}`), type: 'file' as const, mode: 0o644, uid: 0, gid: 0, mtimeNs: 0n, size: f.size, sparse, content: data }, logical }
      })
      const parts: Uint8Array[] = []
      for await (const c of writeTar(entries.map((e) => e.entry))) parts.push(c)
      const bytes = Buffer.concat(parts)
      const file = path.join(dir, 'w.tar')
      fs.writeFileSync(file, bytes)
      const go = goList([file])[0]!
      assert.equal(go.error, null)
      assert.deepEqual(go.entries.map((e) => [Buffer.from(e.name, 'hex').toString(), e.size, e.content?.sha256]),
        entries.map(({ entry, logical }) => [Buffer.from(entry.path).toString(), entry.size, createHash('sha256').update(logical).digest('hex')]))
    }), { numRuns: 60 })
  } finally {
    fs.rmSync(dir, { recursive: true, force: true })
  }
})
