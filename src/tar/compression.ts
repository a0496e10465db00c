/**
 * Decompression of tar streams (OCI layers are plain, gzip or zstd tar):
 * detection by magic number, streaming gzip with node:zlib, streaming zstd
 * through the `zstd` command (Node 20's zlib has no zstd), and a bound on
 * the output against decompression bombs.
 *
 * @module
 */
import { spawn } from 'node:child_process'
import type { Writable } from 'node:stream'
import { createGunzip } from 'node:zlib'
import { AbortedError, InvalidArgumentError, TesseraError, UnsupportedError, throwIfAborted } from '../errors.js'
import { DecompressError, DecompressionLimitError } from './errors.js'

/** What a stream is compressed with. */
export type CompressionKind = 'gzip' | 'zstd' | 'none'

/** Options of {@link decompress} and {@link autoDecompress}. */
export interface DecompressOptions {
  /**
   * Most bytes the decompressed stream may have. One byte more throws
   * {@link DecompressionLimitError} (`ERR_DECOMPRESSION_LIMIT`) and stops
   * decompressing. Default: no limit. Applies to `none` too.
   */
  maxOutputBytes?: number
  /** Cancels decompression: the next step throws {@link AbortedError} (`ERR_ABORTED`). */
  signal?: AbortSignal
  /** The zstd command to run, `zstd` (looked up in PATH) by default. */
  zstdCommand?: string
}

/** Options of {@link autoDecompress}. */
export interface AutoDecompressOptions extends DecompressOptions {
  /** Called once with the detected kind, before the first output chunk. */
  onDetect?: (kind: CompressionKind) => void
}

/** Bytes {@link detectCompression} looks at (and {@link autoDecompress} buffers at most). */
export const COMPRESSION_MAGIC_LENGTH = 4

const GZIP_MAGIC = [0x1f, 0x8b]
const ZSTD_MAGIC = [0x28, 0xb5, 0x2f, 0xfd]
const STDERR_MAX = 8 * 1024

/**
 * The compression of a stream from its first bytes: gzip (`1f 8b`), zstd
 * (`28 b5 2f fd`), or `none` for anything else (an uncompressed tar starts
 * with a path). Give at least {@link COMPRESSION_MAGIC_LENGTH} bytes when
 * the stream has them; fewer can only match what fits.
 */
export function detectCompression (firstBytes: Uint8Array): CompressionKind {
  const starts = (magic: number[]): boolean => firstBytes.length >= magic.length && magic.every((c, i) => firstBytes[i] === c)
  if (starts(GZIP_MAGIC)) return 'gzip'
  if (starts(ZSTD_MAGIC)) return 'zstd'
  return 'none'
}

function checkOptions (options: DecompressOptions): number {
  const max = options.maxOutputBytes
  if (max === undefined) return Infinity
  if (typeof max !== 'number' || !(max >= 0) || !(Number.isSafeInteger(max) || max === Infinity)) {
    throw new InvalidArgumentError(`maxOutputBytes must be a non-negative integer, got ${String(max)}`)
  }
  return max
}

function iteratorOf (source: AsyncIterable<Uint8Array> | Iterable<Uint8Array>): AsyncIterator<Uint8Array> | Iterator<Uint8Array> {
  if (typeof source === 'object' && source !== null) {
    if (Symbol.asyncIterator in source) return source[Symbol.asyncIterator]()
    if (Symbol.iterator in source) return source[Symbol.iterator]()
  }
  throw new InvalidArgumentError('a compressed source must be an iterable of Uint8Array')
}

/** Counts output against the limit and checks the signal. */
class OutputMeter {
  total = 0
  constructor (private readonly max: number, private readonly signal: AbortSignal | undefined, private readonly what: string) {}
  add (chunk: Uint8Array): void {
    throwIfAborted(this.signal)
    this.total += chunk.length
    if (this.total > this.max) {
      throw new DecompressionLimitError(`the ${this.what} stream decompresses to more than ${this.max} bytes`, this.max)
    }
  }
}

/**
 * Decompress a stream of chunks, keeping memory bounded whatever the input.
 *
 * - `gzip`: node:zlib; concatenated members (multi-member gzip, as `pigz`
 *   and appending writers produce) are decompressed one after the other.
 *   Zero bytes after the last member are ignored (as by `gzip -d`); any
 *   other trailing bytes are an error.
 * - `zstd`: the `zstd -d -c` command, fed through its stdin. Concatenated
 *   and skippable frames work. Frames needing a window above the command's
 *   default memory limit (128 MiB) are refused by it.
 * - `none`: the chunks as they are.
 *
 * @param source - the compressed bytes; its `return()` is called when reading stops early
 * @throws {@link DecompressError} (`ERR_DECOMPRESS`) for corrupt or truncated input (with zstd's stderr)
 * @throws {@link DecompressionLimitError} (`ERR_DECOMPRESSION_LIMIT`) past `maxOutputBytes`
 * @throws {@link UnsupportedError} (`ERR_UNSUPPORTED`) when the zstd command cannot be run
 * @throws {@link AbortedError} (`ERR_ABORTED`) when `options.signal` is aborted
 * @throws whatever the source throws, unchanged
 */
