/**
 * PAX extended headers (POSIX.1-2001 `pax` format): records of the form
 * `"%d %s=%s\n"` whose leading decimal length counts the whole record,
 * itself included. They carry what a ustar header cannot: long or non-ASCII
 * paths and link targets, sizes of 8 GiB or more, large ids, sub-second,
 * negative or far-future times, and extended attributes.
 *
 * @module
 */
import type { TarDialect } from './dialect.js'
import { TarHeaderError } from './errors.js'
import { TAR_BLOCK_SIZE, TAR_TYPEFLAG, USTAR_NAME_MAX, encodeUstarHeader } from './header.js'
import { baseName } from './path.js'

/** One PAX record: keyword and value as raw bytes. */
export type PaxRecord = [key: Uint8Array, value: Uint8Array]

/** Prefix of the keywords carrying extended attributes (star and GNU tar). */
export const PAX_XATTR_PREFIX = 'SCHILY.xattr.'

const encoder = new TextEncoder()

/** Bytes of a keyword or value given as a string (UTF-8). */
export function paxBytes (value: string | Uint8Array): Uint8Array {
  return typeof value === 'string' ? encoder.encode(value) : value
}

/**
 * The length of the record `"LEN key=value\n"`, where LEN is the length
 * itself written in decimal: the smallest fixed point of
 * `len = digits(len) + 1 + key + 1 + value + 1`.
 */
export function paxRecordLength (keyLength: number, valueLength: number): number {
  const rest = keyLength + valueLength + 3
  let digits = String(rest).length
  while (String(rest + digits).length !== digits) digits = String(rest + digits).length
  return rest + digits
}

/**
 * Encode one record. The value may hold any bytes (NUL and newline
 * included): readers take its length from the record's length.
 *
 * A keyword may hold a newline (an xattr name may): records are length-delimited
 * and readers, GNU tar included, find the keyword by its `=`.
 *
 * @throws RangeError when the keyword is empty or holds `=` or NUL
 */
export function encodePaxRecord (key: string | Uint8Array, value: string | Uint8Array): Uint8Array {
  const k = paxBytes(key)
  const v = paxBytes(value)
  if (k.length === 0 || k.includes(0x3d) || k.includes(0)) {
    throw new RangeError(`invalid PAX keyword ${JSON.stringify(Buffer.from(k).toString('latin1'))}`)
  }
  const len = paxRecordLength(k.length, v.length)
  const head = encoder.encode(`${len} `)
  const out = new Uint8Array(len)
  out.set(head)
  out.set(k, head.length)
  out[head.length + k.length] = 0x3d
  out.set(v, head.length + k.length + 1)
  out[len - 1] = 0x0a
  return out
}

/** Encode records in the order given: the data of a PAX extended header. */
export function encodePaxRecords (records: Iterable<readonly [string | Uint8Array, string | Uint8Array]>): Uint8Array {
  const parts: Uint8Array[] = []
  let total = 0
  for (const [k, v] of records) {
    const r = encodePaxRecord(k, v)
    parts.push(r)
    total += r.length
  }
  const out = new Uint8Array(total)
  let at = 0
  for (const p of parts) { out.set(p, at); at += p.length }
  return out
}

/** Options of {@link decodePaxRecords}. */
export interface DecodePaxOptions {
  /**
   * `'gnu'` (default) ignores NUL bytes after the last record, as GNU tar
   * does; `'go'` refuses them, and refuses a NUL in the value of `path`,
   * `linkpath`, `uname` or `gname`, as Go's `archive/tar` does.
   */
  dialect?: TarDialect
}

const NUL_FREE_VALUES = new Set(['path', 'linkpath', 'uname', 'gname'])

/**
 * Decode the data of a PAX extended header into its records, in order
 * (when a keyword repeats, the last one wins: that is for the caller).
 * A record's length is decimal (leading zeros and a `+` allowed, as both
 * GNU tar and Go read it). A keyword holding a NUL byte is refused, as
 * both refuse it.
 *
 * @throws {@link TarHeaderError} (`ERR_TAR_BAD_HEADER`) on a malformed record
 */
