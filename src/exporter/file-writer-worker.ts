/**
 * Worker side of {@link FileWriterPool}: decodes and verifies chunks
 * (zstd, sha256), writes files, and sets owners, modes and times, all with
 * synchronous calls (this thread has nothing else to do, and a synchronous
 * call costs far less than a promise round trip through libuv's pool).
 *
 * Files are opened with O_EXCL | O_NOFOLLOW under directories the export
 * created: nothing is written through a link.
 *
 * @module
 */
import { chmodSync, closeSync, constants, lchownSync, lutimesSync, openSync, readSync, utimesSync, writeSync } from 'node:fs'
import { parentPort } from 'node:worker_threads'
import { IntegrityError, NonCanonicalError } from '../errors.js'
import { digestToString } from '../hash/digest.js'
import { decodeStored, MAX_CHUNK_BYTES } from '../store/stored-object.js'
import { loadZstd } from '../store/zstd.js'
import { batchWeight, type PackRead, type WritePieces, type WriterReply, type WriterRequest } from './file-writer-protocol.js'
import { checkRecord, packFileName, RECORD_HEADER_BYTES } from '../store/pack/format.js'

const OPEN_FLAGS = constants.O_WRONLY | constants.O_CREAT | constants.O_EXCL | constants.O_NOFOLLOW

await loadZstd()

interface OpenFile { fd: number | undefined, path: Uint8Array, error?: { error: string, code?: string } }
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
    while (at < piece.length) at += writeSync(file.fd!, piece, at, piece.length - at)
    bytes += piece.length
  }
  return bytes
}

parentPort!.on('message', (req: WriterRequest) => {
  switch (req.op) {
    case 'open': {
      const file: OpenFile = { fd: undefined, path: req.path }
      files.set(req.id, file)
      try { file.fd = openSync(pathOf(req.path), OPEN_FLAGS, 0o600) } catch (err) { file.error = failure(err) }
      return
    }
    case 'write': {
      const file = files.get(req.id)!
      let bytes = 0
      if (file.error === undefined) {
        try { bytes = write(file, req) } catch (err) { file.error = failure(err) }
      }
      reply({ id: req.id, written: batchWeight(req), bytes })
      return
    }
    case 'file': {
      const file: OpenFile = { fd: undefined, path: req.path }
      const written = req.pieces !== undefined ? batchWeight({ pieces: req.pieces, ...(req.reads !== undefined ? { reads: req.reads } : {}) }) : 0
      try {
        file.fd = openSync(pathOf(req.path), OPEN_FLAGS, 0o600)
        if (req.pieces !== undefined) write(file, req as WritePieces)
      } catch (err) { file.error = failure(err) }
      if (file.fd !== undefined) {
        try { closeSync(file.fd) } catch (err) { file.error ??= failure(err) }
      }
      reply(file.error === undefined ? { id: req.id, done: true, written } : { id: req.id, ...file.error, path: file.path, written })
      return
    }
    case 'close': {
      const file = files.get(req.id)!
      files.delete(req.id)
      if (file.fd !== undefined) {
        try { closeSync(file.fd) } catch (err) { file.error ??= failure(err) }
      }
      reply(file.error === undefined ? { id: req.id, done: true } : { id: req.id, ...file.error, path: file.path })
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
              lutimesSync(pathOf(path), seconds, seconds)
            } else {
              chmodSync(pathOf(path), mode)
              utimesSync(pathOf(path), seconds, seconds)
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
