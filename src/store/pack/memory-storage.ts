/**
 * Packs held in memory, for stores on memory-level databases. The packs of
 * a database are kept with the database object ({@link memoryPacksOf}), so
 * closing a store and opening another on the same database finds them.
 *
 * @module
 */
import { NotFoundError, StoreError } from '../../errors.js'
import type { PackInfo, PackStorage } from './index.js'
import { PACK_MAGIC } from './format.js'

interface MemoryPack { bytes: Buffer, size: number }

/** {@link PackStorage} in memory. */
export class MemoryPackStorage implements PackStorage {
  readonly description = 'memory'
  readonly #packs = new Map<number, MemoryPack>()

  async list (): Promise<PackInfo[]> {
    return [...this.#packs].map(([pack, p]) => ({ pack, size: p.size })).sort((a, b) => a.pack - b.pack)
  }

  async create (pack: number): Promise<void> {
    if (this.#packs.has(pack)) throw new StoreError(`pack ${pack} exists`)
    const bytes = Buffer.alloc(64 * 1024)
    bytes.set(PACK_MAGIC)
    this.#packs.set(pack, { bytes, size: PACK_MAGIC.length })
  }

  async write (pack: number, offset: number, bytes: Uint8Array): Promise<void> {
    const p = this.#packs.get(pack)
    if (p === undefined) throw new NotFoundError(`pack ${pack} does not exist`)
    const end = offset + bytes.length
    if (end > p.bytes.length) {
      const grown = Buffer.alloc(Math.max(end, p.bytes.length * 2))
      grown.set(p.bytes.subarray(0, p.size))
      p.bytes = grown
    }
    p.bytes.set(bytes, offset)
    p.size = Math.max(p.size, end)
  }

  async read (pack: number, offset: number, length: number): Promise<Uint8Array> {
    const p = this.#packs.get(pack)
    if (p === undefined) throw new NotFoundError(`pack ${pack} does not exist`)
    return new Uint8Array(p.bytes.subarray(Math.min(offset, p.size), Math.min(offset + length, p.size)))
  }

  async sync (): Promise<void> {}

  async delete (pack: number): Promise<void> { this.#packs.delete(pack) }

  async close (): Promise<void> {}

  /**
   * The live bytes of a pack (not a copy), or undefined: for tests that
   * damage a pack as a disk would.
   */
  contents (pack: number): Buffer | undefined {
    const p = this.#packs.get(pack)
    return p?.bytes.subarray(0, p.size)
  }

  /** Cut a pack to `size` bytes (tests: a write torn by a crash). */
  truncate (pack: number, size: number): void {
    const p = this.#packs.get(pack)
    if (p !== undefined && size < p.size) { p.bytes.fill(0, size, p.size); p.size = size }
  }
}

const byDatabase = new WeakMap<object, MemoryPackStorage>()

/** The memory packs of database `db` (created on first use, kept as long as `db` is). */
export function memoryPacksOf (db: object): MemoryPackStorage {
  let packs = byDatabase.get(db)
  if (packs === undefined) { packs = new MemoryPackStorage(); byDatabase.set(db, packs) }
  return packs
}
