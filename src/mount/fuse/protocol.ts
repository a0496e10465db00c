/**
 * The Linux FUSE kernel protocol, as far as a read-only filesystem needs
 * it: opcode numbers, flags, and the byte layouts of requests and replies
 * (the kernel's `include/uapi/linux/fuse.h`, little-endian on every
 * platform tessera runs on). Pure functions over buffers: nothing here
 * touches the device.
 *
 * @module
 */

/** The protocol version this codec speaks (the kernel adapts to a lower minor). */
export const FUSE_MAJOR = 7
/** 7.31: everything used below (MAX_PAGES, CACHE_SYMLINKS, zero-message opens with cached directories) exists from 7.28 on. */
export const FUSE_MINOR = 31

/** The node id of the root directory, fixed by the protocol. */
export const ROOT_NODE_ID = 1

/** Request opcodes. */
export const Op = {
  LOOKUP: 1,
  FORGET: 2,
  GETATTR: 3,
  SETATTR: 4,
  READLINK: 5,
  SYMLINK: 6,
  MKNOD: 8,
  MKDIR: 9,
  UNLINK: 10,
  RMDIR: 11,
  RENAME: 12,
  LINK: 13,
  OPEN: 14,
  READ: 15,
  WRITE: 16,
  STATFS: 17,
  RELEASE: 18,
  FSYNC: 20,
  SETXATTR: 21,
  GETXATTR: 22,
  LISTXATTR: 23,
  REMOVEXATTR: 24,
  FLUSH: 25,
  INIT: 26,
  OPENDIR: 27,
  READDIR: 28,
  RELEASEDIR: 29,
  FSYNCDIR: 30,
  ACCESS: 34,
  CREATE: 35,
  INTERRUPT: 36,
  DESTROY: 38,
  BATCH_FORGET: 42,
  FALLOCATE: 43,
  READDIRPLUS: 44,
  RENAME2: 45,
  COPY_FILE_RANGE: 47,
  TMPFILE: 51
} as const

/** Opcodes that would change the filesystem: all answered with EROFS. */
export const WRITE_OPS: ReadonlySet<number> = new Set([
  Op.SETATTR, Op.SYMLINK, Op.MKNOD, Op.MKDIR, Op.UNLINK, Op.RMDIR, Op.RENAME, Op.LINK, Op.WRITE,
  Op.FSYNC, Op.SETXATTR, Op.REMOVEXATTR, Op.FSYNCDIR, Op.CREATE, Op.FALLOCATE, Op.RENAME2,
  Op.COPY_FILE_RANGE, Op.TMPFILE
])

/** Opcodes the kernel expects no reply to. */
export const NO_REPLY_OPS: ReadonlySet<number> = new Set([Op.FORGET, Op.BATCH_FORGET, Op.INTERRUPT])

/** INIT flags (fuse_init_in/out.flags). */
export const InitFlag = {
  ASYNC_READ: 1 << 0,
  DO_READDIRPLUS: 1 << 13,
  PARALLEL_DIROPS: 1 << 18,
  MAX_PAGES: 1 << 22,
  CACHE_SYMLINKS: 1 << 23
} as const


/** Sizes of fixed structures, in bytes. */
export const IN_HEADER_BYTES = 40
export const OUT_HEADER_BYTES = 16
export const ATTR_BYTES = 88
export const ENTRY_OUT_BYTES = 40 + ATTR_BYTES
export const ATTR_OUT_BYTES = 16 + ATTR_BYTES
export const DIRENT_BYTES = 24
export const INIT_OUT_BYTES = 64
export const STATFS_OUT_BYTES = 80

/** A request as read from the device. */
export interface Request {
  opcode: number
  unique: bigint
  nodeid: number
  uid: number
  gid: number
  pid: number
  /** The opcode's argument bytes (after the 40-byte header). */
  body: Buffer
}

/** Decode one request; undefined if the bytes are shorter than their header says. */
export function decodeRequest (bytes: Buffer): Request | undefined {
  if (bytes.length < IN_HEADER_BYTES) return undefined
  const len = bytes.readUInt32LE(0)
  if (len < IN_HEADER_BYTES || len > bytes.length) return undefined
  return {
    opcode: bytes.readUInt32LE(4),
    unique: bytes.readBigUInt64LE(8),
    nodeid: Number(bytes.readBigUInt64LE(16)),
    uid: bytes.readUInt32LE(24),
    gid: bytes.readUInt32LE(28),
    pid: bytes.readUInt32LE(32),
    body: bytes.subarray(IN_HEADER_BYTES, len)
  }
}

