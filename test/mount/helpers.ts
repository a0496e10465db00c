/**
 * Helpers of the mount tests: when they can run, mounts that are always
 * cleaned up (even when a test fails), the CLI started as a child, and
 * checks made with util-linux's own tools (findmnt), not tessera's.
 *
 * Everything here is asynchronous: a mount served by the test process
 * itself must never be touched by a synchronous call.
 */
import { type ChildProcess, execFile, spawn } from 'node:child_process'
import { existsSync } from 'node:fs'
import { fileURLToPath } from 'node:url'
import { promisify } from 'node:util'
import { test } from 'node:test'
import { skipUnless } from '../helpers/tools.js'

export const run = promisify(execFile)

/** Why the mount tests cannot run here, or false. */
export const skipMount: string | false = skipUnless(['python3', 'findmnt'],
  process.platform !== 'linux' ? 'needs Linux FUSE' : undefined,
  process.getuid?.() !== 0 ? 'needs root (mounting /dev/fuse with fd= needs CAP_SYS_ADMIN)' : undefined,
  !existsSync('/dev/fuse') ? 'needs /dev/fuse (modprobe fuse; in a container, pass --device /dev/fuse)' : undefined)

/** True when `dir` is a mount point (of any filesystem), as findmnt sees it. */
export async function mounted (dir: string): Promise<boolean> {
  try {
    await run('findmnt', ['-n', '-M', dir])
    return true
  } catch {
    return false
  }
}

/** Wait until `dir` is no longer a mount point; false if it still is after `ms`. */
export async function waitUnmounted (dir: string, ms = 20000): Promise<boolean> {
  const until = Date.now() + ms
  while (Date.now() < until) {
    if (!(await mounted(dir))) return true
    await new Promise((resolve) => setTimeout(resolve, 50))
  }
  return !(await mounted(dir))
}

const live = new Set<string>()

/**
 * Remember a mount point so that the file's `after` hook detaches it if a
 * test left it mounted. Call it before mounting.
 */
export function trackMount (dir: string): string {
  live.add(dir)
  return dir
}

/** Register the cleanup once per test file. */
export function cleanMountsAfter (): void {
  test.after(async () => {
    for (const dir of live) {
      if (await mounted(dir)) await run('umount', ['-l', dir]).catch(() => {})
    }
  })
}

const bin = fileURLToPath(new URL('../../../bin/tessera', import.meta.url))

/** A `tessera mount` child process. */
export interface CliMount {
  child: ChildProcess
  /** The `--json` ready line. */
  ready: { dir: string, snapshot: string, name: string | null, inodes: number }
  /** Exit code and signal. */
  exited: Promise<{ code: number | null, signal: NodeJS.Signals | null }>
  stderr: () => string
}

/** Start `tessera --store STORE mount REF DIR --json ...` and wait for its ready line. */
export async function cliMount (store: string, ref: string, dir: string, extra: string[] = []): Promise<CliMount> {
  trackMount(dir)
  const child = spawn(process.execPath, [bin, '--store', store, 'mount', ref, dir, '--json', ...extra], { stdio: ['ignore', 'pipe', 'pipe'] })
  let stderr = ''
  let stdout = ''
  child.stderr!.on('data', (d: Buffer) => { stderr += d.toString() })
  const exited = new Promise<{ code: number | null, signal: NodeJS.Signals | null }>((resolve) => {
    child.on('exit', (code, signal) => { resolve({ code, signal }) })
  })
  const ready = await new Promise<CliMount['ready']>((resolve, reject) => {
    child.stdout!.on('data', (d: Buffer) => {
      stdout += d.toString()
      const nl = stdout.indexOf('\n')
      if (nl >= 0) resolve(JSON.parse(stdout.slice(0, nl)))
    })
    void exited.then(({ code, signal }) => { reject(new Error(`tessera mount exited (${code ?? signal}) before it was ready: ${stderr}`)) })
  })
  return { child, ready, exited, stderr: () => stderr }
}
