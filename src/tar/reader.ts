/**
 * The streaming tar reader, for untrusted archives (OCI image layers).
 *
 * @module
 */
import { AbortedError, InvalidArgumentError, InvalidPathError, UnsupportedError, throwIfAborted } from '../errors.js'
import { ByteSource } from './byte-source.js'
import { DEFAULT_TAR_DIALECT, TAR_DIALECTS, type TarDialect } from './dialect.js'
import type { TarEntryType } from './entry.js'
import {
  TarChecksumError, TarContentUnavailableError, TarEntryTooLargeError, TarHeaderError, TarHeaderTooLargeError, TarNotArchiveError,
  TarTruncatedError, UnsupportedCompressionError
} from './errors.js'
import { TAR_BLOCK_SIZE, decodeUstarHeader, isZeroBlock, type DecodedUstarHeader } from './header.js'
import { PAX_XATTR_PREFIX, decodePaxRecords, parsePaxTime, xattrNameFromKeyword } from './pax.js'
import { describeBytes } from './path.js'
import { couldStartHeader, looksLikeHeaderStart, sniffCompression } from './sniff.js'
import {
  OLDGNU_EXTENSION_ISEXTENDED_OFFSET, OLDGNU_ISEXTENDED_OFFSET, OLDGNU_SPARSE_IN_EXTENSION, OLDGNU_SPARSE_IN_HEADER,
  OLDGNU_SPARSE_OFFSET, SparseMapParser, checkSparseMap, pairSegments, parseDecimal, parseSparseMapValue,
  readOldGnuRealSize, readOldGnuSparseEntries, type TarSparseSegment
} from './sparse.js'

/** Options of {@link readTar}. */
export interface ReadTarOptions {
  /** Cancels reading: the next step throws {@link AbortedError} (`ERR_ABORTED`). */
  signal?: AbortSignal
  /**
   * Largest metadata the reader holds in memory for one entry, in bytes:
   * PAX extended headers, GNU long names and link targets, and sparse maps
   * together (and, separately, the accumulated PAX global header). A header
   * declaring more fails with {@link TarHeaderTooLargeError}
   * (`ERR_TAR_HEADER_TOO_LARGE`) before anything is read. Default 1 MiB.
   */
  maxHeaderSize?: number
  /**
   * Largest entry size accepted, in bytes (the logical size for sparse
   * files, holes included). A larger entry fails with
   * {@link TarEntryTooLargeError} (`ERR_TAR_ENTRY_TOO_LARGE`) when its header
   * is read. Default: no limit, since content is streamed. Set it when the
   * consumer stores content: a sparse entry of a few hundred bytes can
   * declare petabytes of zeros.
   */
  maxEntrySize?: number
  /**
   * Whether to read (and discard) the input after the end-of-archive
   * marker, usually zero padding up to a 10240-byte record, so that a
   * digest computed over the source covers all of it. Default true. When
   * false the source's `return()` is called right after the marker.
   */
  readToEnd?: boolean
  /**
   * Whose reading to follow where tar readers disagree (see
   * {@link TarDialect}): `'go'` (default) reads as Go's `archive/tar`, that
   * is as containerd, CRI-O, Docker, umoci and skopeo unpack image layers;
   * `'gnu'` reads as GNU tar 1.34 extracts.
   */
  dialect?: TarDialect
}

/**
 * The kinds of entry {@link readTar} yields: the types the writer takes.
 * `contiguous` is in the union for consumers that name it, but the reader
 * never produces it: typeflag `7` (contiguous file) is read as a `file`,
 * as GNU tar does (its {@link TarReadEntry.typeflag} stays `7`).
 */
export type TarReadEntryType = TarEntryType | 'contiguous'

/**
 * One archive member as read, with its content as a stream.
 *
 * Paths and link targets are the raw stored bytes after PAX, GNU long-name
 * and sparse-name resolution: not normalised, possibly absolute or holding
 * `..`. Check them with {@link normalizeLayerPath} (or stricter rules)
 * before using them.
 */
export interface TarReadEntry {
  /** Raw path bytes, never empty, never holding NUL. Directories have their trailing `/` removed (`/` itself stays). */
  path: Uint8Array
  /** The entry's kind. Typeflags `0`, NUL, `7` (contiguous) and `S` (old GNU sparse) are files. */
  type: TarReadEntryType
  /** The header's typeflag character, as stored (`0`, `5`, `S`...). */
  typeflag: string
  /** Permission bits including setuid, setgid and sticky (`mode & 0o7777`). */
  mode: number
  /** Numeric owner. */
  uid: number
  /** Numeric group. */
  gid: number
  /** Modification time in nanoseconds since the epoch (may be negative). */
  mtimeNs: bigint
  /** Content length in bytes: the logical size for sparse files; 0 for every type but files. */
  size: number
  /** Target of a symlink or hardlink (raw bytes, no NUL); absent for other types. */
  linkname?: Uint8Array
  /** Device major number as stored (meaningful for `char` and `block`; 0 in v7 archives). */
  devmajor: number
  /** Device minor number. */
  devminor: number
  /**
   * Extended attributes, `[name, value]` raw bytes, in archive order, from
   * `SCHILY.xattr.*` records (`%3D`/`%25` escapes undone, as GNU tar does)
   * and `LIBARCHIVE.xattr.*` records (URL-encoded name, base64 value) when
   * no `SCHILY.xattr.*` record names the same attribute.
   */
  xattrs: Array<[Uint8Array, Uint8Array]>
  /** Owner name, decoded as UTF-8 (empty: none). */
  uname: string
  /** Group name, decoded as UTF-8 (empty: none). */
  gname: string
  /** For a GNU sparse file: its data segments (the rest of its `size` bytes are holes). */
  sparse?: TarSparseSegment[]
  /** Archive offset of the entry's first header block (its PAX or long-name header, if any). */
  headerOffset: number
  /**
   * The file content: exactly `size` bytes (holes of sparse files as
   * zeros), as views of the source's chunks where possible. Iterate it at
   * most once, and before asking the reader for the next entry: the reader
   * then skips whatever was not read, and later reads throw
   * {@link TarContentUnavailableError} (`ERR_TAR_CONTENT_UNAVAILABLE`).
   * Empty for every type but files.
   */
  content: AsyncIterable<Uint8Array>
  /**
   * The same content with the holes of a sparse file as numbers (how many
   * zero bytes each stands for) instead of zeros, so that a consumer that
   * keeps holes neither allocates nor reads them. Read this or
   * {@link TarReadEntry.content}, once.
   */
  extents: () => AsyncIterable<Uint8Array | number>
}

