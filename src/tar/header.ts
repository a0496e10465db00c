/**
 * The 512-byte ustar header block (POSIX.1-1988 as amended by POSIX.1-2001):
 * layout, encoding with checksum and `ustar\0` `00` magic, the name/prefix
 * split, and decoding for readers.
 *
 * @module
 */
import type { TarDialect } from './dialect.js'
import { TarChecksumError, TarHeaderError } from './errors.js'
import { octalMax, readBytes, readNumber, readOctalGo, writeBytes, writeOctal } from './fields.js'

/** Size of every tar block: headers, content padding and the end marker. */
export const TAR_BLOCK_SIZE = 512

/** Longest `name` field value (no NUL needed at exactly this length). */
export const USTAR_NAME_MAX = 100
/** Longest `prefix` field value. */
export const USTAR_PREFIX_MAX = 155
/** Longest `linkname` field value. */
export const USTAR_LINKNAME_MAX = 100
/** Longest `uname`/`gname` value: the 32-byte fields are NUL-terminated. */
export const USTAR_OWNER_NAME_MAX = 31
/** Largest `size` a ustar header holds: 8 GiB - 1. */
export const USTAR_SIZE_MAX = octalMax(12)
/** Largest `mtime` in whole seconds a ustar header holds (year 2242). */
export const USTAR_MTIME_MAX = octalMax(12)
/** Largest `uid`, `gid`, `devmajor`, `devminor` a ustar header holds. */
export const USTAR_ID_MAX = octalMax(8)

/** Typeflag bytes (as one-character strings) this package writes or recognises. */
export const TAR_TYPEFLAG = {
  file: '0',
  hardlink: '1',
  symlink: '2',
  char: '3',
  block: '4',
  directory: '5',
  fifo: '6',
  /** PAX extended header applying to the next entry. */
  paxExtended: 'x',
  /** PAX global extended header. */
  paxGlobal: 'g'
} as const

/** Field offsets and widths of the ustar header. */
export const USTAR_FIELD = {
  name: [0, 100],
  mode: [100, 8],
  uid: [108, 8],
  gid: [116, 8],
  size: [124, 12],
  mtime: [136, 12],
  chksum: [148, 8],
  typeflag: [156, 1],
  linkname: [157, 100],
  magic: [257, 6],
  version: [263, 2],
  uname: [265, 32],
  gname: [297, 32],
  devmajor: [329, 8],
  devminor: [337, 8],
  prefix: [345, 155]
} as const satisfies Record<string, readonly [number, number]>

/** The values of a ustar header, as they are stored (names are raw bytes). */
export interface UstarHeader {
  /** Last part of the path, up to 100 bytes. */
  name: Uint8Array
  /** First part of the path (joined to `name` with `/`), up to 155 bytes. */
  prefix: Uint8Array
  /** Permission bits (0..0o7777; higher bits are written if given but never by this package). */
  mode: number
  /** Numeric owner, up to {@link USTAR_ID_MAX}. */
  uid: number
  /** Numeric group, up to {@link USTAR_ID_MAX}. */
  gid: number
  /** Content size in bytes (the bytes following the header), up to {@link USTAR_SIZE_MAX}. */
  size: number
  /** Modification time in whole seconds since the epoch. */
  mtime: number
  /** One ASCII character, see {@link TAR_TYPEFLAG}. */
  typeflag: string
  /** Link target, up to 100 bytes. */
  linkname: Uint8Array
  /** Owner name, up to 31 bytes (empty: none). */
  uname: Uint8Array
  /** Group name, up to 31 bytes (empty: none). */
  gname: Uint8Array
  /** Device major number. */
  devmajor: number
  /** Device minor number. */
  devminor: number
}

/** A header read back by {@link decodeUstarHeader}. */
export interface DecodedUstarHeader extends UstarHeader {
  /**
   * `ustar` for POSIX `ustar\0` `00`; `gnu` for the old GNU `ustar ` ` \0`
   * magic (whose prefix area holds other data, so `prefix` is empty);
   * `v7` for no magic (no uname/gname/devices/prefix).
   */
  format: 'ustar' | 'gnu' | 'v7'
  /** `prefix` + `/` + `name`, or just `name` when there is no prefix. */
  path: Uint8Array
}

const MAGIC_USTAR = [0x75, 0x73, 0x74, 0x61, 0x72, 0x00, 0x30, 0x30] // "ustar\0" "00"
const MAGIC_GNU = [0x75, 0x73, 0x74, 0x61, 0x72, 0x20, 0x20, 0x00] // "ustar " " \0"
const STAR_TRAILER = [0x74, 0x61, 0x72, 0x00] // "tar\0" at byte 508 of a star header
/** Width of the prefix field of a star header (then atime and ctime). */
const STAR_PREFIX_WIDTH = 131
/** Old GNU atime and ctime fields (where ustar has its prefix). */
const OLDGNU_ATIME: readonly [number, number] = [345, 12]
const OLDGNU_CTIME: readonly [number, number] = [357, 12]

