import { test } from 'node:test'
import assert from 'node:assert/strict'
import { execFileSync } from 'node:child_process'
import { mkdtemp, mkdir, readFile, rm, writeFile, symlink, access } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { openMemoryStore } from '../../src/store/open.js'
import { importLayerFile, openLayerFile } from '../../src/importer/layer-file.js'
import { importDirectory } from '../../src/importer/directory.js'
import { SnapshotReader } from '../../src/exporter/snapshot-reader.js'
import { exportDirectory } from '../../src/exporter/directory.js'
import { flattenLayers } from '../../src/flatten/flatten.js'
import { DEFAULT_SNAPSHOT_PARAMS } from '../../src/format/snapshot.js'
import { lcgBytes } from '../helpers/fixture.js'
import { requireTool } from '../helpers/tools.js'

const craftScript = fileURLToPath(new URL('../../../test/helpers/craft_tar.py', import.meta.url))
const root = await mkdtemp(join(tmpdir(), 'tessera-layer-'))
test.after(async () => { await rm(root, { recursive: true, force: true }) })
/** craft_tar.py makes the layers. */
const crafting = requireTool('python3')
const expectCode = (code: string) => (err: unknown): boolean => { assert.equal((err as { code?: string }).code, code); return true }

interface Member { name: string, type?: string, data?: string, link?: string, mode?: number, uid?: number, mtime?: number }
let n = 0
function craft (members: Member[]): string {
  const out = join(root, `layer-${n++}.tar`)
  execFileSync('python3', [craftScript, out], { input: JSON.stringify(members) })
  return out
}
async function names (store: Awaited<ReturnType<typeof openMemoryStore>>, ref: string): Promise<string[]> {
  const r = await SnapshotReader.open(store, ref)
  const out: string[] = []
  for await (const { path } of r.walk()) out.push(Buffer.from(path).toString('latin1'))
  return out
}

const base: Member[] = [
  { name: './', type: 'dir' },
  { name: 'etc/', type: 'dir' },
  { name: 'etc/keep', data: 'keep' },
  { name: 'etc/gone', data: 'gone' },
  { name: 'etc/replaced', data: 'old' },
  { name: 'opaque/', type: 'dir' },
  { name: 'opaque/hidden', data: 'hidden' },
  { name: 'bin/', type: 'dir' },
  { name: 'bin/busybox', data: 'busybox', mode: 0o755 }
]
const upper: Member[] = [
  { name: 'etc/.wh.gone' },
  { name: 'etc/replaced', data: 'new' },
  { name: 'opaque/.wh..wh..opq' },
  { name: 'opaque/visible', data: 'visible' },
  { name: 'bin/sh', type: 'hardlink', link: 'bin/busybox' }
]

test('a layer applied with --base gives the flattened tree, whiteouts and all', crafting, async () => {
  const store = await openMemoryStore()
  await importLayerFile(store, craft(base), { name: 'base' })
  await importLayerFile(store, craft(upper), { name: 'top', base: 'base' })
  assert.deepEqual(await names(store, 'top'), ['bin', 'bin/busybox', 'bin/sh', 'etc', 'etc/keep', 'etc/replaced', 'opaque', 'opaque/visible'])
  const r = await SnapshotReader.open(store, 'top')
  const sh = await r.stat('bin/sh')
  assert.equal(sh.kind, 'hardlink')
  const chunks: Uint8Array[] = []
  for await (const c of r.readFile('etc/replaced')) chunks.push(c)
  assert.equal(Buffer.concat(chunks).toString(), 'new')
  // The base is unchanged.
  assert.ok((await names(store, 'base')).includes('etc/gone'))
  await store.close()
})

test('the same rootfs gives the same root from a layer stack and from a directory', crafting, async () => {
  const store = await openMemoryStore()
  await importLayerFile(store, craft(base), { name: 'b', mtime: 'zero' })
  const fromLayers = await importLayerFile(store, craft(upper), { name: 't', base: 'b', mtime: 'zero' })
  const out = join(root, 'flat')
  await exportDirectory(await SnapshotReader.open(store, 't'), out)
  const fromDir = await importDirectory(store, out, { name: 'd', mtime: 'zero' })
  assert.equal(fromDir.root, fromLayers.root)
  await store.close()
})

