/**
 * Worker side of {@link CompressPool}: frames objects for storage
 * (zstd when smaller) off the main thread.
 *
 * @module
 */
import { parentPort } from 'node:worker_threads'
import { encodeStored } from './stored-object.js'
import { loadZstd } from './zstd.js'

interface Job { id: number, bytes: Uint8Array, level: number }

await loadZstd()
parentPort!.on('message', (job: Job) => {
  try {
    const out = encodeStored(job.bytes, { level: job.level })
    const copy = out.byteOffset === 0 && out.byteLength === out.buffer.byteLength ? out : out.slice()
    parentPort!.postMessage({ id: job.id, stored: copy }, [copy.buffer as ArrayBuffer])
  } catch (err) {
    parentPort!.postMessage({ id: job.id, error: (err as Error).message })
  }
})
parentPort!.postMessage({ ready: true })
