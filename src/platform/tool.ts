/**
 * Running one external tool (`getfattr`, `setfattr`, `mknod`) as a child
 * process: a missing executable becomes `UnsupportedError`
 * (`ERR_UNSUPPORTED`), stderr is delivered line by line, an `AbortSignal`
 * kills the child, and the exit status is reported once every stream has
 * closed.
 *
 * Children run with `LC_ALL=C` so their messages are stable English text
 * and their quoting does not depend on the caller's locale.
 *
 * @module
 */
import { spawn, type ChildProcess, type StdioOptions } from 'node:child_process'
import type { Readable } from 'node:stream'
import { AbortedError, UnsupportedError } from '../errors.js'
import { PlatformError } from './errors.js'
import { CHILD_DIR_FD } from './dir-fd.js'

/** What to start. */
export interface ToolSpec {
  /** Executable: a bare name looked up in `PATH`, or a path. */
  command: string
  /** Arguments (strings only: see `dir-fd.ts` for passing raw-byte paths). */
  args: readonly string[]
  /** Debian package that provides the tool, named in the error when it is missing. */
  packageName: string
  /** Open directory handed to the child as its fd 3, if any. */
  dirFd?: number
  /** Give the child a writable stdin pipe (otherwise stdin is /dev/null). */
  stdin?: boolean
  /** Capture stdout as a stream (otherwise it is discarded). */
  stdout?: boolean
  /** Called with each stderr line (without the newline), as raw bytes. */
  onStderrLine?: (line: Buffer) => void
  /** Kills the child (SIGKILL) and rejects {@link RunningTool.exit} with `AbortedError`. */
  signal?: AbortSignal
}

/** How a tool ended. */
export interface ToolExit {
  /** Exit status, or `null` if a signal ended it. */
  code: number | null
  /** The signal that ended it, if any. */
  signal: NodeJS.Signals | null
  /** The last stderr lines (at most {@link STDERR_TAIL_LINES}), decoded as UTF-8, for messages. */
  stderrTail: string[]
}

/** A started tool. */
export interface RunningTool {
  /** The child; `child.stdin` / `child.stdout` exist when asked for. */
  child: ChildProcess
  /**
   * Settles after the child has exited and its streams have closed.
   * Rejects with `UnsupportedError` if the executable cannot be run,
   * `AbortedError` on abort, `PlatformError` if spawning failed otherwise.
   */
  exit: Promise<ToolExit>
}

/** How many trailing stderr lines {@link ToolExit.stderrTail} keeps. */
export const STDERR_TAIL_LINES = 20

/**
 * Splits a byte stream into `\n`-terminated lines without decoding it, so
 * raw path bytes survive. A final line without a newline is delivered by
 * {@link LineSplitter.end}.
 */
export class LineSplitter {
  #pending: Buffer[] = []
  readonly #onLine: (line: Buffer) => void

  /** `onLine` receives each line without its `\n`. */
  constructor (onLine: (line: Buffer) => void) { this.#onLine = onLine }

  /** Feed the next chunk. */
  push (chunk: Buffer): void {
    let start = 0
    for (;;) {
      const nl = chunk.indexOf(0x0a, start)
      if (nl < 0) break
      let line = chunk.subarray(start, nl)
      if (this.#pending.length > 0) {
        this.#pending.push(line)
        line = Buffer.concat(this.#pending)
        this.#pending = []
      }
      this.#onLine(line)
      start = nl + 1
    }
    if (start < chunk.length) this.#pending.push(chunk.subarray(start))
  }

  /** Deliver a trailing unterminated line, if any. */
  end (): void {
    if (this.#pending.length === 0) return
    const line = Buffer.concat(this.#pending)
    this.#pending = []
    this.#onLine(line)
  }
}

/** Consume a stream chunk by chunk into `splitter`, then call `splitter.end()`. */
export async function readLines (stream: Readable, splitter: LineSplitter): Promise<void> {
  for await (const chunk of stream) splitter.push(chunk as Buffer)
  splitter.end()
}

/** Start `spec.command`. Never throws synchronously: failures reject `exit`. */
export function startTool (spec: ToolSpec): RunningTool {
  const stdio: StdioOptions = [spec.stdin === true ? 'pipe' : 'ignore', spec.stdout === true ? 'pipe' : 'ignore', 'pipe']
  if (spec.dirFd !== undefined) {
    while (stdio.length < CHILD_DIR_FD) stdio.push('ignore')
    stdio.push(spec.dirFd)
  }
  const child = spawn(spec.command, spec.args, {
    stdio,
    env: { ...process.env, LC_ALL: 'C' },
    windowsHide: true
  })
  const tail: string[] = []
  const splitter = new LineSplitter(line => {
    tail.push(line.toString('utf8'))
    if (tail.length > STDERR_TAIL_LINES) tail.shift()
    spec.onStderrLine?.(line)
  })
  // The stream ends before 'close' is emitted, so every line is seen by then.
  child.stderr?.on('data', (chunk: Buffer) => splitter.push(chunk))
  child.stderr?.on('end', () => splitter.end())
  // Writes into a dead child fail with EPIPE; the exit status tells why.
  child.stdin?.on('error', () => {})

  const exit = new Promise<ToolExit>((resolve, reject) => {
    let settled = false
    const onAbort = (): void => {
      if (settled) return
      settled = true
      child.kill('SIGKILL')
      reject(new AbortedError(undefined, { cause: spec.signal?.reason }))
    }
    if (spec.signal?.aborted === true) {
      queueMicrotask(onAbort)
    } else {
      spec.signal?.addEventListener('abort', onAbort, { once: true })
    }
    child.once('error', (err: NodeJS.ErrnoException) => {
      spec.signal?.removeEventListener('abort', onAbort)
      if (settled) return
      settled = true
      if (err.code === 'ENOENT' || err.code === 'EACCES') {
        reject(new UnsupportedError(
          `cannot run ${spec.command} (${err.code}); install the Debian package "${spec.packageName}" or put the tool on PATH`,
          { cause: err }))
      } else {
        reject(new PlatformError(`cannot run ${spec.command}: ${err.message}`, { cause: err }))
      }
    })
    child.once('close', (code, signal) => {
      spec.signal?.removeEventListener('abort', onAbort)
      if (settled) return
      settled = true
      resolve({ code, signal, stderrTail: tail })
    })
  })
  // Callers often await the output streams first; mark the promise handled
  // so an early rejection is not reported as unhandled meanwhile.
  exit.catch(() => {})
  return { child, exit }
}

/** A short description of how a tool ended, for error messages. */
export function describeExit (name: string, exit: ToolExit): string {
  const how = exit.signal !== null ? `was killed by ${exit.signal}` : `exited with status ${String(exit.code)}`
  const last = exit.stderrTail.at(-1)
  return last === undefined ? `${name} ${how}` : `${name} ${how}: ${last}`
}