/** Default {@link ReadTarOptions.maxHeaderSize}: 1 MiB. */
export const DEFAULT_MAX_TAR_HEADER_SIZE = 1024 * 1024

const EMPTY = new Uint8Array(0)
const ZERO_CHUNK = 256 * 1024
const decoder = new TextDecoder('utf-8')
const latin1 = (bytes: Uint8Array): string => Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength).toString('latin1')
const padding = (size: number): number => (TAR_BLOCK_SIZE - (size % TAR_BLOCK_SIZE)) % TAR_BLOCK_SIZE

const TYPES: Record<string, TarReadEntryType> = {
  '0': 'file',
  '\0': 'file',
  '7': 'file',
  S: 'file',
  '1': 'hardlink',
  '2': 'symlink',
  '3': 'char',
  '4': 'block',
  '5': 'directory',
  '6': 'fifo'
}

const LIBARCHIVE_XATTR_PREFIX = 'LIBARCHIVE.xattr.'

/**
 * Typeflags whose entries carry no data, whatever their size field says:
 * for Go (`isHeaderOnlyType`) links, devices, directories and FIFOs; for
 * GNU tar hard links and directories (it skips the data a symlink, device
 * or FIFO declares).
 */
const HEADER_ONLY: Readonly<Record<TarDialect, ReadonlySet<string>>> = {
  go: new Set(['1', '2', '3', '4', '5', '6']),
  gnu: new Set(['1', '5'])
}

/** PAX records of an entry's extended headers (or the accumulated global ones), by role. */
class PaxSet {
  /** Plain keywords, last record wins; an empty value is kept (Go then keeps the ustar field, GNU tar takes it). */
  readonly simple = new Map<string, Uint8Array>()
  /** `SCHILY.xattr.*` by latin1 name. */
  readonly schily = new Map<string, [Uint8Array, Uint8Array]>()
  /** `LIBARCHIVE.xattr.*` by latin1 name (decoded). */
  readonly libarchive = new Map<string, [Uint8Array, Uint8Array]>()
  /** PAX 0.0 sparse map: `GNU.sparse.offset` / `GNU.sparse.numbytes` in order. */
  readonly sparse00: Array<[string, Uint8Array]> = []

  /** Bytes of the plain records held (keys and values), to bound the global set. */
  size = 0
  /** Which of `GNU.sparse.size` and `GNU.sparse.realsize` came last (GNU tar takes that one). */
  lastSparseSize: string | undefined

  constructor (private readonly dialect: TarDialect) {}

  /**
   * Take one record. In a global set, `GNU.sparse.*` offsets and
   * extended attributes are ignored (see {@link readTar}).
   */
  add (key: Uint8Array, value: Uint8Array, global: boolean): void {
    const k = latin1(key)
    if (global && (k.startsWith(PAX_XATTR_PREFIX) || k.startsWith(LIBARCHIVE_XATTR_PREFIX) || k.startsWith('GNU.sparse.'))) return
    if (k === 'GNU.sparse.offset' || k === 'GNU.sparse.numbytes') {
      this.sparse00.push([k, value])
      return
    }
    if (k.startsWith(PAX_XATTR_PREFIX)) {
      // Go takes the name as it is; GNU tar undoes its %3D and %25 escapes
      const name = this.dialect === 'go' ? key.slice(PAX_XATTR_PREFIX.length) : xattrNameFromKeyword(key) ?? EMPTY
      checkXattrName(name, k)
      this.schily.set(latin1(name), [name, value])
      return
    }
    if (k.startsWith(LIBARCHIVE_XATTR_PREFIX)) {
      if (this.dialect === 'go') return
      const name = urlDecode(key.subarray(LIBARCHIVE_XATTR_PREFIX.length))
      checkXattrName(name, k)
      this.libarchive.set(latin1(name), [name, decodeBase64(value, k)])
      return
    }
    if (k === 'GNU.sparse.size' || k === 'GNU.sparse.realsize') this.lastSparseSize = k
    const old = this.simple.get(k)
    if (old !== undefined) this.size -= k.length + old.length
    this.simple.set(k, value)
    this.size += k.length + value.length
  }
}

function checkXattrName (name: Uint8Array, keyword: string): void {
  if (name.length === 0) throw new TarHeaderError(`PAX record ${JSON.stringify(keyword.slice(0, 80))} names an empty extended attribute`)
  if (name.includes(0)) throw new TarHeaderError(`PAX record ${JSON.stringify(keyword.slice(0, 80))}: extended attribute name holds a NUL byte`)
}

