/**
 * A counting semaphore: at most `limit` tasks hold it at once. Waiting
 * tasks get a slot highest priority first, and in arrival order among
 * equal priorities (a binary heap: a wait costs O(log n) however many
 * tasks wait).
 *
 * @module
 */

interface Waiter { priority: number, seq: number, wake: () => void }

/** `a` goes before `b`. */
function before (a: Waiter, b: Waiter): boolean {
  return a.priority !== b.priority ? a.priority > b.priority : a.seq < b.seq
}

/** Bounds how many tasks run at once. */
export class Limiter {
  #active = 0
  #seq = 0
  readonly #heap: Waiter[] = []

  constructor (readonly limit: number) {
    if (!Number.isInteger(limit) || limit < 1) throw new RangeError(`limit must be a positive integer, got ${limit}`)
  }

  /** Tasks waiting for a slot. */
  get waiting (): number { return this.#heap.length }

  /** Wait for a free slot; among waiting tasks, a higher `priority` (default 0) gets one first. */
  async acquire (priority = 0): Promise<void> {
    if (this.#active < this.limit) { this.#active++; return }
    await new Promise<void>((resolve) => this.#push({ priority, seq: this.#seq++, wake: resolve }))
  }

  /** Give a slot back. */
  release (): void {
    const next = this.#pop()
    if (next !== undefined) next.wake()
    else this.#active--
  }

  /** Run `task` in a slot; the slot is held until it settles. */
  async run<T> (task: () => Promise<T>, priority = 0): Promise<T> {
    await this.acquire(priority)
    try { return await task() } finally { this.release() }
  }

  #push (w: Waiter): void {
    const h = this.#heap
    let i = h.push(w) - 1
    while (i > 0) {
      const parent = (i - 1) >> 1
      if (!before(h[i]!, h[parent]!)) break
      ;[h[i], h[parent]] = [h[parent]!, h[i]!]
      i = parent
    }
  }

  #pop (): Waiter | undefined {
    const h = this.#heap
    const top = h[0]
    const last = h.pop()
    if (top === undefined || last === undefined || h.length === 0) return top
    h[0] = last
    let i = 0
    for (;;) {
      const l = 2 * i + 1
      const r = l + 1
      let best = i
      if (l < h.length && before(h[l]!, h[best]!)) best = l
      if (r < h.length && before(h[r]!, h[best]!)) best = r
      if (best === i) break
      ;[h[i], h[best]] = [h[best]!, h[i]!]
      i = best
    }
    return top
  }
}
