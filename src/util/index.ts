/**
 * Small helpers shared by folders that must not depend on each other (the
 * importer and the exporter both bound their concurrency with
 * {@link Limiter}). Nothing here knows about stores, snapshots or files.
 *
 * @module
 */
export { Limiter } from './limiter.js'
