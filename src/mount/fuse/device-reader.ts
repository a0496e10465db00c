/**
 * Worker side of the FUSE session: reads requests from the `/dev/fuse`
 * descriptor with blocking reads (on this thread, not on libuv's pool,
 * which the store needs) and posts each one to the main thread, which
 * answers it. Ends with one `{ end: code }` message when the kernel closes
 * the connection (`ENODEV`: unmounted or aborted) or the read fails. It
 * may start before the descriptor is mounted.
 *
 * @module
 */
import { readSync } from 'node:fs'
import { parentPort, workerData } from 'node:worker_threads'

/** What the main thread passes in `workerData`. */
export interface DeviceReaderData {
  fd: number
  /** Read buffer size: at least the kernel's minimum (max_write + 4 KiB). */
  bufferBytes: number
  /** One Int32: set to 1 by the main thread to stop waiting for a mount that will not come. */
  control: SharedArrayBuffer
}

/** Messages to the main thread: a request's bytes, or the end. */
export type DeviceReaderMessage = Uint8Array | { end: string }

const { fd, bufferBytes, control } = workerData as DeviceReaderData
const port = parentPort!
const buffer = Buffer.allocUnsafe(bufferBytes)
const stop = new Int32Array(control)
/** Until `mount` has attached the descriptor, reads fail with EPERM: poll this often (ms). */
const MOUNT_POLL_MS = 2

for (;;) {
  let n: number
  try {
    n = readSync(fd, buffer, 0, bufferBytes, null)
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code ?? 'EIO'
    // ENOENT: the request was interrupted before it was read; EINTR, EAGAIN: retry.
    if (code === 'ENOENT' || code === 'EINTR' || code === 'EAGAIN') continue
    if (code === 'EPERM' && Atomics.load(stop, 0) === 0) { Atomics.wait(stop, 0, 0, MOUNT_POLL_MS); continue }
    port.postMessage({ end: code } satisfies DeviceReaderMessage)
    break
  }
  if (n === 0) { port.postMessage({ end: 'EOF' } satisfies DeviceReaderMessage); break }
  const request = new Uint8Array(n)
  request.set(buffer.subarray(0, n))
  port.postMessage(request, [request.buffer])
}
