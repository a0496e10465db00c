import { test } from 'node:test'
import assert from 'node:assert/strict'
import { execFileSync } from 'node:child_process'
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import fc from 'fast-check'
import { openMemoryStore } from '../../src/store/open.js'
import { importDirectory } from '../../src/importer/directory.js'
import { exportDirectory, utimesSeconds } from '../../src/exporter/directory.js'
import { SnapshotReader } from '../../src/exporter/snapshot-reader.js'
import { describeTree } from '../helpers/describe-tree.js'
import { requireTool } from '../helpers/tools.js'

const root = await mkdtemp(join(tmpdir(), 'tessera-mtime-'))
test.after(async () => { await rm(root, { recursive: true, force: true }) })

test('utimesSeconds aims at the middle of the microsecond that libuv truncates to', () => {
  fc.assert(fc.property(fc.bigInt({ min: 0n, max: 4_000_000_000n * 1_000_000_000n }), (ns) => {
    const t = utimesSeconds(ns)
    // libuv: tv_sec = trunc(t); tv_nsec = (t - tv_sec) * 1e9, then truncated to whole microseconds.
    const sec = Math.trunc(t)
    const usec = Math.trunc(Math.trunc((t - sec) * 1e9) / 1000)
    assert.equal(BigInt(sec) * 1_000_000n + BigInt(usec), ns / 1000n)
  }), { numRuns: 2000 })
})

test('mtimes with sub-second parts come back to the microsecond', requireTool('python3'), async () => {
  const src = join(root, 'src')
  await mkdir(join(src, 'd'), { recursive: true })
  const stamps: Array<[string, bigint]> = []
  for (let i = 0; i < 40; i++) {
    const p = join(src, 'd', `f${i}`)
    await writeFile(p, `file ${i}`)
    stamps.push([p, 1_795_435_682_000_000_000n + BigInt(i) * 123_456_789n + 999n])
  }
  stamps.push([join(src, 'd'), 1_700_000_000_999_999_999n])
  // Set exact nanosecond mtimes with Python (node's utimes cannot).
  execFileSync('python3', ['-c', 'import os,sys,json\nfor p,ns in json.load(sys.stdin): os.utime(p, ns=(ns, ns))'], { input: JSON.stringify(stamps.map(([p, ns]) => [p, Number(ns / 1000n) * 1000 + Number(ns % 1000n)])) })
  const store = await openMemoryStore()
  await importDirectory(store, src, { name: 'm' })
  const out = join(root, 'out')
  await exportDirectory(await SnapshotReader.open(store, 'm'), out)
  assert.deepEqual(describeTree(out, { root: false }), describeTree(src, { root: false }))
  await store.close()
})