/** `%XX` escapes decoded (libarchive's encoding of xattr names); other bytes, stray `%` included, kept. */
function urlDecode (bytes: Uint8Array): Uint8Array {
  const hex = (c: number | undefined): number => {
    if (c === undefined) return -1
    if (c >= 0x30 && c <= 0x39) return c - 0x30
    if (c >= 0x41 && c <= 0x46) return c - 0x37
    if (c >= 0x61 && c <= 0x66) return c - 0x57
    return -1
  }
  const out: number[] = []
  for (let i = 0; i < bytes.length; i++) {
    const c = bytes[i] ?? 0
    const hi = hex(bytes[i + 1])
    const lo = hex(bytes[i + 2])
    if (c === 0x25 && hi >= 0 && lo >= 0) { out.push(hi * 16 + lo); i += 2 } else out.push(c)
  }
  return Uint8Array.from(out)
}

/** Strict base64 (padding optional, as libarchive writes it without). */
function decodeBase64 (value: Uint8Array, keyword: string): Uint8Array {
  const s = latin1(value)
  const body = s.replace(/={1,2}$/, '')
  if (!/^[A-Za-z0-9+/]*$/.test(body) || body.length % 4 === 1 || (s.length !== body.length && s.length % 4 !== 0)) {
    throw new TarHeaderError(`PAX record ${JSON.stringify(keyword.slice(0, 80))}: value is not base64`)
  }
  return Uint8Array.from(Buffer.from(body, 'base64'))
}

/** What the reader needs to stream one entry's content. */
interface ContentPlan {
  /** Stored data bytes still in the archive (after a PAX 1.0 map). */
  stored: number
  /** Zero bytes after the stored data. */
  padding: number
  /** Logical size. */
  size: number
  sparse?: TarSparseSegment[]
}

/** The content stream of one entry; see {@link TarReadEntry.content}. */
class EntryContent implements AsyncIterable<Uint8Array> {
  private closed = false
  private started = false

  constructor (
    private readonly src: ByteSource,
    private readonly plan: ContentPlan,
    private readonly label: string,
    private readonly signal: AbortSignal | undefined
  ) {}

  [Symbol.asyncIterator] (): AsyncIterator<Uint8Array> {
    return this.#zerosFilled(this.extents())
  }

  /** The content with the holes of a sparse file as counts of zero bytes; read it or the bytes, once. */
  extents (): AsyncGenerator<Uint8Array | number, void, undefined> {
    if (this.started) throw new TarContentUnavailableError(`the content of ${this.label} can be read only once`)
    this.started = true
    return this.stream()
  }

  async * #zerosFilled (pieces: AsyncGenerator<Uint8Array | number>): AsyncGenerator<Uint8Array> {
    for await (const piece of pieces) {
      if (typeof piece !== 'number') { yield piece; continue }
      for (let left = piece; left > 0; left -= ZERO_CHUNK) {
        this.check()
        yield new Uint8Array(Math.min(ZERO_CHUNK, left))
      }
    }
  }

  private check (): void {
    if (this.closed) throw new TarContentUnavailableError(`the content of ${this.label} is gone: the reader has moved past it`)
    throwIfAborted(this.signal)
  }

  /**
   * Up to `max` stored bytes, under the source's lock. Checked when asked
   * for: a read asked for before the reader moves on is served first.
   */
  private async readStored (max: number): Promise<Uint8Array> {
    this.check()
    return await this.src.exclusive(async () => {
      const chunk = await this.src.read(Math.min(max, this.plan.stored))
      if (chunk === undefined) throw truncated(this.src, `in the content of ${this.label}`)
      this.plan.stored -= chunk.length
      return chunk
    })
  }

  private async * stream (): AsyncGenerator<Uint8Array | number, void, undefined> {
    const { sparse, size } = this.plan
    if (sparse === undefined) {
      let left = size
      while (left > 0) {
        const chunk = await this.readStored(left)
        left -= chunk.length
        yield chunk
      }
      return
    }
    let pos = 0
    const zeros = function * (self: EntryContent, end: number): Generator<number> {
      self.check()
      if (pos < end) yield end - pos
      pos = end
    }
    for (const seg of sparse) {
      yield * zeros(this, seg.offset)
      let left = seg.size
      while (left > 0) {
        const chunk = await this.readStored(left)
        left -= chunk.length
        pos += chunk.length
        yield chunk
      }
    }
    yield * zeros(this, size)
  }

  /** Detach the stream (later reads throw) without touching the source. */
  close (): void {
    this.closed = true
  }

  /** Detach the stream, then skip what it did not read and the padding. */
  async finish (): Promise<void> {
    this.closed = true
    await this.src.exclusive(async () => {
      const want = this.plan.stored + this.plan.padding
      const got = await this.src.skip(want, this.signal)
      if (got < want) throw truncated(this.src, `in the ${got < this.plan.stored ? 'content' : 'padding'} of ${this.label}`)
      this.plan.stored = 0
      this.plan.padding = 0
    })
  }
}

function truncated (src: ByteSource, where: string): TarTruncatedError {
  return new TarTruncatedError(`the tar archive is truncated ${where} (at byte ${src.offset})`, src.offset)
}

function positiveOption (value: number | undefined, name: string, fallback: number): number {
  if (value === undefined) return fallback
  if (typeof value !== 'number' || !(value >= 0) || !(Number.isSafeInteger(value) || value === Infinity)) {
    throw new InvalidArgumentError(`${name} must be a non-negative integer, got ${String(value)}`)
  }
  return value
}

