/**
 * Compression recreated bit for bit: given the uncompressed bytes of a
 * gzip or zstd stream someone else wrote, find the pinned implementation
 * and parameters that wrote it, and write it again from those bytes. It
 * knows nothing of layers, recipes or registries (`../registry/recipe/`
 * uses it to keep compressed layers as chunks of their tar).
 *
 * Contract:
 * - Every implementation is pinned (a package at an exact version, or a
 *   port named after the Go module versions it ports): the same
 *   parameters give the same bytes on every machine and every Node.js
 *   version. `node:zlib` is never used to write a stream that must be
 *   recreated (its output may change with Node.js versions).
 * - A search ({@link findGzipParams}, {@link findZstdLevel}) compresses a
 *   prefix with each candidate and stops a candidate at its first byte
 *   that differs, so a stream no candidate makes costs about one block per
 *   candidate. It returns parameters only if they made every byte it
 *   compared.
 * - A writer ({@link gzipStream}, {@link gzipBlocksStream},
 *   {@link zstdStream}) is streaming, with memory bounded by its window
 *   or block size, and honours an `AbortSignal`.
 * - Unknown implementations and unported levels throw `UnsupportedError`
 *   (`ERR_UNSUPPORTED`); bad parameters `InvalidArgumentError`.
 *
 * Files, one concept each: `params.ts` (what a recipe records),
 * `deflate-impl.ts` (the pinned deflate implementations: pako 2.1.0 and
 * 3.0.3, the Go ports), `gzip.ts` (gzip members: header, trailer, the
 * parameter search, the writers), `zstd-codec.ts` (zstd by `zstd-codec`
 * 0.1.5), `deflate-bit-writer.ts` (what the two Go block writers share),
 * `klauspost-pgzip/` (the pgzip 1.2.5 port, umoci's and skopeo's writer),
 * `go-compress-flate/` (the Go 1.19.8 `compress/flate` port, docker's).
 *
 * @module
 */
export type { BlockDeflateParams, DeflateParams } from './params.js'
export {
  deflateImplementation, deflateImplementations, blockDeflateImplementation, blockDeflateImplementations,
  type BlockDeflateImplementation, type BlockParams, type DeflateImplementation, type RawDeflater, type ZlibParams
} from './deflate-impl.js'
export {
  GZIP_HEADER_MAX, type GzipHeader, type GzipParams, type InflatedPrefix, parseGzipHeader, crc32, crc32Portable, gzipTrailer,
  deflateCandidates, deflateMatches, blockDeflateMatches, blockDeflateCandidates, findDeflateParams, findGzipParams,
  gzipStream, gzipBlocksStream, inflatePrefix
} from './gzip.js'
export { ZSTD_IMPLEMENTATION, ZstdDataError, findZstdLevel, zstdDecompressStream, zstdFrameObstacle, zstdStream } from './zstd-codec.js'
export { GO_FLATE_IMPLEMENTATION, StdFlateCompressor, STD_LEVELS } from './go-compress-flate/index.js'
export { PGZIP_IMPLEMENTATION, PgzipDeflater, PGZIP_TAIL_SIZE, PGZIP_DEFAULT_BLOCK_SIZE, PGZIP_MAX_BLOCK_SIZE, UMOCI_BLOCK_SIZE, FlateCompressor, PORTED_LEVELS } from './klauspost-pgzip/index.js'
