/**
 * Reading chunks' stored forms from their packs, in the three stages of
 * one read: the index lookup ({@link lookupChunkIndex}: what `c` holds,
 * batched, without opening packs), the sources
 * ({@link resolveChunkSources}: a pack descriptor and location per chunk,
 * for readers on other threads) and the records themselves
 * ({@link readStoredChunks}: read here, grouped by pack). A record is
 * checked against its digest and the lengths its location states; a pack
 * found missing is looked up again once, since a gc may have moved the
 * chunk and deleted the pack since its location was read.
 *
 * @module
 */
import { IntegrityError, InvalidArgumentError, NotFoundError, StoreError } from '../../errors.js'
import { bytesEqual, digestToString } from '../../hash/digest.js'
import type { ChunkLookup, ChunkSource } from '../index.js'
import {
  decodeLocation, isLocation, isMissingPack, LOCATION_MARKER, packFileName, type PackLease, type PackLocation, readRecords, RECORD_HEADER_BYTES
} from '../pack/index.js'
import { declaredLength } from '../stored-object.js'
import type { StoreCore } from './core.js'
import { type Bytes, keyOf } from './keyspaces.js'

/**
 * The stored and decoded lengths of a chunk from its `c` value: a pack
 * location states both; an inline stored object (a store written before
 * packs) is its own stored form. A value that is neither gives zeros.
 */
export function chunkValueLengths (value: Uint8Array): { storedLength: number, length: number } {
  if (value[0] === LOCATION_MARKER) {
    try {
      const loc = decodeLocation(value)
      return { storedLength: loc.storedLength, length: loc.length }
    } catch {
      return { storedLength: 0, length: 0 }
    }
  }
  return { storedLength: value.length, length: declaredLength(value) }
}

/** A record read for a location must declare the chunk length the location states. */
export function checkLength (stored: Uint8Array, location: PackLocation, what: string): void {
  const declared = declaredLength(stored)
  if (declared !== location.length) throw new IntegrityError(`${what} (${packFileName(location.pack)} at ${location.offset - RECORD_HEADER_BYTES}): the record holds ${declared} bytes, the index says ${location.length}`)
}

/** The error for a record that could not be read: damage is `ERR_INTEGRITY`, I/O failures `ERR_STORE`. */
export function readError (core: StoreCore, err: Error, what: string, location: PackLocation): Error {
  if (err instanceof IntegrityError) return err
  if (isMissingPack(err)) return new IntegrityError(`${what}: its pack ${packFileName(location.pack)} is missing from ${core.packs.description}`, { cause: err })
  return new StoreError(`${what}: reading ${packFileName(location.pack)} failed: ${err.message}`, { cause: err })
}

/**
 * The stored form of a chunk from its `c` value: the value itself when it
 * is an inline stored object, else the record its location names,
 * checked (digest, lengths), looked up again once if its pack is missing.
 */
export async function resolveChunk (core: StoreCore, digest: Bytes, value: Bytes, retry = true): Promise<Bytes> {
  if (!isLocation(value)) return value
  const what = `chunk ${digestToString(digest)}`
  const location = decodeLocation(value, what)
  const [result] = await readRecords(core.packs.storage, [{ digest, location }], what)
  if (result instanceof Error) {
    if (retry && isMissingPack(result)) {
      const again = await core.keys.chunks.get(digest)
      if (again !== undefined && !bytesEqual(again, value)) return await resolveChunk(core, digest, again, false)
    }
    throw readError(core, result, what, location)
  }
  checkLength(result!, location, what)
  return result!
}

/**
 * Replace the location values `values[i]` (for `i` in `which`) by the
 * stored forms they name, read together ({@link readRecords}); those
 * whose pack is missing are looked up again once, as in {@link resolveChunk}.
 */
async function resolveMany (core: StoreCore, digests: readonly Bytes[], values: Array<Bytes | undefined>, which: number[], retry = true): Promise<void> {
  const locations = which.map((i) => decodeLocation(values[i]!, `chunk ${digestToString(digests[i]!)}`))
  const results = await readRecords(core.packs.storage, which.map((i, j) => ({ digest: digests[i]!, location: locations[j]! })))
  const again: number[] = []
  for (let j = 0; j < which.length; j++) {
    const i = which[j]!
    const r = results[j]!
    const what = `chunk ${digestToString(digests[i]!)}`
    if (r instanceof Error) {
      if (retry && isMissingPack(r)) { again.push(i); continue }
      throw readError(core, r, what, locations[j]!)
    }
    checkLength(r, locations[j]!, what)
    values[i] = r
  }
  if (again.length > 0) {
    const fresh = await core.keys.chunks.getMany(again.map((i) => digests[i]!))
    const moved: number[] = []
    for (let j = 0; j < again.length; j++) {
      const i = again[j]!
      const value = fresh[j]
      if (value === undefined) throw new NotFoundError(`chunk ${digestToString(digests[i]!)} is not in the store`)
      if (!isLocation(value)) { values[i] = value; continue }
      if (bytesEqual(value, values[i]!)) {
        // Not moved: its pack is gone.
        throw readError(core, new NotFoundError(`pack ${decodeLocation(value).pack} does not exist`), `chunk ${digestToString(digests[i]!)}`, decodeLocation(value))
      }
      values[i] = value
      moved.push(i)
    }
    if (moved.length > 0) await resolveMany(core, digests, values, moved, false)
  }
}

