/**
 * Archive paths: raw bytes, relative, `/`-separated. One set of rules for
 * the writer (which refuses bad paths) and the reader (which must refuse
 * them in untrusted archives).
 *
 * @module
 */
import { InvalidPathError } from '../errors.js'

const SLASH = 0x2f
const DOT = 0x2e

/**
 * Check that `path` is a safe relative archive path: not empty, no NUL
 * byte, no leading `/`, no empty component (`a//b`), no `.` or `..`
 * component. A single trailing `/` is allowed when `allowTrailingSlash` is
 * true (directory names). Any other byte, including newlines and bytes
 * that are not valid UTF-8, is allowed.
 *
 * @param path - the raw path bytes
 * @param what - how to name the value in the error message
 * @param allowTrailingSlash - whether `a/b/` is acceptable
 * @throws {@link InvalidPathError} (`ERR_INVALID_PATH`) when a rule is broken
 */
export function checkArchivePath (path: Uint8Array, what = 'path', allowTrailingSlash = false): void {
  const fail = (why: string): never => {
    throw new InvalidPathError(`${what} ${describeBytes(path)} ${why}`)
  }
  if (!(path instanceof Uint8Array)) throw new InvalidPathError(`${what} must be a Uint8Array`)
  if (path.length === 0) fail('is empty')
  if (path.includes(0)) fail('contains a NUL byte')
  if (path[0] === SLASH) fail('is absolute')
  let end = path.length
  if (path[end - 1] === SLASH) {
    if (!allowTrailingSlash) fail('ends with "/"')
    end--
  }
  let start = 0
  while (start <= end) {
    let stop = path.indexOf(SLASH, start)
    if (stop === -1 || stop > end) stop = end
    const len = stop - start
    if (len === 0) fail('has an empty component')
    if (len === 1 && path[start] === DOT) fail('has a "." component')
    if (len === 2 && path[start] === DOT && path[start + 1] === DOT) fail('has a ".." component')
    start = stop + 1
  }
}

/** `path` with a trailing `/` added if it has none (a new array when one is added). */
export function withTrailingSlash (path: Uint8Array): Uint8Array {
  if (path[path.length - 1] === SLASH) return path
  const out = new Uint8Array(path.length + 1)
  out.set(path)
  out[path.length] = SLASH
  return out
}

/**
 * The last component of `path`, ignoring a trailing `/` (a view, not a copy).
 * `a/b/` and `a/b` both give `b`.
 */
export function baseName (path: Uint8Array): Uint8Array {
  let end = path.length
  while (end > 0 && path[end - 1] === SLASH) end--
  if (end === 0) return path.subarray(0, 0)
  const slash = path.lastIndexOf(SLASH, end - 1)
  return path.subarray(slash + 1, end)
}

/**
 * A short printable rendering of raw bytes for error messages: decoded as
 * UTF-8 with replacement characters, JSON-quoted, cut at 200 characters.
 */
export function describeBytes (bytes: Uint8Array): string {
  const text = Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength).toString('utf8')
  return JSON.stringify(text.length > 200 ? `${text.slice(0, 200)}…` : text)
}
