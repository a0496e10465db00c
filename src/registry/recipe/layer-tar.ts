/**
 * The uncompressed tar stream of a layer, both ways: split a tar into the
 * store (meta stream, content chunks, layout stream) and rebuild it, whole
 * or a byte range, from the meta and layout streams of a recipe.
 *
 * Layout stream: one canonical record `[gap, digest, length]` per content
 * chunk, in tar order: `gap` meta bytes come first, then the chunk. Meta
 * bytes left after the last record end the tar.
 *
 * @module
 */
import { createChunker } from '../../chunker/index.js'
import { IntegrityError, throwIfAborted } from '../../errors.js'
import { encodeCanonical } from '../../format/canonical.js'
import type { ChunkRef } from '../../format/entry.js'
import type { ObjectStore } from '../../store/index.js'
import { CanonicalSequenceReader } from './canonical-sequence.js'
import { ChunkSink, ChunkedStreamReader, ChunkedStreamWriter, LAYER_PARAMS, StreamRuns, streamChunkRefs } from './chunked-stream.js'
import type { StreamRef } from './recipe.js'
import { TarSplitter } from './tar-split.js'
import { RangeCursor } from './range.js'

/** What splitting a tar stream produced. */
export interface SplitTar {
  tarSize: number
  meta: StreamRef
  layout: StreamRef
  /** Regular files whose content was chunked. */
  files: number
  /** Content chunks referenced (with repeats). */
  contentChunks: number
}

/** Options of {@link splitTar}. */
export interface SplitTarOptions {
  signal?: AbortSignal
  /** Called with the number of tar bytes consumed, as they are. */
  onBytes?: (n: number) => void
}

/**
 * Read a tar stream to its end and store it as chunks: file contents cut
 * as the importer cuts them, everything else in the meta stream.
 */
export async function splitTar (source: AsyncIterable<Uint8Array>, store: Pick<ObjectStore, 'putChunk'>, options: SplitTarOptions = {}): Promise<SplitTar> {
  const { signal, onBytes } = options
  const sink = new ChunkSink(store)
  const meta = new ChunkedStreamWriter(sink)
  const layout = new ChunkedStreamWriter(sink)
  const splitter = new TarSplitter(LAYER_PARAMS.inlineMax)
  const chunker = createChunker(LAYER_PARAMS)
  let tarSize = 0
  let gap = 0
  let contentChunks = 0
  const record = async (chunk: Uint8Array): Promise<void> => {
    const ref: ChunkRef = await sink.put(chunk)
    await layout.write(encodeCanonical([gap, ref.digest, ref.length]))
    gap = 0
    contentChunks++
  }
  const handle = async (pieces: ReturnType<TarSplitter['push']>): Promise<void> => {
    for (const p of pieces) {
      if (p.kind === 'meta') {
        gap += p.bytes.length
        await meta.write(p.bytes)
      } else if (p.kind === 'content') {
        for (const c of chunker.push(p.bytes)) await record(c)
      } else {
        for (const c of chunker.finish()) await record(c)
      }
    }
  }
  for await (const piece of source) {
    throwIfAborted(signal)
    tarSize += piece.length
    await handle(splitter.push(piece))
    onBytes?.(piece.length)
  }
  await handle(splitter.finish())
  const metaRef = await meta.finish()
  const layoutRef = await layout.finish()
  await sink.drain()
  return { tarSize, meta: metaRef, layout: layoutRef, files: splitter.files, contentChunks }
}

/** The content chunk records of a layout stream, in order. */
export async function * layoutRecords (store: Pick<ObjectStore, 'getChunk'>, layout: StreamRef, signal?: AbortSignal): AsyncGenerator<{ gap: number, chunk: ChunkRef }> {
  const reader = new CanonicalSequenceReader()
  for await (const ref of streamChunkRefs(store, layout, signal)) {
    throwIfAborted(signal)
    const bytes = await store.getChunk(ref.digest)
    if (bytes.length !== ref.length) throw new IntegrityError('layout chunk has the wrong length')
    for (const v of reader.push(bytes)) {
      if (!Array.isArray(v) || v.length !== 3 || typeof v[0] !== 'number' || v[0] < 0 || !(v[1] instanceof Uint8Array) || v[1].length !== 32 || typeof v[2] !== 'number' || v[2] < 1) {
        throw new IntegrityError('layer recipe: malformed layout record')
      }
      yield { gap: v[0], chunk: { digest: v[1], length: v[2] } }
    }
  }
  reader.finish()
}

/** Options of {@link rebuildTar}. */
export interface RebuildTarOptions {
  /** Half-open range of tar bytes to produce; default all. */
  start?: number
  end?: number
  signal?: AbortSignal
}

/**
 * The tar bytes described by `meta` and `layout` (or those of a range).
 * Chunks wholly outside the range are not fetched. Throws `IntegrityError`
 * when a chunk does not verify or the streams do not add up to `tarSize`.
 */
export async function * rebuildTar (store: Pick<ObjectStore, 'getChunk'>, tar: { tarSize: number, meta: StreamRef, layout: StreamRef }, options: RebuildTarOptions = {}): AsyncGenerator<Uint8Array> {
  const { signal } = options
  const start = options.start ?? 0
  const end = Math.min(options.end ?? tar.tarSize, tar.tarSize)
  const meta = new ChunkedStreamReader(store, tar.meta, signal)
  const runs = new StreamRuns(meta, tar.meta.length, new RangeCursor([{ start, end }]), 'layer recipe')
  try {
    if (start >= end) return
    for await (const { gap, chunk } of layoutRecords(store, tar.layout, signal)) {
      yield * runs.run(gap)
      if (runs.pos >= end) return
      const pos = runs.pos
      const cEnd = pos + chunk.length
      if (cEnd > start) {
        throwIfAborted(signal)
        const bytes = await store.getChunk(chunk.digest)
        if (bytes.length !== chunk.length) throw new IntegrityError('content chunk has the wrong length')
        yield bytes.subarray(Math.max(0, start - pos), Math.min(chunk.length, end - pos))
      }
      runs.pos = cEnd
      if (runs.pos >= end) return
    }
    yield * runs.run(runs.left)
    if (runs.pos !== tar.tarSize) throw new IntegrityError(`layer recipe rebuilds ${runs.pos} tar bytes, expected ${tar.tarSize}`)
  } finally {
    await meta.close()
  }
}
