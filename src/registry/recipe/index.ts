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
 * - Compression is recreated, never stored, by `../../compression/`
 *   (pinned zlib ports, bit-exact ports of Go's pgzip and `compress/gzip`
 *   writers, `zstd-codec@0.1.5`), with the parameters found by a prefix
 *   search. Layers from GNU gzip or the `zstd` command are `whole`
 *   (`isLayer: true`).
 * - {@link rebuildLayer} verifies every chunk it reads; a whole rebuild
 *   also checks the blob digest and fails with `ERR_INTEGRITY` rather than
 *   end. Ranges of plain tars read only the chunks they need; ranges of
 *   compressed blobs are recompressed from the start.
 * - The recipe encoding is specified in docs/FORMAT.md, "Layer recipes".
 *
 * Pack blobs (docs/FORMAT.md §11.3, tessera's own registry format) are
 * kept the same way, by a **pack recipe**: {@link splitPack} checks every
 * record of a pushed pack (digest after decoding, lengths within bounds)
 * and stores each record's chunk once, in its pushed stored form, keeping
 * the pushed record whole only where the store holds the chunk in another
 * form; {@link buildPackRecipe} makes a pack blob of chunks the store
 * already holds (the packs `tessera serve` offers for images pushed as
 * layers); {@link rebuildPack} gives the blob back byte for byte, a range
 * reading only the records it covers.
 *
 * Files: `decompose.ts`, `rebuild.ts`, `recipe.ts` (root object),
 * `recipe-chunks.ts` (the chunks a recipe needs, for gc and fsck),
 * `tar-split.ts` (the splitter), `layer-tar.ts` (a layer's tar stream
 * split into and rebuilt from the store), `chunked-stream.ts`,
 * `canonical-sequence.ts`, `recipe-fields.ts` (field checks and stream
 * references both recipes share), `range.ts`; for packs `pack-recipe.ts`
 * (root object and layout records), `pack-split.ts`, `pack-build.ts`,
 * `pack-rebuild.ts`.
 *
 * @module
 */
export { decomposeLayer } from './decompose.js'
export type { LayerDecomposition, DecomposeOptions } from './decompose.js'
export { rebuildLayer, rebuildLayerTar } from './rebuild.js'
export { checkRange, checkRanges, RangeCursor } from './range.js'
export { recipeChunks, packRecipeChunks } from './recipe-chunks.js'
export { splitPack, type PackSplit, type PackSplitStore } from './pack-split.js'
export { rebuildPack, type PackRebuildOptions } from './pack-rebuild.js'
export { buildPackRecipe, type BuiltPackRecipe, type PackBuildStore } from './pack-build.js'
export { decodePackRecipe, encodePackRecipe, PACK_RECIPE_TYPE, PACK_RECIPE_VERSION, type PackRecipe, type PackLayoutRecord } from './pack-recipe.js'
export type { RebuildOptions } from './rebuild.js'
export { decodeRecipe, encodeRecipe, recipeFormat, LAYER_RECIPE_TYPE, LAYER_RECIPE_VERSION } from './recipe.js'
export type { LayerRecipe, RecipeCompression, DeflateParams, BlockDeflateParams, StreamRef } from './recipe.js'
