/** gzip and zstd layers: recreated when a pinned implementation made them, whole (and a layer) otherwise. */
import assert from 'node:assert/strict'
import { execFileSync } from 'node:child_process'
import { mkdir, readFile, writeFile } from 'node:fs/promises'
import { join } from 'node:path'
import { gzipSync } from 'node:zlib'
import { createRequire } from 'node:module'
import { after, before, describe, test } from 'node:test'
import { lcgBytes } from '../../helpers/fixture.js'
import { decodeRecipe } from '../../../src/registry/recipe/index.js'
import { parseGzipHeader } from '../../../src/compression/gzip.js'
import { assertReproduced, decomposeBytes, memoryStore, tempDir } from './helpers.js'
import { missingTools, requireTool } from '../../helpers/tools.js'

const require = createRequire(import.meta.url)
let dir: string
let cleanup: () => Promise<void>
let tar: Buffer
let tarFile: string

before(async () => {
  ({ dir, cleanup } = await tempDir())
  const tree = join(dir, 'tree')
  await mkdir(tree)
  // compressible and incompressible content
  await writeFile(join(tree, 'random.bin'), lcgBytes(300_000, 5))
  await writeFile(join(tree, 'text.txt'), Array.from({ length: 20000 }, (_, i) => `line ${i} of a text file ${i % 17}\n`).join(''))
  await writeFile(join(tree, 'small'), 'tiny')
  if (missingTools('tar') !== false) return // every test here skips, naming it
  tar = execFileSync('tar', ['-C', tree, '--format=pax', '-cf', '-', '.'], { maxBuffer: 1 << 26 })
  tarFile = join(dir, 'layer.tar')
  await writeFile(tarFile, tar)
})
after(async () => { await cleanup() })

const python = (code: string, ...args: string[]): void => { execFileSync('python3', ['-c', code, ...args]) }

// Every test here takes the layer GNU tar made above.
describe('gzip layers', requireTool('tar'), () => {
  test('Python gzip at levels 1, 6, 9 and tarfile w:gz are recreated (pako@2.1.0)', requireTool('python3'), async () => {
    const { store } = await memoryStore()
    for (const level of [1, 6, 9]) {
      const out = join(dir, `py${level}.tar.gz`)
      python('import gzip,sys,shutil\nwith open(sys.argv[1],"rb") as f, gzip.GzipFile(sys.argv[2],"wb",compresslevel=int(sys.argv[3]),mtime=0) as g: shutil.copyfileobj(f,g)', tarFile, out, String(level))
      const recipe = await assertReproduced(dir, await readFile(out), store, 'tar+gzip')
      const c = decodeRecipe(recipe).compression
      assert.deepEqual(c.kind === 'gzip' ? [c.deflate.implementation, c.deflate.level] : undefined, ['pako@2.1.0', level])
    }
    const out = join(dir, 'tarfile.tar.gz')
    python('import tarfile,sys\nwith tarfile.open(sys.argv[2],"w:gz") as t: t.add(sys.argv[1], arcname="layer.tar")', tarFile, out)
    const recipe = await assertReproduced(dir, await readFile(out), store, 'tar+gzip')
    const c = decodeRecipe(recipe).compression
    assert.ok(c.kind === 'gzip' && parseGzipHeader(c.header)?.name !== undefined, 'the FNAME header field is kept')
    await store.close()
  })

  test('node:zlib gzip is recreated with pako@3.0.3, never with node:zlib', async () => {
    const { store } = await memoryStore()
    for (const level of [1, 6, 9]) {
      const recipe = await assertReproduced(dir, gzipSync(tar, { level }), store, 'tar+gzip')
      const c = decodeRecipe(recipe).compression
      assert.ok(c.kind === 'gzip' && c.deflate.implementation.startsWith('pako@'))
    }
    await store.close()
  })

  test('GNU gzip and tar czf are whole layers with a reason', requireTool('gzip'), async () => {
    const { store } = await memoryStore()
    for (const bytes of [execFileSync('gzip', ['-n', '-c', tarFile], { maxBuffer: 1 << 26 }), execFileSync('gzip', ['-9', '-c', tarFile], { maxBuffer: 1 << 26 }), execFileSync('tar', ['-C', dir, '-czf', '-', 'layer.tar'], { maxBuffer: 1 << 26 })]) {
      const r = await decomposeBytes(dir, bytes, store)
      assert.equal(r.kind, 'whole')
      if (r.kind === 'whole') { assert.equal(r.isLayer, true); assert.match(r.reason, /gzip/) }
    }
    await store.close()
  })

  test('gzip that holds no tar, two members, trailing bytes, corrupt data: whole, no exception', async () => {
    const { store } = await memoryStore()
    const cases: Array<[Buffer, boolean]> = [
      [gzipSync(Buffer.from('{"not":"a tar"}')), false],
      [Buffer.concat([gzipSync(tar), gzipSync(tar)]), true],
      [Buffer.concat([gzipSync(tar), Buffer.from('junk')]), true],
      [Buffer.from([0x1f, 0x8b, 8, 0xe0, 0, 0, 0, 0, 0, 3, 1, 2, 3]), false]
    ]
    const corrupt = gzipSync(tar); corrupt[corrupt.length - 100] = corrupt[corrupt.length - 100]! ^ 0x55
    cases.push([corrupt, true])
    for (const [bytes, isLayer] of cases) {
      const r = await decomposeBytes(dir, bytes, store)
      assert.equal(r.kind, 'whole')
      if (r.kind === 'whole') assert.equal(r.isLayer, isLayer, r.reason)
    }
    await store.close()
  })
})

describe('zstd layers', requireTool('tar'), () => {
  test('zstd-codec streaming output is recreated; the zstd command\'s is whole', requireTool('zstd'), async () => {
    const { store } = await memoryStore()
    const { ZstdCodec } = require('zstd-codec') as { ZstdCodec: { run (f: (z: any) => void): void } }
    const made = await new Promise<Uint8Array>((resolve) => ZstdCodec.run((z) => resolve(new z.Streaming().compress(tar, 5))))
    const recipe = await assertReproduced(dir, made, store, 'tar+zstd')
    assert.deepEqual(decodeRecipe(recipe).compression, { kind: 'zstd', implementation: 'zstd-codec@0.1.5', level: 5 })
    for (const args of [['-q', '-c'], ['-q', '-c', '--no-check', '-19']]) {
      const r = await decomposeBytes(dir, execFileSync('zstd', [...args, tarFile], { maxBuffer: 1 << 26 }), store)
      assert.equal(r.kind, 'whole')
      if (r.kind === 'whole') assert.equal(r.isLayer, true, r.reason)
    }
    await store.close()
  })
})
