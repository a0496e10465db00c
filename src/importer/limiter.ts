/**
 * A counting semaphore: at most `limit` tasks hold it at once.
 *
 * @module
 */

/** Bounds how many tasks run at once. */
export class Limiter {
  #active = 0
  readonly #waiting: Array<() => void> = []

  constructor (readonly limit: number) {
    if (!Number.isInteger(limit) || limit < 1) throw new RangeError(`limit must be a positive integer, got ${limit}`)
  }

  /** Wait for a free slot. */
  async acquire (): Promise<void> {
    if (this.#active < this.limit) { this.#active++; return }
    await new Promise<void>((resolve) => this.#waiting.push(resolve))
  }

  /** Give a slot back. */
  release (): void {
    const next = this.#waiting.shift()
    if (next !== undefined) next()
    else this.#active--
  }

  /** Run `task` in a slot; the slot is held until it settles. */
  async run<T> (task: () => Promise<T>): Promise<T> {
    await this.acquire()
    try { return await task() } finally { this.release() }
  }
}
