/**
 * `tessera serve` for tests: the CLI started on a store directory and a
 * free loopback port (`--port 0`; the URL is read from its first line of
 * stdout), its stderr (one line per request, and the offer lines)
 * collected, stopped with SIGTERM.
 *
 * ```ts
 * const serve = await startServe(storeDir)
 * t.after(() => serve.stop())
 * // docker://${serve.host}/lib/app:v1 ...
 * ```
 *
 * @module
 */
import { spawn, type ChildProcess } from 'node:child_process'
import { once } from 'node:events'
import { TESSERA_BIN } from './cli.js'

/** A running `tessera serve`. */
export interface RunningServe {
  /** `http://127.0.0.1:PORT`. */
  url: string
  /** `127.0.0.1:PORT`, for `docker://` references. */
  host: string
  /** Everything it wrote to stderr so far. */
  log: () => string
  /** SIGTERM, and wait for it to exit; resolves to its exit status. */
  stop: () => Promise<number | null>
}

/** Start `tessera --store STORE serve --port 0 ...args`. */
export async function startServe (store: string, args: string[] = []): Promise<RunningServe> {
  const child: ChildProcess = spawn(TESSERA_BIN, ['--store', store, 'serve', '--port', '0', ...args], { stdio: ['ignore', 'pipe', 'pipe'] })
  let log = ''
  child.stderr!.on('data', (d: Buffer) => { log += d.toString() })
  const first = await Promise.race([
    once(child.stdout!, 'data').then(([d]) => (d as Buffer).toString().trim()),
    once(child, 'exit').then(([code]) => { throw new Error(`tessera serve exited with ${String(code)}: ${log}`) })
  ])
  if (!/^http:\/\/127\.0\.0\.1:\d+$/.test(first)) throw new Error(`tessera serve printed ${first}`)
  let exited: Promise<number | null> | undefined
  return {
    url: first,
    host: first.slice('http://'.length),
    log: () => log,
    stop: async () => {
      exited ??= (async () => {
        if (child.exitCode !== null || child.signalCode !== null) return child.exitCode
        const done = once(child, 'exit')
        child.kill('SIGTERM')
        const [code] = await done as [number | null]
        return code
      })()
      return await exited
    }
  }
}
