/**
 * Turns a {@link TarEntry} into the header blocks that precede its content:
 * a PAX extended header when some value does not fit ustar, then the ustar
 * header. Pure and deterministic: the same entry always gives the same bytes.
 *
 * @module
 */
import { isUtf8 } from 'node:buffer'
import { checkTarEntry, type TarEntry } from './entry.js'
import { TarInvalidEntryError } from './errors.js'
import {
  TAR_TYPEFLAG, USTAR_ID_MAX, USTAR_LINKNAME_MAX, USTAR_MTIME_MAX, USTAR_NAME_MAX, USTAR_OWNER_NAME_MAX,
  USTAR_SIZE_MAX, encodeUstarHeader, splitUstarPath
} from './header.js'
import { ustarStandIn, encodePaxHeader, encodePaxRecords, formatPaxTime, xattrKeyword } from './pax.js'
import { baseName, describeBytes, withTrailingSlash } from './path.js'
import { encodePax10Map, sparseSegmentsToWrite } from './sparse.js'

const encoder = new TextEncoder()
const EMPTY = new Uint8Array(0)

function compareBytes (a: Uint8Array, b: Uint8Array): number {
  return Buffer.compare(Buffer.from(a.buffer, a.byteOffset, a.byteLength), Buffer.from(b.buffer, b.byteOffset, b.byteLength))
}

function isAscii (bytes: Uint8Array): boolean {
  for (const c of bytes) if (c > 0x7f) return false
  return true
}

/** How a sparse entry is written: the name readers without sparse support see, its map, and the bytes stored. */
interface SparseLayout { standIn: Uint8Array, map: Uint8Array, stored: number }

/** The layout of a sparse file entry (undefined for a file without `sparse`). */
export function sparseLayout (entry: TarEntry): SparseLayout | undefined {
  if (entry.sparse === undefined) return undefined
  const segments = sparseSegmentsToWrite(entry.sparse, entry.size ?? 0)
  const map = encodePax10Map(segments)
  const slash = entry.path.lastIndexOf(0x2f)
  const standIn = ustarStandIn(Buffer.concat([entry.path.subarray(0, slash + 1), encoder.encode('GNUSparseFile.0/'), baseName(entry.path)]))
  return { standIn, map, stored: map.length + segments.reduce((n, s) => n + s.size, 0) }
}

/**
 * Encode the headers of `entry` (after checking it with {@link checkTarEntry}).
 *
 * A PAX extended header is added, with records in this fixed order, when:
 * - `hdrcharset=BINARY`: some record value below (or xattr name) is not
 *   valid UTF-8, so readers must take the values as raw bytes;
 * - `path`: the path is not 7-bit ASCII, or longer than 100 bytes with no
 *   `/` splitting it into a 155-byte prefix and a 100-byte name;
 * - `linkpath`: the link target is not 7-bit ASCII or longer than 100 bytes;
 * - `size`: 8 GiB or more; `uid`, `gid`: above 0o7777777;
 * - `uname`, `gname`: not ASCII or longer than 31 bytes;
 * - `mtime`: a nonzero sub-second part, negative, or past the ustar range;
 * - `SCHILY.xattr.NAME`: every extended attribute, sorted by name bytes.
 *
 * The ustar fields those records replace hold a stand-in: 0 for numbers
 * (the whole seconds for an in-range fractional mtime), and for names the
 * printable-ASCII rendering cut to fit.
 *
 * @throws {@link InvalidPathError} (`ERR_INVALID_PATH`) or {@link TarInvalidEntryError}
 *   (`ERR_TAR_INVALID_ENTRY`) for an entry breaking the rules of {@link TarEntry}
 */
