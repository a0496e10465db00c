/**
 * Turning a stream of file bytes into a file entry's content: inline bytes
 * when the whole file fits in `inlineMax`, otherwise a content list of
 * FastCDC chunks, each hashed and stored once, and holes for the long runs
 * of zero blocks (docs/FORMAT.md §2.1), which are neither hashed nor stored.
 *
 * @module
 */
import { createChunker } from '../chunker/index.js'
import { throwIfAborted } from '../errors.js'
import type { ContentRef } from '../format/entry.js'
import type { SnapshotParams } from '../format/snapshot.js'
import { sha256 } from '../hash/index.js'
import type { ObjectStore } from '../store/index.js'
import { HoleSplitter } from './holes.js'

const PUTS_IN_FLIGHT = 4

/** What storing one file's content produced. */
export interface StoredContent {
  size: number
  content: Uint8Array | ContentRef[]
  /** Chunks that were new to the store. */
  newChunks: number
  /** Uncompressed bytes of those new chunks. */
  newBytes: number
  /** Zero bytes recorded as holes (not stored). */
  holeBytes: number
}

/** Options for {@link storeContent}. */
export interface StoreContentOptions {
  store: Pick<ObjectStore, 'putChunk'>
  params: SnapshotParams
  signal?: AbortSignal
  /** Called with the number of bytes read (known zeros included), as they are read. */
  onBytes?: (n: number) => void
}

/** One piece of a file: bytes, or a number of zero bytes the source knows (a hole of a sparse source). */
export type ContentPiece = Uint8Array | number

/**
 * Read `source` to its end and store it as a file's content. Pieces may be
 * numbers, counts of zero bytes the source knows without reading them
 * (a sparse tar entry's holes): the result is the same as for the zeros
 * given as bytes, without their cost.
 */
export async function storeContent (source: AsyncIterable<ContentPiece> | Iterable<ContentPiece>, options: StoreContentOptions): Promise<StoredContent> {
  const { store, params, signal, onBytes } = options
  // Hold back up to inlineMax bytes: a file that ends within them is inline.
  const head: Uint8Array[] = []
  let headBytes = 0
  let chunker: ReturnType<typeof createChunker> | undefined
  const content: ContentRef[] = []
  let size = 0
  let newChunks = 0
  let newBytes = 0
  // Up to PUTS_IN_FLIGHT chunk writes overlap (compression runs on workers);
  // refs are pushed in order at once, since hashing is synchronous.
  const inflight: Array<Promise<void>> = []
  const put = async (chunk: Uint8Array): Promise<void> => {
    const digest = sha256.digest(chunk)
    content.push({ digest, length: chunk.length })
    const p = store.putChunk(digest, chunk).then((r) => { if (r === 'stored') { newChunks++; newBytes += chunk.length } })
    p.catch(() => {}) // awaited below; this only marks it handled meanwhile
    inflight.push(p)
    if (inflight.length >= PUTS_IN_FLIGHT) await inflight.shift()
  }
  // The splitter calls back synchronously; what it gives for one piece is
  // queued (chunks are copies), then stored before the next piece is read.
  const queue: Array<Uint8Array | number> = []
  const startChunking = (): ReturnType<typeof createChunker> => {
    const c = createChunker(params)
    for (const h of head.splice(0)) queue.push(...c.push(h))
    return c
  }
  const splitter = new HoleSplitter({
    data: (bytes) => {
      if (chunker === undefined) {
        head.push(Uint8Array.from(bytes))
        headBytes += bytes.length
        if (headBytes > params.inlineMax) chunker = startChunking()
        return
      }
      queue.push(...chunker.push(bytes))
    },
    hole: (length) => {
      // a hole is at least 64 KiB, so the file is not inline; the extent before it ends here
      chunker ??= startChunking()
      queue.push(...chunker.finish(), length)
    }
  })
  const drain = async (): Promise<void> => {
    for (const item of queue.splice(0)) {
      if (typeof item === 'number') content.push({ hole: true, length: item })
      else await put(item)
    }
  }
  for await (const piece of source) {
    throwIfAborted(signal)
    const n = typeof piece === 'number' ? piece : piece.length
    if (n === 0) continue
    size += n
    onBytes?.(n)
    if (typeof piece === 'number') splitter.zeros(piece)
    else splitter.push(piece)
    await drain()
  }
  splitter.finish()
  if (chunker === undefined && queue.length === 0) {
    const inline = new Uint8Array(Buffer.concat(head))
    return { size, content: inline, newChunks: 0, newBytes: 0, holeBytes: 0 }
  }
  chunker ??= startChunking()
  queue.push(...chunker.finish())
  await drain()
  await Promise.all(inflight)
  return { size, content, newChunks, newBytes, holeBytes: splitter.holeBytes }
}
