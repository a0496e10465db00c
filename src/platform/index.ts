/**
 * The platform layer: the file metadata Node.js cannot reach by itself.
 * Linux only.
 *
 * Contract:
 *
 * - **Paths are bytes.** Every path argument may be a `Buffer` (or
 *   `Uint8Array`) holding any bytes except NUL, including non-UTF-8 ones;
 *   strings are taken as UTF-8. Nothing is ever decoded and re-encoded on
 *   the way to the kernel: where a tool or API only takes strings, the
 *   directory is opened here and named `/proc/self/fd/<n>` (needs `/proc`).
 * - **Symlinks are never followed** at the last component: xattrs are read
 *   and written on the link itself.
 * - **Bulk, not per file.** Extended attributes of a whole tree are read by
 *   one `getfattr` and written by one `setfattr` (Debian package `attr`).
 *   Special files are rarer and cost one `mknod` (coreutils) each; sockets
 *   none.
 * - **Errors** have stable codes: a tool that cannot be run is
 *   `UnsupportedError` (`ERR_UNSUPPORTED`; probe with
 *   {@link xattrSupport}); an operation that fails is
 *   {@link PlatformError} (`ERR_PLATFORM`) with the Node.js error as
 *   `cause` and the tool's stderr as `details`; bad arguments are
 *   `InvalidArgumentError` / `InvalidPathError`; cancellation is
 *   `AbortedError`.
 * - **Per-file xattr problems are warnings** when an `onWarning` callback is
 *   given, and an error (after the whole run) when it is not.
 *
 * Modules: `xattr.ts` (bulk xattrs), `special-files.ts` (FIFOs, devices,
 * sockets), `stat.ts` (root check, `rdev` numbers), `remove-tree.ts`
 * (making a target's directories, removing what a failed write made), `errors.ts`. Internal:
 * `xattr-dump.ts` (the getfattr/setfattr text format), `tool.ts` (running a
 * tool), `dir-fd.ts` (the `/proc/self/fd` naming).
 *
 * @module
 */
export { PlatformError, type PlatformErrorOptions } from './errors.js'
export {
  readXattrsTree, writeXattrs, xattrSupport, xattrKey,
  type Xattr, type XattrWarning, type XattrOptions, type ReadXattrsOptions, type WriteXattrsOptions,
  type XattrItem, type WriteXattrsResult, type XattrSupportOptions
} from './xattr.js'
export { makeFifo, makeDevice, makeSocket, type DeviceKind, type MknodOptions } from './special-files.js'
export { emptyDirectory, makeDirectories, removeTree } from './remove-tree.js'
export { isRoot, deviceNumbers, makeRdev, LINUX_MAX_MAJOR, LINUX_MAX_MINOR, type DeviceNumbers } from './stat.js'
