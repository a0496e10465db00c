/**
 * `import tar:` against archives other tools wrote: the limits of image
 * imports, times the tree cannot hold (issue 15: a PAX mtime in 2286, one
 * in 1901), and the tar dialect as an explicit choice, through the API and
 * the CLI.
 */
import { test } from 'node:test'
import assert from 'node:assert/strict'
import { spawnSync } from 'node:child_process'
import { mkdtemp, rm, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { openMemoryStore } from '../../src/store/open.js'
import { importLayerFile } from '../../src/importer/layer-file.js'
import { SnapshotReader } from '../../src/exporter/snapshot-reader.js'
import { DEFAULT_LAYER_LIMITS } from '../../src/flatten/limits.js'
import { DEFAULT_IMAGE_LIMITS } from '../../src/oci/import.js'
import { encodePaxHeader, encodePaxRecords, encodeUstarHeader } from '../../src/tar/index.js'

const root = await mkdtemp(join(tmpdir(), 'tessera-layer-limits-'))
test.after(async () => { await rm(root, { recursive: true, force: true }) })
const bin = fileURLToPath(new URL('../../../bin/tessera', import.meta.url))
const code = (c: string) => (err: unknown): boolean => { assert.equal((err as { code?: string }).code, c); return true }

const EMPTY = new Uint8Array(0)
const header = (name: string, size = 0, typeflag = '0', mtime = 1_000_000_000): Uint8Array => encodeUstarHeader({
  name: Buffer.from(name), prefix: EMPTY, mode: 0o644, uid: 0, gid: 0, size, mtime, typeflag, linkname: EMPTY, uname: EMPTY, gname: EMPTY, devmajor: 0, devminor: 0
})
const pax = (records: Array<[string, string]>, global = false): Uint8Array => {
  const h = Buffer.from(encodePaxHeader(Buffer.from('x'), encodePaxRecords(records)))
  if (global) {
    h[156] = 0x67
    h.fill(0x20, 148, 156)
    let sum = 0
    for (let i = 0; i < 512; i++) sum += h[i]!
    h.write(`${sum.toString(8).padStart(6, '0')}\0 `, 148, 'latin1')
  }
  return h
}
let n = 0
async function layer (...parts: Uint8Array[]): Promise<string> {
  const file = join(root, `l${n++}.tar`)
  await writeFile(file, Buffer.concat([...parts, Buffer.alloc(1024)]))
  return file
}

test('import tar: has the limits of image imports by default', async () => {
  assert.deepEqual(DEFAULT_IMAGE_LIMITS, DEFAULT_LAYER_LIMITS)
  assert.equal(DEFAULT_LAYER_LIMITS.maxEntryBytes, 64 * 2 ** 30)
  const store = await openMemoryStore()
  // a sparse entry declaring 2^40 bytes: refused from its header, nothing stored
  const bomb = await layer(pax([['GNU.sparse.major', '1'], ['GNU.sparse.minor', '0'], ['GNU.sparse.name', 'big'], ['GNU.sparse.realsize', String(2 ** 40)], ['size', '1024']]),
    header('GNUSparseFile.0/big'), Buffer.concat([Buffer.from('1\n0\n1\n'), Buffer.alloc(506), Buffer.from('x'), Buffer.alloc(511)]))
  await assert.rejects(importLayerFile(store, bomb, { name: 'bomb' }), code('ERR_TAR_ENTRY_TOO_LARGE'))
  assert.equal(await store.getRef('bomb'), undefined)
  // each limit can be set
  const small = await layer(header('f', 5), Buffer.alloc(512, 0x61))
  await assert.rejects(importLayerFile(store, small, { name: 's', limits: { maxEntryBytes: 4 } }), code('ERR_TAR_ENTRY_TOO_LARGE'))
  await assert.rejects(importLayerFile(store, small, { name: 's', limits: { maxLayerBytes: 1000 } }), code('ERR_DECOMPRESSION_LIMIT'))
  await assert.rejects(importLayerFile(store, await layer(header('a'), header('b')), { name: 's', limits: { maxEntries: 1 } }), code('ERR_LIMIT_EXCEEDED'))
  await importLayerFile(store, small, { name: 's' })
  await store.close()
})

test('a PAX mtime in 2286 is ERR_MTIME_OUT_OF_RANGE (an mtime policy imports it); one in 1901 is stored', async () => {
  const store = await openMemoryStore()
  const future = await layer(pax([['mtime', '10000000000']]), header('future'))
  await assert.rejects(importLayerFile(store, future, { name: 'f' }), (err: unknown) => {
    assert.equal((err as { code?: string }).code, 'ERR_MTIME_OUT_OF_RANGE')
    assert.match((err as Error).message, /future.*--mtime/)
    return true
  })
  assert.equal(await store.getRef('f'), undefined)
  await importLayerFile(store, future, { name: 'f', mtime: 'zero' })
  const old = await layer(pax([['mtime', '-2146608000']]), header('old'))
  await importLayerFile(store, old, { name: 'o' })
  const e = await (await SnapshotReader.open(store, 'o')).stat('old')
  assert.equal(e.kind !== 'hardlink' ? e.mtimeNs : 0n, -2_146_608_000_000_000_000n)
  await store.close()
})

test('PAX global headers: ignored by default as the runtimes ignore them, applied with dialect gnu (--tar-dialect gnu)', async () => {
  const file = await layer(pax([['uid', '4242'], ['mtime', '1500000000']], true), header('a', 0, '0', 0))
  const store = await openMemoryStore()
  await importLayerFile(store, file, { name: 'go' })
  await importLayerFile(store, file, { name: 'gnu', dialect: 'gnu' })
  const attrs = async (name: string): Promise<[number, bigint]> => {
    const e = await (await SnapshotReader.open(store, name)).stat('a')
    return e.kind === 'hardlink' ? [0, 0n] : [e.uid, e.mtimeNs]
  }
  assert.deepEqual(await attrs('go'), [0, 0n])
  assert.deepEqual(await attrs('gnu'), [4242, 1_500_000_000_000_000_000n])
  await store.close()
  // the CLI: --tar-dialect for tar: only, go or gnu
  const dir = await mkdtemp(join(root, 'cli-'))
  const cli = (...args: string[]): { status: number | null, stderr: string } => {
    const r = spawnSync(bin, ['--store', join(dir, 'store'), ...args], { encoding: 'utf8' })
    return { status: r.status, stderr: r.stderr }
  }
  assert.equal(cli('import', `tar:${file}`, '--name', 'g', '--tar-dialect', 'gnu').status, 0)
  const bad = cli('import', `tar:${file}`, '--name', 'h', '--tar-dialect', 'bsd')
  assert.notEqual(bad.status, 0)
  assert.match(bad.stderr, /ERR_INVALID_ARGUMENT.*go or gnu|go or gnu/)
  assert.notEqual(cli('import', `dir:${root}`, '--name', 'd', '--tar-dialect', 'gnu').status, 0)
})
