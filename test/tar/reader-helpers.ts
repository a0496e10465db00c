/**
 * Helpers of the tar reader tests: reading an archive whole, chunking
 * bytes, building headers by hand.
 */
import assert from 'node:assert/strict'
import { readTar, type ReadTarOptions, type TarReadEntry } from '../../src/tar/index.js'
import { encodeUstarHeader, headerChecksum, USTAR_FIELD, type UstarHeader } from '../../src/tar/header.js'

/** An entry with its content read. */
export interface ReadBack {
  entry: TarReadEntry
  data: Buffer
}

/** Read every entry of an archive with its content. */
export async function readAll (source: AsyncIterable<Uint8Array> | Iterable<Uint8Array>, options?: ReadTarOptions): Promise<ReadBack[]> {
  const out: ReadBack[] = []
  for await (const entry of readTar(source, options)) {
    const parts: Uint8Array[] = []
    for await (const c of entry.content) parts.push(c)
    out.push({ entry, data: Buffer.concat(parts) })
  }
  return out
}

/** `bytes` cut into chunks of `size` bytes (copies, so nothing is shared). */
export function * chunked (bytes: Uint8Array, size: number): Generator<Uint8Array> {
  for (let i = 0; i < bytes.length; i += size) yield bytes.slice(i, i + size)
}

/** `bytes` cut at pseudo-random points (deterministic for a seed). */
export function * randomlyChunked (bytes: Uint8Array, seed: number, max = 1500): Generator<Uint8Array> {
  let x = seed >>> 0 || 1
  let at = 0
  while (at < bytes.length) {
    x ^= x << 13; x >>>= 0
    x ^= x >>> 17
    x ^= x << 5; x >>>= 0
    const n = 1 + (x % max)
    yield bytes.slice(at, at + n)
    at += n
  }
}

/** The error code of a rejected promise (fails when it resolves). */
export async function errorCode (p: Promise<unknown>): Promise<string> {
  try {
    await p
  } catch (err) {
    const code = (err as { code?: unknown }).code
    assert.equal(typeof code, 'string', `expected an error with a code, got ${String(err)}`)
    return code as string
  }
  assert.fail('expected an error')
}

const EMPTY = new Uint8Array(0)

/** A ustar header with defaults: a 0644 root-owned file of `size` bytes at mtime 1e9. */
export function header (fields: Partial<UstarHeader> & { name: Uint8Array }): Uint8Array {
  return encodeUstarHeader({
    prefix: EMPTY,
    mode: 0o644,
    uid: 0,
    gid: 0,
    size: 0,
    mtime: 1_000_000_000,
    typeflag: '0',
    linkname: EMPTY,
    uname: EMPTY,
    gname: EMPTY,
    devmajor: 0,
    devminor: 0,
    ...fields
  })
}

/** Write `bytes` into a header block at `offset` and fix its checksum (for hand-made fields). */
export function patchHeader (block: Uint8Array, offset: number, bytes: ArrayLike<number>): Uint8Array {
  const out = Uint8Array.from(block)
  out.set(Array.from(bytes), offset)
  resum(out)
  return out
}

/** Recompute the checksum of a header block in place. */
export function resum (block: Uint8Array): void {
  const [co, cw] = USTAR_FIELD.chksum
  block.fill(0x20, co, co + cw)
  const digits = headerChecksum(block).unsigned.toString(8).padStart(6, '0')
  for (let i = 0; i < 6; i++) block[co + i] = digits.charCodeAt(i)
  block[co + 6] = 0
  block[co + 7] = 0x20
}

/** Data padded with zeros to whole 512-byte blocks. */
export function padded (data: Uint8Array): Uint8Array {
  const out = new Uint8Array(Math.ceil(data.length / 512) * 512)
  out.set(data)
  return out
}

/** Concatenate byte arrays. */
export function cat (...parts: Uint8Array[]): Uint8Array {
  return Uint8Array.from(Buffer.concat(parts))
}

/** The end-of-archive marker. */
export const END = new Uint8Array(1024)
