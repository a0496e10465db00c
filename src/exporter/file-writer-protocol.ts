/**
 * Messages between the directory export and its file-writer workers
 * (file-writer-pool.ts, file-writer-worker.ts).
 *
 * @module
 */

/**
 * A chunk record for the worker to read itself from a pack:
 * `[descriptor, offset of the stored bytes, stored length, pack number]`
 * (the 36-byte record header comes just before the offset).
 */
export type PackRead = [fd: number, offset: number, storedLength: number, pack: number]

/** Bytes of one file, in order: stored forms to decode and verify, or plain bytes. */
export interface WritePieces {
  /**
   * Stored forms (docs/FORMAT.md §6) when `digests` is set, else plain
   * bytes; an empty array where `reads` says where to read the piece.
   */
  pieces: Uint8Array[]
  /** Per piece: a pack record to read instead of `pieces[i]`, or null. */
  reads?: Array<PackRead | null>
  /** Digests of the chunks, when `pieces` are stored forms. */
  digests?: Uint8Array[]
  /** Length each decoded chunk must have (the file's chunk list says so). */
  lengths?: number[]
  /**
   * Zero bytes after the pieces that are a hole of the file (docs/FORMAT.md
   * §2.1): the writer moves past them without writing, and a file that ends
   * in a hole is extended to its size when it is closed.
   */
  holeAfter?: number
}

/**
 * What a file gets just before it is closed, when nothing later changes
 * it (it has no xattrs to write after its owner): owner (root only), then
 * mode, then mtime, on the open descriptor. Spares the path lookups of
 * the later phases.
 */
export interface FinalAttrs { owner?: [uid: number, gid: number], mode: number, seconds: number }

/**
 * A time for Node's `utimes`, `futimes` and `lutimes` from
 * `utimesSeconds`: as a numeric string, which Node passes on as it is,
 * where it would replace a negative number (a time before 1970) by the
 * current time.
 */
export function utimesArg (seconds: number): string {
  return String(seconds)
}

/** Owner of an exported entry (phase 2: root only). */
export type OwnerItem = [path: Uint8Array, uid: number, gid: number]
/** Mode and mtime of an exported entry (last phase); symlinks get only the time. */
export type ModeItem = [path: Uint8Array, isSymlink: boolean, mode: number, seconds: number]

/** Main thread to worker. */
export type WriterRequest =
  | { op: 'open', id: number, path: Uint8Array }
  | ({ op: 'write', id: number } & WritePieces)
  | { op: 'close', id: number, attrs?: FinalAttrs }
  /** A whole file in one message (open, write `pieces` if any, close): most files fit one batch. */
  | ({ op: 'file', id: number, path: Uint8Array, attrs?: FinalAttrs } & Partial<WritePieces>)
  | { op: 'owners', id: number, items: OwnerItem[] }
  | { op: 'modes', id: number, items: ModeItem[] }

/**
 * Worker to main thread: an acknowledged write, the end of a request, or
 * its failure. A reply to `file` carries `written` (the stored bytes it
 * took) together with `done` or the error.
 */
export type WriterReply =
  | { id: number, written: number, bytes: number }
  | { id: number, done: true, written?: number }
  | { id: number, error: string, code?: string, path?: Uint8Array, written?: number }

/** The bytes a batch stands for (its pieces, or the records it reads), for flow control. */
export function batchWeight (batch: Pick<WritePieces, 'pieces' | 'reads'>): number {
  let n = 0
  for (const p of batch.pieces) n += p.length
  if (batch.reads !== undefined) for (const r of batch.reads) if (r !== null) n += r[2]
  return n
}
