import { test } from 'node:test'
import assert from 'node:assert/strict'
import { mkdtemp, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { execFile } from 'node:child_process'
import { promisify } from 'node:util'
import { fileURLToPath } from 'node:url'
import { ClassicLevel } from 'classic-level'
import { storeConformance } from './conformance.js'
import { LOCAL_STORE_SUPPORTS, levelStoreHarness } from './level-harness.js'
import { openStore } from '../../src/store/open.js'
import { sha256 } from '../../src/hash/index.js'

const dirs: string[] = []
test.after(async () => { for (const d of dirs) await rm(d, { recursive: true, force: true }) })
const tempDir = async (): Promise<string> => { const d = await mkdtemp(join(tmpdir(), 'tessera-store-')); dirs.push(d); return d }

storeConformance('classic-level', levelStoreHarness(async () => new ClassicLevel<Uint8Array, Uint8Array>(await tempDir(), { keyEncoding: 'view', valueEncoding: 'view' }) as any), LOCAL_STORE_SUPPORTS)

test('classic-level: contents and counters survive closing and reopening', async () => {
  const dir = await tempDir()
  const bytes = new Uint8Array(Buffer.from('persist me'))
  let store = await openStore(dir)
  await store.putChunk(sha256.digest(bytes), bytes)
  await store.close()
  store = await openStore(dir)
  assert.ok(Buffer.from(await store.getChunk(sha256.digest(bytes))).equals(bytes))
  assert.equal((await store.stats()).chunks, 1)
  await store.close()
})

test('classic-level: a store held by another process gives ERR_STORE_LOCKED', async () => {
  const dir = await tempDir()
  const store = await openStore(dir)
  try {
    const openModule = fileURLToPath(new URL('../../src/store/open.js', import.meta.url))
    const script = `import(${JSON.stringify(openModule)}).then(m => m.openStore(${JSON.stringify(dir)})).then(() => console.log('opened'), e => console.log(e.code))`
    const { stdout } = await promisify(execFile)(process.execPath, ['-e', script])
    assert.equal(stdout.trim(), 'ERR_STORE_LOCKED')
  } finally {
    await store.close()
  }
})
