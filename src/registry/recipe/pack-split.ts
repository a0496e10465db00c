/**
 * Keeping a pushed pack blob (docs/FORMAT.md §11.3) as chunks plus a pack
 * recipe: each record is checked as §6 checks a pack (a header that fits,
 * a stored length a chunk can have, a stored object that decodes within
 * its declared length and hashes to the record's digest), its chunk is
 * stored once in its pushed stored form (`putEncodedChunk`), and where the
 * store already held the chunk in another stored form the pushed record
 * is kept whole in the recipe's meta stream, so the blob is rebuilt byte
 * for byte. The recipe is returned only after the blob rebuilt from it
 * hashed to the blob's digest.
 *
 * A blob that starts like a pack but is not a well-formed one (a bad
 * digest, a truncated record, a declared length no chunk can have, no
 * record at all) is `bad`, with the reason: the caller keeps it as an
 * opaque whole blob (a registry accepts any blob). Chunks of records
 * stored before the bad one was found are counted nowhere and wait for
 * `gc`. Memory stays within one group of records (at most 64 records or
 * 16 MiB of stored objects, plus one record of up to 64 MiB).
 *
 * @module
 */
import { open, type FileHandle } from 'node:fs/promises'
import { IntegrityError, throwIfAborted } from '../../errors.js'
import { bytesEqual, digestToString, sha256 } from '../../hash/index.js'
import type { ChunkReader, EncodedChunkWriter, ObjectWriter, StoredChunkReader } from '../../store/index.js'
import { encodeRecordHeader, PACK_MAGIC, RECORD_HEADER_BYTES } from '../../store/pack/index.js'
import { CODEC_RAW, CODEC_ZSTD, decodeStored, declaredLength, MAX_CHUNK_BYTES } from '../../store/stored-object.js'
import { ChunkSink, ChunkedStreamWriter } from './chunked-stream.js'
import { encodePackLayoutRecord, encodePackRecipe, MAX_RECORD_STORED_BYTES, type PackRecipe } from './pack-recipe.js'
import { rebuildPack } from './pack-rebuild.js'

/** What splitting a pack needs of the store. */
export type PackSplitStore = ChunkReader & StoredChunkReader & Pick<EncodedChunkWriter, 'putEncodedChunk'> & Pick<ObjectWriter, 'putChunk' | 'flush'>

/** Outcome of {@link splitPack}. */
export type PackSplit =
  /** A pack, kept as `recipe`; `encodedBytes` is the stored size of the records' chunks this call stored. */
  | { kind: 'pack', recipe: Uint8Array, encodedBytes: number, records: number, kept: number }
  /** The blob does not start with the pack header. */
  | { kind: 'not-pack' }
  /** It does, but is not a well-formed pack. */
  | { kind: 'bad', reason: string }

/** Records stored at once, and their stored bytes at most (one bigger record goes alone). */
const GROUP_RECORDS = 64
const GROUP_BYTES = 16 * 1024 * 1024
const READ_BYTES = 1024 * 1024

/** A record read from the blob and checked. */
interface CheckedRecord { offset: number, digest: Uint8Array, stored: Uint8Array, length: number }

/** Sequential reads of a file, through a buffer. */
class FileReader {
  readonly #fh: FileHandle
  #buffer = new Uint8Array(0)
  #at = 0
  #filePos = 0

