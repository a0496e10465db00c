/**
 * Appending chunk records to pack files (restic's packer manager): one
 * pack at a time, written at its end in order, a new one once it reaches
 * the target size. A new pack is numbered one past the highest that
 * exists, so a pack an earlier process may have left torn is never
 * appended to; the lowest number this store may still append to is its
 * append floor, which gc leaves alone.
 *
 * @module
 */
import { StoreError } from '../../errors.js'
import { encodeLocation, PACK_MAGIC, packFileName, type PackInfo, type PackLease, type PackStorage, RECORD_HEADER_BYTES } from '../pack/index.js'
import type { Bytes } from './keyspaces.js'

/** A chunk record to append: its digest and stored form, and its decoded length (for the location). */
export interface PackRecord {
  key: Bytes
  stored: Bytes
  length: number
  /** Set by {@link PackAppender.append}: the record's location. */
  value?: Bytes
}

/** The pack this store appends to, and what it knows of the others. */
export class PackAppender {
  readonly storage: PackStorage
  readonly #target: number
  /** The pack being appended to, and its size. */
  #current: { pack: number, size: number } | undefined
  /** Lowest pack this store may still append to (set before a pack is created). */
  #floor: number | undefined
  /** Highest pack number this store has seen: numbers are not reused while it is open. */
  #highest = 0
  /** Packs written to since they were last synced. */
  readonly #unsynced = new Set<number>()

  constructor (storage: PackStorage, targetBytes: number) {
    this.storage = storage
    this.#target = targetBytes
  }

  /** Where the packs are (for messages). */
  get description (): string { return this.storage.description }

  /** Packs below this number are not appended to by this store (Infinity before its first pack). */
  get floor (): number { return this.#floor ?? Infinity }

  /** Descriptors for readers on other threads (file packs only). */
  lease (): PackLease | undefined { return this.storage.lease?.() }

  /**
   * Append records to the current pack, one write per pack (a new pack
   * when there is none yet or it reached the target size), and set each
   * record's `value` to its location.
   */
  async append (records: PackRecord[]): Promise<void> {
    let i = 0
    while (i < records.length) {
      if (this.#current === undefined || this.#current.size >= this.#target) await this.#newPack()
      const current = this.#current!
      // The records that fit before the pack reaches its target size (at least one).
      let total = 0
      let j = i
      while (j < records.length && (j === i || current.size + total < this.#target)) total += RECORD_HEADER_BYTES + records[j++]!.stored.length
      const buffer = Buffer.allocUnsafe(total)
      let at = 0
      for (const record of records.slice(i, j)) {
        const stored = record.stored
        buffer.set(record.key, at)
        buffer.writeUInt32LE(stored.length, at + 32)
        buffer.set(stored, at + RECORD_HEADER_BYTES)
        record.value = encodeLocation({ pack: current.pack, offset: current.size + at + RECORD_HEADER_BYTES, storedLength: stored.length, length: record.length })
        at += RECORD_HEADER_BYTES + stored.length
      }
      await this.storage.write(current.pack, current.size, buffer)
      current.size += total
      this.#unsynced.add(current.pack)
      i = j
    }
  }

  /** Make every pack written to so far durable. */
  async syncWritten (): Promise<void> {
    for (const pack of [...this.#unsynced]) { await this.storage.sync(pack); this.#unsynced.delete(pack) }
  }

  async #newPack (): Promise<void> {
    let next = Math.max(this.#highest, ...(await this.storage.list()).map((p) => p.pack)) + 1
    for (let attempt = 0; ; attempt++) {
      this.#floor = next
      try {
        await this.storage.create(next)
        break
      } catch (err) {
        if ((err as NodeJS.ErrnoException).code !== 'EEXIST' || attempt > 100) throw err
        next++
      }
    }
    this.#current = { pack: next, size: PACK_MAGIC.length }
    this.#highest = Math.max(this.#highest, next)
  }

  /** Every pack file with its size (`ERR_STORE` when the packs cannot be listed). */
  async list (): Promise<PackInfo[]> {
    try {
      const packs = await this.storage.list()
      for (const p of packs) this.#highest = Math.max(this.#highest, p.pack)
      return packs
    } catch (err) {
      throw new StoreError(`cannot list the packs in ${this.storage.description}: ${(err as Error).message}`, { cause: err })
    }
  }

  /** Delete a pack (`ERR_STORE` when it cannot be). */
  async delete (pack: number): Promise<void> {
    try {
      await this.storage.delete(pack)
    } catch (err) {
      throw new StoreError(`cannot delete ${packFileName(pack)} from ${this.storage.description}: ${(err as Error).message}`, { cause: err })
    }
  }

  /** Release open files. */
  async close (): Promise<void> { await this.storage.close() }
}
