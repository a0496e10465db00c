/**
 * The kernel side of a FUSE mount, as root: open `/dev/fuse`, hand the
 * descriptor to `mount -t fuse.tessera -o fd=3,…` (what go-fuse's
 * `mountDirect` does; Node cannot pass descriptors over a socket, so the
 * unprivileged `fusermount3` route is closed), unmount with `umount`, and a
 * guard process that unmounts if this process dies without doing so.
 *
 * @module
 */
import { type ChildProcess, spawn } from 'node:child_process'
import { constants, openSync } from 'node:fs'
import { realpath, stat, writeFile } from 'node:fs/promises'
import { MountError, MountUnavailableError } from '../errors.js'

/** The filesystem type shown in /proc/mounts. */
export const FS_TYPE = 'fuse.tessera'

/** Open `/dev/fuse`; {@link MountUnavailableError} when this process cannot mount. */
export function openDevice (): number {
  if (process.platform !== 'linux') throw new MountUnavailableError(`mounting needs Linux FUSE, this is ${process.platform}`)
  if (process.getuid?.() !== 0) throw new MountUnavailableError('mounting needs root (the fd= mount of /dev/fuse needs CAP_SYS_ADMIN)')
  try {
    return openSync('/dev/fuse', constants.O_RDWR)
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code
    throw new MountUnavailableError(code === 'ENOENT' ? 'mounting needs /dev/fuse (modprobe fuse; in a container, pass the device)' : `cannot open /dev/fuse: ${code ?? String(err)}`, { cause: err })
  }
}

/** The absolute, resolved path of a mount target, checked to be a directory. */
export async function resolveTarget (dir: string): Promise<string> {
  let resolved: string
  try {
    resolved = await realpath(dir)
    if (!(await stat(resolved)).isDirectory()) throw new MountError(`mount target ${JSON.stringify(dir)} is not a directory`)
  } catch (err) {
    if (err instanceof MountError) throw err
    throw new MountError(`mount target ${JSON.stringify(dir)}: ${(err as NodeJS.ErrnoException).code ?? String(err)}`, { cause: err })
  }
  return resolved
}

/** Options for {@link mountDevice}. */
export interface MountDeviceOptions {
  /** Shown as the source in /proc/mounts. */
  source: string
  /** Largest read the kernel sends, in bytes. */
  maxRead: number
  /** Honour setuid/setgid bits on exec (`suid`); default off (`nosuid`). */
  setuid: boolean
  /** Let device nodes be opened (`dev`); default off (`nodev`). */
  devices: boolean
}

/** Mount the FUSE connection `fd` on `dir` (an absolute, resolved path). */
export async function mountDevice (fd: number, dir: string, options: MountDeviceOptions): Promise<void> {
  const opts = [
    'ro', options.setuid ? 'suid' : 'nosuid', options.devices ? 'dev' : 'nodev',
    'fd=3', 'rootmode=40000', `user_id=${process.getuid?.() ?? 0}`, `group_id=${process.getgid?.() ?? 0}`,
    `max_read=${options.maxRead}`, 'default_permissions', 'allow_other'
  ].join(',')
  const { code, stderr } = await run('mount', ['-i', '-t', FS_TYPE, '-o', opts, options.source, dir], ['ignore', 'ignore', 'pipe', fd])
  if (code !== 0) throw new MountError(`mount ${JSON.stringify(dir)} failed: ${stderr.trim() || `exit ${code}`}`)
}

/**
 * Unmount `dir`. If it is busy (a process has a file open or its working
 * directory inside), detach it lazily (`umount -l`): it disappears from the
 * namespace now, and the connection ends when the last user lets go.
 * Returns whether the detach was lazy.
 */
export async function unmountDir (dir: string): Promise<{ lazy: boolean }> {
  const plain = await run('umount', [dir])
  if (plain.code === 0) return { lazy: false }
  if (!(await isMounted(dir))) return { lazy: false }
  const lazy = await run('umount', ['-l', dir])
  if (lazy.code === 0) return { lazy: true }
  if (!(await isMounted(dir))) return { lazy: false }
  throw new MountError(`umount ${JSON.stringify(dir)} failed: ${(lazy.stderr || plain.stderr).trim()}`)
}

/** True when `dir` is the mount point of a tessera FUSE mount. */
export async function isMounted (dir: string): Promise<boolean> {
  const { code } = await run('findmnt', ['-n', '-t', FS_TYPE, '-M', dir])
  return code === 0
}

/**
 * Start a process that unmounts `dir` if this one dies (SIGKILL, a crash)
 * while the mount is up: it waits for its stdin, a pipe only this process
 * holds, to reach end of file, then unmounts (lazily if busy) provided
 * `dir` is still a tessera mount. {@link disarmGuard} stops it after a
 * clean unmount. Without it a killed server leaves a dead mount whose
 * every access fails with ENOTCONN until `umount DIR` (or `umount -l DIR`).
 */
export function startGuard (dir: string): ChildProcess {
  const script = 'cat >/dev/null; findmnt -n -t "$2" -M "$1" >/dev/null 2>&1 || exit 0; umount "$1" 2>/dev/null || umount -l "$1" 2>/dev/null'
  const guard = spawn('/bin/sh', ['-c', script, 'tessera-mount-guard', dir, FS_TYPE], { stdio: ['pipe', 'ignore', 'ignore'], detached: true })
  guard.on('error', () => {}) // no /bin/sh: no guard; the recovery is documented
  guard.unref()
  const stdin = guard.stdin as (NonNullable<ChildProcess['stdin']> & { unref?: () => void }) | null
  stdin?.on('error', () => {})
  stdin?.unref?.()
  return guard
}

/** Stop a guard without letting it unmount. */
export function disarmGuard (guard: ChildProcess): void {
  if (guard.exitCode === null && guard.signalCode === null) guard.kill('SIGKILL')
}

/**
 * Set the kernel's read-ahead for the mount at `dir` (its backing device
 * info, `/sys/class/bdi/MAJOR:MINOR/read_ahead_kb`; the kernel starts FUSE
 * mounts at 128 KiB, and INIT can only lower it). Bigger read-ahead means
 * fewer, larger READs for a sequential reader. Best effort: false if it
 * could not be set. Must not be called synchronously from the serving thread.
 */
export async function setReadAhead (dir: string, kib: number): Promise<boolean> {
  try {
    const dev = (await stat(dir)).dev
    // Userspace dev_t (glibc's encoding): major in bits 8-19, minor in bits 0-7 and 20-31.
    const major = (dev >>> 8) & 0xfff
    const minor = (dev & 0xff) | ((dev >>> 12) & 0xfff00)
    await writeFile(`/sys/class/bdi/${major}:${minor}/read_ahead_kb`, String(kib))
    return true
  } catch {
    return false
  }
}

/** Run a command; resolves with its exit code and stderr. */
async function run (command: string, args: string[], stdio: Array<'ignore' | 'pipe' | number> = ['ignore', 'ignore', 'pipe']): Promise<{ code: number, stderr: string }> {
  return await new Promise((resolve) => {
    const child = spawn(command, args, { stdio })
    let stderr = ''
    child.stderr?.on('data', (d: Buffer) => { if (stderr.length < 4096) stderr += d.toString() })
    child.on('error', (err) => { resolve({ code: -1, stderr: `${command}: ${err.message}` }) })
    child.on('close', (code) => { resolve({ code: code ?? -1, stderr }) })
  })
}
