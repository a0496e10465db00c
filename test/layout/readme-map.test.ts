/**
 * The folder map of the README ("How it works") matches the tree: every
 * folder of src/ has a row, and every folder a row names exists.
 */
import { test } from 'node:test'
import assert from 'node:assert/strict'
import { existsSync, readdirSync, readFileSync, statSync } from 'node:fs'
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'

const repo = fileURLToPath(new URL('../../../', import.meta.url))

test('the README folder map names every folder of src/, and only folders that exist', () => {
  const readme = readFileSync(join(repo, 'README.md'), 'utf8')
  const start = readme.indexOf('## How it works')
  assert.ok(start >= 0, 'the README has a "How it works" section')
  const end = readme.indexOf('\n## ', start + 1)
  const map = readme.slice(start, end < 0 ? undefined : end)
  const rows = map.split('\n').filter((line) => line.startsWith('|'))
  const named = new Set(rows.map((row) => /^\|[^|]*\| `src\/([^/`]+)\/` \|/.exec(row)?.[1]).filter((n): n is string => n !== undefined))
  const folders = readdirSync(join(repo, 'src')).filter((n) => statSync(join(repo, 'src', n)).isDirectory())
  assert.deepEqual(folders.filter((f) => !named.has(f)), [], 'folders of src/ without a row in the README map')
  const mentioned = [...map.matchAll(/`(src\/[^`\s]+\/)`/g)].map((m) => m[1]!)
  assert.deepEqual(mentioned.filter((p) => !existsSync(join(repo, p))), [], 'folders the README map names that do not exist')
})
