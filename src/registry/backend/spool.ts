/**
 * Spooling an uploaded blob to a temporary file while hashing it, so that
 * nothing is stored before its digest and size are known to be right.
 *
 * @module
 */
import { randomUUID } from 'node:crypto'
import { open, rm, mkdir } from 'node:fs/promises'
import { createReadStream } from 'node:fs'
import { join } from 'node:path'
import { throwIfAborted } from '../../errors.js'
import { digestToString } from '../../hash/digest.js'
import { sha256 } from '../../hash/index.js'
import { quoteInput, RegistryDigestInvalidError, RegistrySizeInvalidError } from '../errors.js'
import type { BlobExpectation, OperationOptions } from '../types.js'

/** Bytes gathered before a write to the file. */
const WRITE_BYTES = 1024 * 1024

/** A verified blob in a temporary file; `remove` deletes the file. */
export interface SpooledBlob {
  path: string
  digest: string
  size: number
  remove: () => Promise<void>
}

/**
 * Write `source` to a new file in `directory`, hashing it, and check the
 * result against `expected`: `ERR_REGISTRY_SIZE_INVALID` as soon as more
 * bytes than `expected.size` arrive or if fewer did, then
 * `ERR_REGISTRY_DIGEST_INVALID` if the sha256 differs. The file is deleted
 * whenever this throws; otherwise the caller deletes it with `remove`.
 */
export async function spoolBlob (source: AsyncIterable<Uint8Array>, expected: BlobExpectation, directory: string, options: OperationOptions = {}): Promise<SpooledBlob> {
  await mkdir(directory, { recursive: true })
  const path = join(directory, `tessera-blob-${randomUUID()}.part`)
  const remove = async (): Promise<void> => { await rm(path, { force: true }) }
  const file = await open(path, 'wx', 0o600)
  try {
    const hash = sha256.create()
    let size = 0
    let reported = 0
    let pending: Uint8Array[] = []
    let pendingBytes = 0
    const drain = async (): Promise<void> => {
      const buffer = pending.length === 1 ? pending[0]! : Buffer.concat(pending)
      pending = []
      pendingBytes = 0
      let at = 0
      while (at < buffer.length) at += (await file.write(buffer, at, buffer.length - at)).bytesWritten
    }
    try {
      for await (const piece of source) {
        throwIfAborted(options.signal)
        size += piece.length
        if (expected.size !== undefined && size > expected.size) {
          throw new RegistrySizeInvalidError(`blob ${quoteInput(expected.digest)} has more than the ${expected.size} bytes announced`, { expectedSize: expected.size, receivedSize: size })
        }
        hash.update(piece)
        // Small pieces are gathered so the file is written in large writes.
        pending.push(piece.slice())
        pendingBytes += piece.length
        if (pendingBytes >= WRITE_BYTES) await drain()
        if (options.onProgress !== undefined && size - reported >= 1024 * 1024) { reported = size; options.onProgress(size) }
      }
      if (pendingBytes > 0) await drain()
    } finally {
      await file.close()
    }
    throwIfAborted(options.signal)
    const digest = checkReceived(expected, size, digestToString(hash.digest()))
    options.onProgress?.(size)
    return { path, digest, size, remove }
  } catch (err) {
    await remove()
    throw err
  }
}

/** `digest` when `size` and `digest` are what `expected` says; the registry's errors otherwise. */
function checkReceived (expected: BlobExpectation, size: number, digest: string): string {
  if (expected.size !== undefined && size !== expected.size) {
    throw new RegistrySizeInvalidError(`blob ${quoteInput(expected.digest)} has ${size} bytes, not the ${expected.size} announced`, { expectedSize: expected.size, receivedSize: size })
  }
  if (digest !== expected.digest) {
    throw new RegistryDigestInvalidError(`the bytes received have digest ${digest}, not ${quoteInput(expected.digest)}`, { digest: expected.digest, actualDigest: digest })
  }
  return digest
}

/**
 * The blob already in the file at `path` (a finished upload), hashed and
 * checked against `expected` as {@link spoolBlob} checks what it writes,
 * without a copy. `remove` leaves the file alone: the caller owns it.
 */
export async function verifyBlobFile (path: string, expected: BlobExpectation, options: OperationOptions = {}): Promise<SpooledBlob> {
  const hash = sha256.create()
  let size = 0
  for await (const piece of createReadStream(path, { highWaterMark: WRITE_BYTES })) {
    throwIfAborted(options.signal)
    size += (piece as Buffer).length
    if (expected.size !== undefined && size > expected.size) {
      throw new RegistrySizeInvalidError(`blob ${quoteInput(expected.digest)} has more than the ${expected.size} bytes announced`, { expectedSize: expected.size, receivedSize: size })
    }
    hash.update(piece as Buffer)
  }
  const digest = checkReceived(expected, size, digestToString(hash.digest()))
  options.onProgress?.(size)
  return { path, digest, size, remove: async () => {} }
}
