/**
 * Splitting an uncompressed tar stream into regular-file contents and
 * everything else (the tar-split idea), streaming. The split is a pure
 * function of the bytes: any byte string is split into pieces that
 * concatenate back to it. The tar parsing only decides which ranges are
 * file contents; where it meets anything it does not understand (a zero
 * block, a bad checksum, a malformed field) every byte from there on is
 * kept as "meta", so a malformed or truncated tar still rebuilds exactly.
 *
 * File contents are the `size` bytes after the header of a regular file
 * (typeflag `0`, NUL or `7`), `size` taken from a preceding PAX `size`
 * record when there is one, longer than `inlineMax` (smaller files stay in
 * the meta stream, as the importer stores them inline). The pieces handed
 * out per file are cut by the caller with the importer's FastCDC
 * parameters, so chunks are shared with `tessera import` of the same files.
 *
 * @module
 */
import { TAR_BLOCK_SIZE, decodeUstarHeader, isZeroBlock } from '../../tar/header.js'
import { decodePaxRecords } from '../../tar/pax.js'

/** One piece of the split, in stream order. */
export type TarPiece =
  | { kind: 'meta', bytes: Uint8Array }
  | { kind: 'content', bytes: Uint8Array }
  /** The content of the current file is complete. */
  | { kind: 'end-of-file' }

/** Largest PAX extended header whose records are parsed (bigger ones are kept but not interpreted). */
const PAX_PARSE_MAX = 1024 * 1024

const TYPE_CONTENT = new Set([0x30, 0x00, 0x37]) // '0', NUL, '7'
/** Types whose header is the whole entry whatever `size` says (as Go's archive/tar reads them). */
const TYPE_HEADER_ONLY = new Set([0x31, 0x32, 0x33, 0x34, 0x35, 0x36]) // '1'…'6'
const TYPE_PAX = 0x78 // 'x'

const padding = (size: number): number => (TAR_BLOCK_SIZE - (size % TAR_BLOCK_SIZE)) % TAR_BLOCK_SIZE

/** True when `block` (512 bytes) is a tar header with a valid checksum. */
export function isTarHeader (block: Uint8Array): boolean {
  if (block.length < TAR_BLOCK_SIZE) return false
  try {
    decodeUstarHeader(block.subarray(0, TAR_BLOCK_SIZE))
    return true
  } catch {
    return false
  }
}

/** True when a stream starting with `first` (its first 512 bytes or all it has) looks like a tar. */
export function looksLikeTar (first: Uint8Array): boolean {
  if (first.length < TAR_BLOCK_SIZE) return false
  const block = first.subarray(0, TAR_BLOCK_SIZE)
  return isZeroBlock(block) || isTarHeader(block)
}

/** The streaming splitter. */
export class TarSplitter {
  readonly #inlineMax: number
  #state: 'header' | 'meta' | 'content' | 'tail' = 'header'
  /** Bytes left in the current 'meta' or 'content' run. */
  #left = 0
  /** Padding that follows the current content run. */
  #padAfter = 0
  readonly #header = new Uint8Array(TAR_BLOCK_SIZE)
  #headerFill = 0
  /** Collecting a PAX extended header's data. */
  #pax: Uint8Array[] | undefined
  #paxSize: number | undefined
  /** `size` from the last PAX header, for the next entry. */
  #nextSize: number | undefined
  /** Files whose content was handed out as 'content'. */
  files = 0

  constructor (inlineMax: number) { this.#inlineMax = inlineMax }

  /** Split the next bytes of the stream. */
  push (bytes: Uint8Array): TarPiece[] {
    const out: TarPiece[] = []
    let pos = 0
    while (pos < bytes.length) {
      switch (this.#state) {
        case 'tail':
          out.push({ kind: 'meta', bytes: bytes.subarray(pos) })
          pos = bytes.length
          break
        case 'header': {
          const n = Math.min(TAR_BLOCK_SIZE - this.#headerFill, bytes.length - pos)
          this.#header.set(bytes.subarray(pos, pos + n), this.#headerFill)
          this.#headerFill += n
          pos += n
          if (this.#headerFill === TAR_BLOCK_SIZE) {
            out.push({ kind: 'meta', bytes: this.#header.slice() })
            this.#headerFill = 0
            this.#onHeader()
          }
          break
        }
        case 'meta': {
          const n = Math.min(this.#left, bytes.length - pos)
          const piece = bytes.subarray(pos, pos + n)
          out.push({ kind: 'meta', bytes: piece })
          if (this.#pax !== undefined) this.#pax.push(piece.slice())
          this.#left -= n
          pos += n
          if (this.#left === 0) this.#endMeta()
          break
        }
        case 'content': {
          const n = Math.min(this.#left, bytes.length - pos)
          out.push({ kind: 'content', bytes: bytes.subarray(pos, pos + n) })
          this.#left -= n
          pos += n
          if (this.#left === 0) {
            out.push({ kind: 'end-of-file' })
            this.#startMeta(this.#padAfter)
          }
          break
        }
      }
    }
    return out
  }

  /** End of the stream: a half-read header is kept as meta. */
  finish (): TarPiece[] {
    const out: TarPiece[] = []
    if (this.#state === 'header' && this.#headerFill > 0) out.push({ kind: 'meta', bytes: this.#header.slice(0, this.#headerFill) })
    if (this.#state === 'content') out.push({ kind: 'end-of-file' })
    this.#state = 'tail'
    return out
  }

  #startMeta (n: number): void {
    this.#left = n
    this.#state = 'meta'
    if (n === 0) this.#endMeta()
  }

  #endMeta (): void {
    if (this.#pax !== undefined) {
      this.#nextSize = paxSize(this.#pax, this.#paxSize!)
      this.#pax = undefined
      this.#startMeta(padding(this.#paxSize!))
      return
    }
    this.#state = 'header'
  }

  #onHeader (): void {
    const block = this.#header
    if (isZeroBlock(block)) { this.#state = 'tail'; return }
    let size: number
    let type: number
    try {
      const h = decodeUstarHeader(block)
      size = h.size
      type = block[156]!
    } catch {
      this.#state = 'tail'
      return
    }
    if (size < 0 || !Number.isSafeInteger(size)) { this.#state = 'tail'; return }
    const paxSize = this.#nextSize
    this.#nextSize = undefined
    if (TYPE_HEADER_ONLY.has(type)) { this.#state = 'header'; return }
    if (TYPE_CONTENT.has(type)) {
      if (paxSize !== undefined) size = paxSize
      if (size > this.#inlineMax) {
        this.files++
        this.#left = size
        this.#padAfter = padding(size)
        this.#state = 'content'
        return
      }
      this.#startMeta(size + padding(size))
      return
    }
    if (type === TYPE_PAX && size <= PAX_PARSE_MAX) {
      this.#pax = []
      this.#paxSize = size
      this.#left = size
      this.#state = 'meta'
      if (size === 0) this.#endMeta()
      return
    }
    this.#startMeta(size + padding(size))
  }
}

function paxSize (pieces: Uint8Array[], size: number): number | undefined {
  const data = Buffer.concat(pieces)
  if (data.length !== size) return undefined
  try {
    let found: number | undefined
    for (const [key, value] of decodePaxRecords(data)) {
      if (Buffer.from(key).toString('latin1') !== 'size') continue
      const text = Buffer.from(value).toString('latin1')
      found = /^[0-9]{1,16}$/.test(text) ? Number(text) : undefined
    }
    return found !== undefined && Number.isSafeInteger(found) ? found : undefined
  } catch {
    return undefined
  }
}
