/** Plain tar layers: round trips of archives made by GNU tar and Python, malformed tars, dedup, importer chunks. */
import assert from 'node:assert/strict'
import { execFileSync } from 'node:child_process'
import { link, mkdir, readFile, symlink, writeFile } from 'node:fs/promises'
import { join } from 'node:path'
import { after, before, describe, test } from 'node:test'
import { lcgBytes } from '../../helpers/fixture.js'
import { DEFAULT_SNAPSHOT_PARAMS } from '../../../src/format/snapshot.js'
import { storeContent } from '../../../src/content/file-content.js'
import { decodeRecipe, recipeChunks, rebuildLayer } from '../../../src/registry/recipe/index.js'
import { assertReproduced, collect, decomposeBytes, memoryStore, tempDir } from './helpers.js'
import { requireTool } from '../../helpers/tools.js'

let dir: string
let cleanup: () => Promise<void>
let tree: string
const big = lcgBytes(700_000, 7)

before(async () => {
  ({ dir, cleanup } = await tempDir())
  tree = join(dir, 'tree')
  const deep = join(tree, 'a-directory-with-a-rather-long-name', 'and-another-one-with-an-even-longer-name-to-pass-100-bytes', 'x'.repeat(60))
  await mkdir(deep, { recursive: true })
  await writeFile(join(tree, 'big.bin'), big)
  await writeFile(join(tree, 'small.txt'), 'hello\n')
  await writeFile(join(tree, 'empty'), '')
  await writeFile(join(deep, 'file-with-a-long-path.bin'), lcgBytes(90_000, 3))
  await writeFile(join(tree, 'n\u00e9-\u00fcnicode.txt'), 'x'.repeat(100))
  await symlink('big.bin', join(tree, 'link-to-big'))
  await symlink('y'.repeat(150), join(tree, 'long-symlink'))
  await link(join(tree, 'big.bin'), join(tree, 'hardlink-to-big'))
  // a sparse file: 4 MiB with data at two places
  execFileSync('sh', ['-c', `truncate -s 4M ${tree}/sparse && printf 'data-at-start' | dd of=${tree}/sparse conv=notrunc 2>/dev/null && head -c 200000 ${join(tree, 'big.bin')} | dd of=${tree}/sparse bs=1 seek=3000000 conv=notrunc 2>/dev/null`])
})
after(async () => { await cleanup() })

const gnuTar = (...args: string[]): Buffer => execFileSync('tar', ['-C', tree, '--sort=name', '--owner=0', '--group=0', '--numeric-owner', ...args, '-cf', '-', '.'], { maxBuffer: 1 << 28 })

