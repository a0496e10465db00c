/**
 * The Node.js version package.json declares is true: every package the
 * lockfile installs accepts the oldest Node.js the declared range allows,
 * so `npm ci` there prints no EBADENGINE warning (cookie@2 wanted Node 22
 * while tessera said 20; it is pinned to cookie@1.1.1, which has the same
 * API, in `overrides`).
 */
import { test } from 'node:test'
import assert from 'node:assert/strict'
import { readFileSync } from 'node:fs'
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'

const repo = fileURLToPath(new URL('../../../', import.meta.url))

type Version = [number, number, number]

function parse (text: string): Version {
  const [a = 0, b = 0, c = 0] = text.replace(/^v/, '').split('.').map((p) => (p === 'x' || p === '*' ? 0 : Number(p)))
  return [a, b, c]
}

function compare (a: Version, b: Version): number {
  for (let i = 0; i < 3; i++) if (a[i] !== b[i]) return a[i]! - b[i]!
  return 0
}

/**
 * Whether `version` satisfies an npm `engines` range of the forms the
 * lockfile holds: `*`, `>=X`, `>X`, `<X`, `<=X`, `^X`, `X.x`, space-joined
 * (all must hold) and `||`-joined (one must). Anything else fails the test.
 */
function satisfies (version: Version, range: string): boolean {
  return range.split('||').some((alternative) => {
    const parts = alternative.trim().replace(/(>=|<=|>|<|\^)\s+/g, '$1').split(/\s+/)
    return parts.every((part) => {
      if (part === '*' || part === '') return true
      const m = /^(>=|<=|>|<|\^)?(\d+(?:\.(?:\d+|x))*)$/.exec(part)
      assert.ok(m !== null, `an engines range this test cannot read: ${JSON.stringify(range)}`)
      const bound = parse(m[2]!)
      const c = compare(version, bound)
      switch (m[1]) {
        case '>=': return c >= 0
        case '>': return c > 0
        case '<': return c < 0
        case '<=': return c <= 0
        case '^': return version[0] === bound[0] && c >= 0
        default: {
          // X or X.x or X.Y.x: the same leading numbers
          const given = m[2]!.split('.').filter((p) => p !== 'x').length
          return version.slice(0, given).every((n, i) => n === bound[i])
        }
      }
    })
  })
}

test('every locked package accepts the oldest Node.js tessera declares', () => {
  const pkg = JSON.parse(readFileSync(join(repo, 'package.json'), 'utf8')) as { engines: { node: string } }
  const m = /^>=\s*(\d+(?:\.\d+){0,2})$/.exec(pkg.engines.node)
  assert.ok(m !== null, `engines.node is a lower bound: ${pkg.engines.node}`)
  const oldest = parse(m[1]!)
  assert.ok(satisfies(parse(process.version), pkg.engines.node), `this Node.js (${process.version}) is one tessera declares`)
  const lock = JSON.parse(readFileSync(join(repo, 'package-lock.json'), 'utf8')) as { packages: Record<string, { version?: string, engines?: { node?: string } }> }
  const refusing = Object.entries(lock.packages)
    .filter(([path, p]) => path !== '' && p.engines?.node !== undefined && !satisfies(oldest, p.engines.node))
    .map(([path, p]) => `${path.replace(/^.*node_modules\//, '')}@${p.version ?? '?'} wants node ${p.engines!.node}`)
  assert.deepEqual(refusing, [], `packages that refuse Node.js ${oldest.join('.')}`)
})
