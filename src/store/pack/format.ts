/**
 * Byte layouts of pack files and of the chunk locations kept in LevelDB
 * (docs/FORMAT.md §6). These never change within format version 1;
 * `test/store/pack-format.test.ts` pins them with golden vectors.
 *
 * - A pack file starts with {@link PACK_MAGIC}, then records
 *   `[32-byte digest][u32 LE stored length][stored bytes]` back to back.
 * - A location (the value of a chunk in sublevel `c`) is
 *   `[0x80][u32 LE pack][u48 LE offset of the stored bytes][u32 LE stored length][u32 LE chunk length]`.
 *
 * @module
 */
import { IntegrityError } from '../../errors.js'

/** The first bytes of every pack file: ASCII `tspack1\n`. */
export const PACK_MAGIC: Uint8Array = new Uint8Array(Buffer.from('tspack1\n', 'latin1'))
/** Bytes of a record's header: the digest and the u32 stored length. */
export const RECORD_HEADER_BYTES = 36
/** First byte of a location value; codec bytes of inline stored objects are 0x00 and 0x01. */
export const LOCATION_MARKER = 0x80
/** Bytes of a location value. */
export const LOCATION_BYTES = 19
/** A writer starts a new pack once the current one holds this many bytes. */
export const PACK_TARGET_BYTES = 16 * 1024 * 1024
/** Largest pack number (u32). */
export const MAX_PACK_NUMBER = 0xffff_ffff

/** Where a chunk's stored form lies in the packs. */
export interface PackLocation {
  /** Pack number (the file `packs/<number, 8 digits or more>.pack`). */
  pack: number
  /** Offset in the pack of the stored bytes (after the 36-byte record header). */
  offset: number
  /** Length of the stored form (codec byte + payload). */
  storedLength: number
  /** Length of the chunk (decoded); lets counters be kept without reading the pack. */
  length: number
}

/** The file name of pack `n`: its decimal number, zero-padded to 8 digits, and `.pack`. */
export function packFileName (n: number): string {
  return `${String(n).padStart(8, '0')}.pack`
}

/** The pack number a file name stands for, or undefined if it is not a pack file name. */
export function parsePackFileName (name: string): number | undefined {
  const m = /^(\d{8,10})\.pack$/.exec(name)
  if (m === null) return undefined
  const n = Number(m[1])
  return n >= 1 && n <= MAX_PACK_NUMBER && packFileName(n) === name ? n : undefined
}

/** The 36-byte header of a record holding `storedLength` stored bytes of `digest`. */
export function encodeRecordHeader (digest: Uint8Array, storedLength: number): Uint8Array {
  const out = Buffer.alloc(RECORD_HEADER_BYTES)
  out.set(digest, 0)
  out.writeUInt32LE(storedLength, 32)
  return out
}

/** Encode a location value (19 bytes). */
export function encodeLocation (loc: PackLocation): Uint8Array {
  const out = Buffer.alloc(LOCATION_BYTES)
  out[0] = LOCATION_MARKER
  out.writeUInt32LE(loc.pack, 1)
  out.writeUIntLE(loc.offset, 5, 6)
  out.writeUInt32LE(loc.storedLength, 11)
  out.writeUInt32LE(loc.length, 15)
  return out
}

/** True when a `c` value is a location (not an inline stored object of a store written before packs). */
export function isLocation (value: Uint8Array): boolean {
  return value[0] === LOCATION_MARKER
}

/**
 * Decode a location value. Throws {@link IntegrityError} when it is not
 * 19 bytes with the marker, or names pack 0 or a record that could not
 * start after the pack header.
 */
export function decodeLocation (value: Uint8Array, what = 'location'): PackLocation {
  if (value.length !== LOCATION_BYTES || value[0] !== LOCATION_MARKER) throw new IntegrityError(`${what}: not a pack location (${value.length} bytes, first byte ${String(value[0])})`)
  const b = Buffer.from(value.buffer, value.byteOffset, value.byteLength)
  const loc = { pack: b.readUInt32LE(1), offset: b.readUIntLE(5, 6), storedLength: b.readUInt32LE(11), length: b.readUInt32LE(15) }
  if (loc.pack === 0 || loc.offset < PACK_MAGIC.length + RECORD_HEADER_BYTES || loc.storedLength === 0) throw new IntegrityError(`${what}: malformed pack location ${JSON.stringify(loc)}`)
  return loc
}

/**
 * Check a record read back from a pack (`bytes` = its 36-byte header and
 * stored bytes) against the location it was read for, and return the
 * stored bytes. Throws {@link IntegrityError} when it is short, names
 * another digest or has another length.
 */
export function checkRecord (bytes: Uint8Array, digest: Uint8Array, loc: PackLocation, what: string): Uint8Array {
  const where = `${what} (${packFileName(loc.pack)} at ${loc.offset - RECORD_HEADER_BYTES})`
  if (bytes.length < RECORD_HEADER_BYTES + loc.storedLength) throw new IntegrityError(`${where}: the pack ends inside the record`)
  const b = Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength)
  if (!b.subarray(0, 32).equals(digest)) throw new IntegrityError(`${where}: the record there is of another digest`)
  if (b.readUInt32LE(32) !== loc.storedLength) throw new IntegrityError(`${where}: the record there has ${b.readUInt32LE(32)} stored bytes, the index says ${loc.storedLength}`)
  return bytes.subarray(RECORD_HEADER_BYTES, RECORD_HEADER_BYTES + loc.storedLength)
}
