/**
 * Raw listings for maintenance (restic's check, in spirit): every digest
 * of a kind, every stored form as it is (unverified: fsck verifies and
 * reports), every chunk with its record read from its pack or the error
 * reading it gave, every ref's raw bytes.
 *
 * @module
 */
import { StoreError } from '../../errors.js'
import { digestToString } from '../../hash/digest.js'
import type { ChunkRecord, ObjectKind } from '../index.js'
import { decodeLocation, isLocation, type PackLocation, readRecords } from '../pack/index.js'
import { checkLength, chunkValueLengths, readError } from './chunk-reads.js'
import type { StoreCore } from './core.js'
import { type Bytes, kindTag } from './keyspaces.js'

/** Chunks whose records are read together. */
const GROUP = 256

/** Every digest of a kind, in key order (key-only scan). `chunk-index` lists the `x` keyspace. */
export async function * listDigests (core: StoreCore, kind: ObjectKind | 'chunk-index'): AsyncIterable<Uint8Array> {
  core.assertOpen()
  const sub = kind === 'chunk-index' ? core.keys.chunkIndex : core.keys.of(kindTag(kind))
  for await (const key of sub.keys()) yield key
}

/**
 * Every object of a kind with its stored form (codec byte + payload),
 * unverified. Chunks are read from their packs; one that cannot be read
 * throws ({@link listChunkRecords} reports it instead).
 */
export async function * listStored (core: StoreCore, kind: ObjectKind): AsyncIterable<[Uint8Array, Uint8Array]> {
  core.assertOpen()
  if (kind === 'chunk') {
    for await (const r of listChunkRecords(core)) {
      if (r.error !== undefined) throw r.error
      yield [r.digest, r.stored!]
    }
    return
  }
  for await (const entry of core.keys.of(kindTag(kind)).iterator()) yield entry
}

/**
 * Every chunk in the index, in key order, with its stored form read from
 * its pack (unverified beyond the record's digest and lengths) or the
 * error reading it gave. Reads are grouped, so that records near each
 * other in a pack are read together. I/O failures (`ERR_STORE`) throw.
 */
export async function * listChunkRecords (core: StoreCore): AsyncIterable<ChunkRecord> {
  core.assertOpen()
  let group: Array<[Bytes, Bytes]> = []
  const resolve = async (): Promise<ChunkRecord[]> => {
    const out: ChunkRecord[] = []
    const requests: Array<{ digest: Bytes, location: PackLocation, at: number }> = []
    for (const [digest, value] of group) {
      const record: ChunkRecord = { digest, ...chunkValueLengths(value) }
      out.push(record)
      if (!isLocation(value)) { record.stored = value; continue }
      try {
        record.location = decodeLocation(value, `chunk ${digestToString(digest)}`)
        requests.push({ digest, location: record.location, at: out.length - 1 })
      } catch (err) {
        record.error = err as Error
      }
    }
    const results = await readRecords(core.packs.storage, requests)
    for (let j = 0; j < requests.length; j++) {
      const { at, location } = requests[j]!
      const record = out[at]!
      const r = results[j]!
      const what = `chunk ${digestToString(record.digest)}`
      if (r instanceof Error) {
        const err = readError(core, r, what, location)
        if (err instanceof StoreError) throw err
        record.error = err
        continue
      }
      try {
        checkLength(r, location, what)
        record.stored = r
      } catch (err) {
        record.error = err as Error
      }
    }
    group = []
    return out
  }
  for await (const entry of core.keys.chunks.iterator()) {
    group.push(entry)
    if (group.length >= GROUP) yield * await resolve()
  }
  if (group.length > 0) yield * await resolve()
}

/** Every ref with its raw record bytes (not decoded: fsck reports bad ones). */
export async function * listRawRefs (core: StoreCore): AsyncIterable<[string, Uint8Array]> {
  core.assertOpen()
  for await (const [key, value] of core.keys.refs.iterator()) yield [Buffer.from(key).toString('utf8'), value]
}
