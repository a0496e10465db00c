/**
 * normalizeLayerPath: archive paths of untrusted layers to safe components.
 */
import { test } from 'node:test'
import assert from 'node:assert/strict'
import fc from 'fast-check'
import { InvalidPathError } from '../../src/errors.js'
import { normalizeLayerPath } from '../../src/tar/index.js'
import { b, key } from './helpers.js'

const names = (p: string | Uint8Array): string[] => normalizeLayerPath(typeof p === 'string' ? b(p) : p).map(key)

test('leading "/" and "./", "." and empty components are dropped', () => {
  assert.deepEqual(names('a/b/c'), ['a', 'b', 'c'])
  assert.deepEqual(names('/etc/passwd'), ['etc', 'passwd'])
  assert.deepEqual(names('//etc//passwd/'), ['etc', 'passwd'])
  assert.deepEqual(names('./usr/./bin/.'), ['usr', 'bin'])
  assert.deepEqual(names('././a'), ['a'])
  assert.deepEqual(names('.wh..wh..opq'), ['.wh..wh..opq'])
  assert.deepEqual(names('a/.../..b/b..'), ['a', '...', '..b', 'b..'])
  assert.deepEqual(names(Uint8Array.from([0xff, 0x2f, 0x0a, 0x5c])), ['\xff', '\n\\'])
})

test('the root is []', () => {
  for (const root of ['.', './', '/', '//', '/./', './.']) assert.deepEqual(names(root), [], root)
})

test('"..", empty paths and NUL bytes are ERR_INVALID_PATH', () => {
  for (const bad of ['..', '../a', 'a/..', 'a/../b', '/..', './..', 'a/b/../../..']) {
    assert.throws(() => normalizeLayerPath(b(bad)), (err: unknown) => err instanceof InvalidPathError && err.code === 'ERR_INVALID_PATH', bad)
  }
  assert.throws(() => normalizeLayerPath(new Uint8Array(0)), InvalidPathError)
  assert.throws(() => normalizeLayerPath(b('a\0b')), InvalidPathError)
})

test('components are copies, never empty, ".", ".." or holding "/"', () => {
  fc.assert(fc.property(fc.uint8Array({ minLength: 1, maxLength: 60 }).map((p) => p.map((c) => [0x2f, 0x2e, 0x61, c][c % 4] ?? c)), (path) => {
    let out: Uint8Array[]
    try {
      out = normalizeLayerPath(path)
    } catch (err) {
      assert.ok(err instanceof InvalidPathError)
      assert.ok(path.includes(0) || key(path).split('/').includes('..'))
      return
    }
    for (const c of out) {
      assert.ok(c.length > 0 && !c.includes(0x2f) && key(c) !== '.' && key(c) !== '..')
      assert.notEqual(c.buffer, path.buffer)
    }
    const kept = key(path).split('/').filter((c) => c !== '' && c !== '.')
    assert.deepEqual(out.map(key), kept)
  }))
})
