/**
 * Refs and snapshot commits: a snapshot object and the ref naming it are
 * written in one atomic batch after everything queued before it, with the
 * packs made durable first (a ref that survives a power loss reaches only
 * chunks that did). Commits of one snapshot object run one at a time, so
 * it is stored and counted once.
 *
 * @module
 */
import { RefExistsError, StoreError } from '../../errors.js'
import { assertRefName, decodeRef, encodeRef, type RefRecord } from '../../format/ref.js'
import type { CommitOptions } from '../index.js'
import { encodeStored } from '../stored-object.js'
import type { StoreCore } from './core.js'
import { type Bytes, keyOf } from './keyspaces.js'

/** The refs of one store, and its snapshot commits under way. */
export class Refs {
  readonly #core: StoreCore
  /** Snapshot objects being committed: key → settles when that commit is done. */
  readonly #committing = new Map<string, Promise<void>>()

  constructor (core: StoreCore) { this.#core = core }

  /** Write the snapshot object (unless present) and point `name` at it, in one atomic batch. */
  async commitSnapshot (name: string, snapshot: { digest: Bytes, bytes: Bytes }, record: Omit<RefRecord, 'snapshot'>, options: CommitOptions = {}): Promise<void> {
    const core = this.#core
    core.assertOpen()
    assertRefName(name)
    const k = 's' + keyOf(snapshot.digest)
    core.pins.touch(k)
    await core.flush()
    const refKey = Buffer.from(name, 'utf8')
    if (options.replace !== true && await core.keys.refs.has(refKey)) {
      throw new RefExistsError(`a snapshot named ${JSON.stringify(name)} already exists`)
    }
    // One commit of a snapshot object at a time: a commit that found it
    // absent must not decide after another commit of the same object has
    // written it (its answer would be stale, and the object counted twice).
    for (let other = this.#committing.get(k); other !== undefined; other = this.#committing.get(k)) await other
    let settle!: () => void
    this.#committing.set(k, new Promise<void>((resolve) => { settle = resolve }))
    try {
      await this.#commitObject(k, name, refKey, snapshot, record)
    } finally {
      this.#committing.delete(k)
      settle()
    }
  }

  async #commitObject (k: string, name: string, refKey: Buffer, snapshot: { digest: Bytes, bytes: Bytes }, record: Omit<RefRecord, 'snapshot'>): Promise<void> {
    const core = this.#core
    const { queue, pins } = core
    let present = queue.pending.has(k)
    if (!present && !pins.condemned.delete(k) && !queue.deleting.has(k)) {
      present = await core.keys.snapshots.has(snapshot.digest)
      // A gc may have condemned it (rescued here) or queued its delete meanwhile.
      if (present && !pins.condemned.delete(k) && queue.deleting.has(k)) present = queue.pending.has(k)
    } else if (!present) {
      present = !queue.deleting.has(k)
    }
    core.assertOpen()
    // Queued together and flushed: the snapshot, its ref and the counters
    // land in one batch, after (or with) every object queued before.
    if (!present && !queue.pending.has(k)) {
      const stored = encodeStored(snapshot.bytes, { level: 0 })
      queue.pending.set(k, stored)
      queue.push({ type: 'put', sublevel: core.keys.snapshots, key: snapshot.digest, value: stored })
      core.counters.snapshots++
      core.counters.treeBytes += snapshot.bytes.length
      core.counters.treeStored += stored.length
    }
    queue.push({ type: 'put', sublevel: core.keys.refs, key: refKey, value: encodeRef({ snapshot: snapshot.digest, ...record }) })
    try {
      await core.flush({ syncPacks: true })
    } catch (err) {
      throw new StoreError(`committing snapshot ${JSON.stringify(name)} failed: ${(err as Error).message}`, { cause: err })
    }
  }

  /** The ref record, or undefined. */
  async get (name: string): Promise<RefRecord | undefined> {
    this.#core.assertOpen()
    assertRefName(name)
    const raw = await this.#core.keys.refs.get(Buffer.from(name, 'utf8'))
    return raw === undefined ? undefined : decodeRef(raw)
  }

  /** All refs in name order. */
  async * list (): AsyncIterable<[string, RefRecord]> {
    this.#core.assertOpen()
    for await (const [key, value] of this.#core.keys.refs.iterator()) {
      yield [Buffer.from(key).toString('utf8'), decodeRef(value)]
    }
  }

  /** Remove a ref; false if it did not exist. */
  async delete (name: string): Promise<boolean> {
    const core = this.#core
    core.assertOpen()
    assertRefName(name)
    const key = Buffer.from(name, 'utf8')
    await core.flush()
    if (!await core.keys.refs.has(key)) return false
    core.queue.push({ type: 'del', sublevel: core.keys.refs, key })
    await core.flush()
    return true
  }
}
