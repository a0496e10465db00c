/**
 * Worker side of {@link FileWriterPool}: decodes and verifies chunks
 * (zstd, sha256), writes files, and sets owners, modes and times, all with
 * synchronous calls (this thread has nothing else to do, and a synchronous
 * call costs far less than a promise round trip through libuv's pool).
 *
 * Files are opened with O_EXCL | O_NOFOLLOW under directories the export
 * created: nothing is written through a link. A file's holes
 * (docs/FORMAT.md §2.1) are skipped, not written: the file is new, so what
 * is skipped stays a hole on disk (and a file ending in one is extended
 * with ftruncate).
 *
 * @module
 */
import { chmodSync, closeSync, constants, fchmodSync, fchownSync, ftruncateSync, futimesSync, lchownSync, lutimesSync, openSync, readSync, utimesSync, writeSync } from 'node:fs'
import { parentPort } from 'node:worker_threads'
import { IntegrityError, NonCanonicalError } from '../errors.js'
import { digestToString } from '../hash/digest.js'
import { decodeStored, MAX_CHUNK_BYTES } from '../store/stored-object.js'
import { loadZstd } from '../store/zstd.js'
import { batchWeight, utimesArg, type FinalAttrs, type PackRead, type WritePieces, type WriterReply, type WriterRequest } from './file-writer-protocol.js'
import { checkRecord, packFileName, RECORD_HEADER_BYTES } from '../store/pack/format.js'

const OPEN_FLAGS = constants.O_WRONLY | constants.O_CREAT | constants.O_EXCL | constants.O_NOFOLLOW

await loadZstd()

/** A file being written: bytes go at `position` (holes move it without writing); `length` is where the last write ended. */
interface OpenFile { fd: number | undefined, path: Uint8Array, position: number, length: number, error?: { error: string, code?: string } }
const files = new Map<number, OpenFile>()
const reply = (m: WriterReply): void => { parentPort!.postMessage(m) }
const failure = (err: unknown): { error: string, code?: string } => {
  const e = err as { message: string, code?: string }
  return e.code === undefined ? { error: e.message } : { error: e.message, code: e.code }
}
const pathOf = (p: Uint8Array): Buffer => Buffer.from(p.buffer, p.byteOffset, p.byteLength)

/** The stored form in a pack record, read with the descriptor the main thread leased, and checked. */
function readRecord ([fd, offset, storedLength, pack]: PackRead, digest: Uint8Array): Uint8Array {
  const record = Buffer.allocUnsafe(RECORD_HEADER_BYTES + storedLength)
  let done = 0
  while (done < record.length) {
    const n = readSync(fd, record, done, record.length - done, offset - RECORD_HEADER_BYTES + done)
    if (n === 0) throw new IntegrityError(`chunk ${digestToString(digest)} (${packFileName(pack)} at ${offset - RECORD_HEADER_BYTES}): the pack ends inside the record`)
    done += n
  }
  return checkRecord(record, digest, { pack, offset, storedLength, length: 0 }, `chunk ${digestToString(digest)}`)
}

function write (file: OpenFile, req: WritePieces): number {
  let bytes = 0
  for (let i = 0; i < req.pieces.length; i++) {
    let piece = req.pieces[i]!
    if (req.digests !== undefined) {
      const digest = req.digests[i]!
      const read = req.reads?.[i]
      if (read != null) piece = readRecord(read, digest)
      piece = decodeStored(piece, digest, 'chunk', MAX_CHUNK_BYTES)
      const want = req.lengths?.[i]
      if (want !== undefined && piece.length !== want) throw new NonCanonicalError(`chunk ${digestToString(digest)} has ${piece.length} bytes, the file says ${want}`)
    }
    let at = 0
    while (at < piece.length) at += writeSync(file.fd!, piece, at, piece.length - at, file.position + at)
    file.position += piece.length
    file.length = file.position
    bytes += piece.length
  }
  file.position += req.holeAfter ?? 0
  return bytes
}

function openFile (path: Uint8Array): OpenFile {
  const file: OpenFile = { fd: undefined, path, position: 0, length: 0 }
  try { file.fd = openSync(pathOf(path), OPEN_FLAGS, 0o600) } catch (err) { file.error = failure(err) }
  return file
}

/** Write a batch unless the file already failed; a failure is kept for the end reply. Returns the bytes written. */
function writeBatch (file: OpenFile, batch: WritePieces): number {
  if (file.error !== undefined) return 0
  try { return write(file, batch) } catch (err) { file.error = failure(err); return 0 }
}

/** Set `attrs` (if any), close the file and reply how it ended (with `written` when the request carried pieces). */
function finish (id: number, file: OpenFile, attrs: FinalAttrs | undefined, written?: number): void {
  if (file.fd !== undefined) {
    // a file that ends in a hole: the size, without writing the zeros
    if (file.error === undefined && file.position > file.length) {
      try { ftruncateSync(file.fd, file.position) } catch (err) { file.error = failure(err) }
    }
    if (attrs !== undefined && file.error === undefined) {
      try {
        // Owner first: chown clears setuid and setgid bits.
        if (attrs.owner !== undefined) fchownSync(file.fd, attrs.owner[0], attrs.owner[1])
        fchmodSync(file.fd, attrs.mode)
        futimesSync(file.fd, utimesArg(attrs.seconds), utimesArg(attrs.seconds))
      } catch (err) { file.error = failure(err) }
    }
    try { closeSync(file.fd) } catch (err) { file.error ??= failure(err) }
  }
  const extra = written !== undefined ? { written } : {}
  reply(file.error === undefined ? { id, done: true, ...extra } : { id, ...file.error, path: file.path, ...extra })
}

parentPort!.on('message', (req: WriterRequest) => {
  switch (req.op) {
    case 'open':
      files.set(req.id, openFile(req.path))
      return
    case 'write': {
      const bytes = writeBatch(files.get(req.id)!, req)
      reply({ id: req.id, written: batchWeight(req), bytes })
      return
    }
    case 'file': {
      const file = openFile(req.path)
      const batch = req.pieces !== undefined ? req as WritePieces : undefined
      if (batch !== undefined) writeBatch(file, batch)
      finish(req.id, file, req.attrs, batch !== undefined ? batchWeight(batch) : 0)
      return
    }
    case 'close': {
      const file = files.get(req.id)!
      files.delete(req.id)
      finish(req.id, file, req.attrs)
      return
    }
    case 'owners':
    case 'modes': {
      let current: Uint8Array | undefined
      try {
        if (req.op === 'owners') {
          for (const [path, uid, gid] of req.items) { current = path; lchownSync(pathOf(path), uid, gid) }
        } else {
          for (const [path, isSymlink, mode, seconds] of req.items) {
            current = path
            if (isSymlink) {
              lutimesSync(pathOf(path), utimesArg(seconds), utimesArg(seconds))
            } else {
              chmodSync(pathOf(path), mode)
              utimesSync(pathOf(path), utimesArg(seconds), utimesArg(seconds))
            }
          }
        }
        reply({ id: req.id, done: true })
      } catch (err) {
        reply({ id: req.id, ...failure(err), ...(current !== undefined ? { path: current } : {}) })
      }
    }
  }
})
parentPort!.postMessage({ ready: true })
