/**
 * Crash safety: the CLI is killed with SIGKILL at random points during
 * imports and gc (at least CRASH_KILLS times, default 50); after every kill
 * the store must pass fsck and every snapshot committed before it must
 * export identically. Seeded: set TESSERA_CRASH_SEED to replay a run (the
 * seed is printed in every failure message).
 */
import { test } from 'node:test'
import assert from 'node:assert/strict'
import { spawn } from 'node:child_process'
import { mkdtemp, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { openStore } from '../../src/store/open.js'
import { fsck } from '../../src/maintenance/fsck.js'
import { importDirectory } from '../../src/importer/directory.js'
import { openMemoryStore } from '../../src/store/open.js'
import { exportDigest, makeTree } from './helpers.js'
import { type LocalObjectStore } from '../../src/store/index.js'

const bin = fileURLToPath(new URL('../../../bin/tessera', import.meta.url))
const seed = Number(process.env.TESSERA_CRASH_SEED ?? Math.floor(Math.random() * 2 ** 31))
const kills = Number(process.env.CRASH_KILLS ?? 50)

/** mulberry32: a small seeded generator. */
function rng (s: number): () => number {
  let a = s >>> 0
  return () => {
    a = (a + 0x6d2b79f5) >>> 0
    let t = a
    t = Math.imul(t ^ (t >>> 15), t | 1)
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61)
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296
  }
}

interface Outcome { code: number | null, signal: NodeJS.Signals | null, ms: number, stderr: string }

/** Run the CLI; kill it with SIGKILL after `killAfterMs` unless it exits first. */
async function runCli (args: string[], killAfterMs: number): Promise<Outcome> {
  const started = Date.now()
  const child = spawn(process.execPath, [bin, ...args], { stdio: ['ignore', 'ignore', 'pipe'] })
  let stderr = ''
  child.stderr.on('data', (d: Buffer) => { stderr += d.toString() })
  const timer = setTimeout(() => child.kill('SIGKILL'), killAfterMs)
  return await new Promise((resolve) => {
    child.on('close', (code, signal) => { clearTimeout(timer); resolve({ code, signal, ms: Date.now() - started, stderr }) })
  })
}

test(`SIGKILL during imports and gc leaves a consistent store (seed ${seed})`, async (t) => {
  const random = rng(seed)
  const root = await mkdtemp(join(tmpdir(), 'tessera-crash-'))
  t.after(async () => { await rm(root, { recursive: true, force: true }) })
  const store = join(root, 'store')
  const sources = [0, 1, 2].map((i) => join(root, `src${i}`))
  for (const [i, dir] of sources.entries()) await makeTree(dir, 10 + i, 40, 120 * 1024)

  // What each source exports to, from an import into a memory store.
  const expected: string[] = []
  for (const dir of sources) {
    const mem = await openMemoryStore()
    await importDirectory(mem, dir, { name: 'x', mtime: 'zero', xattrs: false })
    expected.push(await exportDigest(mem, 'x'))
    await mem.close()
  }
  const fail = (msg: string): string => `${msg} (TESSERA_CRASH_SEED=${seed})`

  // Calibrate the kill window on one complete import.
  const first = await runCli(['--store', store, 'import', `dir:${sources[0]!}`, '--name', 's0-0', '--mtime', 'zero'], 120_000)
  assert.equal(first.code, 0, fail(first.stderr))
  // Kill windows per command, adapted to how long completed runs took.
  const window = { import: first.ms, gc: first.ms / 2 }
  // Most of the window before the store is opened is node starting up:
  // kill from about when the command starts working.
  const startup = (await runCli(['--store', store, 'snapshots'], 120_000)).ms
  const earliest = startup * 0.8

  let killed = 0
  const killedBy = { import: 0, gc: 0 }
  let completed = 0
  let n = 1
  const committed = new Set<string>(['s0-0'])
  async function check (what: string): Promise<void> {
    let s: LocalObjectStore | undefined
    try {
      s = await openStore(store)
      const report = await fsck(s)
      assert.deepEqual(report.problems, [], fail(`fsck after ${what}`))
      const names: string[] = []
      for await (const [name] of s.listRefs()) names.push(name)
      for (const name of committed) assert.ok(names.includes(name), fail(`${name}, committed before ${what}, is gone`))
      for (const name of names) {
        const source = Number(name.slice(1, name.indexOf('-')))
        assert.equal(await exportDigest(s, name), expected[source], fail(`${name} exports differently after ${what}`))
        committed.add(name)
      }
      // Keep a few names, so that gc has garbage and checks stay quick.
      while (committed.size > 3) {
        const victim = [...committed][Math.floor(random() * committed.size)]!
        await s.deleteRef(victim)
        committed.delete(victim)
      }
    } finally {
      await s?.close()
    }
  }

  while (killed < kills) {
    const gcTurn = random() < 0.3
    const source = Math.floor(random() * sources.length)
    const name = `s${source}-${n++}`
    const args = gcTurn ? ['--store', store, 'gc'] : ['--store', store, 'import', `dir:${sources[source]!}`, '--name', name, '--mtime', 'zero']
    const kind = gcTurn ? 'gc' : 'import'
    const delay = Math.floor(earliest + random() * Math.max(50, window[kind] - earliest))
    const outcome = await runCli(args, delay)
    const what = `${gcTurn ? 'gc' : `import ${name}`} killed at ${delay} ms`
    if (outcome.signal === 'SIGKILL') { killed++; killedBy[kind]++ }
    else {
      assert.equal(outcome.code, 0, fail(`${what}: ${outcome.stderr}`))
      completed++
      window[kind] = (window[kind] + outcome.ms) / 2
      if (!gcTurn) committed.add(name)
    }
    await check(what)
  }
  t.diagnostic(`seed ${seed}: ${killed} kills (${killedBy.import} imports, ${killedBy.gc} gc), ${completed} runs completed, kills from ${Math.round(earliest)} ms`)
})
