/**
 * In-process locks. One process holds a store open (LevelDB's lock file),
 * so serializing in memory is enough to make read-modify-write sequences on
 * registry records atomic.
 *
 * @module
 */

/** Runs tasks one at a time, in the order they asked. */
export class Mutex {
  #tail: Promise<void> = Promise.resolve()

  /** Run `task` once every task queued before it has settled. */
  async run<T> (task: () => Promise<T>): Promise<T> {
    const previous = this.#tail
    let release!: () => void
    this.#tail = new Promise<void>((resolve) => { release = resolve })
    try {
      await previous
      return await task()
    } finally {
      release()
    }
  }
}

/** One {@link Mutex} per key, dropped when nobody waits on it. */
export class KeyedMutex {
  readonly #locks = new Map<string, { mutex: Mutex, users: number }>()

  /** Run `task` once every task queued before it under the same `key` has settled. */
  async run<T> (key: string, task: () => Promise<T>): Promise<T> {
    let entry = this.#locks.get(key)
    if (entry === undefined) {
      entry = { mutex: new Mutex(), users: 0 }
      this.#locks.set(key, entry)
    }
    entry.users++
    try {
      return await entry.mutex.run(task)
    } finally {
      if (--entry.users === 0) this.#locks.delete(key)
    }
  }
}
