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
import { encodeLocation, encodeRecordHeader, PACK_MAGIC, packFileName, type PackInfo, type PackLease, type PackStorage, RECORD_HEADER_BYTES } from '../pack/index.js'
import type { Bytes } from './keyspaces.js'

/** A chunk record to append: its digest and stored form, and its decoded length (for the location). */
export interface PackRecord {
  key: Bytes
  stored: Bytes
  length: number
  /** Set by {@link PackAppender.append}: the record's location. */
  value?: Bytes
}

/**
 * The record of `stored` (header and stored form, one view) when the 36
 * bytes just before the view, in its buffer, are its record header
 * (`digest`, stored length): then it is written as it lies. Those bytes
 * are compared, not trusted: undefined otherwise.
 */
function framedRecord (digest: Bytes, stored: Bytes): Bytes | undefined {
  if (stored.byteOffset < RECORD_HEADER_BYTES) return undefined
  const start = stored.byteOffset - RECORD_HEADER_BYTES
  const header = new Uint8Array(stored.buffer, start, RECORD_HEADER_BYTES)
  for (let b = 0; b < 32; b++) if (header[b] !== digest[b]) return undefined
  const n = stored.length
  if (header[32] !== (n & 0xff) || header[33] !== ((n >>> 8) & 0xff) || header[34] !== ((n >>> 16) & 0xff) || header[35] !== (n >>> 24)) return undefined
  return new Uint8Array(stored.buffer, start, RECORD_HEADER_BYTES + n)
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
   * Append records to the current pack, one (vectored) write per pack (a new pack
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
      // The records go as pieces of one vectored write, not copied into
      // one buffer: per record its header and its stored form, or one
      // piece for both when the stored form is a view whose 36 bytes before
      // it are that very header (a record of a fetched pack blob, §11.3),
      // and one piece for consecutive records back to back in one buffer.
      const pieces: Uint8Array[] = []
      let at = 0
      for (let k = i; k < j; k++) {
        const record = records[k]!
        const stored = record.stored
        const framed = framedRecord(record.key, stored)
        const last = pieces.length > 0 ? pieces[pieces.length - 1]! : undefined
        if (framed !== undefined && last !== undefined && last.buffer === framed.buffer && last.byteOffset + last.length === framed.byteOffset) {
          pieces[pieces.length - 1] = new Uint8Array(last.buffer, last.byteOffset, last.length + framed.length)
        } else if (framed !== undefined) {
          pieces.push(framed)
        } else {
          pieces.push(encodeRecordHeader(record.key, stored.length), stored)
        }
        record.value = encodeLocation({ pack: current.pack, offset: current.size + at + RECORD_HEADER_BYTES, storedLength: stored.length, length: record.length })
        at += RECORD_HEADER_BYTES + stored.length
      }
      if (this.storage.writePieces !== undefined) await this.storage.writePieces(current.pack, current.size, pieces)
      else await this.storage.write(current.pack, current.size, pieces.length === 1 ? pieces[0]! : Buffer.concat(pieces))
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
