/**
 * A bit-exact TypeScript port of Go's standard `compress/flate` (Go
 * 1.19.8, levels 2–9) as `compress/gzip` drives it: what docker's
 * `pkg/archive` and other Go programs write with `gzip.NewWriter`
 * (`DefaultCompression`, level 6). Layers they write can then be
 * recreated from their uncompressed bytes instead of being stored whole.
 *
 * Contract:
 * - {@link StdFlateCompressor} turns a byte stream into the exact raw
 *   deflate stream `flate.NewWriter(w, level)` writes for it, closed with
 *   `Close` (an empty final stored block), however the input is split into
 *   writes: Go's output does not depend on write sizes either. The gzip
 *   header (`1f 8b 08 00`, MTIME 0 unless set, XFL 0, or 2 at level 9 and
 *   4 at level 1, OS 255) and trailer are the caller's business.
 * - Levels 2–9 and −1 (= 6). Level 1 (`BestSpeed`, a different
 *   algorithm), 0 and −2 throw `UnsupportedError` (`ERR_UNSUPPORTED`).
 * - Pure JS with typed arrays; memory is fixed (about 1 MiB).
 * - The Huffman code construction is the same algorithm as
 *   klauspost/compress's and is shared with `../klauspost-pgzip/`.
 *
 * Files: `bit-writer.ts` (block type choice and bit output), `deflate.ts`
 * (window, hash chains, lazy matching).
 *
 * @module
 */
export { StdFlateCompressor, STD_LEVELS } from './deflate.js'

/** The name recipes record for this implementation. */
export const GO_FLATE_IMPLEMENTATION = 'go1.19.8-compress/flate'