/**
 * Read a tar archive from a stream of chunks, one entry at a time, for
 * untrusted input (OCI image layers).
 *
 * Formats: POSIX ustar (prefix + name), PAX extended (`x`) and global (`g`)
 * headers (`path`, `linkpath`, `size`, `uid`, `gid`, `mtime` with
 * fractions, `uname`, `gname`, `SCHILY.devmajor`/`devminor`,
 * `SCHILY.xattr.*`, `LIBARCHIVE.xattr.*`, GNU sparse 0.0, 0.1 and 1.0;
 * other keywords are ignored), GNU (`L` long names, `K` long link targets,
 * base-256 numbers, old sparse `S` entries with extended sparse headers,
 * `V` volume labels skipped), and v7 (no magic; a NUL-typed entry whose
 * name ends in `/` is a directory, as for GNU tar, which also applies to
 * types `0` and `7`).
 *
 * Streaming with bounded memory: content is handed out as it arrives and
 * skipped, not buffered, when the consumer does not read it; metadata held
 * for one entry is bounded by `maxHeaderSize`.
 *
 * Ends at the end-of-archive marker (two zero blocks), at one zero block
 * followed by the end of input, or at the end of input right after an
 * entry (GNU tar accepts a missing marker too). The input after the marker
 * is read and discarded unless `readToEnd` is false.
 *
 * Where readers disagree it reads as `options.dialect` says (see
 * {@link TarDialect}): as Go's `archive/tar` (the default), or as GNU tar.
 * In the `'go'` dialect PAX global headers are ignored, and a record with
 * an empty value keeps the ustar field. In the `'gnu'` dialect global
 * headers apply their plain keywords (`path`, `uid`, `mtime`, `uname`...)
 * to every later entry, and an empty value is taken as GNU tar takes it:
 * an error for a number, an empty (refused) path. Extended attributes and
 * sparse records in global headers are ignored: nothing writes them, and
 * copying them into every entry would let a small archive make the reader
 * do work out of proportion to its size.
 *
 * Directories, links, devices and FIFOs carry no data whatever their size
 * field says (as Go and GNU tar read them). Strict where readers could
 * disagree about the entries an archive holds: a zero block followed by a
 * non-zero one, a v7 directory (a name ending in `/`) with data, an unknown
 * typeflag, metadata not followed by an entry, a sparse map that
 * does not match the stored data are all errors.
 *
 * Nothing is normalised: paths may be absolute or hold `..` and must be
 * checked by the caller, see {@link normalizeLayerPath}.
 *
 * @param source - the archive bytes, in chunks of any size (sync or async
 *   iterable). Its `return()` is called when reading stops early.
 * @param options - see {@link ReadTarOptions}
 * @throws {@link TarChecksumError} (`ERR_TAR_BAD_CHECKSUM`) for a header whose checksum is wrong
 * @throws {@link TarTruncatedError} (`ERR_TAR_TRUNCATED`) when the input ends inside a header, content or padding
 * @throws {@link TarHeaderTooLargeError} (`ERR_TAR_HEADER_TOO_LARGE`) for metadata above `maxHeaderSize`
 * @throws {@link TarHeaderError} (`ERR_TAR_BAD_HEADER`) for any other malformed or contradictory header
 * @throws {@link TarEntryTooLargeError} (`ERR_TAR_ENTRY_TOO_LARGE`) for an entry above `maxEntrySize`
 * @throws {@link InvalidPathError} (`ERR_INVALID_PATH`) for an empty path, or a path or link target holding a NUL byte
 * @throws {@link UnsupportedError} (`ERR_UNSUPPORTED`) for an entry type or sparse format it does not know
 * @throws {@link AbortedError} (`ERR_ABORTED`) when `options.signal` is aborted
 * @throws whatever the source throws, unchanged
 */
export async function * readTar (
  source: AsyncIterable<Uint8Array> | Iterable<Uint8Array>,
  options: ReadTarOptions = {}
): AsyncGenerator<TarReadEntry, void, undefined> {
  const { signal } = options
  const maxHeaderSize = positiveOption(options.maxHeaderSize, 'maxHeaderSize', DEFAULT_MAX_TAR_HEADER_SIZE)
  const maxEntrySize = positiveOption(options.maxEntrySize, 'maxEntrySize', Infinity)
  const dialect = options.dialect ?? DEFAULT_TAR_DIALECT
  if (!TAR_DIALECTS.includes(dialect)) throw new InvalidArgumentError(`dialect must be ${TAR_DIALECTS.map((d) => `'${d}'`).join(' or ')}, got ${String(dialect)}`)
  throwIfAborted(signal)
  const src = new ByteSource(source)
  const ctx: Context = { src, signal, maxHeaderSize, maxEntrySize, dialect, globals: new PaxSet(dialect) }
  let current: EntryContent | undefined
  try {
    for (;;) {
      const next = await src.exclusive(async () => await (src.offset === 0 ? readFirstEntry(ctx) : readEntry(ctx)))
      if (next === undefined) break
      current = next.body
      yield next.entry
      await current.finish()
      current = undefined
    }
    if (options.readToEnd !== false) await src.exclusive(async () => { await src.drain(signal) })
  } finally {
    current?.close()
    await src.close()
  }
}

interface Context {
  src: ByteSource
  signal: AbortSignal | undefined
  maxHeaderSize: number
  maxEntrySize: number
  dialect: TarDialect
  globals: PaxSet
  /** The archive's first block (or what there was of it), to tell a compressed stream. */
  head?: Uint8Array
}

/** Extended metadata met before an entry's own header. */
interface Pending {
  start: number
  local: PaxSet
  longName?: Uint8Array
  longLink?: Uint8Array
  /** Metadata bytes read for this entry, against maxHeaderSize. */
  bytes: number
  /** Whether some extended header was read (an entry must follow). */
  any: boolean
}

async function readBlock (ctx: Context, what: string): Promise<Uint8Array | undefined> {
  const first = ctx.src.offset === 0
  const { bytes, got } = await ctx.src.readExact(TAR_BLOCK_SIZE)
  if (first) ctx.head = bytes.subarray(0, got)
  if (got === 0) return undefined
  if (got < TAR_BLOCK_SIZE) throw truncated(ctx.src, `inside ${what}`)
  return bytes
}