/** The 16-byte reply header; `error` is 0 or a negative errno. */
export function encodeOutHeader (unique: bigint, error: number, payloadBytes: number): Buffer {
  const b = Buffer.allocUnsafe(OUT_HEADER_BYTES)
  b.writeUInt32LE(OUT_HEADER_BYTES + payloadBytes, 0)
  b.writeInt32LE(error, 4)
  b.writeBigUInt64LE(unique, 8)
  return b
}

/** What the kernel offers in INIT. */
export interface InitIn { major: number, minor: number, maxReadahead: number, flags: number }

export function decodeInitIn (body: Buffer): InitIn {
  return { major: body.readUInt32LE(0), minor: body.readUInt32LE(4), maxReadahead: body.readUInt32LE(8), flags: body.readUInt32LE(12) }
}

/** What the filesystem answers to INIT. */
export interface InitOut {
  maxReadahead: number
  flags: number
  maxBackground: number
  congestionThreshold: number
  maxWrite: number
  /** Timestamp granularity in nanoseconds (1: exact). */
  timeGran: number
  maxPages: number
}

export function encodeInitOut (o: InitOut): Buffer {
  const b = Buffer.alloc(INIT_OUT_BYTES)
  b.writeUInt32LE(FUSE_MAJOR, 0)
  b.writeUInt32LE(FUSE_MINOR, 4)
  b.writeUInt32LE(o.maxReadahead, 8)
  b.writeUInt32LE(o.flags >>> 0, 12)
  b.writeUInt16LE(o.maxBackground, 16)
  b.writeUInt16LE(o.congestionThreshold, 18)
  b.writeUInt32LE(o.maxWrite, 20)
  b.writeUInt32LE(o.timeGran, 24)
  b.writeUInt16LE(o.maxPages, 28)
  return b
}

/** POSIX attributes of one node, as `struct fuse_attr` carries them. */
export interface FuseAttr {
  ino: number
  size: number
  /** st_mode: file type and permission bits. */
  mode: number
  nlink: number
  uid: number
  gid: number
  /** Modification time (also used for atime and ctime), nanoseconds since the epoch. */
  mtimeNs: bigint
  major: number
  minor: number
}

const NS = 1_000_000_000n

/** Linux's `new_encode_dev`: the 32-bit device number `struct fuse_attr` carries. */
export function encodeDev (major: number, minor: number): number {
  return ((minor & 0xff) | ((major & 0xfff) << 8) | ((minor & ~0xff) << 12)) >>> 0
}

/** Write `struct fuse_attr` at `at`. */
export function writeAttr (b: Buffer, at: number, a: FuseAttr): void {
  let sec = a.mtimeNs / NS
  let nsec = a.mtimeNs - sec * NS
  if (nsec < 0n) { nsec += NS; sec -= 1n }
  b.writeBigUInt64LE(BigInt(a.ino), at)
  b.writeBigUInt64LE(BigInt(a.size), at + 8)
  b.writeBigUInt64LE(BigInt(Math.ceil(a.size / 512)), at + 16)
  for (let i = 0; i < 3; i++) {
    b.writeBigInt64LE(sec, at + 24 + 8 * i)
    b.writeUInt32LE(Number(nsec), at + 48 + 4 * i)
  }
  b.writeUInt32LE(a.mode >>> 0, at + 60)
  b.writeUInt32LE(a.nlink >>> 0, at + 64)
  b.writeUInt32LE(a.uid >>> 0, at + 68)
  b.writeUInt32LE(a.gid >>> 0, at + 72)
  b.writeUInt32LE(encodeDev(a.major, a.minor), at + 76)
  b.writeUInt32LE(4096, at + 80) // blksize
  b.writeUInt32LE(0, at + 84) // flags
}

/** A cache lifetime in seconds (and nanoseconds). */
export interface Validity { sec: number, nsec?: number }

/** Write `struct fuse_entry_out` at `at`; `attr` undefined makes a negative entry (node id 0). */
export function writeEntryOut (b: Buffer, at: number, attr: FuseAttr | undefined, valid: Validity): void {
  b.fill(0, at, at + ENTRY_OUT_BYTES)
  b.writeBigUInt64LE(BigInt(attr?.ino ?? 0), at) // nodeid
  b.writeBigUInt64LE(0n, at + 8) // generation
  b.writeBigUInt64LE(BigInt(valid.sec), at + 16) // entry_valid
  b.writeBigUInt64LE(BigInt(valid.sec), at + 24) // attr_valid
  b.writeUInt32LE(valid.nsec ?? 0, at + 32)
  b.writeUInt32LE(valid.nsec ?? 0, at + 36)
  if (attr !== undefined) writeAttr(b, at + 40, attr)
}

