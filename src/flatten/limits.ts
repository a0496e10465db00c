/**
 * Resource limits of flattening layers, shared by image imports
 * (`importImage`) and layer-file imports (`import tar:`), with the safe
 * defaults both use (docs/SECURITY.md).
 *
 * @module
 */

/** Resource limits of a layer import. */
export interface LayerLimits {
  /** Most bytes one decompressed layer may have (decompression bombs). Default 64 GiB. */
  maxLayerBytes?: number
  /**
   * Most bytes one file in a layer may declare: its logical size, holes of
   * sparse files included (a few hundred bytes of sparse map can declare
   * petabytes). Default 64 GiB.
   */
  maxEntryBytes?: number
  /** Most tar entries over all layers. Default 500,000. */
  maxEntries?: number
  /** Most path components of an entry. Default 1024. */
  maxDepth?: number
}

/** Default {@link LayerLimits.maxEntries}: 500,000 entries (about 2 GiB of memory while flattening). */
export const DEFAULT_MAX_LAYER_ENTRIES = 500_000
/** Default {@link LayerLimits.maxDepth}: 1024 path components (Linux paths cannot go deeper than 2048). */
export const DEFAULT_MAX_PATH_DEPTH = 1024

/** The default limits. */
export const DEFAULT_LAYER_LIMITS: Readonly<Required<LayerLimits>> = Object.freeze({
  maxLayerBytes: 64 * 2 ** 30,
  maxEntryBytes: 64 * 2 ** 30,
  maxEntries: DEFAULT_MAX_LAYER_ENTRIES,
  maxDepth: DEFAULT_MAX_PATH_DEPTH
})
