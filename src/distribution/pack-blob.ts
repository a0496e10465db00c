/**
 * Building a pack blob (docs/FORMAT.md §11.3) from a store's stored
 * objects: the pack header and one record per chunk, hashed as it is
 * built. Every stored object is verified (decoded and hashed) before it
 * goes into a pack.
 *
 * @module
 */
import { createHash } from 'node:crypto'
import { IntegrityError, throwIfAborted } from '../errors.js'
import { digestToString } from '../hash/digest.js'
import { encodeRecordHeader, PACK_MAGIC, RECORD_HEADER_BYTES } from '../store/pack/index.js'
import { CODEC_RAW, decodeStored } from '../store/stored-object.js'
import type { ClosureChunk } from './closure.js'
import type { PackTable } from './metadata.js'

/** Reads the stored objects of chunks, in order, unverified. */
export type StoredReader = (digests: readonly Uint8Array[]) => Promise<Uint8Array[]>

/** Chunks read from the store at once. */
const READ_GROUP = 64

/** A pack blob kept in memory up to this size; a bigger one is read again to be uploaded. */
const IN_MEMORY_PACK_BYTES = 64 * 1024 * 1024

/** A built pack: its table, its digest, and its bytes (or a way to produce them again). */
export interface BuiltPack {
  table: PackTable
  body: Uint8Array | (() => AsyncIterable<Uint8Array>)
}

/**
 * The stored object of a chunk as a pack record carries it: verified,
 * and never bigger than the raw form (§11.2), re-framed raw otherwise.
 */
function checkedStored (chunk: ClosureChunk, stored: Uint8Array): Uint8Array {
  const bytes = decodeStored(stored, chunk.digest, 'chunk', chunk.length)
  if (bytes.length !== chunk.length) throw new IntegrityError(`chunk ${digestToString(chunk.digest)} has ${bytes.length} bytes, its file says ${chunk.length}`)
  if (stored.length <= chunk.length + 1) return stored
  const raw = new Uint8Array(bytes.length + 1)
  raw[0] = CODEC_RAW
  raw.set(bytes, 1)
  return raw
}

async function * records (chunks: readonly ClosureChunk[], read: StoredReader, verify: boolean, signal?: AbortSignal): AsyncGenerator<{ chunk: ClosureChunk, stored: Uint8Array }> {
  for (let i = 0; i < chunks.length; i += READ_GROUP) {
    throwIfAborted(signal)
    const group = chunks.slice(i, i + READ_GROUP)
    const stored = await read(group.map((c) => c.digest))
    for (let j = 0; j < group.length; j++) {
      const chunk = group[j]!
      const s = stored[j]!
      yield { chunk, stored: verify || s.length > chunk.length + 1 ? checkedStored(chunk, s) : s }
    }
  }
}

/**
 * Build the pack blob of `chunks` (in record order). A blob up to 64 MiB
 * is kept in memory; a bigger one is hashed as it is built and read from
 * the store again when it is uploaded (the stored objects do not change).
 */
export async function buildPack (chunks: readonly ClosureChunk[], read: StoredReader, signal?: AbortSignal): Promise<BuiltPack> {
  const hash = createHash('sha256')
  const pieces: Uint8Array[] = [PACK_MAGIC]
  hash.update(PACK_MAGIC)
  let size = PACK_MAGIC.length
  let keep = true
  const digests = new Uint8Array(32 * chunks.length)
  const offsets: number[] = []
  const storedLengths: number[] = []
  const lengths: number[] = []
  let j = 0
  for await (const { chunk, stored } of records(chunks, read, true, signal)) {
    const header = encodeRecordHeader(chunk.digest, stored.length)
    hash.update(header)
    hash.update(stored)
    digests.set(chunk.digest, 32 * j++)
    offsets.push(size + RECORD_HEADER_BYTES)
    storedLengths.push(stored.length)
    lengths.push(chunk.length)
    size += RECORD_HEADER_BYTES + stored.length
    if (keep) {
      pieces.push(header, stored)
      if (size > IN_MEMORY_PACK_BYTES) { keep = false; pieces.length = 0 }
    }
  }
  const table: PackTable = { digest: new Uint8Array(hash.digest()), size, chunks: digests, offsets, storedLengths, lengths }
  if (keep) return { table, body: new Uint8Array(Buffer.concat(pieces)) }
  return {
    table,
    body: () => (async function * () {
      yield PACK_MAGIC
      for await (const { chunk, stored } of records(chunks, read, false, signal)) {
        yield encodeRecordHeader(chunk.digest, stored.length)
        yield stored
      }
    })()
  }
}
