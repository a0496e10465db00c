/**
 * Tree objects (docs/FORMAT.md §4): encode, decode with every canonical
 * check, and a builder that refuses unsorted or duplicate entries.
 *
 * @module
 */
import { NonCanonicalError, UnsortedEntriesError } from '../errors.js'
import { compareBytes } from '../hash/digest.js'
import { sha256 } from '../hash/index.js'
import { type CanonicalValue, decodeCanonical, encodeCanonical } from './canonical.js'
import { type ContentRef, type Entry, type EntryKind, HOLE_BLOCK, HOLE_MIN, type InodeAttrs, isHole, KIND_NUMBER, type Xattr } from './entry.js'
import { nameProblem, printable, splitPath } from './names.js'

/** Type number of tree objects. */
export const TREE_TYPE = 1

const KIND_BY_NUMBER: readonly (EntryKind | undefined)[] = [undefined, 'file', 'dir', 'symlink', 'hardlink', 'fifo', 'socket', 'char', 'block']
const UINT32_MAX = 2 ** 32 - 1

/** Options for checking a tree against the params of the snapshot it belongs to. */
export interface TreeCheckOptions {
  /** When given, file entries must be inline exactly when `size ≤ inlineMax`. */
  inlineMax?: number
}

function encodeXattrs (xattrs: readonly Xattr[]): CanonicalValue {
  return xattrs.map(([k, v]) => [k, v])
}

function encodeAttrs (e: InodeAttrs): CanonicalValue[] {
  return [e.mode, e.uid, e.gid, e.mtimeNs, encodeXattrs(e.xattrs)]
}

/** Encode one entry as its canonical array (no validation; see {@link encodeTree}). */
export function entryToValue (e: Entry): CanonicalValue {
  const head: CanonicalValue[] = [e.name, KIND_NUMBER[e.kind]]
  switch (e.kind) {
    case 'file': {
      const content: CanonicalValue = e.content instanceof Uint8Array
        ? e.content
        : e.content.map((c) => isHole(c) ? c.length : [c.digest, c.length])
      return [...head, ...encodeAttrs(e), e.size, content]
    }
    case 'dir': return [...head, ...encodeAttrs(e), e.tree]
    case 'symlink': return [...head, ...encodeAttrs(e), e.target]
    case 'hardlink': return [...head, e.path]
    case 'fifo':
    case 'socket': return [...head, ...encodeAttrs(e)]
    case 'char':
    case 'block': return [...head, ...encodeAttrs(e), e.major, e.minor]
  }
}

// ---------------------------------------------------------------- validation

function fail (where: string, message: string): never {
  throw new NonCanonicalError(`${where}: ${message}`)
}

function checkUint (where: string, field: string, v: unknown, max: number): number {
  if (typeof v !== 'number' || !Number.isInteger(v) || v < 0 || v > max) fail(where, `${field} must be an integer 0…${max}`)
  return v
}

function checkBytes (where: string, field: string, v: unknown): Uint8Array {
  if (!(v instanceof Uint8Array)) fail(where, `${field} must be a byte string`)
  return v
}

function checkDigestBytes (where: string, field: string, v: unknown): Uint8Array {
  const b = checkBytes(where, field, v)
  if (b.length !== 32) fail(where, `${field} must be a 32-byte digest`)
  return b
}

/** Check an xattr list: pairs of byte strings, keys 1–255 bytes without NUL, strictly ascending. */
export function checkXattrs (where: string, v: unknown): Xattr[] {
  if (!Array.isArray(v)) fail(where, 'xattrs must be an array')
  const out: Xattr[] = []
  let prev: Uint8Array | undefined
  for (const pair of v) {
    if (!Array.isArray(pair) || pair.length !== 2) fail(where, 'an xattr must be a [key, value] pair')
    const key = checkBytes(where, 'xattr key', pair[0])
    const value = checkBytes(where, 'xattr value', pair[1])
    if (key.length === 0 || key.length > 255 || key.includes(0)) fail(where, `invalid xattr key ${printable(key)}`)
    if (prev !== undefined && compareBytes(prev, key) >= 0) fail(where, `xattr keys not strictly ascending at ${printable(key)}`)
    prev = key
    out.push([key, value])
  }
  return out
}

function checkMtime (where: string, v: unknown): bigint {
  if (typeof v === 'number' && Number.isInteger(v)) return BigInt(v)
  if (typeof v === 'bigint') return v
  return fail(where, 'mtime must be an integer')
}