/** Read the data of a metadata entry (PAX, long name), bounded, and skip its padding. */
async function readMetaData (ctx: Context, pending: Pending, h: DecodedUstarHeader, what: string, offset: number): Promise<Uint8Array> {
  const size = h.size
  if (size < 0) throw new TarHeaderError(`${what} at byte ${offset} has a negative size`)
  const room = ctx.maxHeaderSize - pending.bytes
  if (size > room) {
    throw new TarHeaderTooLargeError(`${what} at byte ${offset} declares ${size} bytes, above the ${ctx.maxHeaderSize}-byte limit on an entry's metadata`)
  }
  pending.bytes += size
  const { bytes, got } = await ctx.src.readExact(size)
  if (got < size) throw truncated(ctx.src, `in the data of ${what}`)
  const pad = padding(size)
  if (await ctx.src.skip(pad, ctx.signal) < pad) throw truncated(ctx.src, `in the padding of ${what}`)
  return bytes
}

/**
 * A GNU long name or link: the data up to its first NUL. GNU tar, BSD tar
 * and Go all cut there (a long name is a C string), whatever follows.
 */
function longNameValue (data: Uint8Array): Uint8Array {
  const nul = data.indexOf(0)
  return nul === -1 ? data : data.subarray(0, nul)
}

/**
 * The first entry: as {@link readEntry}, but when the first block is no
 * tar header, a compressed stream is told apart (`ERR_UNSUPPORTED_COMPRESSION`),
 * and so are bytes that are no tar at all (`ERR_TAR_NOT_ARCHIVE`).
 */
async function readFirstEntry (ctx: Context): Promise<{ entry: TarReadEntry, body: EntryContent } | undefined> {
  try {
    return await readEntry(ctx)
  } catch (err) {
    const head = ctx.head
    if (!(err instanceof TarHeaderError || err instanceof TarTruncatedError) || head === undefined || head.length === 0) throw err
    const kind = sniffCompression(head)
    if (kind !== undefined) throw new UnsupportedCompressionError(`the tar stream is ${kind}-compressed, which is not supported here (decompress it, or recompress it with gzip or zstd)`, kind, { cause: err })
    // Only when the first block itself is at fault, and does not start like a header.
    const short = head.length < TAR_BLOCK_SIZE
    if (short ? couldStartHeader(head) : !(err instanceof TarChecksumError) || looksLikeHeaderStart(head) || !headerFails(head, ctx.dialect)) throw err
    throw new TarNotArchiveError(short
      ? `not a tar archive: the stream is ${head.length} bytes long, shorter than one tar header (512 bytes)`
      : 'not a tar archive: its first 512 bytes are not a tar header (a plain, gzip or zstd tar was expected)', { cause: err })
  }
}

/** Whether the 512 bytes of `block` cannot be decoded as a tar header. */
function headerFails (block: Uint8Array, dialect: TarDialect): boolean {
  try {
    decodeUstarHeader(block, { dialect })
    return false
  } catch {
    return true
  }
}

/** The next entry, or undefined at the end of the archive. */
async function readEntry (ctx: Context): Promise<{ entry: TarReadEntry, body: EntryContent } | undefined> {
  const { src } = ctx
  let pending: Pending = { start: src.offset, local: new PaxSet(ctx.dialect), bytes: 0, any: false }
  for (;;) {
    throwIfAborted(ctx.signal)
    const offset = src.offset
    const block = await readBlock(ctx, 'a header')
    if (block === undefined) {
      if (pending.any) throw truncated(src, 'after an extended header, before its entry')
      return undefined
    }
    if (isZeroBlock(block)) {
      if (pending.any) throw new TarHeaderError(`the end-of-archive marker at byte ${offset} follows an extended header`)
      const second = await readBlock(ctx, 'the end-of-archive marker')
      if (second !== undefined && !isZeroBlock(second)) {
        throw new TarHeaderError(`a zero block at byte ${offset} is followed by a non-zero block, not by a second zero block`)
      }
      return undefined
    }
    const h = decodeUstarHeader(block, { dialect: ctx.dialect })
    const pax = { dialect: ctx.dialect }
    switch (h.typeflag) {
      case 'x':
      case 'g': {
        const global = h.typeflag === 'g'
        const what = global ? 'a PAX global header' : 'a PAX extended header'
        if (global) {
          // bounded on its own: it is not part of the next entry's metadata
          const data = await readMetaData(ctx, { start: offset, local: ctx.globals, bytes: 0, any: true }, h, what, offset)
          const records = decodePaxRecords(data, pax)
          if (ctx.dialect === 'go') {
            // Go returns it as an entry of its own, which the runtimes
            // skip; what was pending before it is lost with it.
            pending = { start: src.offset, local: new PaxSet(ctx.dialect), bytes: 0, any: false }
            continue
          }
          for (const [k, v] of records) ctx.globals.add(k, v, true)
          if (ctx.globals.size > ctx.maxHeaderSize) {
            throw new TarHeaderTooLargeError(`PAX global headers hold more than ${ctx.maxHeaderSize} bytes`)
          }
        } else {
          const data = await readMetaData(ctx, pending, h, what, offset)
          // only the last extended header before an entry applies (Go, GNU and BSD tar agree)
          pending.local = new PaxSet(ctx.dialect)
          for (const [k, v] of decodePaxRecords(data, pax)) pending.local.add(k, v, false)
          pending.any = true
        }
        continue
      }
      case 'L':
        pending.longName = longNameValue(await readMetaData(ctx, pending, h, 'a GNU long name', offset))
        pending.any = true
        continue
      case 'K':
        pending.longLink = longNameValue(await readMetaData(ctx, pending, h, 'a GNU long link target', offset))
        pending.any = true
        continue
      case 'V': {
        // GNU volume label: no file, nothing to apply
        if (h.size < 0) throw new TarHeaderError(`volume label at byte ${offset} has a negative size`)
        const want = h.size + padding(h.size)
        if (await src.skip(want, ctx.signal) < want) throw truncated(src, 'in a volume label')
        // Go returns it as an entry (which makes no file): what was pending
        // applied to it, and fails on the records it fails on for any entry
        if (ctx.dialect === 'go') {
          checkPaxNumbers(pending.local, `at byte ${offset}`)
          pending = { start: src.offset, local: new PaxSet(ctx.dialect), bytes: 0, any: false }
        }
        continue
      }
      default:
        return await makeEntry(ctx, pending, h, block, offset)
    }
  }
}

