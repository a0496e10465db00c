/**
 * Creating FIFOs, device nodes and unix sockets at paths that are raw bytes.
 *
 * Node.js has no `mkfifo` or `mknod`, so FIFOs and devices are made by
 * coreutils `mknod` (one process per file: special files are rare). A
 * socket is made in-process by binding a `net.Server`.
 *
 * Neither route accepts a path with arbitrary bytes: `child_process` turns
 * every argument into UTF-8 text (a non-UTF-8 `Buffer` argument is decoded
 * lossily, and a `Buffer` `cwd` fails), `listen()` takes a string, and a
 * socket path is limited to 107 bytes. So each function
 *
 * 1. opens the parent directory here (fs takes `Buffer` paths),
 * 2. creates the node under a fresh ASCII name in it, addressed as
 *    `/proc/self/fd/<n>/.tessera-<random>.tmp` (see `dir-fd.ts`),
 * 3. hard-links it to the real name (which fails with `EEXIST` if that name
 *    is taken, as `mknod` itself would), removes the temporary name, and
 * 4. sets the exact mode with `chmod` (umask does not apply; setuid, setgid
 *    and sticky bits are kept, which `mknod -m` refuses).
 *
 * A crash between 2 and 3 can leave a `.tessera-*.tmp` node behind.
 *
 * Sockets: Node (libuv) unlinks a socket's path when its server closes, so
 * a server bound at the final name would leave nothing behind. Binding at
 * the temporary name and hard-linking it first makes the node outlive the
 * server; libuv's unlink then only removes the temporary name. The node is
 * an unbound socket file, as `tar` and `cp -a` would leave.
 *
 * Devices need root (CAP_MKNOD); FIFOs and sockets do not.
 *
 * @module
 */
import { randomBytes } from 'node:crypto'
import { chmod, link, unlink } from 'node:fs/promises'
import { createServer } from 'node:net'
import { InvalidArgumentError, InvalidPathError, UnsupportedError } from '../errors.js'
import { PlatformError } from './errors.js'
import { CHILD_DIR, openDirectory, type DirectoryHandle } from './dir-fd.js'
import { describeExit, startTool } from './tool.js'
import { LINUX_MAX_MAJOR, LINUX_MAX_MINOR } from './stat.js'

/** The two kinds of device node. */
export type DeviceKind = 'char' | 'block'

/** Options of {@link makeFifo} and {@link makeDevice}. */
export interface MknodOptions {
  /** The `mknod` executable: a name looked up in `PATH` (default `mknod`) or a path. */
  mknodPath?: string
}

/** Removes the temporary name once the node has its final name. */
type Release = () => Promise<void>

function toBuffer (path: Uint8Array | string): Buffer {
  if (typeof path === 'string') return Buffer.from(path, 'utf8')
  return Buffer.isBuffer(path) ? path : Buffer.from(path.buffer, path.byteOffset, path.byteLength)
}

function checkMode (mode: number): void {
  if (!Number.isInteger(mode) || mode < 0 || mode > 0o7777) {
    throw new InvalidArgumentError(`mode must be an integer 0 … 0o7777 (permission bits only), got ${mode}`)
  }
}

/** Split into parent directory and last component; reject paths whose last component cannot be created. */
function splitPath (path: Buffer): { parent: Buffer, base: Buffer } {
  const shown = JSON.stringify(path.toString('utf8'))
  if (path.length === 0 || path.includes(0)) throw new InvalidPathError(`cannot create a node at ${shown}: empty or contains NUL`)
  const slash = path.lastIndexOf(0x2f)
  const base = path.subarray(slash + 1)
  const parent = slash < 0 ? Buffer.from('.') : slash === 0 ? Buffer.from('/') : path.subarray(0, slash)
  const b = base.toString('latin1')
  if (b === '' || b === '.' || b === '..') throw new InvalidPathError(`cannot create a node at ${shown}: it does not end in a name`)
  return { parent, base }
}

function errorCode (err: unknown): string {
  const code = (err as NodeJS.ErrnoException | undefined)?.code
  return typeof code === 'string' ? code : (err as Error).message
}

/**
 * The common part: open the parent, let `make` create the node at a
 * temporary name (given relative to the open directory), move it to the
 * real name, set the mode.
 */
async function place (path: Uint8Array | string, what: string, mode: number,
  make: (dir: DirectoryHandle, tmpName: string, shown: string) => Promise<Release>): Promise<void> {
  checkMode(mode)
  const bytes = toBuffer(path)
  const { parent, base } = splitPath(bytes)
  const shown = bytes.toString('utf8')
  let dir: DirectoryHandle
  try {
    dir = await openDirectory(parent)
  } catch (err) {
    throw new PlatformError(`cannot create ${what} ${shown}: cannot open its directory (${errorCode(err)})`, { cause: err })
  }
  try {
    const tmpName = `.tessera-${randomBytes(8).toString('hex')}.tmp`
    const finalPath = Buffer.concat([dir.procPrefix, base])
    const release = await make(dir, tmpName, shown)
    try {
      await link(`${dir.procPath}/${tmpName}`, finalPath)
    } catch (err) {
      throw new PlatformError(`cannot create ${what} ${shown}: ${errorCode(err)}`, { cause: err })
    } finally {
      await release()
    }
    try {
      await chmod(finalPath, mode)
    } catch (err) {
      throw new PlatformError(`cannot set the mode of ${what} ${shown}: ${errorCode(err)}`, { cause: err })
    }
  } finally {
    await dir.close()
  }
}

