/**
 * What `import tar:` refuses, each with one coded line and nothing
 * committed: an empty file (not an empty layer), bytes that are no tar,
 * a directory, a missing file; and what a real but broken tar gives.
 */
import { test } from 'node:test'
import assert from 'node:assert/strict'
import { spawnSync } from 'node:child_process'
import { mkdir, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { gzipSync } from 'node:zlib'
import { lcgBytes } from '../helpers/fixture.js'
import { runTessera } from '../helpers/cli.js'
import { requireTool } from '../helpers/tools.js'

const root = await mkdtemp(join(tmpdir(), 'tessera-import-input-'))
test.after(async () => { await rm(root, { recursive: true, force: true }) })
const store = join(root, 'store')
const run = (...args: string[]): ReturnType<typeof runTessera> => runTessera(args, { store })
const file = async (name: string, bytes: Uint8Array | string): Promise<string> => {
  const path = join(root, name)
  await writeFile(path, bytes)
  return path
}
const names = (): string[] => JSON.parse(run('snapshots', '--json').stdout.toString()).map((s: { name: string }) => s.name)
assert.equal(run('import', `dir:${await mkdtemp(join(root, 'src-'))}`, '--name', 'first').code, 0)

/** Run `import tar:PATH` and check it fails with one line matching `re`, exit status 1. */
function refused (path: string, re: RegExp): void {
  const r = run('import', `tar:${path}`, '--name', 'refused')
  assert.equal(r.code, 1, `${path}: ${r.stderr}`)
  assert.match(r.stderr, re, path)
  assert.equal(r.stderr.trimEnd().split('\n').length, 1, `one line: ${r.stderr}`)
  assert.ok(!r.stderr.includes('\\u'), `no escaped garbage in the message: ${r.stderr}`)
}

test('an empty file, or one that decompresses to nothing, is no layer', async () => {
  refused(await file('empty.tar', ''), /^tessera: ERR_TAR_NOT_ARCHIVE: .*empty\.tar: not a tar archive: the file is empty \(0 bytes\)/)
  refused(await file('empty.tar.gz', gzipSync(new Uint8Array(0))), /^tessera: ERR_TAR_NOT_ARCHIVE: .*empty\.tar\.gz: not a tar archive: it decompresses to no bytes/)
  // An empty layer as image builders write it: two zero blocks.
  const r = run('import', `tar:${await file('zeros.tar', new Uint8Array(1024))}`, '--name', 'empty-layer', '--json')
  assert.equal(r.code, 0, r.stderr)
  assert.equal(JSON.parse(r.stdout.toString()).files, 0)
})

test('bytes that are no tar are refused as such, compressed or not', async () => {
  refused(await file('noise.tar', lcgBytes(3000, 1)), /^tessera: ERR_TAR_NOT_ARCHIVE: .*noise\.tar: not a tar archive: its first 512 bytes are not a tar header/)
  refused(await file('text.tar.gz', gzipSync(Buffer.from('hello\n'.repeat(200)))), /^tessera: ERR_TAR_NOT_ARCHIVE: .*text\.tar\.gz: not a tar archive/)
  refused(await file('short.tar', 'x'.repeat(200)), /^tessera: ERR_TAR_NOT_ARCHIVE: .*short\.tar: not a tar archive: the stream is 200 bytes long, shorter than one tar header/)
})

test('a directory and a missing file are unreadable sources', async () => {
  const dir = join(root, 'a-dir')
  await mkdir(dir)
  refused(dir, /^tessera: ERR_UNREADABLE_SOURCE: cannot read layer .*a-dir: it is a directory \(dir:.*a-dir imports a directory\)\n$/)
  refused(join(root, 'absent.tar'), /^tessera: ERR_UNREADABLE_SOURCE: cannot read layer .*absent\.tar: ENOENT/)
})

test('a real tar cut short is truncated, not "no tar"', requireTool('tar'), async () => {
  const src = join(root, 'tree')
  await mkdir(src)
  await writeFile(join(src, 'f'), lcgBytes(5000, 2))
  const whole = join(root, 'whole.tar')
  assert.equal(spawnSync('tar', ['-C', src, '-cf', whole, 'f']).status, 0)
  const cut = await file('cut.tar', (await readFile(whole)).subarray(0, 700))
  refused(cut, /^tessera: ERR_TAR_TRUNCATED: /)
})

test('nothing refused was committed', () => {
  assert.deepEqual(names().sort(), ['empty-layer', 'first'])
})
