/**
 * tessera: content-defined chunk storage for container images and
 * directory trees.
 *
 * - `chunker`: streaming FastCDC.
 * - `hash`: sha256 (node:crypto, with @noble/hashes as the portable path).
 * - `format`: the canonical metadata tree (docs/FORMAT.md).
 * - `store`: the store's capabilities as interfaces, and the LevelDB
 *   store with its pack files that implements them.
 * - `content`: a file's content as inline bytes or stored chunks.
 * - `importer` / `exporter`: directories and tar layers in, directories and
 *   tar streams out, byte-range reads, diff.
 * - `tar`: the tar reader (as Go's archive/tar reads) and writer.
 * - `flatten`: OCI layer semantics, layers flattened into one tree.
 * - `oci`: OCI layouts and docker archives in, OCI layouts out.
 * - `maintenance`: `gc`, `fsck`, and the gc root set.
 * - `registry`: `tessera serve`, a distribution-spec registry on the store.
 * - `mount`: a snapshot as a read-only FUSE filesystem.
 * - `distribution`: snapshots through any OCI registry (`pushSnapshot`,
 *   `pullSnapshot`, `RemoteSnapshot`) and the registry client
 *   (`openRepository`).
 * - `platform`: xattrs, special files and what Node.js cannot reach
 *   (`PlatformError` is exported here; the rest is internal).
 *
 * Internal folders, not exported: `compression` (bit-exact gzip and zstd
 * writers for the registry), `util`, `cli`.
 *
 * Names and paths inside snapshots are bytes (`Uint8Array`): a file name
 * need not be UTF-8. Functions that take a path inside a snapshot take a
 * string (UTF-8) or bytes; entries they return carry `Uint8Array` names.
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
export * from './distribution/index.js'
export { PlatformError, type PlatformErrorOptions } from './platform/index.js'
export { main as runCli } from './cli/main.js'
