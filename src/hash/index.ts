/**
 * Hashing contract. tessera names every object by the sha256 of its bytes.
 * Two implementations satisfy {@link Hasher}: `node.ts` (node:crypto, the
 * default and the fast path) and `portable.ts` (@noble/hashes, pure JS, for
 * runtimes without node:crypto). A test checks they agree byte for byte.
 *
 * @module
 */

/** Incremental hash state. */
export interface HashState {
  /** Feed bytes; returns the same state for chaining. */
  update (bytes: Uint8Array): HashState
  /** Finish and return the 32-byte digest. The state must not be used afterwards. */
  digest (): Uint8Array
}

/** A sha256 implementation. */
export interface Hasher {
  /** Name of the algorithm as it appears in digest strings. */
  readonly name: 'sha256'
  /** Length of a digest in bytes. */
  readonly size: 32
  /** One-shot digest of `bytes`. */
  digest (bytes: Uint8Array): Uint8Array
  /** A fresh incremental state. */
  create (): HashState
}

export { nodeSha256 as sha256 } from './node.js'
export { nodeSha256 } from './node.js'
export { portableSha256 } from './portable.js'
export * from './digest.js'