test('content a later layer deletes or replaces is never stored', crafting, async () => {
  const dir = join(root, 'big')
  await mkdir(dir)
  await writeFile(join(dir, 'doomed'), lcgBytes(4 * 1024 * 1024, 77))
  await writeFile(join(dir, 'kept'), lcgBytes(1024 * 1024, 78))
  const lower = join(root, 'lower.tar')
  execFileSync('tar', ['-C', dir, '-cf', lower, '.'])
  const top = craft([{ name: 'doomed', data: 'small now' }])
  const store = await openMemoryStore({ compressionLevel: 0 })
  const r = await flattenLayers(store, [
    { label: 'lower', open: () => openLayerFile(lower) },
    { label: 'top', open: () => openLayerFile(top) }
  ], { params: DEFAULT_SNAPSHOT_PARAMS })
  assert.equal(r.skippedFiles, 1)
  const stats = await store.stats()
  assert.ok(stats.chunkBytes <= 1024 * 1024, `only the kept file was stored: ${stats.chunkBytes} bytes`)
  await store.close()
})

test('gzip and zstd layers give the same root as the plain tar', requireTool('python3', 'zstd'), async () => {
  const plain = craft(base)
  execFileSync('gzip', ['-k', plain])
  execFileSync('zstd', ['-q', '-k', plain])
  const store = await openMemoryStore()
  const roots = []
  for (const [i, f] of [plain, `${plain}.gz`, `${plain}.zst`].entries()) roots.push((await importLayerFile(store, f, { name: `c${i}` })).root)
  assert.equal(new Set(roots).size, 1)
  await store.close()
})

test('crafted layers: .. is refused, absolute paths stay inside, symlinked parents cannot escape', crafting, async () => {
  const store = await openMemoryStore()
  for (const bad of ['../evil', 'a/../../evil', 'ok/../../..']) {
    await assert.rejects(importLayerFile(store, craft([{ name: bad, data: 'x' }]), { name: 'bad' }), expectCode('ERR_INVALID_PATH'), bad)
  }
  await assert.rejects(importLayerFile(store, craft([{ name: 'x', type: 'hardlink', link: '../../etc/passwd' }]), { name: 'bad' }), expectCode('ERR_INVALID_PATH'))
  assert.equal(await store.getRef('bad'), undefined, 'nothing committed')
  const outside = join(root, 'outside')
  await mkdir(outside)
  const layered = craft([
    { name: '/abs/file', data: 'abs' },
    { name: 'escape', type: 'symlink', link: outside },
    { name: 'up', type: 'symlink', link: '../../../../..' + outside },
    { name: 'escape/pwned', data: 'x' },
    { name: 'up/pwned2', data: 'x' }
  ])
  await importLayerFile(store, layered, { name: 'contained' })
  const all = await names(store, 'contained')
  assert.ok(all.includes('abs/file'))
  assert.ok(all.some((p) => p.endsWith('/pwned')), 'the write through the symlink landed inside the rootfs')
  const target = join(root, 'export-contained')
  await exportDirectory(await SnapshotReader.open(store, 'contained'), target)
  await assert.rejects(access(join(outside, 'pwned')))
  await assert.rejects(access(join(outside, 'pwned2')))
  assert.equal(await readFile(join(target, 'abs', 'file'), 'utf8'), 'abs')
  await symlink('x', join(root, 'unused-link')).catch(() => {})
  await store.close()
})

test('truncated and corrupt layers fail with stable codes and commit nothing', crafting, async () => {
  const store = await openMemoryStore()
  const good = await readFile(craft(base))
  const truncated = join(root, 'truncated.tar')
  await writeFile(truncated, good.subarray(0, 512 + 100))
  await assert.rejects(importLayerFile(store, truncated, { name: 'x' }), expectCode('ERR_TAR_TRUNCATED'))
  const corrupt = join(root, 'corrupt.tar')
  const bad = Buffer.from(good)
  bad[10] = bad[10]! ^ 0x40
  await writeFile(corrupt, bad)
  await assert.rejects(importLayerFile(store, corrupt, { name: 'x' }), (err: unknown) => /^ERR_TAR_/.test(String((err as { code?: string }).code)))
  const gz = join(root, 'corrupt.tar.gz')
  await writeFile(gz, Buffer.concat([Buffer.from([0x1f, 0x8b, 8, 0]), Buffer.alloc(50, 7)]))
  await assert.rejects(importLayerFile(store, gz, { name: 'x' }), (err: unknown) => /^ERR_/.test(String((err as { code?: string }).code)))
  await assert.rejects(importLayerFile(store, join(root, 'missing.tar'), { name: 'x' }), expectCode('ERR_UNREADABLE_SOURCE'))
  await assert.rejects(importLayerFile(store, craft(upper), { name: 'x', base: 'nope' }), expectCode('ERR_NOT_FOUND'))
  assert.equal(await store.getRef('x'), undefined)
  await store.close()
})