export function decodePaxRecords (data: Uint8Array, options: DecodePaxOptions = {}): PaxRecord[] {
  const go = options.dialect === 'go'
  const out: PaxRecord[] = []
  let at = 0
  while (at < data.length) {
    if (!go && data[at] === 0 && data.subarray(at).every((b) => b === 0)) break
    let i = at
    if (data[i] === 0x2b) i++ // '+'
    const digits = i
    let len = 0
    while (i < data.length && (data[i] ?? 0) >= 0x30 && (data[i] ?? 0) <= 0x39 && i - digits < 20) {
      len = len * 10 + ((data[i] ?? 0) - 0x30)
      i++
    }
    if (i === digits || data[i] !== 0x20) throw new TarHeaderError(`malformed PAX record at byte ${at}: bad length`)
    const end = at + len
    if (end > data.length || end <= i + 1 || len < 5) throw new TarHeaderError(`malformed PAX record at byte ${at}: length ${len} out of range`)
    if (data[end - 1] !== 0x0a) throw new TarHeaderError(`malformed PAX record at byte ${at}: no trailing newline`)
    const eq = data.indexOf(0x3d, i + 1)
    if (eq === -1 || eq >= end - 1 || eq === i + 1) throw new TarHeaderError(`malformed PAX record at byte ${at}: no keyword`)
    const key = data.slice(i + 1, eq)
    const value = data.slice(eq + 1, end - 1)
    if (key.includes(0)) throw new TarHeaderError(`malformed PAX record at byte ${at}: the keyword holds a NUL byte`)
    if (go && value.includes(0) && NUL_FREE_VALUES.has(Buffer.from(key).toString('latin1'))) {
      throw new TarHeaderError(`malformed PAX record at byte ${at}: a ${Buffer.from(key).toString('latin1')} value holding a NUL byte`)
    }
    out.push([key, value])
    at = end
  }
  return out
}

/**
 * Format a time in nanoseconds as a PAX time value: decimal seconds, a `-`
 * for times before the epoch, and a fraction only when it is nonzero,
 * trimmed of trailing zeros (`1.5`, `-0.000000001`, `42`). The value is the
 * signed real number of seconds, as GNU tar and libarchive read it.
 */
export function formatPaxTime (ns: bigint): string {
  const negative = ns < 0n
  const abs = negative ? -ns : ns
  const seconds = abs / 1_000_000_000n
  const frac = abs % 1_000_000_000n
  const fraction = frac === 0n ? '' : `.${frac.toString().padStart(9, '0').replace(/0+$/, '')}`
  return `${negative ? '-' : ''}${seconds}${fraction}`
}

/**
 * Parse a PAX time value into nanoseconds. Digits past the ninth fractional
 * digit are dropped (truncating toward zero). Any number of seconds is
 * read (as a bigint); whether it can be stored is for the caller.
 *
 * @throws {@link TarHeaderError} (`ERR_TAR_BAD_HEADER`) when it is not `[-+]digits[.digits]`
 */
export function parsePaxTime (text: string | Uint8Array): bigint {
  const s = typeof text === 'string' ? text : Buffer.from(text).toString('latin1')
  const m = /^([-+]?)([0-9]+)(?:\.([0-9]*))?$/.exec(s)
  if (m === null) throw new TarHeaderError(`malformed PAX time ${JSON.stringify(s.slice(0, 40))}`)
  const frac = (m[3] ?? '').slice(0, 9).padEnd(9, '0')
  const ns = BigInt(m[2] ?? '0') * 1_000_000_000n + BigInt(frac)
  return m[1] === '-' ? -ns : ns
}

/**
 * The PAX keyword for extended attribute `name`: `SCHILY.xattr.` followed
 * by the name's raw bytes. A name holding `=` (which a keyword cannot
 * hold), `%25` or `%3D` is escaped as GNU tar does (and undoes): `%` written
 * `%25` and `=` written `%3D`. Other names are written as they are, so that
 * GNU tar and Go's `archive/tar` (which undoes nothing) read the same name;
 * a reader that does not undo escapes sees escaped names escaped.
 */
