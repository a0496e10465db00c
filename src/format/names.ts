/**
 * Names and paths inside snapshots (docs/FORMAT.md §4): a name is 1–255
 * bytes without NUL or `/`, and is not `.` or `..`; a path is names joined by
 * `/` with no leading, trailing or doubled `/`.
 *
 * @module
 */
import { InvalidPathError } from '../errors.js'

const SLASH = 0x2f
const DOT = 0x2e

/** Longest name in bytes. */
export const NAME_MAX = 255

/** Reason a name is invalid, or undefined when it is valid. */
export function nameProblem (name: Uint8Array): string | undefined {
  if (name.length === 0) return 'empty name'
  if (name.length > NAME_MAX) return `name longer than ${NAME_MAX} bytes`
  if (name.includes(0)) return 'name contains a NUL byte'
  if (name.includes(SLASH)) return 'name contains "/"'
  if (name[0] === DOT && (name.length === 1 || (name.length === 2 && name[1] === DOT))) return 'name is "." or ".."'
  return undefined
}

/** Throw {@link InvalidPathError} (`ERR_INVALID_PATH`) if `name` is not a valid entry name. */
export function assertName (name: Uint8Array): void {
  const problem = nameProblem(name)
  if (problem !== undefined) throw new InvalidPathError(`${problem}: ${printable(name)}`)
}

/**
 * Split a snapshot path into names. Accepts a leading `/` and a trailing `/`
 * (both ignored) and the empty path or `/` for the root; rejects `.`, `..`,
 * empty components and NUL with {@link InvalidPathError}.
 */
export function splitPath (path: Uint8Array | string): Uint8Array[] {
  const bytes = typeof path === 'string' ? Buffer.from(path, 'utf8') : Buffer.from(path.buffer, path.byteOffset, path.byteLength)
  let start = 0
  let end = bytes.length
  if (bytes[start] === SLASH) start++
  if (end > start && bytes[end - 1] === SLASH) end--
  const names: Uint8Array[] = []
  if (end <= start) return names
  let from = start
  for (let i = start; i <= end; i++) {
    if (i === end || bytes[i] === SLASH) {
      const name = bytes.subarray(from, i)
      const problem = nameProblem(name)
      if (problem !== undefined) throw new InvalidPathError(`invalid path ${printable(bytes)}: ${problem}`)
      names.push(name)
      from = i + 1
    }
  }
  return names
}

/** Join names with `/` (no leading slash). */
export function joinPath (names: readonly Uint8Array[]): Uint8Array {
  const total = names.reduce((n, name) => n + name.length, 0) + Math.max(0, names.length - 1)
  const out = new Uint8Array(total)
  let at = 0
  names.forEach((name, i) => {
    if (i > 0) out[at++] = SLASH
    out.set(name, at)
    at += name.length
  })
  return out
}

/** A readable rendering of raw name bytes for messages: UTF-8 where valid, `\xNN` escapes otherwise. */
export function printable (bytes: Uint8Array): string {
  const text = Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength).toString('utf8')
  if (!text.includes('\uFFFD') && !/[\x00-\x1f\x7f]/.test(text)) return JSON.stringify(text)
  let out = ''
  for (const b of bytes) out += b >= 0x20 && b < 0x7f && b !== 0x5c && b !== 0x22 ? String.fromCharCode(b) : `\\x${b.toString(16).padStart(2, '0')}`
  return `"${out}"`
}