async function makeEntry (
  ctx: Context, pending: Pending, h: DecodedUstarHeader, block: Uint8Array, offset: number
): Promise<{ entry: TarReadEntry, body: EntryContent }> {
  const { src, globals, dialect } = ctx
  const go = dialect === 'go'
  const local = pending.local
  const at = `at byte ${offset}`
  // GNU tar extracts a GNU dumpdir (D, of incremental archives) as a
  // directory; Go returns it as an entry the runtimes do not unpack
  let type = !go && h.typeflag === 'D' ? 'directory' : TYPES[h.typeflag]
  if (type === undefined) {
    throw new UnsupportedError(`unsupported tar entry type ${JSON.stringify(h.typeflag)} ${at}`)
  }
  // Go keeps the ustar field where a record is empty; GNU tar takes the
  // empty value (and fails on an empty number, names an entry with an
  // empty path `.`, which tessera refuses)
  const get = (key: string): Uint8Array | undefined => {
    const v = local.simple.get(key) ?? globals.simple.get(key)
    return go && v?.length === 0 ? undefined : v
  }
  const num = (key: string | undefined, fallback: number, what: string): number => {
    const v = key === undefined ? undefined : get(key)
    if (v !== undefined) return parseDecimal(v, `PAX ${key ?? what}`)
    if (fallback < 0) throw new TarHeaderError(`${what} ${at} is negative (${fallback})`)
    return fallback
  }

  // Go lets a GNU long name or link (when not empty) win over the PAX
  // record; GNU tar lets the PAX record win.
  const longName = pending.longName !== undefined && (!go || pending.longName.length > 0) ? pending.longName : undefined
  const longLink = pending.longLink !== undefined && (!go || pending.longLink.length > 0) ? pending.longLink : undefined
  let path = go ? longName ?? get('path') ?? h.path : get('path') ?? longName ?? h.path
  let linkname = go ? longLink ?? get('linkpath') ?? h.linkname : get('linkpath') ?? longLink ?? h.linkname
  // Directories, links, devices and FIFOs carry no data whatever their size
  // field says (GNU tar skips what a symlink, device or FIFO declares); the
  // field must still parse.
  const headerOnly = HEADER_ONLY[dialect].has(h.typeflag)
  const sizeRecord = get('size')
  let stored = headerOnly ? 0 : num('size', h.size, 'size')
  if (headerOnly && sizeRecord !== undefined) parseDecimal(sizeRecord, 'PAX size')
  const uid = num('uid', h.uid, 'uid')
  const gid = num('gid', h.gid, 'gid')
  // Go does not read SCHILY.devmajor / devminor
  const devmajor = num(go ? undefined : 'SCHILY.devmajor', h.devmajor, 'devmajor')
  const devminor = num(go ? undefined : 'SCHILY.devminor', h.devminor, 'devminor')
  if (h.mode < 0) throw new TarHeaderError(`mode ${at} is negative`)
  const mode = h.mode & 0o7777
  const mtimeValue = get('mtime')
  const mtimeNs = mtimeValue !== undefined ? parsePaxTime(mtimeValue) : BigInt(h.mtime) * 1_000_000_000n
  if (go) checkPaxNumbers(local, at)
  const uname = decoder.decode(get('uname') ?? h.uname)
  const gname = decoder.decode(get('gname') ?? h.gname)

  const xattrs: Array<[Uint8Array, Uint8Array]> = [...local.schily.values()]
  for (const [k, pair] of local.libarchive) if (!local.schily.has(k)) xattrs.push(pair)

  // sparse files: the map, the real size and (PAX) the real name
  let sparse: TarSparseSegment[] | undefined
  let size = stored
  let mapInData = false
  if (h.typeflag === 'S') {
    if (go && h.format !== 'gnu') throw new TarHeaderError(`old GNU sparse entry ${at} has no GNU magic`)
    const old = await readOldGnuSparse(ctx, pending, block, at)
    sparse = old.sparse
    size = old.size
  } else if (local.sparse00.length > 0 || [...local.simple.keys()].some((k) => k.startsWith('GNU.sparse.'))) {
    const pax = go ? paxSparseGo(local, stored, at) : type === 'file' ? paxSparse(local, at) : undefined
    if (pax !== undefined) {
      if (headerOnly) throw new TarHeaderError(`${type} entry ${at} has a sparse map`)
      const name = local.simple.get('GNU.sparse.name')
      if (name !== undefined && (!go || name.length > 0)) path = name
      size = pax.realSize
      if (pax.segments !== undefined) sparse = pax.segments
      else mapInData = true
    }
  }

  if (path.length === 0) throw new InvalidPathError(`the entry ${at} has an empty path`)
  if (path.includes(0)) throw new InvalidPathError(`path ${describeBytes(path)} ${at} contains a NUL byte`)
  // v7 archives mark directories with a trailing slash; GNU tar extends
  // that to types 0 and 7, Go (and so the runtimes) does not.
  const slashed = h.typeflag === '\0' || (!go && (h.typeflag === '0' || h.typeflag === '7'))
  if (slashed && path[path.length - 1] === 0x2f) type = 'directory'
  if (type === 'directory') {
    let end = path.length
    while (end > 1 && path[end - 1] === 0x2f) end--
    path = path.subarray(0, end)
  }
  const label = `${type} ${describeBytes(path)} ${at}`
  const isLink = type === 'symlink' || type === 'hardlink'
  if (isLink) {
    if (linkname.length === 0) throw new TarHeaderError(`${label} has an empty link target`)
    if (linkname.includes(0)) throw new InvalidPathError(`${label}: link target ${describeBytes(linkname)} contains a NUL byte`)
  }
  if (slashed && type === 'directory' && stored !== 0) {
    // a v7 directory with data: Go reads the data as the next header, GNU tar skips it
    throw new TarHeaderError(`${label} declares ${stored} content bytes, which readers skip or not`)
  }
  if (size > ctx.maxEntrySize) {
    throw new TarEntryTooLargeError(`${label} is ${size} bytes, above the ${ctx.maxEntrySize}-byte limit`)
  }

  const pad = padding(stored)
  if (mapInData) {
    const map = await readPax10Map(ctx, pending, stored, at)
    sparse = map.segments
    stored -= map.mapBytes
  }
  if (sparse !== undefined) checkSparseMap(sparse, size, stored)

  // (data of a non-file, which the gnu dialect skips, is no content)
  const plan: ContentPlan = { stored, padding: pad, size: type === 'file' ? size : 0, ...(sparse !== undefined ? { sparse } : {}) }
  const body = new EntryContent(src, plan, label, ctx.signal)
  const entry: TarReadEntry = {
    path,
    type,
    typeflag: h.typeflag,
    mode,
    uid,
    gid,
    mtimeNs,
    size: type === 'file' ? size : 0,
    ...(isLink ? { linkname } : {}),
    devmajor,
    devminor,
    xattrs,
    uname,
    gname,
    ...(sparse !== undefined ? { sparse: sparse.map((s) => ({ ...s })) } : {}), // a copy: the stream reads the plan's
    headerOffset: pending.start,
    content: body,
    extents: () => body.extents()
  }
  return { entry, body }
}

