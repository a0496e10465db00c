/**
 * A Bloom filter over 32-byte digests. Digests are uniformly random, so
 * the filter's hash functions are simply slices of the digest itself.
 * Used to answer "certainly not stored" without a LevelDB lookup: during an
 * import almost every chunk is new, and a LevelDB miss reads index blocks
 * of every level (classic-level has no Bloom filter of its own).
 *
 * @module
 */

const HASHES = 7

/** A Bloom filter of digests; grows by rebuilding is not needed: size it for the expected count. */
export class DigestFilter {
  readonly #bits: Uint32Array
  readonly #mask: number

  /**
   * A filter sized for `expected` digests at about 1% false positives (at
   * least 2^20 bits), in shared memory so worker threads can read it; or a
   * view of an existing filter's {@link buffer}.
   */
  constructor (expectedOrBuffer: number | SharedArrayBuffer) {
    if (typeof expectedOrBuffer === 'number') {
      let bits = 1 << 20
      while (bits < expectedOrBuffer * 10 && bits < 2 ** 31) bits *= 2
      this.#bits = new Uint32Array(new SharedArrayBuffer(bits / 8))
    } else {
      this.#bits = new Uint32Array(expectedOrBuffer)
    }
    this.#mask = this.#bits.length * 32 - 1
  }

  /** The shared memory holding the bits (a worker builds a view with `new DigestFilter(buffer)`). */
  get buffer (): SharedArrayBuffer { return this.#bits.buffer as SharedArrayBuffer }

  #positions (digest: Uint8Array, each: (bit: number) => void): void {
    const v = new DataView(digest.buffer, digest.byteOffset, digest.byteLength)
    for (let i = 0; i < HASHES; i++) each(v.getUint32(i * 4, true) & this.#mask)
  }

  /** Record a digest. */
  add (digest: Uint8Array): void {
    this.#positions(digest, (b) => { Atomics.or(this.#bits, b >>> 5, 1 << (b & 31)) })
  }

  /** False when the digest was certainly never added. */
  mayHave (digest: Uint8Array): boolean {
    let all = true
    this.#positions(digest, (b) => { if ((this.#bits[b >>> 5]! & (1 << (b & 31))) === 0) all = false })
    return all
  }
}
