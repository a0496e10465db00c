/**
 * Reading many records from packs at once: requests are grouped by pack,
 * sorted by offset, and neighbouring records are read with one `pread`
 * (chunks written together are read together, as an export does); the
 * reads run concurrently.
 *
 * @module
 */
import { IntegrityError, NotFoundError } from '../../errors.js'
import type { PackStorage } from './index.js'
import { checkRecord, type PackLocation, RECORD_HEADER_BYTES } from './format.js'

/** One record to read: the digest it must hold and where the index says it is. */
export interface RecordRequest {
  digest: Uint8Array
  location: PackLocation
}

/** Records closer than this are read with one read (the gap is read and dropped). */
const MAX_GAP = 64 * 1024
/** Largest single read when merging neighbours. */
const MAX_SPAN = 8 * 1024 * 1024

/**
 * The stored bytes of each requested record, checked against its digest
 * and length ({@link checkRecord}), in request order; a failed one gives
 * its error in its place: `NotFoundError` when its pack does not exist,
 * `IntegrityError` when the record there is short or another, the I/O
 * error otherwise.
 */
export async function readRecords (packs: PackStorage, requests: readonly RecordRequest[], what = 'chunk'): Promise<Array<Uint8Array | Error>> {
  const out = new Array<Uint8Array | Error>(requests.length)
  const order = requests.map((_, i) => i)
  order.sort((a, b) => {
    const la = requests[a]!.location
    const lb = requests[b]!.location
    return la.pack - lb.pack || la.offset - lb.offset
  })
  const spans: Array<{ pack: number, start: number, end: number, items: number[] }> = []
  for (const i of order) {
    const loc = requests[i]!.location
    const start = loc.offset - RECORD_HEADER_BYTES
    const end = loc.offset + loc.storedLength
    const last = spans[spans.length - 1]
    if (last !== undefined && last.pack === loc.pack && start >= last.start && start - last.end <= MAX_GAP && Math.max(end, last.end) - last.start <= MAX_SPAN) {
      last.end = Math.max(last.end, end)
      last.items.push(i)
    } else {
      spans.push({ pack: loc.pack, start, end, items: [i] })
    }
  }
  await Promise.all(spans.map(async (span) => {
    let bytes: Uint8Array
    try {
      bytes = await packs.read(span.pack, span.start, span.end - span.start)
    } catch (err) {
      for (const i of span.items) out[i] = err as Error
      return
    }
    for (const i of span.items) {
      const { digest, location } = requests[i]!
      const from = location.offset - RECORD_HEADER_BYTES - span.start
      try {
        out[i] = checkRecord(bytes.subarray(from, from + RECORD_HEADER_BYTES + location.storedLength), digest, location, what)
      } catch (err) {
        out[i] = err as Error
      }
    }
  }))
  return out
}

/** True for the error {@link readRecords} gives when a record's pack does not exist. */
export function isMissingPack (err: unknown): boolean {
  return err instanceof NotFoundError
}

/** True for the errors that mean damaged data (as opposed to I/O failures). */
export function isDamage (err: unknown): boolean {
  return err instanceof IntegrityError || err instanceof NotFoundError
}
