/**
 * Tar archives.
 *
 * Contract of the writer ({@link writeTar}):
 * - Format: POSIX.1-2001 pax interchange format. Every entry has a ustar
 *   header (`ustar\0` magic, version `00`, octal fields, path split into
 *   prefix/name when needed). A PAX extended header (typeflag `x`) precedes
 *   it only when a value does not fit ustar: long or non-ASCII path or link
 *   target, size of 8 GiB or more, uid/gid above 0o7777777, sub-second,
 *   negative or far-future mtime, extended attributes (`SCHILY.xattr.*`,
 *   the form GNU tar reads with `--xattrs`). `hdrcharset=BINARY` marks
 *   headers holding values that are not UTF-8.
 * - Reproducible: output depends only on the entries. No uname/gname unless
 *   given, no atime/ctime, PAX headers are named `PaxHeaders/<base name>`
 *   with mode 0644, owner 0:0 and mtime 0, xattrs are sorted.
 * - Streaming: content chunks are passed through; memory use does not grow
 *   with file sizes.
 * - Strict: entries are validated (safe relative paths, ranges, fields
 *   matching the type) and each file's content must match its size.
 * - The archive ends with exactly two zero blocks, without padding to a
 *   10240-byte record.
 * - Entries are written in the order given. For GNU tar to restore
 *   directory mtimes, give each directory's entries right after it and
 *   contiguously (the pre-order of a tree walk), and hardlink targets before
 *   the links.
 * - Sockets cannot be represented in tar; callers skip them.
 *
 * The reader ({@link readTar}) is for untrusted archives (OCI image
 * layers): streaming with bounded memory, ustar, PAX (with GNU sparse
 * 0.0/0.1/1.0), GNU (long names, base-256, old sparse) and v7 formats, every
 * malformed input a TesseraError with a stable code (`ERR_TAR_*` mostly). It
 * passes paths through as stored: {@link normalizeLayerPath} turns them into
 * safe components. {@link autoDecompress} undoes gzip or zstd compression
 * first, with a bound against decompression bombs.
 *
 * The header and PAX helpers ({@link decodeUstarHeader},
 * {@link decodePaxRecords}, {@link parsePaxTime}, ...) are the building
 * blocks of both.
 *
 * @module
 */
export * from './errors.js'
export * from './entry.js'
export { checkArchivePath } from './path.js'
export * from './header.js'
export * from './pax.js'
export * from './entry-header.js'
export * from './writer.js'
export * from './reader.js'
export type { TarSparseSegment } from './sparse.js'
export { normalizeLayerPath } from './layer-path.js'
export * from './compression.js'
