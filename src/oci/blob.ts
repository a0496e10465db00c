/**
 * Verified blob reading: streams that check a blob's size and sha256 as
 * they pass it on, and bounded reads of files and file ranges.
 *
 * @module
 */
import { constants as fsConstants } from 'node:fs'
import { open, type FileHandle } from 'node:fs/promises'
import { throwIfAborted } from '../errors.js'
import { digestToString, isDigest, type Digest } from '../hash/digest.js'
import { sha256 } from '../hash/index.js'
import { OciBlobMismatchError, OciInvalidError, quote } from './errors.js'

/** What a blob must be: its digest and size. */
export interface ExpectedBlob {
  digest: Digest
  size: number
}

/** Options of {@link verifiedStream}. */
export interface VerifiedStreamOptions {
  /** Checked before each chunk: throws {@link AbortedError} (`ERR_ABORTED`). */
  signal?: AbortSignal
}

function checkExpected (expected: ExpectedBlob, what: string): void {
  if (!isDigest(expected.digest)) throw new OciInvalidError(`${what}: ${quote(String(expected.digest))} is not a sha256 digest`)
  if (!Number.isSafeInteger(expected.size) || expected.size < 0) throw new OciInvalidError(`${what}: invalid size ${String(expected.size)}`)
}

/**
 * Pass `source` through while hashing it. Throws
 * {@link OciBlobMismatchError} (`ERR_OCI_BLOB_MISMATCH`):
 * - as soon as a chunk takes the count past `expected.size` (that chunk is
 *   not passed on and the source is not read further: its `return()` is
 *   called);
 * - at the end, when fewer bytes came or their sha256 differs.
 *
 * Bytes are passed on before they are verified: a consumer must read to
 * the end (and see no error) before trusting what it derived from them.
 *
 * @param what - names the blob in error messages ("layer 2", "config")
 */
export async function * verifiedStream (
  source: AsyncIterable<Uint8Array> | Iterable<Uint8Array>,
  expected: ExpectedBlob,
  what: string,
  options: VerifiedStreamOptions = {}
): AsyncGenerator<Uint8Array, void, undefined> {
  checkExpected(expected, what)
  const { signal } = options
  const hash = sha256.create()
  let count = 0
  throwIfAborted(signal)
  for await (const chunk of source) {
    throwIfAborted(signal)
    if (!(chunk instanceof Uint8Array)) throw new TypeError(`${what}: blob chunks must be Uint8Array`)
    count += chunk.length
    if (count > expected.size) {
      throw new OciBlobMismatchError(
        `${what} ${expected.digest} is longer than its declared size of ${expected.size} bytes`,
        { digest: expected.digest, expectedSize: expected.size, receivedSize: count }
      )
    }
    hash.update(chunk)
    if (chunk.length > 0) yield chunk
  }
  if (count < expected.size) {
    throw new OciBlobMismatchError(
      `${what} ${expected.digest} is shorter than its declared size: ${count} of ${expected.size} bytes`,
      { digest: expected.digest, expectedSize: expected.size, receivedSize: count }
    )
  }
  const actual = digestToString(hash.digest())
  if (actual !== expected.digest) {
    throw new OciBlobMismatchError(
      `${what} does not match its digest: expected ${expected.digest}, got ${actual}`,
      { digest: expected.digest, expectedSize: expected.size, receivedSize: count, actualDigest: actual }
    )
  }
}

/**
 * Read a small blob (a manifest, an index, a config) whole, verified. A
 * declared size above `maxBytes` fails with {@link OciInvalidError}
 * (`ERR_OCI_INVALID`) before anything is read.
 *
 * @throws {@link OciBlobMismatchError} (`ERR_OCI_BLOB_MISMATCH`) on a size or digest mismatch
 */
export async function readVerifiedBlob (
  source: AsyncIterable<Uint8Array> | Iterable<Uint8Array> | (() => AsyncIterable<Uint8Array>),
  expected: ExpectedBlob,
  what: string,
  options: { maxBytes: number, signal?: AbortSignal }
): Promise<Uint8Array> {
  checkExpected(expected, what)
  if (expected.size > options.maxBytes) {
    throw new OciInvalidError(`${what} ${expected.digest} declares ${expected.size} bytes, above the ${options.maxBytes}-byte limit`)
  }
  const out = new Uint8Array(expected.size)
  let at = 0
  const input = typeof source === 'function' ? source() : source
  for await (const chunk of verifiedStream(input, expected, what, { signal: options.signal })) {
    out.set(chunk, at)
    at += chunk.length
  }
  return out
}

// ---------------------------------------------------------------- files

/** Size of the chunks read from files. */
export const FILE_CHUNK_SIZE = 256 * 1024

/**
 * Open a file for reading without following a symbolic link in its last
 * component and without blocking on a FIFO; it must be a regular file.
 * Errors are the system's (`ENOENT`, `ELOOP` for a symlink...) except a
 * non-regular file, which is an {@link OciInvalidError}.
 *
 * @internal
 */
export async function openRegularFile (path: string, what: string): Promise<{ handle: FileHandle, size: number }> {
  const handle = await open(path, fsConstants.O_RDONLY | fsConstants.O_NOFOLLOW | fsConstants.O_NONBLOCK)
  try {
    const st = await handle.stat()
    if (!st.isFile()) throw new OciInvalidError(`${what} is not a regular file`)
    return { handle, size: st.size }
  } catch (err) {
    await handle.close()
    throw err
  }
}

/**
 * Read `length` bytes of `handle` from `start`, in chunks (fresh arrays the
 * consumer may keep). Yields fewer bytes when the file ends first.
 *
 * @internal
 */
export async function * readRange (
  handle: FileHandle, start: number, length: number, signal?: AbortSignal
): AsyncGenerator<Uint8Array, void, undefined> {
  let pos = start
  const end = start + length
  while (pos < end) {
    throwIfAborted(signal)
    const want = Math.min(FILE_CHUNK_SIZE, end - pos)
    const buf = Buffer.allocUnsafeSlow(want)
    const { bytesRead } = await handle.read(buf, 0, want, pos)
    if (bytesRead === 0) return
    pos += bytesRead
    yield new Uint8Array(buf.buffer, buf.byteOffset, bytesRead)
  }
}

/**
 * Read exactly `length` bytes at `start`; fewer when the file ends first
 * (`got` says how many).
 *
 * @internal
 */
export async function readAt (handle: FileHandle, start: number, length: number): Promise<{ bytes: Uint8Array, got: number }> {
  const bytes = new Uint8Array(length)
  let got = 0
  while (got < length) {
    const { bytesRead } = await handle.read(bytes, got, length - got, start + got)
    if (bytesRead === 0) break
    got += bytesRead
  }
  return { bytes, got }
}

/**
 * Read a whole small file (not a symlink, a regular file), refusing it from
 * its size when it is above `maxBytes`, and reading at most `maxBytes + 1`
 * bytes should it grow meanwhile.
 *
 * @internal
 */
export async function readSmallFile (path: string, what: string, maxBytes: number): Promise<Uint8Array> {
  const { handle, size } = await openRegularFile(path, what)
  try {
    if (size > maxBytes) throw new OciInvalidError(`${what} is ${size} bytes, above the ${maxBytes}-byte limit`)
    const { bytes, got } = await readAt(handle, 0, Math.min(size, maxBytes) + 1)
    if (got > maxBytes) throw new OciInvalidError(`${what} is above the ${maxBytes}-byte limit`)
    return bytes.subarray(0, got)
  } finally {
    await handle.close()
  }
}
