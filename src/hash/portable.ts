/**
 * sha256 through @noble/hashes: pure JavaScript, runs anywhere. Gives the
 * same digests as `node.ts` (tested), only slower.
 *
 * @module
 */
import { sha256 as nobleSha256 } from '@noble/hashes/sha2.js'
import type { Hasher, HashState } from './index.js'

class PortableHashState implements HashState {
  readonly #hash = nobleSha256.create()
  update (bytes: Uint8Array): HashState { this.#hash.update(bytes); return this }
  digest (): Uint8Array { return this.#hash.digest() }
}

/** sha256 backed by @noble/hashes. */
export const portableSha256: Hasher = {
  name: 'sha256',
  size: 32,
  digest (bytes: Uint8Array): Uint8Array { return nobleSha256(bytes) },
  create (): HashState { return new PortableHashState() }
}