function put (buf: Uint8Array, field: keyof typeof USTAR_FIELD, write: (offset: number, width: number) => void): void {
  const [offset, width] = USTAR_FIELD[field]
  try {
    write(offset, width)
  } catch (err) {
    throw new RangeError(`ustar ${field}: ${(err as Error).message}`, { cause: err })
  }
}

/**
 * Encode one header block: numeric fields as zero-padded octal with a NUL,
 * unused numeric fields (devices of non-devices) as zeros, the checksum as
 * six octal digits, NUL, space (as GNU tar writes it).
 *
 * @throws RangeError when a value does not fit its field (a caller bug:
 *   values that may not fit belong in a PAX header)
 */
export function encodeUstarHeader (h: UstarHeader): Uint8Array {
  const b = new Uint8Array(TAR_BLOCK_SIZE)
  if (h.typeflag.length !== 1 || h.typeflag.charCodeAt(0) > 0x7f) throw new RangeError(`ustar typeflag must be one ASCII character, got ${JSON.stringify(h.typeflag)}`)
  if (h.uname.length > USTAR_OWNER_NAME_MAX || h.gname.length > USTAR_OWNER_NAME_MAX) throw new RangeError('ustar uname/gname longer than 31 bytes')
  put(b, 'name', (o, w) => writeBytes(b, o, w, h.name))
  put(b, 'mode', (o, w) => writeOctal(b, o, w, h.mode))
  put(b, 'uid', (o, w) => writeOctal(b, o, w, h.uid))
  put(b, 'gid', (o, w) => writeOctal(b, o, w, h.gid))
  put(b, 'size', (o, w) => writeOctal(b, o, w, h.size))
  put(b, 'mtime', (o, w) => writeOctal(b, o, w, h.mtime))
  b[USTAR_FIELD.typeflag[0]] = h.typeflag.charCodeAt(0)
  put(b, 'linkname', (o, w) => writeBytes(b, o, w, h.linkname))
  b.set(MAGIC_USTAR, USTAR_FIELD.magic[0])
  put(b, 'uname', (o, w) => writeBytes(b, o, w, h.uname))
  put(b, 'gname', (o, w) => writeBytes(b, o, w, h.gname))
  put(b, 'devmajor', (o, w) => writeOctal(b, o, w, h.devmajor))
  put(b, 'devminor', (o, w) => writeOctal(b, o, w, h.devminor))
  put(b, 'prefix', (o, w) => writeBytes(b, o, w, h.prefix))
  const [co, cw] = USTAR_FIELD.chksum
  b.fill(0x20, co, co + cw)
  writeOctal(b, co, cw - 1, headerChecksum(b).unsigned)
  return b
}

/**
 * The checksum of a header block, computed with the checksum field read as
 * eight spaces: the unsigned byte sum POSIX specifies, and the signed sum
 * some old writers used.
 */
export function headerChecksum (block: Uint8Array): { unsigned: number, signed: number } {
  const [co, cw] = USTAR_FIELD.chksum
  let unsigned = 0
  let signed = 0
  for (let i = 0; i < TAR_BLOCK_SIZE; i++) {
    const c = i >= co && i < co + cw ? 0x20 : (block[i] ?? 0)
    unsigned += c
    signed += c > 0x7f ? c - 0x100 : c
  }
  return { unsigned, signed }
}

/** True when `block` is 512 zero bytes (half of the end-of-archive marker). */
export function isZeroBlock (block: Uint8Array): boolean {
  if (block.length !== TAR_BLOCK_SIZE) return false
  for (let i = 0; i < TAR_BLOCK_SIZE; i++) if (block[i] !== 0) return false
  return true
}

/**
 * Split a path too long for `name` into `prefix` and `name` at a `/`, as
 * ustar allows: prefix up to 155 bytes, name 1 to 100 bytes. A trailing `/`
 * (directories) stays in `name`. Takes the longest prefix that works.
 *
 * @returns the split, `{ prefix: empty, name: path }` when the path fits
 *   `name` alone, or `undefined` when no split fits
 */
export function splitUstarPath (path: Uint8Array): { prefix: Uint8Array, name: Uint8Array } | undefined {
  if (path.length <= USTAR_NAME_MAX) return { prefix: path.subarray(0, 0), name: path }
  // the separator is at index <= 155 (prefix length <= 155) and is not a trailing '/'
  const last = Math.min(USTAR_PREFIX_MAX, path.length - 2)
  const i = path.lastIndexOf(0x2f, last)
  if (i <= 0) return undefined
  const name = path.subarray(i + 1)
  if (name.length > USTAR_NAME_MAX) return undefined
  return { prefix: path.subarray(0, i), name }
}

function toSafeNumber (value: bigint, what: string): number {
  if (value > BigInt(Number.MAX_SAFE_INTEGER) || value < BigInt(Number.MIN_SAFE_INTEGER)) {
    throw new TarHeaderError(`${what} ${value} is out of range`)
  }
  return Number(value)
}

