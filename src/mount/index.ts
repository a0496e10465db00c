/**
 * Mounting a snapshot read-only, so that a runtime, `chroot` or a person
 * uses the rootfs in place, with nothing unpacked. Contract:
 *
 * - The mount shows the snapshot exactly: kinds, modes (setuid, setgid,
 *   sticky), owners, mtimes to the nanosecond, sizes, symlink targets,
 *   hard links as one inode with its link count, device numbers, FIFOs,
 *   sockets, xattrs, and statfs figures. Inode numbers depend only on the
 *   snapshot (`./inode-table.ts`).
 * - It is read-only: every write fails with EROFS.
 * - Content goes through {@link SnapshotReader.readFile}, so every chunk is
 *   verified; a chunk that fails gives EIO for that read, reported through
 *   `onLog`, and never other bytes.
 * - It runs over any {@link SnapshotSource}: the store behind the reader
 *   may be local or fetch chunks on first read; the mount bounds the
 *   chunks it asks for at once and keeps recent ones in memory.
 * - FUSE is an implementation detail of `./fuse/`: nothing else here, in
 *   the store or in the exporters knows of it.
 *
 * @module
 */
export { mountSnapshot, type MountHandle, type MountOptions, type MountProgress } from './mount.js'
export { MountError, MountUnavailableError } from './errors.js'
export { ROOT_INO, type ReadOnlyFilesystem, type NodeAttributes, type DirectoryListing, type FilesystemFigures } from './filesystem.js'
export { InodeTable, type InodeTableOptions, DEFAULT_MAX_INODES } from './inode-table.js'
export { SnapshotFilesystem, type SnapshotFilesystemOptions, DEFAULT_READ_AHEAD_BYTES } from './snapshot-filesystem.js'
export { ChunkCache, type ChunkCacheOptions, type ChunkCacheStats, DEFAULT_CACHE_BYTES, DEFAULT_MAX_IN_FLIGHT } from './chunk-cache.js'
export { serveFilesystem, type ServeOptions, type FuseMount, FS_TYPE, isMounted } from './fuse/index.js'
