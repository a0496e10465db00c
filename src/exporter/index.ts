/**
 * Exporters reassemble snapshots on demand: a {@link SnapshotReader} for
 * listing, stat and byte-range reads; a directory; a tar stream. Contract:
 * - every object read is verified against its digest (`ERR_INTEGRITY`);
 * - nothing is written outside an export target, whatever the snapshot holds;
 * - a byte-range read fetches only the chunks that cover the range.
 *
 * @module
 */
export * from './snapshot-reader.js'
export * from './directory.js'
export * from './tar.js'
export * from './diff.js'
