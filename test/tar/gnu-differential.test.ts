/**
 * The `'gnu'` dialect against GNU tar 1.34 itself: Go's testdata archives
 * (Debian golang-src) listed by `tar -t` and read by tessera must name the
 * same members in the same order, and fail alike, except where tessera is
 * stricter for a stated reason.
 */
import { spawnSync } from 'node:child_process'
import fs from 'node:fs'
import path from 'node:path'
import { test } from 'node:test'
import assert from 'node:assert/strict'
import { readTar } from '../../src/tar/index.js'
import { skipUnless } from '../helpers/tools.js'
import { GO_TESTDATA, testdataSkip } from './go-oracle.js'

const skip = skipUnless(['tar'], testdataSkip())

/** GNU tar's member names (directories without their trailing `/`) and whether it exited 0. */
function gnuList (file: string): { names: string[], ok: boolean } {
  const r = spawnSync('tar', ['-tf', file, '--quoting-style=escape'], { env: { LC_ALL: 'C' }, encoding: 'latin1' })
  const unescape = (s: string): string => s.replace(/\\([0-7]{3})|\\(.)/g, (_, octal: string | undefined, c: string) =>
    octal !== undefined ? String.fromCharCode(Number.parseInt(octal, 8)) : ({ n: '\n', t: '\t' } as Record<string, string>)[c] ?? c)
  return { names: r.stdout.split('\n').filter((l) => l !== '').map(unescape).map((n) => n.replace(/(.)\/+$/, '$1')), ok: r.status === 0 }
}

/** Where tessera's gnu dialect refuses what GNU tar reads, and why. */
const STRICTER: Record<string, string> = {
  'pax-bad-mtime-file.tar': 'GNU tar reads the mtime 999xxx9324.43 as 999 s; tessera refuses the malformed time',
  'pax-nul-path.tar': 'GNU tar cuts a PAX path at a NUL byte; tessera refuses the path (Go and BSD tar refuse it too)',
  'pax-global-records.tar': 'an empty path in a global header: GNU tar names the next members ".", tessera refuses',
  'pax-path-hdr.tar': 'a PAX header and then the end of the input: GNU tar reads an empty archive'
}

test('the gnu dialect reads Go\'s testdata as GNU tar lists it', { skip }, async () => {
  const names = fs.readdirSync(GO_TESTDATA).filter((n) => n.endsWith('.tar')).sort()
  for (const name of names) {
    const file = path.join(GO_TESTDATA, name)
    const gnu = gnuList(file)
    const ours: string[] = []
    let error: string | undefined
    try {
      for await (const e of readTar([fs.readFileSync(file)], { dialect: 'gnu' })) ours.push(Buffer.from(e.path).toString('latin1'))
    } catch (err) {
      error = (err as { code?: string }).code
      assert.match(error ?? '', /^ERR_/, `${name}: ${String(err)}`)
    }
    const why = STRICTER[name]
    if (why !== undefined) {
      assert.notEqual(error, undefined, `${name}: ${why}`)
      assert.deepEqual(ours, gnu.names.slice(0, ours.length), `${name}: what tessera reads before refusing is what GNU tar lists`)
      continue
    }
    // when GNU tar fails it may still list members past the damage; tessera stops at it
    if (!gnu.ok) {
      assert.notEqual(error, undefined, `${name}: GNU tar fails, tessera reads ${ours.length} members`)
      assert.deepEqual(ours, gnu.names.slice(0, ours.length), name)
    } else {
      assert.equal(error, undefined, `${name}: GNU tar reads it, tessera fails with ${error ?? ''}`)
      assert.deepEqual(ours, gnu.names, name)
    }
  }
})