/** The map of an old GNU sparse (`S`) entry: four entries in the header, then extension blocks. */
async function readOldGnuSparse (ctx: Context, pending: Pending, block: Uint8Array, at: string): Promise<{ sparse: TarSparseSegment[], size: number }> {
  const size = readOldGnuRealSize(block, ctx.dialect)
  const first = readOldGnuSparseEntries(block, OLDGNU_SPARSE_OFFSET, OLDGNU_SPARSE_IN_HEADER, ctx.dialect)
  const sparse = first.segments
  let ended = first.ended
  let extended = block[OLDGNU_ISEXTENDED_OFFSET] !== 0
  while (extended) {
    throwIfAborted(ctx.signal)
    if (ended) throw new TarHeaderError(`old GNU sparse entry ${at}: extension blocks follow the end of the map`)
    pending.bytes += TAR_BLOCK_SIZE
    if (pending.bytes > ctx.maxHeaderSize) {
      throw new TarHeaderTooLargeError(`old GNU sparse entry ${at}: the sparse map is above the ${ctx.maxHeaderSize}-byte limit on an entry's metadata`)
    }
    const ext = await readBlock(ctx, 'an extended sparse header')
    if (ext === undefined) throw truncated(ctx.src, 'before an extended sparse header')
    const more = readOldGnuSparseEntries(ext, 0, OLDGNU_SPARSE_IN_EXTENSION, ctx.dialect)
    sparse.push(...more.segments)
    ended = more.ended
    extended = ext[OLDGNU_EXTENSION_ISEXTENDED_OFFSET] !== 0
  }
  return { sparse, size }
}

/**
 * The PAX sparse format of an entry: its real size, and its map for 0.0
 * and 0.1 (1.0 stores the map in the data). Undefined when the records do
 * not make a sparse file (a lone `GNU.sparse.name` for instance).
 */
function paxSparse (local: PaxSet, at: string): { realSize: number, segments?: TarSparseSegment[] } | undefined {
  const str = (key: string): string | undefined => {
    const v = local.simple.get(key)
    return v === undefined ? undefined : latin1(v)
  }
  const major = str('GNU.sparse.major')
  const minor = str('GNU.sparse.minor')
  const map = local.simple.get('GNU.sparse.map')
  let version: '0.0' | '0.1' | '1.0'
  if (major === '1' && minor === '0') version = '1.0'
  else if (major === '0' && (minor === '0' || minor === '1')) version = map !== undefined ? '0.1' : '0.0'
  else if (major !== undefined || minor !== undefined) throw new UnsupportedError(`GNU sparse format ${major ?? '?'}.${minor ?? '?'} ${at} is not supported`)
  else if (map !== undefined) version = '0.1'
  else if (local.sparse00.length > 0) version = '0.0'
  else return undefined

  // GNU tar reads both keywords alike: the last one counts
  const real = local.lastSparseSize === undefined ? undefined : local.simple.get(local.lastSparseSize)
  if (real === undefined) throw new TarHeaderError(`GNU sparse ${version} entry ${at} has no GNU.sparse.${version === '1.0' ? 'realsize' : 'size'}`)
  if (version === '1.0') return { realSize: parseDecimal(real, 'GNU.sparse.realsize') }
  let numbers: number[]
  if (version === '0.1') {
    numbers = parseSparseMapValue(map ?? EMPTY)
  } else {
    numbers = local.sparse00.map(([k, v], i) => {
      const want = i % 2 === 0 ? 'GNU.sparse.offset' : 'GNU.sparse.numbytes'
      if (k !== want) throw new TarHeaderError(`GNU sparse 0.0 entry ${at}: ${k} where ${want} was expected`)
      return parseDecimal(v, k)
    })
  }
  const segments = pairSegments(numbers, `GNU sparse ${version} map ${at}`)
  const count = local.simple.get('GNU.sparse.numblocks')
  if (count !== undefined && parseDecimal(count, 'GNU.sparse.numblocks') !== segments.length) {
    throw new TarHeaderError(`GNU sparse ${version} entry ${at}: GNU.sparse.numblocks says ${latin1(count)}, the map has ${segments.length} segments`)
  }
  return { realSize: parseDecimal(real, 'GNU.sparse.size'), segments }
}

