/** Run describe_tree.py on a directory and return its description. */
import { execFile, execFileSync } from 'node:child_process'
import { promisify } from 'node:util'
import { fileURLToPath } from 'node:url'

const script = fileURLToPath(new URL('../../../test/helpers/describe_tree.py', import.meta.url))

/** Per-path facts read from the filesystem (keys: hex of the path bytes). */
export function describeTree (root: string, options: { mtime?: boolean, root?: boolean } = {}): Record<string, Record<string, unknown>> {
  const args = [script, root]
  if (options.mtime === false) args.push('--no-mtime')
  if (options.root === false) args.push('--no-root')
  return JSON.parse(execFileSync('python3', args, { maxBuffer: 256 * 1024 * 1024 }).toString())
}

/**
 * {@link describeTree} without blocking the event loop: needed when the
 * tree is a FUSE mount served by this very process.
 */
export async function describeTreeAsync (root: string, options: { mtime?: boolean, root?: boolean } = {}): Promise<Record<string, Record<string, unknown>>> {
  const args = [script, root]
  if (options.mtime === false) args.push('--no-mtime')
  if (options.root === false) args.push('--no-root')
  const { stdout } = await promisify(execFile)('python3', args, { maxBuffer: 256 * 1024 * 1024 })
  return JSON.parse(stdout)
}
