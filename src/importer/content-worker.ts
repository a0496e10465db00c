/**
 * Worker side of {@link ContentPool}: reads one file (synchronously: this
 * thread has nothing else to do), cuts it into chunks, hashes them, and
 * compresses the chunks the shared filter says are certainly new. Results
 * go back in batches; the worker waits for the main thread to catch up
 * when more than a few batches are unacknowledged, so memory does not grow
 * with the size of a file.
 *
 * @module
 */
import { closeSync, openSync, readSync } from 'node:fs'
import { parentPort, workerData } from 'node:worker_threads'
import { createChunker } from '../chunker/index.js'
import { sha256 } from '../hash/index.js'
import { DigestFilter } from '../store/digest-filter.js'
import { encodeStored } from '../store/stored-object.js'
import { HoleSplitter } from '../content/holes.js'
import { loadZstd } from '../store/zstd.js'

/** A job: one file. */
export interface ContentJob { id: number, path: Uint8Array, min: number, avg: number, max: number, inlineMax: number, level: number }

/** One chunk of a result: either framed for storage (new) or raw (maybe stored already: the main thread checks). */
export interface ContentChunk { digest: Uint8Array, length: number, stored?: Uint8Array, raw?: Uint8Array }

/** A hole of the file (docs/FORMAT.md §2.1): that many zero bytes, in file order among the chunks. */
export interface ContentHole { hole: number }

/** A message back: a batch of chunks (and holes), or the end of a job. */
export type ContentReply =
  | { id: number, batch: number, chunks: Array<ContentChunk | ContentHole> }
  | { id: number, done: true, size: number, inline?: Uint8Array, batches: number }
  | { id: number, error: string, code?: string }

const { acks: acksBuffer } = workerData as { acks: SharedArrayBuffer }
// The store's filter comes in the first message: the pool starts this
// worker while the store is still building it.
let filter: DigestFilter
const acks = new Int32Array(acksBuffer)
const READ = 1024 * 1024
const BATCH_BYTES = 4 * 1024 * 1024
const MAX_UNACKED = 4
const readBuffer = Buffer.allocUnsafe(READ)

await loadZstd()

// One chunker per worker and params, reused after finish(): a fresh one per
// file would allocate (and drop) a window buffer for every file.
const chunkers = new Map<string, ReturnType<typeof createChunker>>()

function run (job: ContentJob): void {
  const key = `${job.min}/${job.avg}/${job.max}`
  let chunker = chunkers.get(key)
  if (chunker === undefined) { chunker = createChunker({ min: job.min, avg: job.avg, max: job.max }); chunkers.set(key, chunker) }
  const fd = openSync(Buffer.from(job.path.buffer, job.path.byteOffset, job.path.byteLength), 'r')
  let size = 0
  let head: Buffer | undefined = Buffer.alloc(0)
  let batch: Array<ContentChunk | ContentHole> = []
  let batchBytes = 0
  let batches = 0
  const transfer: ArrayBuffer[] = []
  const send = (): void => {
    if (batch.length === 0) return
    batches++
    // Flow control: wait until the main thread has taken all but a few batches.
    while (batches - Atomics.load(acks, 0) > MAX_UNACKED) Atomics.wait(acks, 0, Atomics.load(acks, 0), 1000)
    parentPort!.postMessage({ id: job.id, batch: batches, chunks: batch }, transfer)
    batch = []
    batchBytes = 0
    transfer.length = 0
  }
  const take = (chunk: Uint8Array): void => {
    const digest = sha256.digest(chunk)
    let item: ContentChunk
    if (filter.mayHave(digest)) {
      item = { digest, length: chunk.length, raw: chunk }
    } else {
      const stored = encodeStored(chunk, { level: job.level })
      item = { digest, length: chunk.length, stored }
    }
    const payload = (item.stored ?? item.raw)!
    if (payload.byteOffset === 0 && payload.byteLength === payload.buffer.byteLength && !transfer.includes(payload.buffer as ArrayBuffer)) transfer.push(payload.buffer as ArrayBuffer)
    batch.push(item)
    batchBytes += payload.length
    if (batchBytes >= BATCH_BYTES) send()
  }
  // Long runs of zero blocks are holes (docs/FORMAT.md §2.1): neither
  // chunked nor hashed, whether the file is sparse on disk or not.
  const startChunking = (): void => {
    if (head === undefined) return
    const pending = head
    head = undefined
    for (const c of chunker.push(pending)) take(c)
  }
  const splitter = new HoleSplitter({
    data: (piece) => {
      if (head !== undefined) {
        head = Buffer.concat([head, piece])
        if (head.length > job.inlineMax) startChunking()
        return
      }
      for (const c of chunker.push(piece)) take(c)
    },
    hole: (length) => {
      startChunking()
      for (const c of chunker.finish()) take(c)
      batch.push({ hole: length })
    }
  })
  try {
    for (;;) {
      const n = readSync(fd, readBuffer, 0, READ, null)
      if (n === 0) break
      size += n
      splitter.push(readBuffer.subarray(0, n))
    }
    splitter.finish()
  } finally {
    closeSync(fd)
  }
  if (head !== undefined) {
    parentPort!.postMessage({ id: job.id, done: true, size, inline: new Uint8Array(head), batches: 0 })
    return
  }
  for (const c of chunker.finish()) take(c)
  send()
  parentPort!.postMessage({ id: job.id, done: true, size, batches })
}

parentPort!.on('message', (job: ContentJob | { filter: SharedArrayBuffer }) => {
  if ('filter' in job) { filter = new DigestFilter(job.filter); return }
  try {
    run(job)
  } catch (err) {
    chunkers.clear() // a chunker left mid-file must not cut the next file

    parentPort!.postMessage({ id: job.id, error: (err as Error).message, code: (err as NodeJS.ErrnoException).code })
  }
})
parentPort!.postMessage({ ready: true })
