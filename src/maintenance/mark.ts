/**
 * Marking: the set of objects reachable from roots, following snapshot →
 * root tree → subtrees and chunks. Reads are verified; anything missing or
 * corrupt on the way stops the mark with `ERR_STORE_INCONSISTENT` (a gc
 * must not guess what an unreadable tree references).
 *
 * @module
 */
import { StoreInconsistentError, throwIfAborted } from '../errors.js'
import { decodeSnapshot } from '../format/snapshot.js'
import { decodeTree } from '../format/tree.js'
import { digestToString } from '../hash/digest.js'
import type { MetadataReader, ObjectKind } from '../store/index.js'

/** Latin1 string of a digest: the key form used in marked sets. */
export const digestKey = (digest: Uint8Array): string => Buffer.from(digest.buffer, digest.byteOffset, digest.byteLength).toString('latin1')

/** Objects reached so far, per kind. */
export class Marker {
  readonly #store: MetadataReader
  readonly #marked: Record<ObjectKind, Set<string>> = { chunk: new Set(), tree: new Set(), snapshot: new Set() }
  #queue: Array<{ kind: 'tree' | 'snapshot', digest: Uint8Array }> = []
  readonly #concurrency: number
  /** Called after each object is marked. */
  onMarked: ((marked: number) => void) | undefined

  constructor (store: MetadataReader, options: { concurrency?: number } = {}) {
    this.#store = store
    this.#concurrency = options.concurrency ?? 8
  }

  /** True if the object is marked (its closure is marked once {@link run} resolves). */
  has (kind: ObjectKind, key: string): boolean { return this.#marked[kind].has(key) }

  /** Objects marked of each kind. */
  get counts (): Record<ObjectKind, number> {
    return { chunk: this.#marked.chunk.size, tree: this.#marked.tree.size, snapshot: this.#marked.snapshot.size }
  }

  /** Mark an object; trees and snapshots are expanded by {@link run}. */
  add (kind: ObjectKind, digest: Uint8Array): void {
    const set = this.#marked[kind]
    const key = digestKey(digest)
    if (set.has(key)) return
    set.add(key)
    if (kind !== 'chunk') this.#queue.push({ kind, digest })
    this.onMarked?.(this.#marked.chunk.size + this.#marked.tree.size + this.#marked.snapshot.size)
  }

  async #expand (item: { kind: 'tree' | 'snapshot', digest: Uint8Array }): Promise<void> {
    try {
      if (item.kind === 'snapshot') {
        const snapshot = decodeSnapshot(await this.#store.getSnapshot(item.digest))
        this.add('tree', snapshot.root.tree)
        return
      }
      for (const e of decodeTree(await this.#store.getTree(item.digest))) {
        if (e.kind === 'dir') this.add('tree', e.tree)
        else if (e.kind === 'file' && !(e.content instanceof Uint8Array)) for (const c of e.content) this.add('chunk', c.digest)
      }
    } catch (err) {
      throw new StoreInconsistentError(`${item.kind} ${digestToString(item.digest)} is reachable but cannot be read (${(err as Error).message}); run fsck`, { cause: err })
    }
  }

  /** Expand everything added until the closure is marked. */
  async run (signal?: AbortSignal): Promise<void> {
    const workers = Array.from({ length: this.#concurrency }, async () => {
      for (let item = this.#queue.pop(); item !== undefined; item = this.#queue.pop()) {
        throwIfAborted(signal)
        await this.#expand(item)
      }
    })
    await Promise.all(workers)
    // Workers that found the queue empty may have stopped while others
    // were still adding to it.
    if (this.#queue.length > 0) await this.run(signal)
  }
}
