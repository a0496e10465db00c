/**
 * The parameters that recreate a compressed stream bit for bit, as layer
 * recipes record them (docs/FORMAT.md, "Layer recipes").
 *
 * @module
 */

/** Parameters of a deflate implementation that recreated a stream. */
export interface DeflateParams {
  /** Pinned implementation, e.g. `pako@2.1.0` (stock zlib 1.2.x output). */
  implementation: string
  level: number
  windowBits: number
  memLevel: number
  strategy: number
}

/**
 * Parameters of a Go gzip writer that recreated a stream: pgzip cuts the
 * input into `blockSize`-byte blocks, each compressed at the flate `level`
 * with the previous block's last 16 KiB as dictionary; Go's
 * `compress/gzip` makes one stream (`blockSize` 0).
 */
export interface BlockDeflateParams {
  /** Ported implementation: `klauspost-pgzip@1.2.5+compress@1.15.12` or `go1.19.8-compress/flate`. */
  implementation: string
  /** flate level 1–9 (Go's `DefaultCompression`, −1, is recorded as the level it means: 5). */
  level: number
  /** pgzip block size in bytes (16385 … 64 MiB), or 0 for a writer that makes one flate stream. */
  blockSize: number
}
