/**
 * Writing a command's output: text lines and JSON on stdout, warnings on
 * stderr, byte streams to stdout with backpressure.
 *
 * @module
 */
import { once } from 'node:events'

/** Write one line to stdout (a newline is added unless there is one). */
export function out (s: string): void { process.stdout.write(s.endsWith('\n') ? s : s + '\n') }

/** Write a warning line to stderr. */
export function warn (s: string): void { process.stderr.write(`tessera: warning: ${s}\n`) }

/** Write `v` as indented JSON to stdout. */
export function json (v: unknown): void { out(JSON.stringify(v, null, 2)) }

/** Copy a byte stream to stdout, waiting for drain; stdout stays usable. */
export async function toStdout (source: AsyncIterable<Uint8Array>): Promise<void> {
  for await (const piece of source) {
    if (!process.stdout.write(piece)) await once(process.stdout, 'drain')
  }
}