/**
 * What the store holds for each digest, without reading packs: the
 * stored form of a chunk still queued (`queued`), else its `c` value (a
 * pack location, or an inline stored form written before packs);
 * undefined when absent. Queued chunks come from memory, the rest from
 * one batched `getMany`, checked again after it against a running gc.
 */
export async function lookupChunkIndex (core: StoreCore, digests: readonly Bytes[]): Promise<ChunkLookup> {
  core.assertOpen()
  const { queue } = core
  const out = new Array<{ value: Bytes, queued: boolean } | undefined>(digests.length)
  const keys = digests.map((d) => 'c' + keyOf(d))
  const missing: number[] = []
  for (let i = 0; i < digests.length; i++) {
    const k = keys[i]!
    await queue.inflight.get(k)
    const queued = queue.pending.get(k)
    if (queued !== undefined) out[i] = { value: queued, queued: true }
    else if (!core.gone(k)) missing.push(i)
  }
  if (missing.length === 0) return out
  const values = await core.index.getterOf(core.keys.chunks).getMany(missing.map((i) => digests[i]!))
  // Checked again after the await, as in getObject: a gc may have condemned some meanwhile.
  for (let j = 0; j < missing.length; j++) {
    const i = missing[j]!
    const queued = queue.pending.get(keys[i]!)
    const value = core.gone(keys[i]!) ? queued : values[j]
    if (value !== undefined) out[i] = { value: queued ?? value, queued: queued !== undefined }
  }
  return out
}

/** `found` as it is when every entry is set (and each touched); `NotFoundError` naming the first that is not. */
function allFound<T> (core: StoreCore, digests: readonly Bytes[], found: Array<T | undefined>): T[] {
  for (let i = 0; i < digests.length; i++) {
    if (found[i] === undefined) throw new NotFoundError(`chunk ${digestToString(digests[i]!)} is not in the store`)
    core.pins.touch('c' + keyOf(digests[i]!))
  }
  return found as T[]
}

/**
 * The stored forms of several chunks, in order, not decoded or verified:
 * one batched lookup, then the records read grouped by pack.
 * `NotFoundError` if any chunk is absent.
 */
export async function readStoredChunks (core: StoreCore, digests: readonly Bytes[]): Promise<Bytes[]> {
  const found = await lookupChunkIndex(core, digests)
  const out = found.map((f) => f?.value)
  const located: number[] = []
  for (let i = 0; i < found.length; i++) if (found[i] !== undefined && !found[i]!.queued && isLocation(found[i]!.value)) located.push(i)
  if (located.length > 0) await resolveMany(core, digests, out, located)
  return allFound(core, digests, out)
}

/**
 * Where to read several chunks, in order, without reading them here: a
 * pack descriptor (from `lease`) and location for chunks in packs, the
 * stored form itself for chunks still queued or stored inline. Finishes
 * from `lookup` when given (a {@link lookupChunkIndex} of the same digests).
 * `NotFoundError` if any chunk is absent.
 */
export async function resolveChunkSources (core: StoreCore, digests: readonly Bytes[], lease: PackLease, lookup?: Promise<ChunkLookup>): Promise<ChunkSource[]> {
  const found = await (lookup ?? lookupChunkIndex(core, digests))
  if (found.length !== digests.length) throw new InvalidArgumentError('resolveChunkSources: the lookup is not of these digests')
  const out = new Array<ChunkSource | undefined>(digests.length)
  // Chunks whose pack disappeared between the lookup and the open (a gc
  // rewrote it), or that the lease has no descriptor left for: read
  // here (which looks them up again).
  const again: number[] = []
  for (let i = 0; i < found.length; i++) {
    const f = found[i]
    if (f === undefined) continue
    if (f.queued || !isLocation(f.value)) { out[i] = { stored: f.value }; continue }
    const location = decodeLocation(f.value, `chunk ${digestToString(digests[i]!)}`)
    try {
      const fd = await lease.fd(location.pack)
      if (fd !== undefined) out[i] = { fd, location }
      else again.push(i) // the lease is full: read the record here
    } catch (err) {
      if (!isMissingPack(err)) throw new StoreError(`cannot open ${packFileName(location.pack)} in ${core.packs.description}: ${(err as Error).message}`, { cause: err })
      again.push(i)
    }
  }
  if (again.length > 0) {
    const stored = await readStoredChunks(core, again.map((i) => digests[i]!))
    for (let j = 0; j < again.length; j++) out[again[j]!] = { stored: stored[j]! }
  }
  return allFound(core, digests, out)
}
