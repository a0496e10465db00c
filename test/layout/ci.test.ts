/**
 * `.ci/run` installs the Debian package of every tool the tests use (it
 * runs them with TESSERA_REQUIRE_TOOLS=1, where a missing tool fails the
 * test instead of skipping it): each tool of test/helpers/tools.ts that a
 * test names has its package in the script's list.
 */
import { test } from 'node:test'
import assert from 'node:assert/strict'
import { readdirSync, readFileSync, statSync } from 'node:fs'
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { TOOL_PACKAGES } from '../helpers/tools.js'

const repo = fileURLToPath(new URL('../../../', import.meta.url))

function sources (dir: string): string[] {
  return readdirSync(dir).flatMap((name) => {
    const path = join(dir, name)
    return statSync(path).isDirectory() ? sources(path) : path.endsWith('.ts') ? [path] : []
  })
}

test('.ci/run installs the package of every tool the tests name', () => {
  const script = readFileSync(join(repo, '.ci', 'run'), 'utf8')
  const list = /^packages=\(([^)]*)\)$/m.exec(script)
  assert.ok(list !== null, '.ci/run has a packages=(...) line')
  const installed = new Set(list[1]!.trim().split(/\s+/))
  const own = new Set(['tools.ts', 'hide-tools.ts'].map((f) => join(repo, 'test', 'helpers', f)))
  const text = sources(join(repo, 'test')).filter((f) => !own.has(f)).map((f) => readFileSync(f, 'utf8')).join('\n')
  const used = Object.entries(TOOL_PACKAGES).filter(([tool]) => text.includes(`'${tool}'`))
  assert.ok(used.length >= 10, `found ${used.length} tools the tests name`)
  const missing = used.filter(([, pkg]) => !installed.has(pkg)).map(([tool, pkg]) => `${tool} (${pkg})`)
  assert.deepEqual(missing, [], 'tools whose package .ci/run does not install')
})
