/**
 * Golden vectors of docs/FORMAT.md §8. A change to any of these digests is a
 * change of the format: update FORMAT.md and the version with it.
 */
import { test } from 'node:test'
import assert from 'node:assert/strict'
import { mkdtemp, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { EMPTY_TREE } from '../../src/format/tree.js'
import { digestToString } from '../../src/hash/digest.js'
import { openMemoryStore } from '../../src/store/open.js'
import { importDirectory } from '../../src/importer/directory.js'
import { materialize } from '../helpers/fixture.js'
import { g3 } from '../helpers/golden-trees.js'
import { skipUnless } from '../helpers/tools.js'

const hex = (b: Uint8Array): string => Buffer.from(b).toString('hex')

test('G2: the empty tree', () => {
  assert.equal(hex(EMPTY_TREE.bytes), '920190')
  assert.equal(digestToString(EMPTY_TREE.digest), G2_DIGEST)
})

test('G3: a small tree built in memory has pinned encodings and digests', () => {
  const { sub, root, snapshot } = g3()
  assert.equal(digestToString(sub.digest), G3_SUB)
  assert.equal(digestToString(root.digest), G3_ROOT)
  assert.equal(digestToString(snapshot.digest), G3_SNAPSHOT)
  assert.equal(hex(snapshot.bytes), G3_SNAPSHOT_HEX)
})

test('G4: the fixture rootfs imported from disk with mtime zero has a pinned root digest', { skip: skipUnless(['setfattr', 'getfattr'], process.getuid?.() !== 0 && 'needs root (owners, device nodes)') }, async () => {
  const dir = await mkdtemp(join(tmpdir(), 'tessera-golden-'))
  try {
    await materialize(dir)
    const store = await openMemoryStore()
    const r = await importDirectory(store, dir, { name: 'g4', mtime: 'zero' })
    assert.equal(r.root, G4_ROOT)
    assert.equal(r.snapshot, G4_SNAPSHOT)
    await store.close()
  } finally {
    await rm(dir, { recursive: true, force: true })
  }
})

const G2_DIGEST = 'sha256:145ac1e952c63f90b74d5bf7c0e76d1ade71e9f2c9d55a3b4de346e81ba63278'
const G3_SUB = 'sha256:14049e3306f623b78bf726ad57f7dd93ed3a034db9fedb31f944e963b44ab2b1'
const G3_ROOT = 'sha256:2ae0e152228a4d764bede9febab53a4f15b1d53088da45925fbda5834e56d651'
const G3_SNAPSHOT = 'sha256:869056648fab8917f64f42e52b16a6ee9fefc35ae233a3acf229c0404a8beebc'
const G3_SNAPSHOT_HEX = '95020194cd4000ce00010000ce000400004096cd01ed00000090c4202ae0e152228a4d764bede9febab53a4f15b1d53088da45925fbda5834e56d65190'
const G4_ROOT = 'sha256:97b20b2c048125669cce1f0652c1120490938e2120a98834354586c532dc7887'
const G4_SNAPSHOT = 'sha256:c0d1193fbcdc27a76a8b275a93b34a97d6314f0692cafd4dbbc3ae6c0892b41e'
