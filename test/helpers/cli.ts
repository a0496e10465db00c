/**
 * Running the `tessera` CLI (bin/tessera, on the compiled code) as a
 * child process, the way a user does.
 */
import { spawn, spawnSync, type ChildProcess } from 'node:child_process'
import { fileURLToPath } from 'node:url'

/** The CLI's executable. */
export const TESSERA_BIN = fileURLToPath(new URL('../../../bin/tessera', import.meta.url))

/** What a finished run gave. */
export interface CliRun {
  code: number | null
  stdout: Buffer
  stderr: string
}

/** Options for {@link runTessera}. */
export interface CliOptions {
  /** `$TESSERA_STORE` for the run. */
  store?: string
  env?: Record<string, string>
  input?: string | Uint8Array
  cwd?: string
}

function environment (options: CliOptions): NodeJS.ProcessEnv {
  return { ...process.env, ...(options.store !== undefined ? { TESSERA_STORE: options.store } : {}), ...options.env }
}

/** Run the CLI to its end. */
export function runTessera (args: string[], options: CliOptions = {}): CliRun {
  const r = spawnSync(TESSERA_BIN, args, {
    env: environment(options),
    maxBuffer: 256 * 1024 * 1024,
    ...(options.input !== undefined ? { input: options.input } : {}),
    ...(options.cwd !== undefined ? { cwd: options.cwd } : {})
  })
  return { code: r.status, stdout: r.stdout, stderr: r.stderr.toString() }
}

/** Start the CLI without waiting for it (stdio piped). */
export function startTessera (args: string[], options: CliOptions = {}): ChildProcess {
  return spawn(TESSERA_BIN, args, { env: environment(options), stdio: ['pipe', 'pipe', 'pipe'], ...(options.cwd !== undefined ? { cwd: options.cwd } : {}) })
}

/** Resolves with the child's exit code (or signal name) once it exits. */
export async function exitOf (child: ChildProcess): Promise<number | string> {
  if (child.exitCode !== null) return child.exitCode
  if (child.signalCode !== null) return child.signalCode
  return await new Promise((resolve) => child.once('exit', (code, signal) => { resolve(code ?? signal ?? -1) }))
}

/** Collect a child's output stream as text. */
export function collect (stream: NodeJS.ReadableStream | null): { text: () => string } {
  let text = ''
  stream?.setEncoding('utf8')
  stream?.on('data', (s: string) => { text += s })
  return { text: () => text }
}

/** Resolves once `stream` has printed text matching `pattern` (rejects if it ends first). */
export async function waitForOutput (stream: NodeJS.ReadableStream, pattern: RegExp): Promise<string> {
  return await new Promise((resolve, reject) => {
    let seen = ''
    const onData = (s: Buffer | string): void => {
      seen += s.toString()
      if (pattern.test(seen)) { stream.off('data', onData); stream.off('end', onEnd); resolve(seen) }
    }
    const onEnd = (): void => { reject(new Error(`the output ended without matching ${pattern}: ${seen}`)) }
    stream.on('data', onData)
    stream.once('end', onEnd)
  })
}
