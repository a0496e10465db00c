/**
 * Layers: applying OCI layer tars (whiteouts, opaque directories,
 * replacements, hard links across layers) to an in-memory rootfs, and
 * flattening a stack of them into one canonical snapshot root. Contract:
 * - only the final tree is stored: content deleted or replaced by a later
 *   layer is never chunked or stored;
 * - no path of a layer can reach outside the rootfs (`..` is refused,
 *   symlinks resolve inside the rootfs);
 * - whiteout entries never appear in the result;
 * - the result does not depend on the order of entries inside a layer,
 *   except where the OCI spec says a later entry replaces an earlier one.
 *
 * @module
 */
export * from './tree.js'
export * from './resolve.js'
export * from './whiteout.js'
export * from './apply.js'
export * from './flatten.js'
export * from './load.js'