/** Check the five attribute fields starting at `at`. */
export function checkAttrs (where: string, a: readonly unknown[], at: number): InodeAttrs {
  return {
    mode: checkUint(where, 'mode', a[at], 0o7777),
    uid: checkUint(where, 'uid', a[at + 1], UINT32_MAX),
    gid: checkUint(where, 'gid', a[at + 2], UINT32_MAX),
    mtimeNs: checkMtime(where, a[at + 3]),
    xattrs: checkXattrs(where, a[at + 4])
  }
}

function checkSize (where: string, v: unknown): number {
  if (typeof v === 'number' && Number.isInteger(v) && v >= 0) return v
  if (typeof v === 'bigint' && v >= 0n && v <= BigInt(Number.MAX_SAFE_INTEGER)) return Number(v)
  return fail(where, 'size must be a non-negative integer (at most 2^53-1 here)')
}

/** A content list (docs/FORMAT.md §4): chunks `[digest, length]` and holes (integers) placed as §2.1 places them. */
function checkChunks (where: string, v: unknown, size: number): ContentRef[] {
  if (!Array.isArray(v)) fail(where, 'content must be a byte string or a content list')
  let sum = 0
  let previousHole = false
  const content = v.map((item: unknown): ContentRef => {
    if (typeof item === 'number' || typeof item === 'bigint') {
      const length = checkSize(where, item)
      if (length < HOLE_MIN) fail(where, `a hole of ${length} bytes is shorter than ${HOLE_MIN}`)
      if (sum % HOLE_BLOCK !== 0) fail(where, `a hole starts at ${sum}, not a multiple of ${HOLE_BLOCK}`)
      if (previousHole) fail(where, 'two holes in a row')
      if (length % HOLE_BLOCK !== 0 && sum + length !== size) fail(where, `a hole of ${length} bytes, not a multiple of ${HOLE_BLOCK}, does not end the file`)
      previousHole = true
      sum += length
      return { hole: true, length }
    }
    if (!Array.isArray(item) || item.length !== 2) fail(where, 'a content element must be [digest, length] or a hole length')
    const digest = checkDigestBytes(where, 'chunk digest', item[0])
    const length = checkUint(where, 'chunk length', item[1], UINT32_MAX)
    if (length === 0) fail(where, 'chunk length must be at least 1')
    previousHole = false
    sum += length
    return { digest, length }
  })
  if (sum !== size) fail(where, `content lengths sum to ${sum}, size is ${size}`)
  return content
}

function expectLength (where: string, a: readonly unknown[], n: number): void {
  if (a.length !== n) fail(where, `entry of this kind has ${n} fields, found ${a.length}`)
}

/** Validate one decoded entry array and return the model. */
export function valueToEntry (v: unknown, options: TreeCheckOptions = {}): Entry {
  if (!Array.isArray(v) || v.length < 3) fail('entry', 'an entry must be an array of at least 3 fields')
  const name = checkBytes('entry', 'name', v[0])
  const problem = nameProblem(name)
  if (problem !== undefined) fail('entry', `${problem}: ${printable(name)}`)
  const where = `entry ${printable(name)}`
  const kindNumber = v[1]
  const kind = typeof kindNumber === 'number' ? KIND_BY_NUMBER[kindNumber] : undefined
  if (kind === undefined) fail(where, `unknown kind ${String(kindNumber)}`)
  switch (kind) {
    case 'file': {
      expectLength(where, v, 9)
      const attrs = checkAttrs(where, v, 2)
      const size = checkSize(where, v[7])
      const raw = v[8]
      let content: Uint8Array | ContentRef[]
      if (raw instanceof Uint8Array) {
        if (raw.length !== size) fail(where, `inline content has ${raw.length} bytes, size is ${size}`)
        if (options.inlineMax !== undefined && size > options.inlineMax) fail(where, `size ${size} > inlineMax ${options.inlineMax} but content is inline`)
        content = raw
      } else {
        content = checkChunks(where, raw, size)
        if (options.inlineMax !== undefined && size <= options.inlineMax) fail(where, `size ${size} ≤ inlineMax ${options.inlineMax} but content is chunked`)
      }
      return { kind, name, ...attrs, size, content }
    }
    case 'dir':
      expectLength(where, v, 8)
      return { kind, name, ...checkAttrs(where, v, 2), tree: checkDigestBytes(where, 'tree', v[7]) }
    case 'symlink': {
      expectLength(where, v, 8)
      const target = checkBytes(where, 'target', v[7])
      if (target.length === 0 || target.length > 4095 || target.includes(0)) fail(where, 'symlink target must be 1–4095 bytes without NUL')
      return { kind, name, ...checkAttrs(where, v, 2), target }
    }
    case 'hardlink': {
      expectLength(where, v, 3)
      const path = checkBytes(where, 'path', v[2])
      if (path.length === 0 || path[0] === 0x2f || path[path.length - 1] === 0x2f) fail(where, 'hard-link path must be relative without trailing "/"')
      try { splitPath(path) } catch (err) { fail(where, `hard-link path: ${(err as Error).message}`) }
      return { kind, name, path }
    }
    case 'fifo':
    case 'socket':
      expectLength(where, v, 7)
      return { kind, name, ...checkAttrs(where, v, 2) }
    case 'char':
    case 'block':
      expectLength(where, v, 9)
      return {
        kind,
        name,
        ...checkAttrs(where, v, 2),
        major: checkUint(where, 'major', v[7], UINT32_MAX),
        minor: checkUint(where, 'minor', v[8], UINT32_MAX)
      }
  }
}