/**
 * The checks Go's `mergePAX` makes of an entry's own records whatever its
 * type: `uid`, `gid` and `size` decimal, `mtime`, `atime` and `ctime` PAX
 * times with int64 seconds.
 */
function checkPaxNumbers (local: PaxSet, at: string): void {
  for (const key of ['uid', 'gid', 'size']) {
    const v = local.simple.get(key)
    if (v !== undefined && v.length > 0) parseDecimal(v, `PAX ${key}`)
  }
  for (const key of ['mtime', 'atime', 'ctime']) {
    const v = local.simple.get(key)
    if (v === undefined || v.length === 0) continue
    const ns = parsePaxTime(v)
    if (ns < -(2n ** 63n) * 1_000_000_000n || ns >= 2n ** 63n * 1_000_000_000n) throw new TarHeaderError(`PAX ${key} ${latin1(v).slice(0, 40)} ${at} is out of range`)
  }
}

/**
 * The PAX sparse format of an entry as Go reads it (`readGNUSparsePAXHeaders`):
 * versions 0.0 and 0.1 (map and `GNU.sparse.numblocks` in the records) and
 * 1.0 (map in the data); another version, or no version and no map, is no
 * sparse file at all. The real size is `GNU.sparse.size`, else
 * `GNU.sparse.realsize`, else the stored size.
 */
function paxSparseGo (local: PaxSet, stored: number, at: string): { realSize: number, segments?: TarSparseSegment[] } | undefined {
  const str = (key: string): string => {
    const v = local.simple.get(key)
    return v === undefined ? '' : latin1(v)
  }
  const major = str('GNU.sparse.major')
  const minor = str('GNU.sparse.minor')
  // Go joins the 0.0 offset/numbytes records into a map that replaces GNU.sparse.map
  let map = str('GNU.sparse.map')
  if (local.sparse00.length > 0) {
    local.sparse00.forEach(([k, v], i) => {
      const want = i % 2 === 0 ? 'GNU.sparse.offset' : 'GNU.sparse.numbytes'
      if (k !== want || v.includes(0x2c)) throw new TarHeaderError(`GNU sparse 0.0 entry ${at}: ${k} where ${want} was expected`)
    })
    map = local.sparse00.map(([, v]) => latin1(v)).join(',')
  }
  let v1 = false
  if (major === '0' && (minor === '0' || minor === '1')) v1 = false
  else if (major === '1' && minor === '0') v1 = true
  else if (major !== '' || minor !== '') return undefined
  else if (map === '') return undefined
  const real = str('GNU.sparse.size') !== '' ? str('GNU.sparse.size') : str('GNU.sparse.realsize')
  const realSize = real === '' ? stored : parseDecimal(real, 'GNU.sparse.size')
  if (v1) return { realSize }
  const count = parseDecimal(str('GNU.sparse.numblocks'), 'GNU.sparse.numblocks')
  const numbers = map === '' ? [] : map.split(',').map((n) => parseDecimal(n, 'GNU.sparse.map number'))
  if (numbers.length !== 2 * count) {
    throw new TarHeaderError(`GNU sparse entry ${at}: GNU.sparse.numblocks says ${count}, the map has ${numbers.length} numbers`)
  }
  return { realSize, segments: pairSegments(numbers, `GNU sparse map ${at}`) }
}

/** Read the PAX 1.0 sparse map at the start of the entry's data; returns it and the bytes it took. */
async function readPax10Map (ctx: Context, pending: Pending, stored: number, at: string): Promise<{ segments: TarSparseSegment[], mapBytes: number }> {
  const tooLarge = (): TarHeaderTooLargeError =>
    new TarHeaderTooLargeError(`GNU sparse 1.0 entry ${at}: the sparse map is above the ${ctx.maxHeaderSize}-byte limit on an entry's metadata`)
  // each segment takes at least 4 bytes ("0\n0\n")
  const parser = new SparseMapParser(Math.floor(ctx.maxHeaderSize / 4), tooLarge)
  let mapBytes = 0
  while (!parser.done) {
    throwIfAborted(ctx.signal)
    if (mapBytes + TAR_BLOCK_SIZE > stored) throw new TarHeaderError(`GNU sparse 1.0 entry ${at}: the sparse map runs past the entry's data`)
    pending.bytes += TAR_BLOCK_SIZE
    if (pending.bytes > ctx.maxHeaderSize) throw tooLarge()
    const block = await readBlock(ctx, 'a GNU sparse map')
    if (block === undefined) throw truncated(ctx.src, 'before a GNU sparse map')
    mapBytes += TAR_BLOCK_SIZE
    parser.push(block)
  }
  return { segments: parser.segments(), mapBytes }
}