export function encodeEntryHeader (entry: TarEntry): Uint8Array {
  checkTarEntry(entry)
  const type = entry.type
  const records: Array<[string | Uint8Array, Uint8Array]> = []
  let binary = false
  const record = (key: string | Uint8Array, value: Uint8Array | string): void => {
    const v = typeof value === 'string' ? encoder.encode(value) : value
    if (!isUtf8(v)) binary = true
    records.push([key, v])
  }
  // a sparse file: GNU sparse 1.0, the real name and size in the records,
  // a stand-in name in the header, the map and the data as its content
  const sparse = type === 'file' ? sparseLayout(entry) : undefined
  if (sparse !== undefined) {
    record('GNU.sparse.major', '1')
    record('GNU.sparse.minor', '0')
    record('GNU.sparse.name', entry.path)
    record('GNU.sparse.realsize', String(entry.size ?? 0))
  }
  const path = type === 'directory' ? withTrailingSlash(entry.path) : sparse?.standIn ?? entry.path

  let name: Uint8Array
  let prefix: Uint8Array = EMPTY
  const split = isAscii(path) ? splitUstarPath(path) : undefined
  if (split !== undefined) {
    ({ name, prefix } = split)
  } else if (sparse !== undefined) {
    // the real name is GNU.sparse.name: a path record would compete with it
    name = path.subarray(0, USTAR_NAME_MAX)
  } else {
    record('path', path)
    const stand = ustarStandIn(path)
    const s = splitUstarPath(stand)
    if (s !== undefined) ({ name, prefix } = s)
    else name = stand.subarray(0, USTAR_NAME_MAX)
  }

  let linkname: Uint8Array = EMPTY
  if (entry.linkname !== undefined) {
    linkname = entry.linkname
    if (!isAscii(linkname) || linkname.length > USTAR_LINKNAME_MAX) {
      record('linkpath', linkname)
      linkname = ustarStandIn(linkname).subarray(0, USTAR_LINKNAME_MAX)
    }
  }

  let size = sparse?.stored ?? (type === 'file' ? entry.size ?? 0 : 0)
  if (size > USTAR_SIZE_MAX) { record('size', String(size)); size = 0 }
  let uid = entry.uid
  if (uid > USTAR_ID_MAX) { record('uid', String(uid)); uid = 0 }
  let gid = entry.gid
  if (gid > USTAR_ID_MAX) { record('gid', String(gid)); gid = 0 }

  const owner = (key: 'uname' | 'gname', value: string | undefined): Uint8Array => {
    if (value === undefined) return EMPTY
    const bytes = encoder.encode(value)
    if (isAscii(bytes) && bytes.length <= USTAR_OWNER_NAME_MAX) return bytes
    record(key, bytes)
    return ustarStandIn(bytes).subarray(0, USTAR_OWNER_NAME_MAX)
  }
  const uname = owner('uname', entry.uname)
  const gname = owner('gname', entry.gname)

  const ns = entry.mtimeNs
  const floorSeconds = (ns >= 0n ? ns : ns - 999_999_999n) / 1_000_000_000n
  const inRange = floorSeconds >= 0n && floorSeconds <= BigInt(USTAR_MTIME_MAX)
  const mtime = inRange ? Number(floorSeconds) : 0
  if (!inRange || ns % 1_000_000_000n !== 0n) record('mtime', formatPaxTime(ns))

  if (entry.xattrs !== undefined && entry.xattrs.length > 0) {
    const sorted = [...entry.xattrs].sort((a, b) => compareBytes(a[0], b[0]))
    for (let i = 0; i < sorted.length; i++) {
      const [key, value] = sorted[i] as [Uint8Array, Uint8Array]
      const prev = sorted[i - 1]
      if (prev !== undefined && compareBytes(prev[0], key) === 0) {
        throw new TarInvalidEntryError(`${type} ${describeBytes(entry.path)}: xattr ${describeBytes(key)} is given twice`)
      }
      const keyword = xattrKeyword(key)
      if (!isUtf8(keyword)) binary = true
      record(keyword, value)
    }
  }

  const ustar = encodeUstarHeader({
    name,
    prefix,
    mode: entry.mode,
    uid,
    gid,
    size,
    mtime,
    typeflag: TAR_TYPEFLAG[type],
    linkname,
    uname,
    gname,
    devmajor: entry.devmajor ?? 0,
    devminor: entry.devminor ?? 0
  })
  if (records.length === 0) return ustar

  if (binary) records.unshift(['hdrcharset', encoder.encode('BINARY')])
  const pax = encodePaxHeader(path, encodePaxRecords(records))
  const out = new Uint8Array(pax.length + ustar.length)
  out.set(pax)
  out.set(ustar, pax.length)
  return out
}
