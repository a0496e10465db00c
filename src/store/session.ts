/**
 * Store sessions: how writers tell the store that objects they have written
 * or found present are about to be referenced. See docs/FORMAT.md §6.1.
 *
 * @module
 */
import { hasSessions } from './capability-guards.js'

/**
 * A live session on a store, from `beginSession()` to {@link end}. While
 * any session is open, the store pins every object written, found present
 * or read; `gc` keeps pinned objects and everything they reach.
 */
export class StoreSession {
  /** The store's touch sequence number when the session began. */
  readonly startSeq: number
  readonly #onEnd: (session: StoreSession) => void
  #ended = false

  /** @internal Created by the store's `beginSession()`. */
  constructor (startSeq: number, onEnd: (session: StoreSession) => void) {
    this.startSeq = startSeq
    this.#onEnd = onEnd
  }

  /** True once {@link end} was called. */
  get ended (): boolean { return this.#ended }

  /** End the session; pins no live session needs any more are dropped. Idempotent. */
  end (): void {
    if (this.#ended) return
    this.#ended = true
    this.#onEnd(this)
  }
}

/**
 * Run `fn` inside a session of `store` when the store supports sessions
 * ({@link hasSessions}; those without sessions just run `fn`). Every
 * importer wraps its work in this, so a `gc` running meanwhile in the
 * same process keeps what the import wrote or reuses.
 */
export async function withStoreSession<T> (store: object, fn: () => Promise<T>): Promise<T> {
  const session = hasSessions(store) ? store.beginSession() : undefined
  try {
    return await fn()
  } finally {
    session?.end()
  }
}
