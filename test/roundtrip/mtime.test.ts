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

test('utimesSeconds aims at the middle of the microsecond that libuv truncates to, before 1970 too', () => {
  const floorDiv = (a: bigint, b: bigint): bigint => (a % b < 0n ? a / b - 1n : a / b)
  fc.assert(fc.property(fc.bigInt({ min: -4_000_000_000n * 1_000_000_000n, max: 4_000_000_000n * 1_000_000_000n }), (ns) => {
    const t = utimesSeconds(ns)
    // libuv (uv__fs_to_timespec): tv_sec = trunc(t); tv_nsec = (t - tv_sec) * 1e9 truncated to
    // whole microseconds toward zero; a negative tv_nsec borrows a second.
    let sec = Math.trunc(t)
    let nsec = Math.trunc((t - sec) * 1e9)
    nsec -= nsec % 1000
    if (nsec < 0) { nsec += 1e9; sec -= 1 }
    assert.equal(BigInt(sec) * 1_000_000n + BigInt(nsec / 1000), floorDiv(ns, 1000n))
  }), { numRuns: 4000 })
})

test('mtimes before 1970 (1901, 1969) are restored by export dir:, not replaced by the time of the export', requireTool('python3'), async () => {
  const src = join(root, 'old')
  await mkdir(join(src, 'd'), { recursive: true })
  await writeFile(join(src, 'd', 'plain'), 'plain')
  await writeFile(join(src, 'd', 'with-xattr'), 'x') // set in the last phase, by path
  execFileSync('ln', ['-s', 'plain', join(src, 'd', 'link')])
  const stamps: Array<[string, number]> = [
    [join(src, 'd', 'plain'), -2_146_608_000], // 1901-12-25, the file
    [join(src, 'd', 'with-xattr'), -1],
    [join(src, 'd', 'link'), -86_400],
    [join(src, 'd'), -1_500_000]
  ]
  execFileSync('python3', ['-c', 'import os,sys,json\nfor p,s in json.load(sys.stdin): os.utime(p, ns=(s*10**9+123456000, s*10**9+123456000), follow_symlinks=False)'], { input: JSON.stringify(stamps) })
  try { execFileSync('setfattr', ['-n', 'user.k', '-v', 'v', join(src, 'd', 'with-xattr')]) } catch { /* without attr the file takes the same path as the others */ }
  const store = await openMemoryStore()
  await importDirectory(store, src, { name: 'old' })
  const out = join(root, 'old-out')
  await exportDirectory(await SnapshotReader.open(store, 'old'), out)
  const got = describeTree(out, { root: false })
  assert.deepEqual(got, describeTree(src, { root: false }))
  assert.ok(JSON.stringify(got).includes('-2146607999876544'), 'the 1901 time, to the microsecond')
  await store.close()
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