export function xattrKeyword (name: Uint8Array): Uint8Array {
  const prefix = encoder.encode(PAX_XATTR_PREFIX)
  const text = Buffer.from(name).toString('latin1')
  if (!/=|%25|%3D/.test(text)) {
    const out = new Uint8Array(prefix.length + name.length)
    out.set(prefix)
    out.set(name, prefix.length)
    return out
  }
  let extra = 0
  for (const c of name) if (c === 0x25 || c === 0x3d) extra += 2
  const out = new Uint8Array(prefix.length + name.length + extra)
  out.set(prefix)
  let at = prefix.length
  for (const c of name) {
    if (c === 0x25 || c === 0x3d) {
      out[at++] = 0x25
      out[at++] = c === 0x25 ? 0x32 : 0x33 // '2' or '3'
      out[at++] = c === 0x25 ? 0x35 : 0x44 // '5' or 'D'
    } else {
      out[at++] = c
    }
  }
  return out
}

/**
 * The attribute name in an `SCHILY.xattr.` keyword, undoing the `%25` and
 * `%3D` escapes of {@link xattrKeyword} (exactly those, as GNU tar does).
 *
 * @returns the name, or `undefined` when `keyword` is not an xattr keyword
 */
export function xattrNameFromKeyword (keyword: Uint8Array): Uint8Array | undefined {
  const prefix = encoder.encode(PAX_XATTR_PREFIX)
  if (keyword.length < prefix.length || !prefix.every((c, i) => keyword[i] === c)) return undefined
  const rest = keyword.subarray(prefix.length)
  const out: number[] = []
  for (let i = 0; i < rest.length; i++) {
    const c = rest[i] ?? 0
    if (c === 0x25 && rest[i + 1] === 0x33 && rest[i + 2] === 0x44) { out.push(0x3d); i += 2 } else if (c === 0x25 && rest[i + 1] === 0x32 && rest[i + 2] === 0x35) { out.push(0x25); i += 2 } else out.push(c)
  }
  return Uint8Array.from(out)
}

/**
 * The `name` (and `prefix`) of a PAX extended header's own ustar header:
 * `PaxHeaders/` followed by the entry's base name, with every byte outside
 * printable ASCII replaced by `_`, cut to fit 100 bytes. Readers that know
 * PAX ignore it; it carries no pid or time, so archives stay reproducible.
 */
export function paxHeaderName (path: Uint8Array): Uint8Array {
  const base = ustarStandIn(baseName(path))
  const head = encoder.encode('PaxHeaders/')
  const out = new Uint8Array(Math.min(USTAR_NAME_MAX, head.length + base.length))
  out.set(head)
  out.set(base.subarray(0, out.length - head.length), head.length)
  return out
}

/**
 * A printable-ASCII stand-in for a name that goes in a PAX record: bytes
 * outside 0x20..0x7e become `_`. Used for the ustar fields readers without
 * PAX support would see.
 */
export function ustarStandIn (bytes: Uint8Array): Uint8Array {
  return bytes.map((c) => (c >= 0x20 && c <= 0x7e ? c : 0x5f))
}

/**
 * The complete PAX extended header for an entry: a ustar header of type
 * `x` (name from {@link paxHeaderName}, mode 0644, uid/gid 0, mtime 0, no
 * owner names) followed by the records padded to whole blocks.
 *
 * @param path - the entry's path, for the header's name only
 * @param records - the encoded records, see {@link encodePaxRecords}
 */
export function encodePaxHeader (path: Uint8Array, records: Uint8Array): Uint8Array {
  const padded = Math.ceil(records.length / TAR_BLOCK_SIZE) * TAR_BLOCK_SIZE
  const out = new Uint8Array(TAR_BLOCK_SIZE + padded)
  const empty = new Uint8Array(0)
  out.set(encodeUstarHeader({
    name: paxHeaderName(path),
    prefix: empty,
    mode: 0o644,
    uid: 0,
    gid: 0,
    size: records.length,
    mtime: 0,
    typeflag: TAR_TYPEFLAG.paxExtended,
    linkname: empty,
    uname: empty,
    gname: empty,
    devmajor: 0,
    devminor: 0
  }))
  out.set(records, TAR_BLOCK_SIZE)
  return out
}
