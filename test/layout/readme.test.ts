/**
 * The README matches the tree and the CLI: its folder map names every
 * folder of src/ and no other, and every `./bin/tessera` line of its
 * examples names a command that exists, with options that command takes.
 */
import { test } from 'node:test'
import assert from 'node:assert/strict'
import { readdirSync, readFileSync, statSync } from 'node:fs'
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { COMMANDS } from '../../src/cli/commands/index.js'
import { GLOBAL_OPTIONS, LOCK_WAIT_OPTION } from '../../src/cli/help.js'

const repo = fileURLToPath(new URL('../../../', import.meta.url))
const readme = readFileSync(join(repo, 'README.md'), 'utf8')

test('the README\'s folder map lists exactly the folders of src/', () => {
  const folders = readdirSync(join(repo, 'src')).filter((name) => statSync(join(repo, 'src', name)).isDirectory()).sort()
  const mapped = [...readme.matchAll(/^\| [^|]+ \| `src\/([a-z-]+)\/` \|/gm)].map((m) => m[1]!).sort()
  assert.deepEqual(mapped, folders)
})

test('every ./bin/tessera example of the README is a command with options it takes', () => {
  const lines = [...readme.matchAll(/\.\/bin\/tessera((?: [^\s|&#`]+)*)/g)].map((m) => m[1]!.trim().split(' '))
  assert.ok(lines.length >= 10, `found ${lines.length} examples`)
  for (const words of lines) {
    let i = 0
    while (words[i]?.startsWith('--') === true) i += Object.hasOwn(GLOBAL_OPTIONS, words[i]!.slice(2)) && (GLOBAL_OPTIONS as Record<string, { type: string }>)[words[i]!.slice(2)]!.type !== 'boolean' ? 2 : 1
    const name = words[i]
    const command = COMMANDS.find((c) => c.name === name)
    assert.ok(command !== undefined, `./bin/tessera ${words.join(' ')}: no command ${String(name)}`)
    const options = { ...GLOBAL_OPTIONS, ...command.options, ...(command.store !== 'none' ? LOCK_WAIT_OPTION : {}) }
    for (const word of words.slice(i + 1)) {
      if (!word.startsWith('--')) continue
      const option = word.slice(2).split('=')[0]!
      assert.ok(Object.hasOwn(options, option), `./bin/tessera ${words.join(' ')}: ${name} takes no --${option}`)
    }
  }
})