export async function * decompress (
  source: AsyncIterable<Uint8Array> | Iterable<Uint8Array>,
  kind: CompressionKind,
  options: DecompressOptions = {}
): AsyncGenerator<Uint8Array, void, undefined> {
  const max = checkOptions(options)
  throwIfAborted(options.signal)
  const meter = new OutputMeter(max, options.signal, kind)
  switch (kind) {
    case 'none': {
      const it = iteratorOf(source)
      let done = false
      try {
        for (;;) {
          const r = await it.next()
          if (r.done === true) { done = true; return }
          const chunk: unknown = r.value
          if (!(chunk instanceof Uint8Array)) throw new InvalidArgumentError('source chunks must be Uint8Array')
          meter.add(chunk)
          yield chunk
        }
      } finally {
        if (!done) await it.return?.()
      }
    }
    case 'gzip':
      yield * gunzip(source, meter, options.signal)
      return
    case 'zstd':
      yield * unzstd(source, meter, options)
      return
    default:
      throw new InvalidArgumentError(`unknown compression ${JSON.stringify(String(kind))}`)
  }
}

/** Source chunks are gathered up to this size before they are written to a decompressor. */
const WRITE_BATCH = 64 * 1024

/**
 * Feeds a source into a decompressor's writable side (zlib's input, zstd's
 * stdin), honouring backpressure and gathering small chunks into batches.
 * A source error is kept (to be rethrown unchanged) and stops the
 * decompressor through `onSourceError`.
 */
class Pump {
  private stopped = false
  private awaitingSource = false
  private sourceDone = false
  /** Set when the source threw: the error, unchanged. */
  sourceError: { error: unknown } | undefined
  /** Settles when the pump stops (never rejects). */
  readonly done: Promise<void>

  constructor (
    private readonly it: AsyncIterator<Uint8Array> | Iterator<Uint8Array>,
    private readonly target: Writable,
    private readonly onSourceError: () => void
  ) {
    this.done = this.run()
  }

  private gone (): boolean {
    return this.stopped || this.target.destroyed || !this.target.writable
  }

  private async write (chunk: Uint8Array): Promise<void> {
    if (this.gone()) return
    if (this.target.write(chunk)) return
    await new Promise<void>((resolve) => {
      const done = (): void => {
        this.target.off('drain', done)
        this.target.off('close', done)
        resolve()
      }
      this.target.once('drain', done)
      this.target.once('close', done)
    })
  }

  private async run (): Promise<void> {
    const batch: Uint8Array[] = []
    let batched = 0
    try {
      for (;;) {
        if (this.gone()) return
        this.awaitingSource = true
        const r = await this.it.next()
        this.awaitingSource = false
        if (r.done === true) { this.sourceDone = true; break }
        const chunk: unknown = r.value
        if (!(chunk instanceof Uint8Array)) throw new InvalidArgumentError('source chunks must be Uint8Array')
        if (chunk.length === 0) continue
        batch.push(chunk)
        batched += chunk.length
        if (batched >= WRITE_BATCH) {
          const data = batch.length === 1 ? chunk : Buffer.concat(batch)
          batch.length = 0
          batched = 0
          await this.write(data)
        }
      }
      if (batched > 0) await this.write(batch.length === 1 ? batch[0] as Uint8Array : Buffer.concat(batch))
      if (!this.gone()) this.target.end()
    } catch (error) {
      this.awaitingSource = false
      this.sourceDone = true
      this.sourceError = { error }
      this.onSourceError()
    }
  }

  /**
   * Stop feeding and close the source (its `return()`), waiting for that
   * unless the source is in the middle of producing a chunk (it may be
   * stalled).
   */
  async stop (): Promise<void> {
    this.stopped = true
    if (this.sourceDone) return
    this.sourceDone = true
    const closing = Promise.resolve(this.it.return?.()).then(() => undefined, () => undefined)
    if (!this.awaitingSource) await closing
  }
}

function mapZlibError (err: unknown): unknown {
  if (err instanceof TesseraError) return err
  const code = (err as { code?: unknown }).code
  if (typeof code === 'string' && code.startsWith('Z_')) {
    const why = code === 'Z_BUF_ERROR' ? 'truncated' : 'corrupt'
    return new DecompressError(`the gzip stream is ${why}: ${(err as Error).message}`, { cause: err })
  }
  return err
}