/** Run `mknod -m MODE <tmp> TYPE [MAJOR MINOR]` in `dir`. */
async function mknodAt (dir: DirectoryHandle, tmpName: string, shown: string, what: string, mode: number,
  typeArgs: string[], options: MknodOptions): Promise<Release> {
  const tmpInChild = `${CHILD_DIR}/${tmpName}`
  const tool = startTool({
    command: options.mknodPath ?? 'mknod',
    args: ['-m', (mode & 0o777).toString(8), tmpInChild, ...typeArgs],
    packageName: 'coreutils',
    dirFd: dir.fd
  })
  const exit = await tool.exit
  const release: Release = async () => { await unlink(`${dir.procPath}/${tmpName}`).catch(() => {}) }
  if (exit.code !== 0) {
    await release()
    const details = exit.stderrTail.map(line => line.split(tmpInChild).join(shown))
    throw new PlatformError(`cannot create ${what} ${shown}: ${describeExit('mknod', { ...exit, stderrTail: details })}`, { details })
  }
  return release
}

/**
 * Create a FIFO (named pipe) at `path` with permission bits `mode`.
 *
 * @throws `PlatformError` (`ERR_PLATFORM`) if it cannot be created, e.g.
 *   the name exists (`cause.code` `EEXIST`); `UnsupportedError`
 *   (`ERR_UNSUPPORTED`) if `mknod` cannot be run; `InvalidPathError` /
 *   `InvalidArgumentError` for a bad path or mode.
 */
export async function makeFifo (path: Uint8Array | string, mode: number, options: MknodOptions = {}): Promise<void> {
  await place(path, 'FIFO', mode, async (dir, tmpName, shown) =>
    await mknodAt(dir, tmpName, shown, 'FIFO', mode, ['p'], options))
}

/**
 * Create a character or block device node at `path`. Needs root
 * (CAP_MKNOD). Linux stores majors up to 4095 and minors up to 1048575;
 * larger numbers (allowed by the snapshot format) cannot be created.
 *
 * @throws `UnsupportedError` (`ERR_UNSUPPORTED`) if the numbers exceed what
 *   Linux can store or `mknod` cannot be run; `PlatformError`
 *   (`ERR_PLATFORM`) if creation fails (not root: `EPERM` in `details`;
 *   name taken: `cause.code` `EEXIST`); `InvalidArgumentError` for a bad kind,
 *   number or mode; `InvalidPathError` for a bad path.
 */
export async function makeDevice (path: Uint8Array | string, kind: DeviceKind, major: number, minor: number, mode: number,
  options: MknodOptions = {}): Promise<void> {
  if (kind !== 'char' && kind !== 'block') throw new InvalidArgumentError(`device kind must be 'char' or 'block', got ${String(kind)}`)
  for (const [what, n] of [['major', major], ['minor', minor]] as const) {
    if (!Number.isInteger(n) || n < 0 || n > 0xffffffff) throw new InvalidArgumentError(`device ${what} must be an integer 0 … 2^32-1, got ${n}`)
  }
  if (major > LINUX_MAX_MAJOR || minor > LINUX_MAX_MINOR) {
    throw new UnsupportedError(`device ${major}:${minor} cannot exist on Linux (major ≤ ${LINUX_MAX_MAJOR}, minor ≤ ${LINUX_MAX_MINOR})`)
  }
  const what = `${kind} device`
  await place(path, what, mode, async (dir, tmpName, shown) =>
    await mknodAt(dir, tmpName, shown, what, mode, [kind === 'char' ? 'c' : 'b', String(major), String(minor)], options))
}

/**
 * Create a unix socket file at `path` with permission bits `mode`. Nothing
 * listens on it afterwards: it is the inode only, as an archive restores it.
 *
 * @throws `PlatformError` (`ERR_PLATFORM`) if it cannot be created (name
 *   taken: `cause.code` `EEXIST`); `InvalidPathError` / `InvalidArgumentError`
 *   for a bad path or mode.
 */
export async function makeSocket (path: Uint8Array | string, mode: number): Promise<void> {
  await place(path, 'socket', mode, async (dir, tmpName, shown) => {
    const tmpPath = `${dir.procPath}/${tmpName}`
    const server = createServer()
    server.unref()
    try {
      await new Promise<void>((resolve, reject) => {
        server.once('error', reject)
        // exclusive: in a cluster worker, bind here rather than in the primary
        // (whose /proc/self is another process).
        server.listen({ path: tmpPath, exclusive: true }, () => { server.off('error', reject); resolve() })
      })
    } catch (err) {
      throw new PlatformError(`cannot create socket ${shown}: ${errorCode(err)}`, { cause: err })
    }
    return async () => {
      // Closing unlinks tmpPath (libuv does); unlink again in case it did not.
      await new Promise<void>(resolve => server.close(() => resolve()))
      await unlink(tmpPath).catch(() => {})
    }
  })
}
