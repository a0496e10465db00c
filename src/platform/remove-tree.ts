/**
 * Making a target's directories and taking back what a failed write made:
 * {@link makeDirectories} says which directory it created first, so that
 * {@link removeTree} can remove exactly that (parents included), and
 * {@link emptyDirectory} clears a directory that existed before. Removal
 * never follows symlinks, and makes read-only directories of the tree
 * writable first (an export gives directories their final modes last).
 * Paths are bytes, as everywhere in this folder.
 *
 * @module
 */
import { chmod, lstat, mkdir, readdir, rm } from 'node:fs/promises'

type Path = string | Uint8Array

const SLASH = 0x2f

function asBuffer (path: Path): Buffer {
  return typeof path === 'string' ? Buffer.from(path) : Buffer.from(path.buffer, path.byteOffset, path.byteLength)
}

/** The parent of an absolute or relative path given as bytes (`.` for a bare name). */
function parentOf (path: Buffer): Buffer {
  let end = path.length
  while (end > 1 && path[end - 1] === SLASH) end--
  const slash = path.lastIndexOf(SLASH, end - 1)
  if (slash < 0) return Buffer.from('.')
  if (slash === 0) return Buffer.from('/')
  return path.subarray(0, slash)
}

const missing = async (path: Buffer): Promise<boolean> => await lstat(path).then(() => false, (err: NodeJS.ErrnoException) => {
  if (err.code === 'ENOENT') return true
  throw err
})

/**
 * Make directory `path` and any missing parents (`mode` for each), as
 * `mkdir -p` does. Resolves to the topmost directory it made, or undefined
 * when `path` existed. Each directory is made by a plain mkdir, top first:
 * Node's recursive mkdir loops for ever where the kernel refuses a new
 * directory with ENOENT under one that exists (`/proc/x`).
 */
export async function makeDirectories (path: Path, mode = 0o777): Promise<Buffer | undefined> {
  const missingOnes: Buffer[] = []
  for (let at = asBuffer(path); await missing(at); at = parentOf(at)) {
    missingOnes.unshift(at)
    if (parentOf(at).equals(at)) break
  }
  let top: Buffer | undefined
  for (const dir of missingOnes) {
    try {
      await mkdir(dir, { mode })
      top ??= dir
    } catch (err) {
      // Made by someone else meanwhile: not ours to remove.
      if ((err as NodeJS.ErrnoException).code !== 'EEXIST') throw err
    }
  }
  return top
}

/** Give every directory of the tree at `path` owner rwx, so that its entries can be removed. */
async function makeWritable (path: Buffer): Promise<void> {
  const st = await lstat(path).catch(() => undefined)
  if (st?.isDirectory() !== true) return
  await chmod(path, 0o700).catch(() => {})
  const names = await readdir(path, { encoding: 'buffer' }).catch(() => [])
  for (const name of names) await makeWritable(Buffer.concat([path, Buffer.from('/'), name]))
}

/** Remove `path` and everything below it; nothing happens when it is absent. */
export async function removeTree (path: Path): Promise<void> {
  const target = asBuffer(path)
  try {
    await rm(target, { recursive: true, force: true })
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code
    if (code !== 'EACCES' && code !== 'EPERM') throw err
    await makeWritable(target)
    await rm(target, { recursive: true, force: true })
  }
}

/**
 * Remove everything in directory `path`, keeping the directory itself
 * (with `mode`, its permission bits before the write began, when given).
 */
export async function emptyDirectory (path: Path, mode?: number): Promise<void> {
  const dir = asBuffer(path)
  if (mode !== undefined) await chmod(dir, 0o700 | mode)
  for (const name of await readdir(dir, { encoding: 'buffer' })) await removeTree(Buffer.concat([dir, Buffer.from('/'), name]))
  if (mode !== undefined) await chmod(dir, mode)
}