async function * gunzip (
  source: AsyncIterable<Uint8Array> | Iterable<Uint8Array>, meter: OutputMeter, signal: AbortSignal | undefined
): AsyncGenerator<Uint8Array, void, undefined> {
  const z = createGunzip()
  const pump = new Pump(iteratorOf(source), z, () => { z.destroy() })
  const onAbort = (): void => { z.destroy(new AbortedError(undefined, { cause: signal?.reason })) }
  signal?.addEventListener('abort', onAbort, { once: true })
  try {
    try {
      for await (const chunk of z as AsyncIterable<Uint8Array>) {
        meter.add(chunk)
        yield chunk
      }
    } catch (err) {
      if (pump.sourceError === undefined) throw mapZlibError(err)
    }
    await pump.done
    if (pump.sourceError !== undefined) throw pump.sourceError.error
    throwIfAborted(signal)
  } finally {
    signal?.removeEventListener('abort', onAbort)
    z.destroy()
    await pump.stop()
  }
}

async function * unzstd (
  source: AsyncIterable<Uint8Array> | Iterable<Uint8Array>, meter: OutputMeter, options: DecompressOptions
): AsyncGenerator<Uint8Array, void, undefined> {
  const { signal } = options
  const command = options.zstdCommand ?? 'zstd'
  const it = iteratorOf(source)
  const child = spawn(command, ['-d', '-c', '-q'], { stdio: ['pipe', 'pipe', 'pipe'] })
  let spawnError: Error | undefined
  let stderr = ''
  const exited = new Promise<number | null>((resolve) => {
    child.once('error', (err) => { spawnError ??= err; resolve(null) })
    child.once('close', (code) => { resolve(code) })
  })
  child.stderr.on('data', (d: Buffer) => { if (stderr.length < STDERR_MAX) stderr += d.toString('utf8') })
  child.stdin.on('error', () => { /* EPIPE when zstd stops early: its exit status says why */ })
  const kill = (): void => {
    if (child.pid !== undefined && child.exitCode === null && child.signalCode === null) child.kill('SIGKILL')
  }
  const pump = new Pump(it, child.stdin, kill)
  signal?.addEventListener('abort', kill, { once: true })
  try {
    for await (const chunk of child.stdout as AsyncIterable<Uint8Array>) {
      meter.add(chunk)
      yield chunk
    }
    await pump.done
    if (pump.sourceError !== undefined) throw pump.sourceError.error
    const code = await exited
    throwIfAborted(signal)
    if (spawnError !== undefined) {
      const e = spawnError as NodeJS.ErrnoException
      if (e.code === 'ENOENT' || e.code === 'EACCES') {
        throw new UnsupportedError(`zstd decompression needs the ${JSON.stringify(command)} command (${e.code}); install zstd`, { cause: e })
      }
      throw new DecompressError(`could not run ${JSON.stringify(command)}: ${e.message}`, { cause: e })
    }
    if (code !== 0) {
      throw new DecompressError(`the zstd stream is corrupt or truncated (zstd exited with ${String(code)}): ${stderr.trim() || 'no message'}`)
    }
  } finally {
    signal?.removeEventListener('abort', kill)
    kill()
    child.stdout.destroy()
    await pump.stop()
  }
}

/**
 * Decompress a stream whose compression is told by its first bytes (see
 * {@link detectCompression}): at most {@link COMPRESSION_MAGIC_LENGTH}
 * bytes are buffered to decide, then everything is passed to
 * {@link decompress}. An empty stream is `none` and gives no output.
 */
export async function * autoDecompress (
  source: AsyncIterable<Uint8Array> | Iterable<Uint8Array>,
  options: AutoDecompressOptions = {}
): AsyncGenerator<Uint8Array, void, undefined> {
  checkOptions(options)
  throwIfAborted(options.signal)
  const it = iteratorOf(source)
  const head: Uint8Array[] = []
  let headLength = 0
  let ended = false
  while (headLength < COMPRESSION_MAGIC_LENGTH) {
    const r = await it.next()
    if (r.done === true) { ended = true; break }
    const chunk: unknown = r.value
    if (!(chunk instanceof Uint8Array)) {
      await it.return?.()
      throw new InvalidArgumentError('source chunks must be Uint8Array')
    }
    if (chunk.length === 0) continue
    head.push(chunk)
    headLength += chunk.length
  }
  const first = Buffer.concat(head).subarray(0, COMPRESSION_MAGIC_LENGTH)
  const kind = detectCompression(first)
  options.onDetect?.(kind)
  const rest: AsyncIterable<Uint8Array> = {
    [Symbol.asyncIterator]: () => {
      let i = 0
      return {
        next: async () => {
          if (i < head.length) return { done: false, value: head[i++] as Uint8Array }
          if (ended) return { done: true, value: undefined }
          return await it.next()
        },
        return: async () => {
          if (!ended) await it.return?.()
          return { done: true, value: undefined }
        }
      }
    }
  }
  yield * decompress(rest, kind, options)
}
