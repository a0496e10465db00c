/**
 * Turning a stream of file bytes into a file entry's content: inline bytes
 * when the whole file fits in `inlineMax`, otherwise FastCDC chunks, each
 * hashed and stored once.
 *
 * @module
 */
import { createChunker } from '../chunker/index.js'
import { throwIfAborted } from '../errors.js'
import type { ChunkRef } from '../format/entry.js'
import type { SnapshotParams } from '../format/snapshot.js'
import { sha256 } from '../hash/index.js'
import type { ObjectStore } from '../store/index.js'

const PUTS_IN_FLIGHT = 4

/** What storing one file's content produced. */
export interface StoredContent {
  size: number
  content: Uint8Array | ChunkRef[]
  /** Chunks that were new to the store. */
  newChunks: number
  /** Uncompressed bytes of those new chunks. */
  newBytes: number
}

/** Options for {@link storeContent}. */
export interface StoreContentOptions {
  store: Pick<ObjectStore, 'putChunk'>
  params: SnapshotParams
  signal?: AbortSignal
  /** Called with the number of bytes read, as they are read. */
  onBytes?: (n: number) => void
}

/** Read `source` to its end and store it as a file's content. */
export async function storeContent (source: AsyncIterable<Uint8Array> | Iterable<Uint8Array>, options: StoreContentOptions): Promise<StoredContent> {
  const { store, params, signal, onBytes } = options
  // Hold back up to inlineMax bytes: a file that ends within them is inline.
  const head: Uint8Array[] = []
  let headBytes = 0
  let chunker: ReturnType<typeof createChunker> | undefined
  const chunks: ChunkRef[] = []
  let size = 0
  let newChunks = 0
  let newBytes = 0
  // Up to PUTS_IN_FLIGHT chunk writes overlap (compression runs on workers);
  // refs are pushed in order at once, since hashing is synchronous.
  const inflight: Array<Promise<void>> = []
  const put = async (chunk: Uint8Array): Promise<void> => {
    const digest = sha256.digest(chunk)
    chunks.push({ digest, length: chunk.length })
    const p = store.putChunk(digest, chunk).then((r) => { if (r === 'stored') { newChunks++; newBytes += chunk.length } })
    p.catch(() => {}) // awaited below; this only marks it handled meanwhile
    inflight.push(p)
    if (inflight.length >= PUTS_IN_FLIGHT) await inflight.shift()
  }
  for await (const piece of source) {
    throwIfAborted(signal)
    if (piece.length === 0) continue
    size += piece.length
    onBytes?.(piece.length)
    if (chunker === undefined) {
      head.push(piece)
      headBytes += piece.length
      if (headBytes <= params.inlineMax) continue
      chunker = createChunker(params)
      for (const h of head.splice(0)) for (const c of chunker.push(h)) await put(c)
      continue
    }
    for (const c of chunker.push(piece)) await put(c)
  }
  if (chunker === undefined) {
    const content = new Uint8Array(Buffer.concat(head))
    return { size, content, newChunks: 0, newBytes: 0 }
  }
  for (const c of chunker.finish()) await put(c)
  await Promise.all(inflight)
  return { size, content: chunks, newChunks, newBytes }
}
