/**
 * The streaming tar writer.
 *
 * @module
 */
import { throwIfAborted } from '../errors.js'
import type { TarContent, TarEntry } from './entry.js'
import { encodeEntryHeader, sparseLayout } from './entry-header.js'
import { TarInvalidEntryError, TarSizeMismatchError } from './errors.js'
import { TAR_BLOCK_SIZE } from './header.js'
import { describeBytes } from './path.js'

/** Options of {@link writeTar}. */
export interface WriteTarOptions {
  /** Cancels the stream: the next step throws {@link AbortedError} (`ERR_ABORTED`). */
  signal?: AbortSignal
}

/** Size of the end-of-archive marker: two zero blocks. */
export const TAR_END_SIZE = 2 * TAR_BLOCK_SIZE

function sizeMismatch (entry: TarEntry, declared: number, received: number): TarSizeMismatchError {
  const how = received > declared ? `more than ${declared}` : `${received} of ${declared}`
  return new TarSizeMismatchError(`file ${describeBytes(entry.path)}: content has ${how} declared bytes`, declared, received)
}

function withPadding (pad: number, bytes: Uint8Array): Uint8Array {
  if (pad === 0) return bytes
  const out = new Uint8Array(pad + bytes.length)
  out.set(bytes, pad)
  return out
}

/**
 * Write a tar archive (POSIX pax interchange format: ustar headers, with a
 * PAX extended header only for entries that need one) as a stream of
 * chunks.
 *
 * - Streaming: file content is passed through chunk by chunk (without
 *   copying); no file is ever held whole in memory.
 * - Deterministic: the same entries (same fields, same content bytes) give
 *   the same archive bytes, however the content is chunked. Nothing is taken
 *   from the clock, the process or the user database.
 * - Each file's content must have exactly its declared `size`, else
 *   {@link TarSizeMismatchError} (`ERR_TAR_SIZE_MISMATCH`) is thrown as soon
 *   as that is known. Excess bytes are never written, but the chunks already
 *   yielded do not form a valid archive and must be discarded.
 * - Content is padded with zeros to a 512-byte boundary. The archive ends
 *   with two zero blocks (1024 bytes) and nothing else: there is no padding
 *   to a 10240-byte record as `tar` itself adds. POSIX requires only the
 *   two blocks and GNU tar reads such archives without complaint (tested);
 *   callers wanting whole records can append zeros.
 * - Entries are written in the order given. Hardlinks must name an entry
 *   written earlier (not checked). GNU tar sets a directory's mtime as soon
 *   as it extracts an entry outside that directory, so give each directory's
 *   subtree contiguously right after it (pre-order), or directories that
 *   receive entries later get the extraction time as mtime.
 *
 * @param entries - the members, in archive order; see {@link TarEntry}
 * @param options - see {@link WriteTarOptions}
 * @throws {@link InvalidPathError}, {@link TarInvalidEntryError} for a malformed entry
 * @throws {@link TarSizeMismatchError} when content and `size` disagree
 * @throws {@link AbortedError} when `options.signal` is aborted
 */
export async function * writeTar (
  entries: AsyncIterable<TarEntry> | Iterable<TarEntry>,
  options: WriteTarOptions = {}
): AsyncGenerator<Uint8Array, void, undefined> {
  const { signal } = options
  throwIfAborted(signal)
  let pad = 0 // zero bytes owed after the previous file's content
  for await (const entry of entries) {
    throwIfAborted(signal)
    const header = encodeEntryHeader(entry)
    if (entry.type !== 'file') {
      yield withPadding(pad, header)
      pad = 0
      continue
    }
    // a sparse file stores its map, then its data segments only
    const layout = sparseLayout(entry)
    const stored = layout?.stored ?? entry.size ?? 0
    const size = layout !== undefined ? stored - layout.map.length : stored
    const head = layout !== undefined ? Buffer.concat([withPadding(pad, header), layout.map]) : withPadding(pad, header)
    const content: TarContent = entry.content ?? new Uint8Array(0)
    if (content instanceof Uint8Array) {
      if (content.length !== size) throw sizeMismatch(entry, size, content.length)
      yield head
      if (size > 0) yield content
    } else {
      yield head
      let received = 0
      for await (const chunk of content) {
        throwIfAborted(signal)
        if (!(chunk instanceof Uint8Array)) {
          throw new TarInvalidEntryError(`file ${describeBytes(entry.path)}: content chunks must be Uint8Array`)
        }
        if (chunk.length === 0) continue
        received += chunk.length
        if (received > size) throw sizeMismatch(entry, size, received)
        yield chunk
      }
      if (received !== size) throw sizeMismatch(entry, size, received)
    }
    pad = (TAR_BLOCK_SIZE - (stored % TAR_BLOCK_SIZE)) % TAR_BLOCK_SIZE
  }
  throwIfAborted(signal)
  yield new Uint8Array(pad + TAR_END_SIZE)
}
