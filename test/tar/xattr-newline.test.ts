/** Regression: an xattr name with a newline (Linux allows it) must survive tar export. */
import { test } from 'node:test'
import assert from 'node:assert/strict'
import { execFileSync } from 'node:child_process'
import { mkdtemp, rm, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { writeTar } from '../../src/tar/writer.js'
import { readTar } from '../../src/tar/reader.js'
import { requireTool } from '../helpers/tools.js'

const B = (s: string): Uint8Array => new Uint8Array(Buffer.from(s))

test('an xattr name containing a newline is written, read back, and extracted by GNU tar', requireTool('getfattr'), async () => {
  const name = B('user.a\nb')
  const value = new Uint8Array([1, 255])
  const parts: Uint8Array[] = []
  for await (const p of writeTar([{ path: B('f'), type: 'file', mode: 0o644, uid: 0, gid: 0, mtimeNs: 0n, size: 2, content: B('hi'), xattrs: [[name, value]] }])) parts.push(p)
  const tar = Buffer.concat(parts)
  const entries = []
  for await (const e of readTar([tar])) entries.push(e)
  assert.equal(entries.length, 1)
  assert.deepEqual(entries[0]!.xattrs.map(([k, v]) => [Buffer.from(k).toString(), Buffer.from(v).toString('hex')]), [['user.a\nb', '01ff']])
  const dir = await mkdtemp(join(tmpdir(), 'tessera-nl-'))
  try {
    await writeFile(join(dir, 't.tar'), tar)
    execFileSync('tar', ['--xattrs', "--xattrs-include=*", '-C', dir, '-xf', join(dir, 't.tar')])
    const dump = execFileSync('getfattr', ['-d', '-m', '-', '-e', 'hex', join(dir, 'f')]).toString()
    assert.match(dump, /user\.a\\012b=0x01ff/)
  } finally {
    await rm(dir, { recursive: true, force: true })
  }
})
