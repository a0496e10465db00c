/**
 * The text "dump" format that `getfattr -d -e hex` prints and
 * `setfattr --restore` reads (package `attr`), handled as raw bytes.
 *
 * ```
 * # file: PATH
 * NAME=0xHEX
 * NAME=0xHEX
 *
 * # file: PATH
 * ...
 * ```
 *
 * Quoting (attr's `quote()` / `unquote()`): in PATH, a backslash, `\n` and
 * `\r` are written as a backslash and three octal digits (`\134`, `\012`,
 * `\015`); NAME quotes `=` (`\075`) as well. All other bytes, including
 * non-UTF-8 ones, are written as they are. Older releases of attr also
 * quoted spaces and bytes that are not printable in the current locale;
 * {@link unquote} accepts any `\ooo`, so it reads both. Values here are
 * always hex (`0x` then two lowercase digits a byte; `0x` alone is the empty
 * value).
 *
 * @module
 */
import { PlatformError } from './errors.js'

/** One extended attribute: name bytes and value bytes. */
export type Xattr = [name: Buffer, value: Buffer]

/** A `# file:` block: a path and its attributes, in the order read or to be written. */
export interface DumpRecord {
  /** The path exactly as the tool names it, unquoted. */
  path: Buffer
  /** Its attributes. */
  xattrs: Xattr[]
}

const BACKSLASH = 0x5c
const HEADER = Buffer.from('# file: ', 'latin1')
const HEX_RE = /^0x((?:[0-9a-fA-F]{2})*)$/

function isOctal (byte: number | undefined): boolean {
  return byte !== undefined && byte >= 0x30 && byte <= 0x37
}

/**
 * Undo attr's quoting: each backslash followed by three octal digits
 * becomes that byte (modulo 256, as in C); any other byte, including a lone
 * backslash, is kept.
 */
export function unquote (bytes: Buffer): Buffer {
  if (!bytes.includes(BACKSLASH)) return bytes
  const out = Buffer.allocUnsafe(bytes.length)
  let o = 0
  for (let i = 0; i < bytes.length; i++) {
    const b = bytes[i] as number
    if (b === BACKSLASH && isOctal(bytes[i + 1]) && isOctal(bytes[i + 2]) && isOctal(bytes[i + 3])) {
      out[o++] = (((bytes[i + 1] as number) - 0x30) << 6 | ((bytes[i + 2] as number) - 0x30) << 3 | ((bytes[i + 3] as number) - 0x30)) & 0xff
      i += 3
    } else {
      out[o++] = b
    }
  }
  return out.subarray(0, o)
}

/**
 * Quote bytes for the dump format: backslash, `\n`, `\r` always, and `=`
 * too when `what` is `'name'` (a name ends at its first `=`).
 */
export function quote (bytes: Buffer, what: 'path' | 'name'): Buffer {
  const special = (b: number): boolean => b === BACKSLASH || b === 0x0a || b === 0x0d || (what === 'name' && b === 0x3d)
  let count = 0
  for (const b of bytes) if (special(b)) count++
  if (count === 0) return bytes
  const out = Buffer.allocUnsafe(bytes.length + 3 * count)
  let o = 0
  for (const b of bytes) {
    if (special(b)) {
      out[o++] = BACKSLASH
      out[o++] = 0x30 + (b >> 6)
      out[o++] = 0x30 + ((b >> 3) & 7)
      out[o++] = 0x30 + (b & 7)
    } else {
      out[o++] = b
    }
  }
  return out
}

/**
 * Incremental parser of `getfattr -d -e hex` output, fed one line at a
 * time (without its `\n`). Completed records are passed to the callback as
 * soon as their terminating blank line (or {@link DumpParser.end}) is seen, so the whole dump never has to be held in
 * memory. Throws `PlatformError` on a line that does not fit the format.
 */
export class DumpParser {
  #current: DumpRecord | undefined
  #lineNo = 0
  readonly #onRecord: (record: DumpRecord) => void

  /** `onRecord` receives each complete record. */
  constructor (onRecord: (record: DumpRecord) => void) { this.#onRecord = onRecord }

  /** Feed one line. */
  line (line: Buffer): void {
    this.#lineNo++
    if (line.length === 0) { this.#flush(); return }
    if (this.#current === undefined) {
      // As in setfattr: a header starts a block, and inside a block every
      // non-empty line is an attribute (even one whose name reads "# file: ").
      if (!line.subarray(0, HEADER.length).equals(HEADER)) throw this.#malformed('expected a "# file:" line', line)
      this.#current = { path: unquote(line.subarray(HEADER.length)), xattrs: [] }
      return
    }
    const eq = line.indexOf(0x3d)
    if (eq <= 0) throw this.#malformed('attribute line without "NAME="', line)
    const hex = HEX_RE.exec(line.toString('latin1', eq + 1))
    if (hex === null) throw this.#malformed('attribute value is not 0x-hex', line)
    this.#current.xattrs.push([unquote(line.subarray(0, eq)), Buffer.from(hex[1] as string, 'hex')])
  }

  /** The input has ended: deliver the last record if it is still open. */
  end (): void { this.#flush() }

  #flush (): void {
    const record = this.#current
    this.#current = undefined
    if (record !== undefined) this.#onRecord(record)
  }

  #malformed (what: string, line: Buffer): PlatformError {
    const shown = line.toString('utf8', 0, Math.min(line.length, 120))
    return new PlatformError(`unexpected getfattr output, line ${this.#lineNo}: ${what}: ${JSON.stringify(shown)}`)
  }
}

/**
 * One record in the dump format, ready for `setfattr --restore`: the
 * header, one `NAME=0xHEX` line per attribute and the blank line that ends
 * the block. Names and paths must not contain a NUL byte (the tool reads C
 * strings); callers check that.
 */
export function formatDumpRecord (path: Buffer, xattrs: Iterable<Xattr>): Buffer {
  const parts: Buffer[] = [HEADER, quote(path, 'path'), Buffer.from('\n')]
  for (const [name, value] of xattrs) {
    parts.push(quote(name, 'name'), Buffer.from('=0x' + value.toString('hex') + '\n', 'latin1'))
  }
  parts.push(Buffer.from('\n'))
  return Buffer.concat(parts)
}
