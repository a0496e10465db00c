/**
 * A bit-exact TypeScript port of the gzip writer umoci, skopeo and other
 * Go tools use: `github.com/klauspost/pgzip` 1.2.5 on
 * `github.com/klauspost/compress/flate` 1.15.12 (the versions Debian
 * builds umoci 0.4.7 with). Layers they write can then be recreated from
 * their uncompressed bytes instead of being stored whole.
 *
 * Contract:
 * - {@link PgzipDeflater} turns a byte stream into the exact raw deflate
 *   stream pgzip writes for it at that level and block size, however the
 *   input is split into pushes (pgzip's output does not depend on write
 *   sizes either). Header and trailer are not part of it.
 * - Only level 5 (`DefaultCompression`, −1) is ported; other levels throw
 *   `UnsupportedError` (`ERR_UNSUPPORTED`). Bad block sizes throw
 *   `InvalidArgumentError` (`ERR_INVALID_ARGUMENT`).
 * - Pure JS with typed arrays: the same bytes on every machine and Node.js
 *   version. Memory is bounded by the block size (plus about 1 MiB of tables).
 * - Go semantics are kept where they change bytes: int32 positions, uint32
 *   hash products (`Math.imul`, 64-bit products by 16-bit limbs), uint16
 *   token counters, float32 entropy estimates (`Math.fround`, no fused
 *   multiply-add, as Go on amd64).
 *
 * Files, one concept each: `tokens.ts` (token encoding, histograms,
 * estimates), `huffman-code.ts` (length-limited codes), `bit-writer.ts`
 * (block type choice and bit output), `level5.ts` (match finder),
 * `compressor.ts` (`flate.Writer`), `pgzip.ts` (block framing).
 *
 * @module
 */
export { PgzipDeflater, PGZIP_TAIL_SIZE, PGZIP_DEFAULT_BLOCK_SIZE, PGZIP_MAX_BLOCK_SIZE, UMOCI_BLOCK_SIZE } from './pgzip.js'
export { FlateCompressor, PORTED_LEVELS } from './compressor.js'

/** The name recipes record for this implementation. */
export const PGZIP_IMPLEMENTATION = 'klauspost-pgzip@1.2.5+compress@1.15.12'
