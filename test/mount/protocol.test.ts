/**
 * Golden bytes of the FUSE codec (no FUSE needed): the layouts of
 * `include/uapi/linux/fuse.h` for the structures a read-only filesystem
 * writes, with the awkward values (times before 1970, device numbers
 * above 255, names that need padding).
 */
import { test } from 'node:test'
import assert from 'node:assert/strict'
import { decodeRequest, direntBytes, encodeAttrOut, encodeDev, encodeEntryOut, encodeInitOut, encodeOutHeader, writeDirent } from '../../src/mount/fuse/protocol.js'
import type { NodeAttributes } from '../../src/mount/filesystem.js'

const attr: NodeAttributes = { ino: 5, mode: 0o020666, nlink: 1, uid: 1000, gid: 42, size: 0, mtimeNs: -1_500_000_000n, major: 259, minor: 65537 }

test('device numbers use the kernel\'s new_encode_dev', () => {
  assert.equal(encodeDev(1, 3), 0x103)
  assert.equal(encodeDev(7, 0), 0x700)
  // minor bits above 8 go to bits 20 and up
  assert.equal(encodeDev(259, 65537), (0x01) | (259 << 8) | ((65537 & ~0xff) << 12))
})

test('fuse_attr_out: 104 bytes, times before 1970 as seconds rounded down and positive nanoseconds', () => {
  const b = encodeAttrOut(attr, { sec: 86400 })
  assert.equal(b.length, 104)
  assert.equal(b.readBigUInt64LE(0), 86400n) // attr_valid
  const a = 16
  assert.equal(b.readBigUInt64LE(a), 5n) // ino
  assert.equal(b.readBigInt64LE(a + 32), -2n) // mtime seconds: -1.5 s is -2 s + 0.5 s
  assert.equal(b.readUInt32LE(a + 52), 500_000_000) // mtimensec
  assert.equal(b.readUInt32LE(a + 60), 0o020666) // mode
  assert.equal(b.readUInt32LE(a + 68), 1000) // uid
  assert.equal(b.readUInt32LE(a + 72), 42) // gid
  assert.equal(b.readUInt32LE(a + 76), encodeDev(259, 65537)) // rdev
  assert.equal(b.readUInt32LE(a + 80), 4096) // blksize
})

test('fuse_entry_out: 128 bytes; a missing name is node id 0 with the same lifetime', () => {
  const positive = encodeEntryOut({ ...attr, size: 1025 }, { sec: 60 })
  assert.equal(positive.length, 128)
  assert.equal(positive.readBigUInt64LE(0), 5n)
  assert.equal(positive.readBigUInt64LE(16), 60n) // entry_valid
  assert.equal(positive.readBigUInt64LE(40 + 8), 1025n) // size
  assert.equal(positive.readBigUInt64LE(40 + 16), 3n) // 512-byte blocks
  const negative = encodeEntryOut(undefined, { sec: 60 })
  assert.equal(negative.readBigUInt64LE(0), 0n)
  assert.equal(negative.readBigUInt64LE(16), 60n)
  assert.ok(negative.subarray(40).equals(Buffer.alloc(88)))
})

test('dirents are padded to 8 bytes and carry the type nibble', () => {
  assert.equal(direntBytes(1, false), 32)
  assert.equal(direntBytes(8, false), 32)
  assert.equal(direntBytes(9, false), 40)
  assert.equal(direntBytes(1, true), 160)
  const b = Buffer.alloc(64)
  const n = writeDirent(b, 0, Buffer.from('abc'), 9, 0o120777, 4)
  assert.equal(n, 32)
  assert.equal(b.readBigUInt64LE(0), 9n)
  assert.equal(b.readBigUInt64LE(8), 4n) // offset of the next entry
  assert.equal(b.readUInt32LE(16), 3)
  assert.equal(b.readUInt32LE(20), 10) // DT_LNK
  assert.equal(b.subarray(24, 27).toString(), 'abc')
})

test('requests are decoded from their header; replies carry the length and a negative errno', () => {
  const req = Buffer.alloc(48)
  req.writeUInt32LE(46, 0)
  req.writeUInt32LE(1, 4) // LOOKUP
  req.writeBigUInt64LE(77n, 8)
  req.writeBigUInt64LE(1n, 16)
  req.write('x\0', 40)
  const r = decodeRequest(req)!
  assert.equal(r.opcode, 1)
  assert.equal(r.unique, 77n)
  assert.equal(r.nodeid, 1)
  assert.equal(r.body.length, 6)
  assert.equal(decodeRequest(req.subarray(0, 30)), undefined)
  const h = encodeOutHeader(77n, -2, 10)
  assert.equal(h.readUInt32LE(0), 26)
  assert.equal(h.readInt32LE(4), -2)
  assert.equal(h.readBigUInt64LE(8), 77n)
  const init = encodeInitOut({ maxReadahead: 131072, flags: 1 << 22, maxBackground: 64, congestionThreshold: 48, maxWrite: 4096, timeGran: 1, maxPages: 256 })
  assert.equal(init.length, 64)
  assert.deepEqual([init.readUInt32LE(0), init.readUInt32LE(4), init.readUInt32LE(12), init.readUInt16LE(28)], [7, 31, 1 << 22, 256])
})
