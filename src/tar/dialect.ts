/**
 * Tar dialects: which reader's interpretation {@link readTar} follows
 * where tar readers disagree about what an archive holds.
 *
 * An image layer that tessera reads differently from the container runtime
 * is a security problem, not a nicety: a scanner reading tessera's tree
 * would see other files than the container runs. The runtimes (containerd,
 * CRI-O, Docker, umoci, skopeo) all read layers with Go's `archive/tar`, so
 * layers are always read in the `'go'` dialect. `import tar:` offers both.
 *
 * The rules that differ (everything else is read alike, and alike by both
 * Go's reader and GNU tar 1.34):
 *
 * | archive holds | `'go'` (Go 1.19 `archive/tar`, the runtimes) | `'gnu'` (GNU tar 1.34) |
 * |---|---|---|
 * | PAX global header (`g`) | ignored, and any extended header or GNU long name pending before it is dropped | its `path`, `mtime`, `uid`... apply to every later entry |
 * | a PAX record with an empty value | the ustar field is kept | taken: an empty number is an error, an empty path is refused (GNU tar names the member `.`) |
 * | numeric field starting with NUL or space (`\0\0\0016\0`) | leading and trailing NULs and spaces trimmed, then cut at the first NUL: 14 | leading spaces skipped, a NUL ends the number: 0 |
 * | numeric field with bytes after the digits (`12 34`) | refused | the number ends at the space: 10 |
 * | base-256 number whose first byte is `0x81`…`0xfe` | base 256, bit 6 the sign | refused |
 * | `ustar\0` magic with a version other than `00` | ustar (prefix, owner names, devices read) | v7 |
 * | GNU long name (`L`) and PAX `path` for one entry | the long name wins (`K` over `linkpath` likewise); an empty long name is ignored | the PAX record wins |
 * | typeflag `0` or `7` with a name ending in `/` | a file (the runtimes then drop the `/`) | a directory |
 * | size field of a symlink, device or FIFO | ignored, as for directories and hard links | that many data bytes follow, skipped |
 * | typeflag `D` (GNU dumpdir) | refused (`ERR_UNSUPPORTED`; Go returns it, the runtimes do not unpack it) | a directory, its data skipped |
 * | volume label (`V`) | no file; metadata pending before it applies to it | no file |
 * | old GNU header (`ustar  \0`) whose atime/ctime are not numbers | the prefix field holds a path prefix (what Go before 1.8 wrote) | no prefix |
 * | star header (`tar\0` at byte 508) | the prefix is 131 bytes | the prefix is 155 bytes |
 * | `SCHILY.xattr.` names with `%3D` or `%25` | taken as they are | unescaped to `=` and `%` |
 * | `LIBARCHIVE.xattr.*`, `SCHILY.devmajor`/`devminor` records | ignored | read |
 * | malformed `atime` or `ctime`, seconds beyond int64 | refused | ignored (atime, ctime) or kept (mtime, for the importer to refuse) |
 * | NUL bytes after the last PAX record; a NUL in a `path`, `linkpath`, `uname` or `gname` value | refused | ignored; a NUL in a path refused |
 * | GNU sparse PAX records (0.x) without `GNU.sparse.numblocks` | refused | read |
 * | GNU sparse PAX records with an unknown version | not sparse: a plain file | refused (`ERR_UNSUPPORTED`) |
 * | `GNU.sparse.size` and `GNU.sparse.realsize` both set | `GNU.sparse.size`; neither set: the stored size | the one that comes last; neither: refused |
 * | old GNU sparse map: an entry with an empty offset field | ends the entries of that block; an extension block still follows when flagged | refused unless the rest of the map is empty |
 *
 * Both agree (and tessera follows them) that only the last PAX extended
 * header before an entry applies, that PAX decimals may have any number of
 * leading zeros and a `+`, and that a GNU long name ends at its first NUL.
 * Both dialects are stricter than their reader where an archive is
 * damaged: an extended header followed by the end of the input, an
 * archive ending inside the padding after a file, a v7 directory with
 * data, a malformed PAX time are refused, where Go or GNU tar read on.
 * test/tar/go-differential.test.ts and gnu-differential.test.ts check
 * these against Go's and GNU tar's readings of Go's own test archives.
 *
 * @module
 */

/** A tar reader dialect: `'go'` for Go's `archive/tar` (image layers), `'gnu'` for GNU tar. */
export type TarDialect = 'go' | 'gnu'

/** The dialect of image layers and the default of {@link readTar}: Go's `archive/tar`, as the runtimes read them. */
export const DEFAULT_TAR_DIALECT: TarDialect = 'go'

/** Both dialects, for option checks. */
export const TAR_DIALECTS: readonly TarDialect[] = ['go', 'gnu']
