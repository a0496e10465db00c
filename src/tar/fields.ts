/**
 * Fixed-width fields of a tar header: zero-padded octal numbers, GNU
 * base-256 numbers (decoding only), and NUL-padded byte strings.
 *
 * @module
 */
import type { TarDialect } from './dialect.js'
import { TarHeaderError } from './errors.js'

/**
 * Largest value an octal field of `width` bytes can hold when it keeps one
 * byte for the terminating NUL (`width - 1` digits).
 */
export function octalMax (width: number): number {
  return 8 ** (width - 1) - 1
}

/**
 * Write `value` into `buf[offset .. offset+width)` as `width - 1` zero-padded
 * octal digits followed by NUL, the form GNU tar writes.
 *
 * @throws RangeError when `value` is not a non-negative integer that fits
 */
export function writeOctal (buf: Uint8Array, offset: number, width: number, value: number): void {
  if (!Number.isSafeInteger(value) || value < 0 || value > octalMax(width)) {
    throw new RangeError(`${String(value)} does not fit a ${width}-byte octal field`)
  }
  const digits = value.toString(8).padStart(width - 1, '0')
  for (let i = 0; i < digits.length; i++) buf[offset + i] = digits.charCodeAt(i)
  buf[offset + width - 1] = 0
}

/**
 * Copy `bytes` into `buf[offset .. offset+width)`. The rest of the field is
 * left as it is (zero in a fresh header). A value of exactly `width` bytes
 * has no terminating NUL, as ustar allows for `name`, `linkname`, `prefix`.
 *
 * @throws RangeError when `bytes` is longer than `width`
 */
export function writeBytes (buf: Uint8Array, offset: number, width: number, bytes: Uint8Array): void {
  if (bytes.length > width) throw new RangeError(`${bytes.length} bytes do not fit a ${width}-byte field`)
  buf.set(bytes, offset)
}

/** The bytes of a NUL-terminated field up to its first NUL (a copy). */
export function readBytes (buf: Uint8Array, offset: number, width: number): Uint8Array {
  const field = buf.subarray(offset, offset + width)
  const nul = field.indexOf(0)
  return field.slice(0, nul === -1 ? width : nul)
}

/**
 * Read a numeric field. Accepts octal digits with optional leading spaces
 * or zeros, ended by NUL, space or the field's end (an all-NUL or all-space
 * field reads as 0; bytes after the terminator are ignored, as GNU tar
 * does), and the GNU base-256 form (first byte 0x80 for a
 * positive value, 0xff for a negative one in two's complement). That is
 * GNU tar's reading (`dialect` `'gnu'`, the default); `'go'` reads as Go's
 * `archive/tar` does (see {@link TarDialect}).
 *
 * @throws {@link TarHeaderError} (`ERR_TAR_BAD_HEADER`) on any other byte
 */
export function readNumber (buf: Uint8Array, offset: number, width: number, what = 'numeric field', dialect: TarDialect = 'gnu'): bigint {
  const field = buf.subarray(offset, offset + width)
  if (dialect === 'go') return readNumberGo(field, what)
  const first = field[0] ?? 0
  if (first === 0x80 || first === 0xff) {
    let value = BigInt(first & 0x7f)
    for (let i = 1; i < field.length; i++) value = (value << 8n) | BigInt(field[i] ?? 0)
    if (first === 0xff) value -= 1n << BigInt(8 * field.length - 1)
    return value
  }
  let i = 0
  while (i < field.length && field[i] === 0x20) i++
  let value = 0n
  for (; i < field.length; i++) {
    const c = field[i] ?? 0
    if (c === 0 || c === 0x20) break
    if (c < 0x30 || c > 0x37) throw new TarHeaderError(`${what} is not octal: ${JSON.stringify(Buffer.from(field).toString('latin1'))}`)
    value = value * 8n + BigInt(c - 0x30)
  }
  return value
}

const fieldText = (field: Uint8Array): string => JSON.stringify(Buffer.from(field).toString('latin1'))

/**
 * A numeric field read as Go's `archive/tar` reads it (`parseNumeric`):
 * base 256 when the first byte has its top bit set (bit 6 of that byte is
 * the sign, two's complement), else octal after trimming NULs and spaces
 * from both ends and cutting at the first NUL left; nothing else may follow
 * the digits. An empty field reads 0.
 *
 * @throws {@link TarHeaderError} (`ERR_TAR_BAD_HEADER`) where Go fails
 */
function readNumberGo (field: Uint8Array, what: string): bigint {
  const first = field[0] ?? 0
  if ((first & 0x80) !== 0) {
    const inv = (first & 0x40) !== 0 ? 0xff : 0
    let value = 0n
    for (let i = 0; i < field.length; i++) {
      let c = (field[i] ?? 0) ^ inv
      if (i === 0) c &= 0x7f
      if (value >> 56n > 0n) throw new TarHeaderError(`${what} overflows 64 bits: ${fieldText(field)}`)
      value = (value << 8n) | BigInt(c)
    }
    if (value >> 63n > 0n) throw new TarHeaderError(`${what} overflows 64 bits: ${fieldText(field)}`)
    return inv === 0xff ? -value - 1n : value
  }
  return readOctalGo(field, what)
}

/**
 * An octal field as Go's `parseOctal` reads it: NULs and spaces trimmed
 * from both ends, cut at the first NUL, then only octal digits (at most
 * 64 bits). Empty reads 0.
 *
 * @throws {@link TarHeaderError} (`ERR_TAR_BAD_HEADER`) otherwise
 */
export function readOctalGo (field: Uint8Array, what = 'numeric field'): bigint {
  const blank = (c: number | undefined): boolean => c === 0 || c === 0x20
  let start = 0
  let end = field.length
  while (start < end && blank(field[start])) start++
  while (end > start && blank(field[end - 1])) end--
  const nul = field.subarray(start, end).indexOf(0)
  if (nul >= 0) end = start + nul
  let value = 0n
  for (let i = start; i < end; i++) {
    const c = field[i] ?? 0
    if (c < 0x30 || c > 0x37) throw new TarHeaderError(`${what} is not octal: ${fieldText(field)}`)
    value = value * 8n + BigInt(c - 0x30)
  }
  if (value >> 64n > 0n) throw new TarHeaderError(`${what} overflows 64 bits: ${fieldText(field)}`)
  return value
}
