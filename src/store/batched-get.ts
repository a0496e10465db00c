/**
 * Coalescing point reads of one LevelDB keyspace into `getMany` calls.
 *
 * Each classic-level read is a round trip through libuv's thread pool:
 * about 60 µs of the calling thread's time whatever the size of the value,
 * against about 2 µs per key inside one `getMany` of a hundred keys. A
 * directory export asks for the chunk locations of one file at a time,
 * thousands of times; through a {@link BatchedGetter} the files being
 * written at once share one call.
 *
 * Keys asked for in the same turn of the event loop go out together (the
 * flush runs in the loop's check phase, `setImmediate`); while
 * `maxInFlight` calls are under way, new keys wait and go out together
 * when one returns. So a lone read waits one turn at most, and a busy
 * reader gets batches as large as its concurrency.
 *
 * @module
 */

/** The one operation a {@link BatchedGetter} needs from a keyspace. */
export interface GetManySource<K, V> {
  getMany: (keys: K[]) => Promise<Array<V | undefined>>
}

interface Waiting<K, V> { keys: readonly K[], resolve: (values: Array<V | undefined>) => void, reject: (err: unknown) => void }

/** Options for {@link BatchedGetter}. */
export interface BatchedGetterOptions {
  /** `getMany` calls under way at once (default 2: LevelDB reads of cold tables overlap). */
  maxInFlight?: number
  /** Keys per `getMany` at most (default 1024). */
  maxBatch?: number
}

/** Reads of one keyspace, coalesced into `getMany` calls. */
export class BatchedGetter<K, V> {
  readonly #source: GetManySource<K, V>
  readonly #maxInFlight: number
  readonly #maxBatch: number
  #waiting: Array<Waiting<K, V>> = []
  #inFlight = 0
  #scheduled = false

  constructor (source: GetManySource<K, V>, options: BatchedGetterOptions = {}) {
    this.#source = source
    this.#maxInFlight = Math.max(1, options.maxInFlight ?? 2)
    this.#maxBatch = Math.max(1, options.maxBatch ?? 1024)
  }

  /** The values of `keys`, in order (undefined where absent). `keys` is read when the batch goes out: do not change it before then. */
  async getMany (keys: readonly K[]): Promise<Array<V | undefined>> {
    if (keys.length === 0) return []
    return await new Promise<Array<V | undefined>>((resolve, reject) => {
      this.#waiting.push({ keys, resolve, reject })
      this.#schedule()
    })
  }

  #schedule (): void {
    if (this.#scheduled || this.#inFlight >= this.#maxInFlight) return
    this.#scheduled = true
    setImmediate(() => {
      this.#scheduled = false
      this.#flush()
    })
  }

  #flush (): void {
    while (this.#waiting.length > 0 && this.#inFlight < this.#maxInFlight) {
      // Whole requests, up to maxBatch keys (a request bigger than that goes alone).
      let n = 0
      let keys = 0
      while (n < this.#waiting.length && (n === 0 || keys + this.#waiting[n]!.keys.length <= this.#maxBatch)) keys += this.#waiting[n++]!.keys.length
      const waiting = this.#waiting.splice(0, n)
      this.#inFlight++
      this.#source.getMany(waiting.flatMap((w) => w.keys)).then((values) => {
        let at = 0
        for (const w of waiting) { w.resolve(values.slice(at, at + w.keys.length)); at += w.keys.length }
      }, (err: unknown) => {
        for (const w of waiting) w.reject(err)
      }).finally(() => {
        this.#inFlight--
        this.#schedule()
      }).catch(() => {})
    }
  }
}
