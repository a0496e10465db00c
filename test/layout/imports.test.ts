/**
 * The module layout the folders' contracts promise: no two folders import
 * each other, and maintenance does not load the compression ports. Read
 * from the sources (type imports included) and from the compiled modules
 * (what actually loads).
 */
import { test } from 'node:test'
import assert from 'node:assert/strict'
import { readdirSync, readFileSync, statSync } from 'node:fs'
import { dirname, join, relative, resolve } from 'node:path'
import { fileURLToPath } from 'node:url'

const repo = fileURLToPath(new URL('../../../', import.meta.url))

function filesUnder (dir: string, ext: string): string[] {
  const out: string[] = []
  for (const name of readdirSync(dir)) {
    const path = join(dir, name)
    if (statSync(path).isDirectory()) out.push(...filesUnder(path, ext))
    else if (path.endsWith(ext) && !path.endsWith('.d.ts')) out.push(path)
  }
  return out
}

/** Relative import specifiers of a module (static, re-exports and dynamic imports). */
function importsOf (file: string): string[] {
  const text = readFileSync(file, 'utf8')
  const specs: string[] = []
  for (const m of text.matchAll(/(?:^|\n)\s*(?:import|export)\s[^'"]*?from\s+'(\.[^']+)'|import\('(\.[^']+)'\)|(?:^|\n)import\s+'(\.[^']+)'/g)) specs.push((m[1] ?? m[2] ?? m[3])!)
  return specs
}

/** The folder a module belongs to: `store`, `registry/backend`, ... (undefined for top-level files). */
function folderOf (root: string, file: string): string | undefined {
  const parts = relative(root, file).split('/')
  if (parts.length === 1) return undefined
  return parts[0] === 'registry' && parts.length > 2 ? `registry/${parts[1]!}` : parts[0]
}

test('no two folders of src/ import each other (index files aside, which gather their children)', () => {
  const root = join(repo, 'src')
  const edges = new Map<string, Map<string, string>>()
  for (const file of filesUnder(root, '.ts')) {
    if (file.endsWith('/index.ts')) continue
    const from = folderOf(root, file)
    if (from === undefined) continue
    for (const spec of importsOf(file)) {
      const to = folderOf(root, resolve(dirname(file), spec))
      if (to === undefined || to === from) continue
      if (!edges.has(from)) edges.set(from, new Map())
      edges.get(from)!.set(to, `${relative(root, file)} imports ${spec}`)
    }
  }
  const cycles: string[] = []
  for (const [a, targets] of edges) {
    for (const [b, why] of targets) {
      const back = edges.get(b)?.get(a)
      if (back !== undefined && a < b) cycles.push(`${a} <-> ${b}: ${why}; ${back}`)
    }
  }
  assert.deepEqual(cycles, [])
})

test('gc and fsck do not load the compression ports', () => {
  const root = join(repo, 'dist', 'src')
  for (const entry of ['maintenance/gc.js', 'maintenance/fsck.js', 'registry/backend/gc-roots.js']) {
    const seen = new Set<string>()
    const stack = [join(root, entry)]
    while (stack.length > 0) {
      const file = stack.pop()!
      if (seen.has(file)) continue
      seen.add(file)
      for (const spec of importsOf(file)) stack.push(resolve(dirname(file), spec))
    }
    const loaded = [...seen].map((f) => relative(root, f)).filter((f) => f.startsWith('compression/'))
    assert.deepEqual(loaded, [], `${entry} loads ${loaded.join(', ')}`)
    assert.ok(seen.size > 3, `${entry}: the import graph was read`)
  }
})

test('outside src/store/, modules take store capabilities, never the concrete store class', () => {
  const root = join(repo, 'src')
  const offenders: string[] = []
  for (const file of filesUnder(root, '.ts')) {
    const rel = relative(root, file)
    if (rel.startsWith('store/')) continue
    const text = readFileSync(file, 'utf8')
    const specs = importsOf(file).map((spec) => relative(root, resolve(dirname(file), spec)))
    if (/\bLevelObjectStore\b/.test(text)) offenders.push(`${rel} names LevelObjectStore`)
    for (const spec of specs) if (spec.startsWith('store/level/')) offenders.push(`${rel} imports ${spec}`)
    // Everything the local store can do together is for whoever opens one and hands it on.
    if (/\bLocalObjectStore\b/.test(text) && !specs.includes('store/open.js')) offenders.push(`${rel} takes LocalObjectStore but opens no store`)
  }
  assert.deepEqual(offenders, [])
})