describe('plain tar layers', () => {
  for (const [name, args] of [
    ['GNU format', ['--format=gnu']],
    ['PAX format', ['--format=pax']],
    ['GNU format, sparse', ['--format=gnu', '--sparse']],
    ['PAX format, sparse', ['--format=pax', '--sparse']],
    ['PAX format with xattrs and mtimes', ['--format=pax', '--xattrs', '--pax-option=mtime:=1.5']]
  ] as const) {
    test(`GNU tar, ${name}: rebuilt bit for bit, ranges too`, requireTool('tar'), async () => {
      const { store } = await memoryStore()
      const tar = gnuTar(...args)
      const recipe = await assertReproduced(dir, tar, store, 'tar')
      const r = decodeRecipe(recipe)
      assert.equal(r.tarSize, tar.length)
      assert.ok(r.meta.length < tar.length / 2, 'file contents are not in the meta stream')
      await store.close()
    })
  }

  test('Python tarfile (GNU, PAX, ustar formats) round trips', requireTool('python3'), async () => {
    const { store } = await memoryStore()
    for (const fmt of ['GNU_FORMAT', 'PAX_FORMAT', 'USTAR_FORMAT']) {
      const out = join(dir, `py-${fmt}.tar`)
      execFileSync('python3', ['-c', `
import tarfile, sys
with tarfile.open(sys.argv[1], 'w', format=tarfile.${fmt}) as t:
    for n in ['big.bin', 'small.txt', 'empty', 'link-to-big']:
        t.add(sys.argv[2] + '/' + n, arcname=n)
`, out, tree])
      await assertReproduced(dir, await readFile(out), store, 'tar')
    }
    await store.close()
  })

  test('trailing junk, extra zero blocks and a truncated tar are kept byte for byte', requireTool('tar'), async () => {
    const { store } = await memoryStore()
    const tar = gnuTar('--format=pax')
    await assertReproduced(dir, Buffer.concat([tar, Buffer.alloc(8192)]), store, 'tar')
    await assertReproduced(dir, Buffer.concat([tar, lcgBytes(3333, 9)]), store, 'tar')
    await assertReproduced(dir, tar.subarray(0, 1024 + 300_001), store, 'tar')
    await assertReproduced(dir, tar.subarray(0, 700), store, 'tar')
    // a header with a bad checksum in the middle: the rest is meta
    const broken = Buffer.from(tar)
    broken[512 * 3 + 100] = broken[512 * 3 + 100]! ^ 0xff
    await assertReproduced(dir, broken, store, 'tar')
    await store.close()
  })

  test('not a tar is whole and not a layer; no exception', async () => {
    const { store } = await memoryStore()
    for (const bytes of [Buffer.from('{"architecture":"amd64"}'), Buffer.alloc(0), lcgBytes(5000, 1), Buffer.from('x'.repeat(511))]) {
      const r = await decomposeBytes(dir, bytes, store)
      assert.deepEqual(r.kind === 'whole' ? r.isLayer : undefined, false)
    }
    await store.close()
  })

  test('content chunks are those tessera import stores for the same file', requireTool('tar'), async () => {
    const { store } = await memoryStore()
    const recipe = await assertReproduced(dir, gnuTar('--format=pax'), store, 'tar')
    const listed = new Set<string>()
    for await (const d of recipeChunks(recipe, store)) listed.add(Buffer.from(d).toString('hex'))
    const { store: other } = await memoryStore()
    const imported = await storeContent([big], { store: other, params: DEFAULT_SNAPSHOT_PARAMS })
    assert.ok(Array.isArray(imported.content) && imported.content.length > 2)
    for (const c of imported.content as Array<{ digest: Uint8Array }>) assert.ok(listed.has(Buffer.from(c.digest).toString('hex')), 'importer chunk in the recipe')
    // every listed chunk is in the store
    for (const hex of listed) await store.getChunk(Buffer.from(hex, 'hex'))
    await store.close()
    await other.close()
  })

  test('two layers sharing a file share its chunks', requireTool('tar'), async () => {
    const { store } = await memoryStore()
    const a = join(dir, 'layer-a'); const b = join(dir, 'layer-b')
    await mkdir(a); await mkdir(b)
    await writeFile(join(a, 'shared.bin'), big)
    await writeFile(join(a, 'only-a.bin'), lcgBytes(400_000, 11))
    await writeFile(join(b, 'renamed-shared.bin'), big)
    await writeFile(join(b, 'only-b.bin'), lcgBytes(400_000, 12))
    const tarA = execFileSync('tar', ['-C', a, '-cf', '-', '.'], { maxBuffer: 1 << 26 })
    const tarB = execFileSync('tar', ['-C', b, '-cf', '-', '.'], { maxBuffer: 1 << 26 })
    await assertReproduced(dir, tarA, store, 'tar')
    const afterA = (await store.stats()).chunkBytes
    await assertReproduced(dir, tarB, store, 'tar')
    const addedByB = (await store.stats()).chunkBytes - afterA
    assert.ok(addedByB < 400_000 + 64 * 1024, `layer B added ${addedByB} chunk bytes, its unique file is 400000`)
    assert.ok(afterA >= big.length + 400_000)
    await store.close()
  })

  test('a corrupted chunk fails the rebuild with ERR_INTEGRITY', requireTool('tar'), async () => {
    const { store, db } = await memoryStore()
    const tar = gnuTar('--format=gnu')
    const r = await decomposeBytes(dir, tar, store)
    assert.equal(r.kind, 'reproduced')
    if (r.kind !== 'reproduced') return
    await store.flush()
    const chunks = db.sublevel<Uint8Array, Uint8Array>('c', { keyEncoding: 'view', valueEncoding: 'view' })
    let n = 0
    for await (const [key, value] of chunks.iterator()) {
      const flipped = new Uint8Array(value); flipped[flipped.length - 1] = flipped[flipped.length - 1]! ^ 1
      if (n++ % 2 === 0) await chunks.put(key, flipped)
    }
    await assert.rejects(collect(rebuildLayer(r.recipe, store)), (err: any) => err.code === 'ERR_INTEGRITY')
    await store.close()
  })
})