/** Options of {@link decodeUstarHeader}. */
export interface DecodeUstarOptions {
  /**
   * Whose reading of the numeric fields and of the prefix to follow
   * (see {@link TarDialect}). Default `'gnu'`.
   */
  dialect?: TarDialect
}

/**
 * Decode one header block. Does not interpret PAX or GNU long-name entries:
 * it returns their headers as they are (typeflag `x`, `g`, `L`, `K`...).
 *
 * With `dialect` `'go'`, numbers are read as Go's `archive/tar` reads them,
 * the `ustar\0` magic means ustar whatever the version, the prefix of a star header is 131 bytes, and an old GNU header whose
 * atime or ctime field is not a number has its prefix field read as a
 * path prefix, as Go does for archives of its pre-1.8 writer.
 *
 * @throws {@link TarChecksumError} (`ERR_TAR_BAD_CHECKSUM`, a {@link TarHeaderError})
 *   when the checksum matches neither the unsigned nor the signed sum
 * @throws {@link TarHeaderError} (`ERR_TAR_BAD_HEADER`) when the block is not
 *   512 bytes or a numeric field is malformed
 */
export function decodeUstarHeader (block: Uint8Array, options: DecodeUstarOptions = {}): DecodedUstarHeader {
  if (block.length !== TAR_BLOCK_SIZE) throw new TarHeaderError(`a tar header is 512 bytes, got ${block.length}`)
  const dialect = options.dialect ?? 'gnu'
  const num = (field: keyof typeof USTAR_FIELD): number => {
    const [o, w] = USTAR_FIELD[field]
    return toSafeNumber(readNumber(block, o, w, `ustar ${field}`, dialect), `ustar ${field}`)
  }
  const str = (field: keyof typeof USTAR_FIELD): Uint8Array => {
    const [o, w] = USTAR_FIELD[field]
    return readBytes(block, o, w)
  }
  const [co, cw] = USTAR_FIELD.chksum
  let stored: number
  try {
    stored = dialect === 'go' ? toSafeNumber(readOctalGo(block.subarray(co, co + cw), 'ustar chksum'), 'ustar chksum') : num('chksum')
  } catch (err) {
    throw new TarChecksumError(`tar header checksum is not a number (${(err as Error).message})`, { cause: err })
  }
  const sums = headerChecksum(block)
  if (stored !== sums.unsigned && stored !== sums.signed) {
    throw new TarChecksumError(`tar header checksum mismatch: stored ${stored}, computed ${sums.unsigned}`)
  }
  const magic = block.subarray(USTAR_FIELD.magic[0], USTAR_FIELD.version[0] + USTAR_FIELD.version[1])
  const same = (m: number[]): boolean => m.every((c, i) => magic[i] === c)
  // Go takes `ustar\0` with any version as ustar
  const ustar = dialect === 'go' ? MAGIC_USTAR.slice(0, 6).every((c, i) => magic[i] === c) : same(MAGIC_USTAR)
  const format = ustar ? 'ustar' : same(MAGIC_GNU) ? 'gnu' : 'v7'
  const empty = new Uint8Array(0)
  const name = str('name')
  let prefix: Uint8Array = empty
  if (format === 'ustar') {
    const star = dialect === 'go' && STAR_TRAILER.every((c, i) => block[508 + i] === c)
    prefix = star ? readBytes(block, USTAR_FIELD.prefix[0], STAR_PREFIX_WIDTH) : str('prefix')
  } else if (format === 'gnu' && dialect === 'go' && !oldGnuTimesParse(block)) {
    const p = str('prefix')
    if (p.every((c) => c < 0x80)) prefix = p
  }
  let path = name
  if (prefix.length > 0) {
    path = new Uint8Array(prefix.length + 1 + name.length)
    path.set(prefix)
    path[prefix.length] = 0x2f
    path.set(name, prefix.length + 1)
  }
  const v7 = format === 'v7'
  return {
    name,
    prefix,
    path,
    mode: num('mode'),
    uid: num('uid'),
    gid: num('gid'),
    size: num('size'),
    mtime: num('mtime'),
    typeflag: String.fromCharCode(block[USTAR_FIELD.typeflag[0]] ?? 0),
    linkname: str('linkname'),
    uname: v7 ? empty : str('uname'),
    gname: v7 ? empty : str('gname'),
    devmajor: v7 ? 0 : num('devmajor'),
    devminor: v7 ? 0 : num('devminor'),
    format
  }
}

/** Whether Go reads the atime and ctime of an old GNU header as numbers (fields starting with NUL are unused). */
function oldGnuTimesParse (block: Uint8Array): boolean {
  for (const [o, w] of [OLDGNU_ATIME, OLDGNU_CTIME]) {
    if (block[o] === 0) continue
    try { readNumber(block, o, w, 'old GNU time', 'go') } catch { return false }
  }
  return true
}
