/**
 * tessera: content-defined chunk storage for container images and
 * directory trees.
 *
 * - `chunker`: streaming FastCDC.
 * - `hash`: sha256 (node:crypto, with @noble/hashes as the portable path).
 * - `format`: the canonical metadata tree (docs/FORMAT.md).
 * - `store`: the LevelDB object store.
 * - `importer` / `exporter`: directories and tar streams in and out,
 *   byte-range reads.
 * - `maintenance`: `gc`, `fsck`, and the gc root set.
 * - `mount`: a snapshot as a read-only FUSE filesystem.
 *
 * @example
 * ```ts
 * import { openStore, importDirectory, SnapshotReader, exportDirectory } from 'tessera'
 * const store = await openStore('./.tessera')
 * const { root } = await importDirectory(store, '/srv/rootfs', { name: 'rootfs' })
 * const reader = await SnapshotReader.open(store, 'rootfs')
 * await exportDirectory(reader, '/tmp/copy')
 * await store.close()
 * ```
 *
 * @module
 */
export * from './errors.js'
export * from './hash/index.js'
export * from './chunker/index.js'
export * from './format/index.js'
export * from './store/index.js'
export * from './content/index.js'
export * from './importer/index.js'
export * from './exporter/index.js'
export * from './tar/index.js'
export * from './flatten/index.js'
export * from './oci/index.js'
export * from './maintenance/index.js'
export * from './registry/index.js'
export * from './mount/index.js'
export { main as runCli } from './cli/main.js'
