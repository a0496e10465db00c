import { test } from 'node:test'
import assert from 'node:assert/strict'
import { spawnSync } from 'node:child_process'
import { mkdtemp, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { ClassicLevel } from 'classic-level'
import { readFileSync, rmSync, writeFileSync } from 'node:fs'
import { decodeLocation, packFileName } from '../../src/store/pack/index.js'
import { makeTree } from './helpers.js'

const bin = fileURLToPath(new URL('../../../bin/tessera', import.meta.url))
const root = await mkdtemp(join(tmpdir(), 'tessera-maint-cli-'))
test.after(async () => { await rm(root, { recursive: true, force: true }) })
const store = join(root, 'store')
const run = (...args: string[]): { code: number | null, stdout: string, stderr: string } => {
  const r = spawnSync(bin, ['--store', store, ...args], { encoding: 'utf8' })
  return { code: r.status, stdout: r.stdout, stderr: r.stderr }
}
await makeTree(join(root, 'a'), 1)
await makeTree(join(root, 'b'), 2)

test('rm, gc --json and fsck --json on a store', () => {
  assert.equal(run('import', `dir:${join(root, 'a')}`, '--name', 'a').code, 0)
  assert.equal(run('import', `dir:${join(root, 'b')}`, '--name', 'b').code, 0)
  assert.equal(JSON.parse(run('gc', '--json').stdout).bytesFreed, 0)
  const removed = run('rm', 'a')
  assert.equal(removed.code, 0, removed.stderr)
  assert.match(run('rm', 'a').stderr, /ERR_NOT_FOUND/)
  const unref = JSON.parse(run('fsck', '--json').stdout)
  assert.equal(unref.ok, true)
  assert.equal(unref.unreferenced.snapshots, 1)
  const freed = run('gc')
  assert.equal(freed.code, 0, freed.stderr)
  assert.match(freed.stdout, /^freed .* \(\d+ bytes\): deleted [1-9]\d* chunks, [1-9]\d* trees, 1 snapshots$/m)
  const after = run('fsck')
  assert.equal(after.code, 0, after.stdout)
  assert.match(after.stdout, /no problems/)
  assert.equal(JSON.parse(run('snapshots', '--json').stdout).length, 1)
})

test('fsck exits 1 on a dangling ref; --repair drops it and exits 0', async () => {
  const db = new ClassicLevel<Uint8Array, Uint8Array>(store, { keyEncoding: 'view', valueEncoding: 'view' })
  const refs = db.sublevel<Uint8Array, Uint8Array>('r', { keyEncoding: 'view', valueEncoding: 'view' })
  // [snapshot digest of 32 zero bytes, created 1, files 0, bytes 0]
  await refs.put(Buffer.from('dangling'), new Uint8Array([0x94, 0xc4, 0x20, ...new Uint8Array(32), 1, 0, 0]))
  await db.close()
  const bad = run('fsck')
  assert.equal(bad.code, 1)
  assert.match(bad.stdout, /problem dangling-ref: ref dangling: its snapshot sha256:0{64} is not in the store/)
  const fixed = run('fsck', '--repair', '--json')
  assert.equal(fixed.code, 0, fixed.stdout)
  assert.equal(JSON.parse(fixed.stdout).problems[0].repaired, true)
  assert.equal(run('fsck').code, 0)
})

test('fsck --repair that drops a corrupt chunk names the damaged snapshot and exits 1 until it is imported again', async () => {
  const dir = join(root, 'damaged-store')
  const tool = (...args: string[]): { code: number | null, stdout: string, stderr: string } => {
    const r = spawnSync(bin, ['--store', dir, ...args], { encoding: 'utf8' })
    return { code: r.status, stdout: r.stdout, stderr: r.stderr }
  }
  assert.equal(tool('import', `dir:${join(root, 'a')}`, '--name', 'a').code, 0)
  const snapshot = JSON.parse(tool('snapshots', '--json').stdout)[0].snapshot as string
  const db = new ClassicLevel<Uint8Array, Uint8Array>(dir, { keyEncoding: 'view', valueEncoding: 'view' })
  const [, value] = (await db.sublevel<Uint8Array, Uint8Array>('c', { keyEncoding: 'view', valueEncoding: 'view' }).iterator({ limit: 1 }).all())[0]!
  await db.close()
  const loc = decodeLocation(value)
  const pack = join(dir, 'packs', packFileName(loc.pack))
  const bytes = readFileSync(pack)
  bytes[loc.offset + loc.storedLength - 1]! ^= 0x01
  writeFileSync(pack, bytes)

  const repaired = tool('fsck', '--repair')
  assert.equal(repaired.code, 1, repaired.stdout)
  assert.match(repaired.stdout, /^repaired corrupt: chunk sha256:/m)
  assert.match(repaired.stdout, new RegExp(`^problem damaged: ref a: its snapshot ${snapshot} lacks 1 chunk \\(corrupt, dropped by this repair\\)`, 'm'))
  assert.doesNotMatch(repaired.stdout, /no problems/)
  const after = tool('fsck')
  assert.equal(after.code, 1, after.stdout)
  assert.match(after.stdout, new RegExp(`^problem damaged: ref a: its snapshot ${snapshot} lacks 1 chunk \\(not in the store\\)`, 'm'))
  assert.equal(tool('import', `dir:${join(root, 'a')}`, '--name', 'a', '--replace').code, 0)
  const healed = tool('fsck')
  assert.equal(healed.code, 0, healed.stdout)
  assert.match(healed.stdout, /no problems/)
})

test('tessera gc and fsck load no compression port (what runs, not only what imports)', () => {
  const dir = join(root, 'loads-store')
  const log = join(root, 'modules.log')
  const hooks = new URL('../helpers/module-log.js', import.meta.url).href
  assert.equal(spawnSync(bin, ['--store', dir, 'import', `dir:${join(root, 'a')}`, '--name', 'a']).status, 0)
  for (const command of ['gc', 'fsck']) {
    rmSync(log, { force: true })
    const r = spawnSync(bin, ['--store', dir, command], { encoding: 'utf8', env: { ...process.env, TESSERA_MODULE_LOG: log, NODE_OPTIONS: `--import=${hooks}` } })
    assert.equal(r.status, 0, r.stderr)
    const loaded = readFileSync(log, 'utf8').split('\n').filter((u) => u.includes('/dist/src/'))
    assert.ok(loaded.some((u) => u.endsWith(`/dist/src/maintenance/${command}.js`)), 'the log works')
    assert.ok(loaded.some((u) => u.endsWith('/dist/src/registry/backend/gc-roots.js')), 'the registry root provider is loaded')
    assert.deepEqual(loaded.filter((u) => u.includes('/dist/src/compression/')), [], `${command} loads a compression port`)
  }
})

test('one corrupt snapshot object: snapshots lists the others, marks it, and exits 1', async () => {
  const dir = join(root, 'store-corrupt')
  const runIn = (...args: string[]): { code: number | null, stdout: string, stderr: string } => {
    const r = spawnSync(bin, ['--store', dir, ...args], { encoding: 'utf8' })
    return { code: r.status, stdout: r.stdout, stderr: r.stderr }
  }
  for (const [name, tree] of [['one', 'a'], ['two', 'b'], ['three', 'a']]) {
    assert.equal(runIn('import', `dir:${join(root, tree!)}`, '--name', name!, '--mtime', name === 'three' ? '7' : 'zero').code, 0)
  }
  const before = JSON.parse(runIn('snapshots', '--json').stdout) as Array<{ name: string, snapshot: string, root: string }>
  const victim = before.find((s) => s.name === 'two')!
  // Flip one bit of the stored snapshot object of "two".
  const db = new ClassicLevel<Uint8Array, Uint8Array>(dir, { keyEncoding: 'view', valueEncoding: 'view' })
  const snapshots = db.sublevel<Uint8Array, Uint8Array>('s', { keyEncoding: 'view', valueEncoding: 'view' })
  const key = Buffer.from(victim.snapshot.slice('sha256:'.length), 'hex')
  const value = Uint8Array.from((await snapshots.get(key))!)
  value[value.length - 1]! ^= 0x01
  await snapshots.put(key, value)
  await db.close()

  const text = runIn('snapshots')
  assert.equal(text.code, 1)
  const lines = text.stdout.trimEnd().split('\n')
  assert.deepEqual(lines.map((l) => l.split(/\s+/)[0]), ['one', 'three', 'two'], 'every snapshot is listed')
  assert.match(lines.find((l) => l.startsWith('two '))!, /root unreadable .* ERR_INTEGRITY: /)
  for (const name of ['one', 'three']) assert.match(lines.find((l) => l.startsWith(`${name} `))!, /root sha256:[0-9a-f]{12} /)
  assert.equal(text.stderr, 'tessera: ERR_INTEGRITY: 1 of 3 snapshots cannot be read (two); run tessera fsck\n')

  const json = runIn('snapshots', '--json')
  assert.equal(json.code, 1)
  const rows = JSON.parse(json.stdout) as Array<{ name: string, root?: string, error?: { code: string } }>
  assert.deepEqual(rows.map((r) => [r.name, r.root !== undefined, r.error?.code]), [['one', true, undefined], ['three', true, undefined], ['two', false, 'ERR_INTEGRITY']])
  assert.equal(rows.find((r) => r.name === 'one')!.root, before.find((s) => s.name === 'one')!.root)
  // The others are still read as usual.
  assert.equal(runIn('cat', 'one', 'small.txt').stdout, 'seed 1\n')
})
