/**
 * Run a command on a machine that lacks the Debian tools, as a new user's
 * might: the command gets a PATH of one directory holding a symlink to
 * every program of the real PATH except the hidden ones. Both the tests
 * and the tessera processes they start then find the tools missing, so
 * this proves that `npm test` passes without them, skipping what needs
 * them (test/helpers/tools.ts) and never failing for that.
 *
 * ```sh
 * npx tsc -p . && node dist/test/helpers/hide-tools.js -- node --test dist/test/cli/
 * node dist/test/helpers/hide-tools.js getfattr,umoci -- npm test
 * ```
 *
 * Without a list, every tool of {@link TOOL_PACKAGES} is hidden. For the
 * tests' own use only: not a tessera option.
 */
import { spawnSync } from 'node:child_process'
import { accessSync, constants, mkdtempSync, readdirSync, rmSync, statSync, symlinkSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { delimiter, join, resolve } from 'node:path'
import { fileURLToPath } from 'node:url'
import { TOOL_PACKAGES } from './tools.js'

/**
 * A directory of symlinks to the programs found on `path` (first one of a
 * name wins, as a shell's lookup does), without those named in `hidden`.
 * The caller removes it.
 */
export function pathWithout (hidden: ReadonlySet<string>, path = process.env.PATH ?? ''): string {
  const dir = mkdtempSync(join(tmpdir(), 'tessera-hidden-tools-'))
  const seen = new Set<string>()
  for (const from of path.split(delimiter)) {
    if (from === '') continue
    let names: string[]
    try {
      names = readdirSync(from)
    } catch {
      continue
    }
    for (const name of names) {
      if (seen.has(name) || hidden.has(name)) continue
      const file = join(from, name)
      try {
        if (!statSync(file).isFile()) continue
        accessSync(file, constants.X_OK)
      } catch {
        continue
      }
      seen.add(name)
      symlinkSync(file, join(dir, name))
    }
  }
  return dir
}

if (process.argv[1] !== undefined && fileURLToPath(import.meta.url) === resolve(process.argv[1])) {
  const args = process.argv.slice(2)
  // `node --test dist/test/` runs this file too, without arguments: nothing to do then.
  if (args.length === 0) process.exit(0)
  const dash = args.indexOf('--')
  if (dash < 0 || dash === args.length - 1) {
    process.stderr.write('usage: node dist/test/helpers/hide-tools.js [TOOL,TOOL...] -- COMMAND [ARG...]\n')
    process.exit(2)
  }
  const listed = dash === 0 ? Object.keys(TOOL_PACKAGES) : args[0]!.split(',').filter((t) => t !== '')
  const dir = pathWithout(new Set(listed))
  process.stderr.write(`hide-tools: running with ${listed.length} tools hidden: ${listed.join(' ')}\n`)
  const r = spawnSync(args[dash + 1]!, args.slice(dash + 2), { stdio: 'inherit', env: { ...process.env, PATH: dir } })
  rmSync(dir, { recursive: true, force: true })
  process.exit(r.status ?? 1)
}