  constructor (fh: FileHandle) { this.#fh = fh }

  /** Exactly `n` bytes (the caller knows they exist), a copy when they span reads. */
  async read (n: number): Promise<Uint8Array> {
    if (this.#buffer.length - this.#at >= n) {
      const out = this.#buffer.subarray(this.#at, this.#at + n)
      this.#at += n
      return out
    }
    const out = new Uint8Array(n)
    let got = this.#buffer.length - this.#at
    out.set(this.#buffer.subarray(this.#at), 0)
    this.#buffer = new Uint8Array(0)
    this.#at = 0
    if (n - got >= READ_BYTES) {
      while (got < n) {
        const { bytesRead } = await this.#fh.read(out, got, n - got, this.#filePos)
        if (bytesRead === 0) throw new IntegrityError('the blob file ended early')
        got += bytesRead
        this.#filePos += bytesRead
      }
      return out
    }
    const buffer = new Uint8Array(READ_BYTES)
    let filled = 0
    while (filled < n - got) {
      const { bytesRead } = await this.#fh.read(buffer, filled, READ_BYTES - filled, this.#filePos)
      if (bytesRead === 0) throw new IntegrityError('the blob file ended early')
      filled += bytesRead
      this.#filePos += bytesRead
    }
    out.set(buffer.subarray(0, n - got), got)
    this.#buffer = buffer.subarray(0, filled)
    this.#at = n - got
    return out
  }
}

/** Why a record is not one §6 accepts, or its checked form. */
async function readRecord (reader: FileReader, offset: number, size: number, index: number): Promise<CheckedRecord | string> {
  const where = `record ${index} (at byte ${offset})`
  if (size - offset < RECORD_HEADER_BYTES) return `${where} is cut short: ${size - offset} bytes left, a record header has ${RECORD_HEADER_BYTES}`
  const header = await reader.read(RECORD_HEADER_BYTES)
  const digest = header.slice(0, 32)
  const storedLength = Buffer.from(header.buffer, header.byteOffset + 32, 4).readUInt32LE(0)
  if (storedLength < 2 || storedLength > MAX_RECORD_STORED_BYTES) return `${where} declares a stored object of ${storedLength} bytes (2 … ${MAX_RECORD_STORED_BYTES})`
  if (storedLength > size - offset - RECORD_HEADER_BYTES) return `${where} declares ${storedLength} stored bytes, the blob has ${size - offset - RECORD_HEADER_BYTES} left`
  const stored = await reader.read(storedLength)
  if (stored[0] !== CODEC_RAW && stored[0] !== CODEC_ZSTD) return `${where} has the unknown codec byte ${stored[0]!}`
  const length = declaredLength(stored)
  if (length < 1 || length > MAX_CHUNK_BYTES) return `${where} declares a chunk of ${length} bytes (1 … ${MAX_CHUNK_BYTES}, a zstd frame must state its size)`
  try {
    decodeStored(stored, digest, 'chunk', length)
  } catch (err) {
    if (err instanceof IntegrityError) return `${where}: ${err.message}`
    throw err
  }
  // The reader's buffer is reused: keep a copy of what is stored later.
  return { offset, digest, stored: stored.slice(), length }
}

/**
 * Split the verified blob in `path` (of `blob.size` bytes) into the store
 * if it is a pack; see the module comment.
 */
export async function splitPack (path: string, blob: { digest: string, size: number }, store: PackSplitStore, options: { signal?: AbortSignal } = {}): Promise<PackSplit> {
  const { signal } = options
  const fh = await open(path, 'r')
  let split: { recipe: PackRecipe, encodedBytes: number, kept: number } | string
  try {
    if (blob.size < PACK_MAGIC.length) return { kind: 'not-pack' }
    const reader = new FileReader(fh)
    if (!bytesEqual(await reader.read(PACK_MAGIC.length), PACK_MAGIC)) return { kind: 'not-pack' }
    split = await splitRecords(reader, blob, store, signal)
  } finally {
    await fh.close()
  }
  if (typeof split === 'string') return { kind: 'bad', reason: split }
  await store.flush()
  const reason = await verify(split.recipe, store, signal)
  if (reason !== undefined) return { kind: 'bad', reason }
  return { kind: 'pack', recipe: encodePackRecipe(split.recipe), encodedBytes: split.encodedBytes, records: split.recipe.records, kept: split.kept }
}

async function splitRecords (reader: FileReader, blob: { digest: string, size: number }, store: PackSplitStore, signal: AbortSignal | undefined): Promise<{ recipe: PackRecipe, encodedBytes: number, kept: number } | string> {
  const sink = new ChunkSink(store)
  const meta = new ChunkedStreamWriter(sink)
  const layout = new ChunkedStreamWriter(sink)
  await meta.write(PACK_MAGIC)
  let gap = PACK_MAGIC.length
  let records = 0
  let kept = 0
  let encodedBytes = 0
  let group: CheckedRecord[] = []
  let groupBytes = 0

  const storeGroup = async (): Promise<void> => {
    const results = await Promise.all(group.map(async (r) => await store.putEncodedChunk(r.digest, r.length, r.stored)))
    const present = group.filter((_, i) => results[i] === 'present')
    const theirs = present.length > 0 ? await store.readStoredChunks(present.map((r) => r.digest)) : []
    let k = 0
    for (let i = 0; i < group.length; i++) {
      const r = group[i]!
      const own = results[i] === 'stored' || bytesEqual(theirs[k++]!, r.stored)
      if (results[i] === 'stored') encodedBytes += r.stored.length
      if (own) {
        await layout.write(encodePackLayoutRecord({ gap, digest: r.digest, storedLength: r.stored.length, length: r.length }))
        gap = 0
        records++
      } else {
        // The store holds this chunk in another stored form: keep the pushed record as it is.
        await meta.write(encodeRecordHeader(r.digest, r.stored.length))
        await meta.write(r.stored)
        gap += RECORD_HEADER_BYTES + r.stored.length
        kept++
      }
    }
    group = []
    groupBytes = 0
  }

  let offset = PACK_MAGIC.length
  let index = 0
  while (offset < blob.size) {
    throwIfAborted(signal)
    const record = await readRecord(reader, offset, blob.size, index)
    if (typeof record === 'string') return record
    if (group.length > 0 && (group.length >= GROUP_RECORDS || groupBytes + record.stored.length > GROUP_BYTES)) await storeGroup()
    group.push(record)
    groupBytes += record.stored.length
    offset += RECORD_HEADER_BYTES + record.stored.length
    index++
  }
  if (index === 0) return 'a pack header with no record'
  if (group.length > 0) await storeGroup()
  const metaRef = await meta.finish()
  const layoutRef = await layout.finish()
  await sink.drain()
  const recipe: PackRecipe = { blobSize: blob.size, blobDigest: new Uint8Array(Buffer.from(blob.digest.slice(7), 'hex')), records, meta: metaRef, layout: layoutRef }
  return { recipe, encodedBytes, kept }
}

/** Rebuild the blob from the recipe; undefined if it matches the digest, else why not. */
async function verify (recipe: PackRecipe, store: ChunkReader & StoredChunkReader, signal: AbortSignal | undefined): Promise<string | undefined> {
  const hash = sha256.create()
  let size = 0
  try {
    for await (const piece of rebuildPack(recipe, store, { signal })) {
      hash.update(piece)
      size += piece.length
    }
  } catch (err) {
    if (err instanceof IntegrityError) return `the pack rebuilt from chunks differs from the blob (${err.message})`
    throw err
  }
  const actual = hash.digest()
  if (size !== recipe.blobSize || !bytesEqual(actual, recipe.blobDigest)) return `the pack rebuilt from chunks has digest ${digestToString(actual)} and ${size} bytes, not the blob's`
  return undefined
}
