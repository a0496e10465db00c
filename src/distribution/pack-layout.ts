/**
 * Which packs a push lists (docs/FORMAT.md §11.4): chunks found in packs
 * the repository already has are taken from them; the rest are cut into
 * new packs at content-defined boundaries; the total stays within
 * {@link MAX_PACKS}. Pure planning: no I/O.
 *
 * @module
 */
import { MAX_PACKS } from './media-types.js'
import type { ClosureChunk } from './closure.js'
import { digestKey } from './metadata.js'

/** Default pack size exponent: packs average 2^24 bytes of chunks. */
export const DEFAULT_PACK_BITS = 24

/** A chunk a known pack provides. */
export interface KnownRecord {
  offset: number
  storedLength: number
  length: number
}

/** A pack blob the repository has (from a tessera manifest read before the push). */
export interface KnownPack {
  digest: Uint8Array
  size: number
  /** The records of it a metadata listed, by chunk digest key. */
  records: Map<string, KnownRecord>
  /** Where the pack was seen: a label for the caller (its repository). */
  source: number
}

/** A reused pack and the chunks taken from it, in ascending offset order. */
export interface ReusedPack {
  pack: KnownPack
  taken: Array<{ digest: Uint8Array } & KnownRecord>
}

/** What a push lists: reused packs, then new ones (chunks in record order). */
export interface PackPlan {
  reused: ReusedPack[]
  fresh: ClosureChunk[][]
  /** The pack size exponent used for the new packs. */
  bits: number
}

/** True when, by the rule of §11.4, a pack ends after this chunk. */
export function endsPack (chunk: ClosureChunk, bits: number): boolean {
  const d = chunk.digest
  const head = ((d[0]! << 24) >>> 0) + (d[1]! << 16) + (d[2]! << 8) + d[3]!
  return head < chunk.length * 2 ** (32 - bits)
}

/** Cut `chunks` (in order) into packs with exponent `bits`. */
export function cutPacks (chunks: readonly ClosureChunk[], bits: number): ClosureChunk[][] {
  const packs: ClosureChunk[][] = []
  const maxBytes = 2 ** (bits + 2)
  let current: ClosureChunk[] = []
  let bytes = 0
  for (const c of chunks) {
    current.push(c)
    bytes += c.length
    if (endsPack(c, bits) || bytes >= maxBytes) {
      packs.push(current)
      current = []
      bytes = 0
    }
  }
  if (current.length > 0) packs.push(current)
  return packs
}

/** Options of {@link planPacks}. */
export interface PlanOptions {
  /** Most packs (default {@link MAX_PACKS}). */
  maxPacks?: number
  /** The smallest pack exponent (default {@link DEFAULT_PACK_BITS}). */
  bits?: number
}

/** Plan the packs of a push of `chunks` (walk order) given the packs the repository has (in manifest order). */
export function planPacks (chunks: readonly ClosureChunk[], known: readonly KnownPack[], options: PlanOptions = {}): PackPlan {
  const maxPacks = options.maxPacks ?? MAX_PACKS
  const minBits = options.bits ?? DEFAULT_PACK_BITS
  const takenFrom = new Map<KnownPack, ReusedPack>()
  const assigned = new Set<string>()
  for (const c of chunks) {
    const key = digestKey(c.digest)
    for (const pack of known) {
      const record = pack.records.get(key)
      if (record === undefined) continue
      let reuse = takenFrom.get(pack)
      if (reuse === undefined) { reuse = { pack, taken: [] }; takenFrom.set(pack, reuse) }
      reuse.taken.push({ digest: c.digest, ...record })
      assigned.add(key)
      break
    }
  }
  let reused = known.flatMap((p) => takenFrom.get(p) ?? [])
  const left = (): ClosureChunk[] => chunks.filter((c) => !assigned.has(digestKey(c.digest)))
  let fresh = cutPacks(left(), minBits)
  let bits = minBits
  if (reused.length + fresh.length > maxPacks) {
    const keep = Math.floor(maxPacks / 2)
    if (reused.length > keep) {
      const bytesOf = (r: ReusedPack): number => r.taken.reduce((n, t) => n + t.storedLength, 0)
      const order = reused.map((r, i) => ({ r, i, bytes: bytesOf(r) })).sort((a, b) => a.bytes - b.bytes || a.i - b.i)
      const dropped = new Set(order.slice(0, reused.length - keep).map((x) => x.r))
      for (const r of dropped) for (const t of r.taken) assigned.delete(digestKey(t.digest))
      reused = reused.filter((r) => !dropped.has(r))
    }
    const rest = left()
    for (;;) {
      fresh = cutPacks(rest, bits)
      if (reused.length + fresh.length <= maxPacks) break
      bits++
    }
  }
  for (const r of reused) r.taken.sort((a, b) => a.offset - b.offset)
  return { reused, fresh, bits }
}
