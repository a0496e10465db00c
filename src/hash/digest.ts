/**
 * Digest strings in the OCI form `sha256:<64 lowercase hex>`, and their
 * 32-byte binary form used inside encoded objects and store keys.
 *
 * @module
 */
import { InvalidDigestError } from '../errors.js'

/** A digest string `sha256:<64 lowercase hex>`. */
export type Digest = `sha256:${string}`

const DIGEST_RE = /^sha256:[0-9a-f]{64}$/

/** True when `value` is a well-formed digest string. */
export function isDigest (value: unknown): value is Digest {
  return typeof value === 'string' && DIGEST_RE.test(value)
}

/** Check a digest string; throws {@link InvalidDigestError} (`ERR_INVALID_DIGEST`) if malformed. */
export function parseDigest (value: string): Digest {
  if (!isDigest(value)) throw new InvalidDigestError(`not a sha256 digest: ${JSON.stringify(String(value).slice(0, 100))}`)
  return value
}

/** Format 32 raw bytes as a digest string. */
export function digestToString (bytes: Uint8Array): Digest {
  if (bytes.length !== 32) throw new InvalidDigestError(`a sha256 digest has 32 bytes, got ${bytes.length}`)
  return `sha256:${Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength).toString('hex')}`
}

/** The 32 raw bytes of a digest string. */
export function digestToBytes (digest: string): Uint8Array {
  const d = parseDigest(digest)
  return new Uint8Array(Buffer.from(d.slice(7), 'hex'))
}

/** Compare two byte strings as unsigned bytes: negative, zero or positive. */
export function compareBytes (a: Uint8Array, b: Uint8Array): number {
  return Buffer.compare(Buffer.from(a.buffer, a.byteOffset, a.byteLength), Buffer.from(b.buffer, b.byteOffset, b.byteLength))
}

/** True when two byte strings are equal. */
export function bytesEqual (a: Uint8Array, b: Uint8Array): boolean {
  return a.length === b.length && compareBytes(a, b) === 0
}
