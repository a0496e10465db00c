/**
 * The block framing of `klauspost/pgzip` 1.2.5's `Writer` (`gzip.go`):
 * the input is cut into blocks of exactly `blockSize` bytes (the last one
 * shorter, possibly empty), whatever sizes the writes came in. Each block
 * is compressed by a reset `flate.Writer` whose dictionary is the last
 * 16 KiB of the previous block (none after a block of ≤ 16 KiB), then
 * sync-flushed (`00 00 ff ff` after an empty stored block header); the
 * last block is also closed (an empty final fixed block, `03 00`). The
 * block outputs are concatenated, so the raw deflate stream is a function
 * of the uncompressed bytes, the level and the block size only.
 *
 * pgzip's member header is `1f 8b 08 00`, MTIME `00 09 6e 88` (Go's zero
 * `time.Time` as a uint32), XFL 0 (2 at level 9, 4 at level 1), OS 255,
 * unless the caller set header fields; the trailer is CRC-32 and ISIZE.
 * Both are the caller's business here: this module makes the deflate part.
 *
 * @module
 */
import { InvalidArgumentError } from '../../errors.js'
import { FlateCompressor } from './compressor.js'

/** pgzip's dictionary carried from one block to the next. */
export const PGZIP_TAIL_SIZE = 16384
/** pgzip's default block size (`SetConcurrency` not called): 1 MiB. */
export const PGZIP_DEFAULT_BLOCK_SIZE = 1 << 20
/** The block size umoci 0.4.7 sets (`SetConcurrency(256<<10, …)`). */
export const UMOCI_BLOCK_SIZE = 256 << 10
/** Largest block size accepted here (pgzip itself has no upper bound). */
export const PGZIP_MAX_BLOCK_SIZE = 64 << 20

/** An incremental pgzip deflate stream (raw deflate, no gzip header or trailer). */
export class PgzipDeflater {
  private readonly compressor: FlateCompressor
  private readonly block: Uint8Array
  private blockLen = 0
  private readonly tail = new Uint8Array(PGZIP_TAIL_SIZE)
  private hasTail = false
  private ended = false

  /**
   * @param level - pgzip/flate level (−1 = default = 5; only ported levels work).
   * @param blockSize - pgzip block size: more than 16384 bytes.
   * @param onData - receives the output of each block as it is finished (a view valid during the call).
   */
  constructor (level: number, readonly blockSize: number, private readonly onData: (bytes: Uint8Array) => void) {
    if (!Number.isSafeInteger(blockSize) || blockSize <= PGZIP_TAIL_SIZE || blockSize > PGZIP_MAX_BLOCK_SIZE) {
      throw new InvalidArgumentError(`pgzip block size must be ${PGZIP_TAIL_SIZE + 1} … ${PGZIP_MAX_BLOCK_SIZE}, not ${blockSize}`)
    }
    this.compressor = new FlateCompressor(level)
    this.block = new Uint8Array(blockSize)
  }

  /** Feed input; `final` ends the stream (then nothing more may be pushed). */
  push (bytes: Uint8Array, final: boolean): void {
    if (this.ended) throw new InvalidArgumentError('pgzip stream already ended')
    let off = 0
    while (off < bytes.length) {
      const n = Math.min(this.blockSize - this.blockLen, bytes.length - off)
      this.block.set(bytes.subarray(off, off + n), this.blockLen)
      this.blockLen += n
      off += n
      if (this.blockLen === this.blockSize) this.compressBlock(false)
    }
    if (final) {
      this.ended = true
      this.compressBlock(true)
    }
  }

  private compressBlock (last: boolean): void {
    const c = this.compressor
    const data = this.block.subarray(0, this.blockLen)
    c.resetDict(this.hasTail ? this.tail : undefined)
    // the next block's dictionary (pgzip copies it before compressing this one)
    if (data.length > PGZIP_TAIL_SIZE) {
      this.tail.set(data.subarray(data.length - PGZIP_TAIL_SIZE))
      this.hasTail = true
    } else {
      this.hasTail = false
    }
    c.write(data)
    c.flush()
    if (last) c.close()
    this.blockLen = 0
    const out = c.take()
    if (out.length > 0) this.onData(out)
  }
}
