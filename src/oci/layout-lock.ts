/**
 * A lock on a layout's `index.json` for tessera writers: exports read,
 * merge and replace `index.json`, so two of them at once (two processes,
 * or two exports in one process) could lose one entry. The lock is the
 * file `index.json.lock` in the layout, created exclusively, holding the
 * writer's host and pid; it is held only around the read-merge-replace.
 * A lock left by a process that no longer runs on this host is broken.
 * Other tools (umoci, skopeo) do not know it.
 *
 * @module
 */
import { hostname } from 'node:os'
import { join } from 'node:path'
import { readFile, stat, unlink, writeFile } from 'node:fs/promises'
import { TesseraError, type TesseraErrorOptions } from '../errors.js'

/** The lock file's name inside the layout. */
export const LAYOUT_LOCK_FILE = 'index.json.lock'

/** Default time to wait for another writer's lock: 30 s. */
export const DEFAULT_LAYOUT_LOCK_TIMEOUT_MS = 30_000

/** Another writer held the layout's index lock for longer than the timeout. */
export class LayoutLockedError extends TesseraError {
  static readonly code = 'ERR_OCI_LAYOUT_LOCKED'
  constructor (message: string, options?: TesseraErrorOptions) { super(LayoutLockedError.code, message, options) }
}

/** Options for {@link withLayoutLock}. */
export interface LayoutLockOptions {
  /** How long to wait for another writer (default {@link DEFAULT_LAYOUT_LOCK_TIMEOUT_MS}). */
  timeoutMs?: number
}

function alive (pid: number): boolean {
  try {
    process.kill(pid, 0)
    return true
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === 'EPERM'
  }
}

/** True if the lock at `path` was left by a writer that is gone. */
async function stale (path: string): Promise<boolean> {
  let text: string
  try {
    text = await readFile(path, 'utf8')
  } catch {
    return false
  }
  try {
    const { host, pid } = JSON.parse(text) as { host?: unknown, pid?: unknown }
    return host === hostname() && typeof pid === 'number' && !alive(pid)
  } catch {
    // Empty or partial: a writer died between creating and filling it, or
    // is filling it now. Old enough means the former.
    const info = await stat(path).catch(() => undefined)
    return info !== undefined && Date.now() - info.mtimeMs > 10_000
  }
}

/** Holders in this process, per lock path: exports in one process queue here first. */
const local = new Map<string, Promise<void>>()

/** Run `fn` holding the index lock of the layout at `layoutPath`. */
export async function withLayoutLock<T> (layoutPath: string, fn: () => Promise<T>, options: LayoutLockOptions = {}): Promise<T> {
  const path = join(layoutPath, LAYOUT_LOCK_FILE)
  const timeout = options.timeoutMs ?? DEFAULT_LAYOUT_LOCK_TIMEOUT_MS
  const deadline = Date.now() + timeout
  const previous = local.get(path) ?? Promise.resolve()
  let release!: () => void
  const mine = new Promise<void>((resolve) => { release = resolve })
  const chained = previous.then(async () => await mine)
  local.set(path, chained)
  try {
    await previous
    let wait = 10
    for (;;) {
      try {
        await writeFile(path, JSON.stringify({ host: hostname(), pid: process.pid }), { flag: 'wx' })
        break
      } catch (err) {
        if ((err as NodeJS.ErrnoException).code !== 'EEXIST') throw err
      }
      if (await stale(path)) { await unlink(path).catch(() => {}); continue }
      if (Date.now() >= deadline) throw new LayoutLockedError(`the layout ${layoutPath} is being written by another process (${path} exists); remove it if no tessera export is running`)
      await new Promise((resolve) => setTimeout(resolve, wait))
      wait = Math.min(wait * 2, 500)
    }
    try {
      return await fn()
    } finally {
      await unlink(path).catch(() => {})
    }
  } finally {
    release()
    if (local.get(path) === chained) local.delete(path)
  }
}
