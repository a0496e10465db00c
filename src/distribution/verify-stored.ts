/**
 * Verifying one fetched stored object (docs/FORMAT.md §11.5): it decodes,
 * within its chunk length, to exactly that many bytes hashing to the
 * chunk's digest. Shared by the main thread and {@link VerifyPool}'s
 * workers.
 *
 * @module
 */
import { IntegrityError } from '../errors.js'
import { digestToString } from '../hash/digest.js'
import { decodeStored } from '../store/stored-object.js'

/** The decoded chunk, or throws `ERR_INTEGRITY`. */
export function decodeFetched (digest: Uint8Array, length: number, stored: Uint8Array, scratch?: Uint8Array): Uint8Array {
  const bytes = decodeStored(stored, digest, 'chunk', length, scratch)
  if (bytes.length !== length) throw new IntegrityError(`chunk ${digestToString(digest)} has ${bytes.length} bytes, the metadata says ${length}`)
  return bytes
}

/**
 * Why a fetched stored object is wrong, or undefined when it is right.
 * `scratch` (reused by the caller) takes the decoded bytes when it is large
 * enough: verifying then allocates nothing per chunk.
 */
export function verifyStoredObject (digest: Uint8Array, length: number, stored: Uint8Array, scratch?: Uint8Array): string | undefined {
  try {
    decodeFetched(digest, length, stored, scratch)
    return undefined
  } catch (err) {
    return (err as Error).message
  }
}
