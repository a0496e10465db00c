/**
 * Worker side of {@link VerifyPool}: decodes and hashes fetched stored
 * objects off the main thread, and answers which of them failed.
 *
 * @module
 */
import { parentPort } from 'node:worker_threads'
import { loadZstd } from '../store/zstd.js'
import { verifyStoredObject } from './verify-stored.js'

/** The largest reused decode buffer (chunks above it, if any, decode into their own). */
const MAX_SCRATCH_BYTES = 16 * 1024 * 1024

interface Job {
  id: number
  /** The stored objects, back to back, or one view each (of shared memory). */
  bytes: Uint8Array | Uint8Array[]
  /** Per object: 32-byte digests, back to back. */
  digests: Uint8Array
  /** Per object: its stored length and chunk length. */
  storedLengths: number[]
  lengths: number[]
}

await loadZstd()
// The decoded bytes are only hashed: decoding into one reused buffer spares
// an allocation (zero-filled, fresh pages) and its collection per chunk.
let scratch = new Uint8Array(0)
parentPort!.on('message', (job: Job) => {
  let at = 0
  for (let i = 0; i < job.lengths.length; i++) {
    const stored = Array.isArray(job.bytes) ? job.bytes[i]! : job.bytes.subarray(at, at + job.storedLengths[i]!)
    at += job.storedLengths[i]!
    const length = job.lengths[i]!
    if (scratch.length < length && length <= MAX_SCRATCH_BYTES) scratch = new Uint8Array(length)
    const problem = verifyStoredObject(job.digests.subarray(32 * i, 32 * i + 32), length, stored, scratch)
    if (problem !== undefined) { parentPort!.postMessage({ id: job.id, failed: i, error: problem }); return }
  }
  parentPort!.postMessage({ id: job.id })
})
parentPort!.postMessage({ ready: true })
