/**
 * tessera: content-defined chunk storage for container images.
 *
 * @module
 */
export * from './errors.js'
export * from './hash/index.js'
