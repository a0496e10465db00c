/**
 * A one-line progress display on stderr: shown only on a terminal, and
 * never with `--json`. Throttled to ten updates a second.
 *
 * @module
 */

/** Human-readable byte count (binary units). */
export function formatBytes (n: number): string {
  const units = ['B', 'KiB', 'MiB', 'GiB', 'TiB']
  let v = n
  let u = 0
  while (v >= 1024 && u < units.length - 1) { v /= 1024; u++ }
  return `${u === 0 ? v : v.toFixed(1)} ${units[u]}`
}

/** What a progress line shows. */
export interface ProgressFigures {
  files: number
  bytes: number
  /** What the work will come to, when known up front: shown as `n/total` and a percentage of the bytes. */
  total?: { files: number, bytes: number }
}

/** A throttled single-line progress report. */
export class ProgressLine {
  readonly #enabled: boolean
  readonly #label: string
  readonly #unit: string
  readonly #start = Date.now()
  #last = 0
  #shown = false

  /** `unit` names what `files` counts (default `files`; `gc` and `fsck` count objects). */
  constructor (label: string, enabled: boolean, unit = 'files') {
    this.#label = label
    this.#enabled = enabled
    this.#unit = unit
  }

  /** Report new figures (cheap when throttled or disabled). */
  update (f: ProgressFigures): void {
    if (!this.#enabled) return
    const now = Date.now()
    if (now - this.#last < 100) return
    this.#last = now
    const secs = Math.max(0.001, (now - this.#start) / 1000)
    const t = f.total
    const figures = t === undefined
      ? `${f.files} ${this.#unit}, ${formatBytes(f.bytes)}`
      : `${f.files}/${t.files} ${this.#unit}, ${formatBytes(f.bytes)} of ${formatBytes(t.bytes)} (${t.bytes > 0 ? Math.floor(100 * f.bytes / t.bytes) : 100}%)`
    process.stderr.write(`\r\x1b[K${this.#label}: ${figures}, ${formatBytes(f.bytes / secs)}/s`)
    this.#shown = true
  }

  /** Clear the line. */
  done (): void {
    if (this.#shown) process.stderr.write('\r\x1b[K')
    this.#shown = false
  }
}
