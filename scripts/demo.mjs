#!/usr/bin/env node
// `npm start`: the main job on the embedded default store (./.tessera).
// Imports two directories that share most of their files (this checkout's
// dependencies, twice, the second with a file added), shows what
// deduplication saved, reads a byte range, and checks an export.
import { spawnSync } from 'node:child_process'
import { cpSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'

const bin = fileURLToPath(new URL('../bin/tessera', import.meta.url))
const repo = fileURLToPath(new URL('..', import.meta.url))
const run = (...args) => {
  console.log(`$ tessera ${args.join(' ')}`)
  const r = spawnSync(bin, args, { stdio: 'inherit', cwd: repo })
  if (r.status !== 0) process.exit(r.status ?? 1)
}

const work = mkdtempSync(join(tmpdir(), 'tessera-demo-'))
try {
  const a = join(repo, 'node_modules')
  const b = join(work, 'node_modules-copy')
  cpSync(a, b, { recursive: true, verbatimSymlinks: true, preserveTimestamps: true })
  writeFileSync(join(b, 'ADDED.txt'), 'one new file\n')
  run('import', `dir:${a}`, '--name', 'demo/node_modules', '--replace')
  run('import', `dir:${b}`, '--name', 'demo/node_modules-copy', '--replace')
  run('snapshots')
  run('stats')
  run('ls', 'demo/node_modules-copy', 'msgpackr')
  run('cat', 'demo/node_modules-copy', 'msgpackr/package.json', '--offset', '0', '--length', '120')
  console.log()
  run('export', 'demo/node_modules-copy', `dir:${join(work, 'restored')}`)
  const diff = spawnSync('diff', ['-r', '--no-dereference', b, join(work, 'restored')], { stdio: 'inherit' })
  console.log(diff.status === 0 ? 'export matches the source: OK' : 'export differs from the source!')
  process.exitCode = diff.status ?? 1
} finally {
  rmSync(work, { recursive: true, force: true })
}
