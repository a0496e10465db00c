/**
 * Sessions, pins and condemnation (docs/FORMAT.md §6.1): while a session
 * is open, every object written, found present or read is pinned with a
 * touch sequence number; a gc marks from the pins made since its last
 * mark and, at one synchronous point, condemns what is neither marked nor
 * pinned. A condemned object reads as absent; writing it again rescues it.
 *
 * @module
 */
import type { ObjectKind } from '../index.js'
import { StoreSession } from '../session.js'
import { keyDigest, kindTag, tagKind } from './keyspaces.js'

/** The pins of live sessions, and the objects a gc condemned. */
export class Pins {
  /** Open sessions (import or gc). */
  readonly #sessions = new Set<StoreSession>()
  #touchSeq = 0
  /** While a session is open: key → sequence number of its last touch. */
  readonly #pins = new Map<string, number>()
  /** Keys a gc has decided to delete: logically absent, still in the database. */
  readonly condemned = new Set<string>()

  /** Record that `k` is in use by a live session (only while one is open). */
  touch (k: string): void {
    if (this.#sessions.size > 0) this.#pins.set(k, ++this.#touchSeq)
  }

  /** Open a session. */
  begin (): StoreSession {
    const session = new StoreSession(this.#touchSeq, (s) => this.#end(s))
    this.#sessions.add(session)
    return session
  }

  #end (session: StoreSession): void {
    if (!this.#sessions.delete(session)) return
    if (this.#sessions.size === 0) { this.#pins.clear(); return }
    let oldest = Infinity
    for (const s of this.#sessions) oldest = Math.min(oldest, s.startSeq)
    // A pin is needed while a session that was open when it was made is open.
    for (const [k, seq] of this.#pins) if (seq <= oldest) this.#pins.delete(k)
  }

  /** The current touch sequence number. */
  get touchSeq (): number { return this.#touchSeq }

  /** Objects pinned with a touch after `seq`. */
  pinnedSince (seq: number): Array<{ kind: ObjectKind, digest: Uint8Array }> {
    const out: Array<{ kind: ObjectKind, digest: Uint8Array }> = []
    for (const [k, s] of this.#pins) {
      if (s > seq) out.push({ kind: tagKind(k[0]!), digest: keyDigest(k) })
    }
    return out
  }

  /**
   * If every object pinned after `seq` is `settled`, condemn every
   * candidate not pinned and return true; otherwise change nothing and
   * return false. Synchronous: nothing can touch an object meanwhile.
   */
  condemn (seq: number, candidates: Iterable<{ kind: ObjectKind, key: string }>, settled: (kind: ObjectKind, key: string) => boolean): boolean {
    for (const [k, s] of this.#pins) {
      if (s > seq && !settled(tagKind(k[0]!), k.slice(1))) return false
    }
    for (const { kind, key } of candidates) {
      const k = kindTag(kind) + key
      if (!this.#pins.has(k)) this.condemned.add(k)
    }
    return true
  }

  /** Forget every condemnation not yet carried out. */
  pardon (): void { this.condemned.clear() }

  /** The objects still condemned. */
  condemnedObjects (): Array<{ kind: ObjectKind, digest: Uint8Array }> {
    return [...this.condemned].map((k) => ({ kind: tagKind(k[0]!), digest: keyDigest(k) }))
  }
}
