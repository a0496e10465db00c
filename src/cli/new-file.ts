/**
 * Writing a stream to a new file, all or nothing: the bytes go to a
 * temporary file beside the target, which takes the target's name only
 * once complete (a hard link, so an existing file is never replaced, then
 * the temporary name is removed). A failure part way leaves nothing.
 *
 * @module
 */
import { randomBytes } from 'node:crypto'
import { createWriteStream } from 'node:fs'
import { link, lstat, rename, unlink } from 'node:fs/promises'
import { basename, dirname, join } from 'node:path'
import { Readable } from 'node:stream'
import { pipeline } from 'node:stream/promises'
import { ExportError, TargetExistsError } from '../errors.js'

const exists = async (path: string): Promise<boolean> => await lstat(path).then(() => true, (err: NodeJS.ErrnoException) => {
  if (err.code === 'ENOENT') return false
  throw new ExportError(`cannot write ${path}: ${err.message}`, { cause: err })
})

/** Write `source` to the new file `path`: `ERR_TARGET_EXISTS` if it exists, `ERR_EXPORT` if writing fails (nothing is left then). */
export async function writeNewFile (path: string, source: AsyncIterable<Uint8Array>): Promise<void> {
  if (await exists(path)) throw new TargetExistsError(`${path} exists: export writes a new file and never replaces one`)
  const temp = join(dirname(path), `.${basename(path)}.${randomBytes(6).toString('hex')}.tmp`)
  try {
    try {
      await pipeline(Readable.from(source), createWriteStream(temp, { flags: 'wx', mode: 0o666 }))
    } catch (err) {
      const code = (err as NodeJS.ErrnoException).code
      // Name the target, not the temporary file beside it.
      if ((code === 'ENOENT' || code === 'ENOTDIR') && !(await exists(dirname(path)))) throw new ExportError(`cannot write ${path}: its directory ${dirname(path)} does not exist`, { cause: err })
      if (typeof code === 'string' && !code.startsWith('ERR_')) throw new ExportError(`cannot write ${path}: ${(err as Error).message.replace(temp, path)}`, { cause: err })
      throw err
    }
    try {
      await link(temp, path)
    } catch (err) {
      const code = (err as NodeJS.ErrnoException).code
      if (code === 'EEXIST') throw new TargetExistsError(`${path} exists: export writes a new file and never replaces one`, { cause: err })
      // A filesystem without hard links: a rename, after checking again.
      if (code !== 'EPERM' && code !== 'ENOTSUP' && code !== 'EOPNOTSUPP') throw new ExportError(`cannot write ${path}: ${(err as Error).message}`, { cause: err })
      if (await exists(path)) throw new TargetExistsError(`${path} exists: export writes a new file and never replaces one`)
      await rename(temp, path)
    }
  } finally {
    await unlink(temp).catch(() => {})
  }
}
