/**
 * Layer blobs as chunks plus a recipe (the tar-split idea), rebuilt bit for
 * bit. Pure library: no knowledge of repositories or of how the recipe is
 * kept (the registry store keeps it per blob).
 *
 * Contract:
 * - {@link decomposeLayer} never throws for the blob's bytes: any blob
 *   (config, artifact, malformed or truncated tar, unknown compression) is
 *   `whole` with a reason, `isLayer` telling whether a tar is inside. Only
 *   I/O and store errors and aborts (`ERR_ABORTED`) throw.
 * - It returns `reproduced` only after rebuilding the blob from the recipe
 *   and the store gave bytes whose sha256 is `blob.digest`.
 * - Regular-file contents are cut exactly as `tessera import` cuts them
 *   (FastCDC 16/64/256 KiB, files up to `inlineMax` = 64 bytes not
 *   chunked), so a layer shares its chunks with imported images and with
 *   every other layer holding the same files. Everything else of the tar
 *   (headers, PAX and GNU records, padding, end blocks, trailing bytes) is
 *   one "meta" stream, itself FastCDC-chunked; a "layout" stream of
 *   `[gap, digest, length]` records interleaves the two. The recipe root
 *   lists at most 256 chunks per stream (one more level of chunks per 256),
 *   so it stays under about 25 KiB whatever the layer.
 * - Compression is recreated, never stored: gzip by a pinned pure-JS zlib
 *   (`pako@2.1.0` = stock zlib, `pako@3.0.3` = Node.js 20's zlib) or by a
 *   bit-exact port of a Go writer: pgzip in `klauspost-pgzip/` (umoci's and
 *   skopeo's layers), `compress/gzip` in `go-compress-flate/` (docker's),
 *   with the parameters found by a prefix search; zstd by
 *   `zstd-codec@0.1.5`. Layers from GNU gzip or the `zstd` command are
 *   `whole` (`isLayer: true`).
 * - {@link rebuildLayer} verifies every chunk it reads; a whole rebuild
 *   also checks the blob digest and fails with `ERR_INTEGRITY` rather than
 *   end. Ranges of plain tars read only the chunks they need; ranges of
 *   compressed blobs are recompressed from the start.
 * - The recipe encoding is specified in docs/FORMAT.md, "Layer recipes".
 *
 * Files: `decompose.ts`, `rebuild.ts`, `recipe.ts` (root object),
 * `tar-split.ts` (the splitter), `tar-stream.ts` (split into / rebuild from
 * the store), `chunked-stream.ts`, `canonical-sequence.ts`, `gzip.ts`,
 * `deflate-impl.ts`, `klauspost-pgzip/` (the pgzip port), `go-compress-flate/`
 * (the Go `compress/flate` port), `zstd.ts`.
 *
 * @module
 */
export { decomposeLayer } from './decompose.js'
export type { LayerDecomposition, DecomposeOptions } from './decompose.js'
export { rebuildLayer, recipeChunks } from './rebuild.js'
export type { RebuildOptions } from './rebuild.js'
export { decodeRecipe, encodeRecipe, recipeFormat, LAYER_RECIPE_TYPE, LAYER_RECIPE_VERSION } from './recipe.js'
export type { LayerRecipe, RecipeCompression, DeflateParams, BlockDeflateParams, StreamRef } from './recipe.js'