// ---------------------------------------------------------------- encode/decode

/** An encoded tree and its digest. */
export interface EncodedObject {
  bytes: Uint8Array
  digest: Uint8Array
}

/**
 * Encode a tree. Entries must already be sorted by name bytes and unique
 * (else {@link UnsortedEntriesError}); each entry is validated as the decoder
 * would, so what this writes always decodes.
 */
export function encodeTree (entries: readonly Entry[], options: TreeCheckOptions = {}): EncodedObject {
  const values: CanonicalValue[] = []
  let prev: Uint8Array | undefined
  for (const e of entries) {
    if (prev !== undefined) {
      const order = compareBytes(prev, e.name)
      if (order === 0) throw new UnsortedEntriesError(`duplicate entry name ${printable(e.name)}`)
      if (order > 0) throw new UnsortedEntriesError(`entry ${printable(e.name)} comes after ${printable(prev)}: entries must be sorted by name bytes`)
    }
    prev = e.name
    const value = entryToValue(e)
    valueToEntry(value, options)
    values.push(value)
  }
  const bytes = encodeCanonical([TREE_TYPE, values])
  return { bytes, digest: sha256.digest(bytes) }
}

/**
 * Decode a tree object. Throws {@link NonCanonicalError} (`ERR_NON_CANONICAL`)
 * for any deviation from docs/FORMAT.md §3–§4.
 */
export function decodeTree (bytes: Uint8Array, options: TreeCheckOptions = {}): Entry[] {
  const value = decodeCanonical(bytes)
  if (!Array.isArray(value) || value.length !== 2 || value[0] !== TREE_TYPE || !Array.isArray(value[1])) {
    throw new NonCanonicalError('not a tree object: expected [1, entries]')
  }
  const entries = value[1].map((v) => valueToEntry(v, options))
  for (let i = 1; i < entries.length; i++) {
    const a = entries[i - 1]!.name
    const b = entries[i]!.name
    const order = compareBytes(a, b)
    if (order >= 0) throw new NonCanonicalError(order === 0 ? `duplicate entry name ${printable(b)}` : `entries not sorted at ${printable(b)}`)
  }
  return entries
}

/** The empty tree `[1, []]`, which every empty directory points at. */
export const EMPTY_TREE: EncodedObject = encodeTree([])

/**
 * Collects the entries of one directory and encodes them. Refuses an entry
 * that is not strictly after the previous one ({@link UnsortedEntriesError}).
 */
export class TreeBuilder {
  readonly #entries: Entry[] = []
  readonly #options: TreeCheckOptions

  constructor (options: TreeCheckOptions = {}) { this.#options = options }

  /** Number of entries added so far. */
  get size (): number { return this.#entries.length }

  /** Add the next entry in name order. */
  add (entry: Entry): void {
    const last = this.#entries[this.#entries.length - 1]
    if (last !== undefined) {
      const order = compareBytes(last.name, entry.name)
      if (order === 0) throw new UnsortedEntriesError(`duplicate entry name ${printable(entry.name)}`)
      if (order > 0) throw new UnsortedEntriesError(`entry ${printable(entry.name)} added after ${printable(last.name)}`)
    }
    this.#entries.push(entry)
  }

  /** Encode the tree. */
  build (): EncodedObject { return encodeTree(this.#entries, this.#options) }
}
