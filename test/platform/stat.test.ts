/** isRoot and the Linux rdev encoding. */
import { test } from 'node:test'
import assert from 'node:assert/strict'
import fc from 'fast-check'
import { deviceNumbers, isRoot, makeRdev } from '../../src/platform/index.js'

test('isRoot agrees with the effective uid', () => {
  assert.equal(isRoot(), process.geteuid?.() === 0)
})

test('deviceNumbers decodes glibc dev_t values', () => {
  assert.deepEqual(deviceNumbers(259n), { major: 1, minor: 3 }) // /dev/null
  assert.deepEqual(deviceNumbers(1792), { major: 7, minor: 0 }) // /dev/loop0, as a number
  assert.deepEqual(deviceNumbers(0x123459abcde678f0n), { major: 0x12345678, minor: 0x9abcdef0 })
  assert.deepEqual(deviceNumbers(0xfffff000000fffffn), { major: 0xffffffff, minor: 0xff })
  assert.deepEqual(deviceNumbers(0xffffffffffffffffn), { major: 0xffffffff, minor: 0xffffffff })
})

test('makeRdev is glibc makedev and the inverse of deviceNumbers', () => {
  assert.equal(makeRdev(1, 3), 259n)
  assert.equal(makeRdev(0x12345678, 0x9abcdef0), 0x123459abcde678f0n)
  fc.assert(fc.property(fc.integer({ min: 0, max: 0xffffffff }), fc.integer({ min: 0, max: 0xffffffff }), (major, minor) => {
    assert.deepEqual(deviceNumbers(makeRdev(major, minor)), { major, minor })
  }))
})

test('bad inputs are InvalidArgumentError', () => {
  assert.throws(() => deviceNumbers(-1), { code: 'ERR_INVALID_ARGUMENT' })
  assert.throws(() => deviceNumbers(2 ** 60), { code: 'ERR_INVALID_ARGUMENT' })
  assert.throws(() => makeRdev(2 ** 32, 0), { code: 'ERR_INVALID_ARGUMENT' })
  assert.throws(() => makeRdev(0, 1.5), { code: 'ERR_INVALID_ARGUMENT' })
})