export function encodeEntryOut (attr: FuseAttr | undefined, valid: Validity): Buffer {
  const b = Buffer.allocUnsafe(ENTRY_OUT_BYTES)
  writeEntryOut(b, 0, attr, valid)
  return b
}

export function encodeAttrOut (attr: FuseAttr, valid: Validity): Buffer {
  const b = Buffer.alloc(ATTR_OUT_BYTES)
  b.writeBigUInt64LE(BigInt(valid.sec), 0)
  b.writeUInt32LE(valid.nsec ?? 0, 8)
  writeAttr(b, 16, attr)
  return b
}

/** `struct fuse_getxattr_out`: the size a GETXATTR/LISTXATTR size probe asks for. */
export function encodeXattrSize (size: number): Buffer {
  const b = Buffer.alloc(8)
  b.writeUInt32LE(size, 0)
  return b
}

/** Filesystem figures for STATFS. */
export interface StatfsFigures { blocks: number, files: number, blockSize: number, nameMax: number }

export function encodeStatfsOut (s: StatfsFigures): Buffer {
  const b = Buffer.alloc(STATFS_OUT_BYTES)
  b.writeBigUInt64LE(BigInt(s.blocks), 0)
  b.writeBigUInt64LE(0n, 8) // bfree
  b.writeBigUInt64LE(0n, 16) // bavail
  b.writeBigUInt64LE(BigInt(s.files), 24)
  b.writeBigUInt64LE(0n, 32) // ffree
  b.writeUInt32LE(s.blockSize, 40)
  b.writeUInt32LE(s.nameMax, 44)
  b.writeUInt32LE(s.blockSize, 48) // frsize
  return b
}

/** `struct fuse_read_in`: the offset and size of a READ. */
export function decodeReadIn (body: Buffer): { offset: number, size: number } {
  return { offset: Number(body.readBigUInt64LE(8)), size: body.readUInt32LE(16) }
}

/** `struct fuse_getxattr_in` followed by the NUL-terminated name. */
export function decodeGetxattrIn (body: Buffer): { size: number, name: Buffer } {
  return { size: body.readUInt32LE(0), name: cString(body.subarray(8)) }
}

/** `struct fuse_getxattr_in` of LISTXATTR. */
export function decodeListxattrIn (body: Buffer): { size: number } {
  return { size: body.readUInt32LE(0) }
}

/** `struct fuse_open_in`: the open(2) flags. */
export function decodeOpenIn (body: Buffer): { flags: number } {
  return { flags: body.readUInt32LE(0) }
}

/** `struct fuse_access_in`: the access(2) mask. */
export function decodeAccessIn (body: Buffer): { mask: number } {
  return { mask: body.readUInt32LE(0) }
}

/** The bytes up to the first NUL (LOOKUP's name). */
export function cString (b: Buffer): Buffer {
  const z = b.indexOf(0)
  return z < 0 ? b : b.subarray(0, z)
}

/** Bytes one READDIR record takes. */
export function direntBytes (nameBytes: number, plus: boolean): number {
  return (((plus ? ENTRY_OUT_BYTES : 0) + DIRENT_BYTES + nameBytes) + 7) & ~7
}

/**
 * Write one `struct fuse_dirent` (READDIR) or `fuse_direntplus`
 * (READDIRPLUS, `entry` given) at `at`; returns the bytes written.
 * `nextOffset` is the cookie the kernel passes back to continue after it.
 */
export function writeDirent (b: Buffer, at: number, name: Uint8Array, ino: number, mode: number, nextOffset: number, entry?: { attr: FuseAttr | undefined, valid: Validity }): number {
  const size = direntBytes(name.length, entry !== undefined)
  b.fill(0, at, at + size)
  let p = at
  if (entry !== undefined) { writeEntryOut(b, p, entry.attr, entry.valid); p += ENTRY_OUT_BYTES }
  b.writeBigUInt64LE(BigInt(ino), p)
  b.writeBigUInt64LE(BigInt(nextOffset), p + 8)
  b.writeUInt32LE(name.length, p + 16)
  b.writeUInt32LE((mode >>> 12) & 0o17, p + 20) // DT_* is the S_IFMT nibble
  b.set(name, p + DIRENT_BYTES)
  return size
}
