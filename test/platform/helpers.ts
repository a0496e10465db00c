/**
 * Test helpers for the platform layer: temporary directories, and setting or
 * reading one xattr with the `attr` tools directly (one process per call, by
 * a route independent of the dump format under test).
 *
 * @module
 */
import { execFile } from 'node:child_process'
import { mkdtemp, rm, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { promisify } from 'node:util'

const run = promisify(execFile)

/** A fresh directory under the OS temp dir, and a function that removes it. */
export async function makeTempDir (prefix: string): Promise<{ dir: string, cleanup: () => Promise<void> }> {
  const dir = await mkdtemp(join(tmpdir(), `tessera-${prefix}-`))
  return { dir, cleanup: async () => { await rm(dir, { recursive: true, force: true }) } }
}

/**
 * An xattr name as a `setfattr -n` / `getfattr -n` argument: the tools
 * unquote `\ooo`, so every byte outside printable ASCII (and the backslash)
 * is written that way and the argument stays plain ASCII whatever the bytes.
 */
export function nameArg (name: Buffer): string {
  let out = ''
  for (const b of name) {
    out += b > 0x20 && b < 0x7f && b !== 0x5c ? String.fromCharCode(b) : '\\' + b.toString(8).padStart(3, '0')
  }
  return out
}

/** Set one xattr with `setfattr -h -n NAME -v 0xHEX PATH` (PATH must be valid UTF-8). */
export async function setOne (path: string, name: Buffer, value: Buffer): Promise<void> {
  await run('setfattr', ['-h', '-n', nameArg(name), '-v', '0x' + value.toString('hex'), path])
}

/** `getfattr -h -d -m - -e hex PATH` output as latin1 text (one character per byte). */
export async function dumpOf (path: string): Promise<string> {
  const { stdout } = await run('getfattr', ['-h', '--absolute-names', '-d', '-m', '-', '-e', 'hex', path], { encoding: 'latin1' })
  return stdout
}

/** Read one xattr with `getfattr -h -n NAME -e hex PATH` (NAME printable ASCII: getfattr does not unquote it), or undefined if absent. */
export async function getOne (path: string, name: Buffer): Promise<Buffer | undefined> {
  try {
    const { stdout } = await run('getfattr', ['-h', '--absolute-names', '-n', nameArg(name), '-e', 'hex', path], { encoding: 'latin1' })
    const line = stdout.split('\n').find(l => l.includes('=0x') || l.endsWith('='))
    if (line === undefined) return undefined
    return Buffer.from(line.slice(line.lastIndexOf('=') + 1).replace(/^0x/, ''), 'hex')
  } catch {
    return undefined
  }
}

/** True when `setfattr` can set `name` on a fresh regular file in `dir` (filesystem and privileges allow it). */
export async function canSet (dir: string, name: string, value = Buffer.from('probe')): Promise<boolean> {
  const probe = join(dir, `.probe-${Math.random().toString(16).slice(2)}`)
  await writeFile(probe, '')
  try {
    await setOne(probe, Buffer.from(name, 'latin1'), value)
    return true
  } catch {
    return false
  } finally {
    await rm(probe, { force: true })
  }
}

/** Map entries as comparable plain data: key → [[name hex, value hex], ...]. */
export function plain (map: Map<string, Array<[Buffer, Buffer]>>): Record<string, string[][]> {
  const out: Record<string, string[][]> = {}
  for (const [key, list] of [...map].sort((a, b) => Buffer.compare(Buffer.from(a[0], 'latin1'), Buffer.from(b[0], 'latin1')))) {
    out[JSON.stringify(key)] = list.map(([n, v]) => [n.toString('hex'), v.toString('hex')])
  }
  return out
}
