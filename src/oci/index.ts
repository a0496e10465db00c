/**
 * Container images in and out. Contract:
 * - sources (`openOciLayout`, `openDockerArchive`) verify every blob's
 *   digest and size as it is read and refuse malformed or oversized JSON
 *   with `ERR_OCI_*` codes;
 * - `importImage` flattens an image into one snapshot, only the final tree
 *   being stored, and commits nothing if any layer is bad;
 * - `exportOciLayout` writes a one-layer image that umoci and skopeo read,
 *   reproducibly for a given snapshot.
 *
 * @module
 */
export * from './types.js'
export * from './annotations.js'
export * from './errors.js'
export { openOciLayout, type OpenOciLayoutOptions, OCI_LAYOUT_VERSION } from './layout-source.js'
export { openDockerArchive, type OpenDockerArchiveOptions } from './docker-archive-source.js'
export { parseImageLocation, type ImageLocation, type ImageTransport } from './reference.js'
export { parsePlatform, formatPlatform, defaultPlatform } from './platform.js'
export { importImage, imageConfigOf, DEFAULT_IMAGE_LIMITS, type ImportImageOptions, type ImageLimits } from './import.js'
export {
  exportOciLayout, NotOciLayoutError, InvalidImageConfigError, REF_NAME_ANNOTATION, LayoutLockedError, LAYOUT_LOCK_FILE,
  type ExportOciLayoutOptions, type ExportOciLayoutResult, type OciLayerCompression
} from './export-layout.js'
