/**
 * The layer spool (src/distribution/layer-spool.ts): a layer's second read
 * comes from the spool, verified; a first read that stops part way or fails
 * keeps nothing; close removes the directory.
 */
import { test } from 'node:test'
import assert from 'node:assert/strict'
import { createHash } from 'node:crypto'
import { mkdtemp, readdir, rm, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { LayerSpool } from '../../src/distribution/layer-spool.js'
import { verifiedStream } from '../../src/oci/blob.js'
import type { Digest } from '../../src/hash/digest.js'
import type { LayerSource } from '../../src/oci/types.js'

const BYTES = Buffer.from(Array.from({ length: 300_000 }, (_, i) => (i * 7919) % 251))
const DESCRIPTOR = { mediaType: 'application/vnd.oci.image.layer.v1.tar', digest: `sha256:${createHash('sha256').update(BYTES).digest('hex')}` as Digest, size: BYTES.length }

/** A source that counts its opens and serves BYTES in 64 KiB pieces, verified like the registry client. */
function source (): LayerSource & { opens: number } {
  const s = {
    opens: 0,
    descriptor: DESCRIPTOR,
    open () {
      s.opens++
      const pieces = function * (): Generator<Uint8Array> { for (let at = 0; at < BYTES.length; at += 65536) yield BYTES.subarray(at, at + 65536) }
      return verifiedStream(pieces(), DESCRIPTOR, 'layer')
    }
  }
  return s
}

async function readAll (it: AsyncIterable<Uint8Array>): Promise<Buffer> {
  const parts: Uint8Array[] = []
  for await (const c of it) parts.push(c)
  return Buffer.concat(parts)
}

async function spoolFiles (parent: string): Promise<string[]> {
  const dirs = await readdir(parent)
  return (await Promise.all(dirs.map(async (d) => (await readdir(join(parent, d))).map((f) => join(parent, d, f))))).flat()
}

test('the second read of a layer comes from the spool, and close removes it', async (t) => {
  const parent = await mkdtemp(join(tmpdir(), 'tessera-spool-'))
  t.after(async () => await rm(parent, { recursive: true, force: true }))
  const spool = new LayerSpool(parent)
  const src = source()
  const layer = spool.wrap(src)
  assert.ok((await readAll(layer.open())).equals(BYTES))
  assert.ok((await readAll(layer.open())).equals(BYTES))
  assert.equal(src.opens, 1)
  assert.equal((await spoolFiles(parent)).length, 1)
  await spool.close()
  assert.deepEqual(await readdir(parent), [])
})

test('a first read abandoned part way keeps nothing: the next read goes to the source', async (t) => {
  const parent = await mkdtemp(join(tmpdir(), 'tessera-spool-'))
  t.after(async () => await rm(parent, { recursive: true, force: true }))
  const spool = new LayerSpool(parent)
  const src = source()
  const layer = spool.wrap(src)
  for await (const _ of layer.open()) break
  assert.deepEqual(await spoolFiles(parent), [])
  assert.ok((await readAll(layer.open())).equals(BYTES))
  assert.equal(src.opens, 2)
  await spool.close()
})

test('a spooled layer changed on disk fails its digest check on the second read', async (t) => {
  const parent = await mkdtemp(join(tmpdir(), 'tessera-spool-'))
  t.after(async () => await rm(parent, { recursive: true, force: true }))
  const spool = new LayerSpool(parent)
  const layer = spool.wrap(source())
  await readAll(layer.open())
  const [file] = await spoolFiles(parent)
  const tampered = Buffer.from(BYTES)
  tampered[1000] = tampered[1000]! ^ 1
  await writeFile(file!, tampered)
  await assert.rejects(readAll(layer.open()), { code: 'ERR_OCI_BLOB_MISMATCH' })
  await spool.close()
  await assert.rejects(readAll(layer.open()), /after its image was closed/)
})
