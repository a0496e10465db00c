/**
 * Naming a directory whose path is arbitrary bytes to code that only
 * accepts strings.
 *
 * Node.js converts every `child_process` argument, and the `cwd` option,
 * to UTF-8 text: a `Buffer` argument is decoded lossily (0xff becomes
 * U+FFFD) and a `Buffer` `cwd` that is not valid UTF-8 fails with a
 * misleading `ENOENT` for the command. `net.Server#listen` likewise takes a
 * string, and a unix socket path is limited to 107 bytes.
 *
 * The way around all three: open the directory in this process (Node's fs
 * calls do take raw `Buffer` paths), then name it `/proc/self/fd/<n>`,
 * which the kernel resolves to the open directory whatever its path. A
 * child process gets the descriptor as its fd 3 (through the `stdio`
 * array) and sees the directory as `/proc/self/fd/3`. Names below it are
 * short ASCII names we choose, or bytes we pass through a pipe.
 *
 * This needs `/proc` (always mounted on Linux, also in containers).
 *
 * @module
 */
import { open, type FileHandle } from 'node:fs/promises'
import { constants } from 'node:fs'

/** The fd number a child process receives the directory on (see {@link CHILD_DIR}). */
export const CHILD_DIR_FD = 3

/** How a child process started with the directory as fd 3 names it. */
export const CHILD_DIR = `/proc/self/fd/${CHILD_DIR_FD}`

/** An open directory and the string path that reaches it from this process. */
export interface OpenDirectory {
  /** The descriptor; pass it in a child's `stdio` array at index 3. */
  readonly fd: number
  /** `/proc/self/fd/<fd>`: valid in this process only, while the directory is open. */
  readonly procPath: string
  /** `procPath` as bytes, followed by `/`: prefix for raw `Buffer` names below it. */
  readonly procPrefix: Buffer
}

/** Turn `Buffer | string` into the `Buffer` form of a path. */
export function pathBytes (path: Buffer | string): Buffer {
  return typeof path === 'string' ? Buffer.from(path, 'utf8') : path
}

/** An {@link OpenDirectory} that must be closed. */
export interface DirectoryHandle extends OpenDirectory {
  /** Close the descriptor. Safe to call more than once. */
  close (): Promise<void>
}

/**
 * Open the directory `path` (raw bytes or a string; a symlink to a
 * directory is followed) for naming through `/proc/self/fd`. Errors from
 * `open` (ENOENT, ENOTDIR, EACCES, ...) propagate unchanged; callers wrap
 * them. The caller must `close()` the handle.
 */
export async function openDirectory (path: Buffer | string): Promise<DirectoryHandle> {
  const handle: FileHandle = await open(path, constants.O_RDONLY | constants.O_DIRECTORY)
  const procPath = `/proc/self/fd/${handle.fd}`
  let closed = false
  return {
    fd: handle.fd,
    procPath,
    procPrefix: Buffer.from(procPath + '/', 'latin1'),
    async close (): Promise<void> {
      if (closed) return
      closed = true
      await handle.close()
    }
  }
}
