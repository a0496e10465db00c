/**
 * Importers turn a source (a directory, one tar layer file; OCI images are
 * imported by `oci/import.ts` through `flatten/`) into chunks and trees in
 * a store, and commit a snapshot. Contract:
 * - nothing is visible under a name until the final atomic commit;
 * - the same tree with the same params gives the same root digest whatever
 *   the source and its order;
 * - unreadable or invalid input fails with a stable error code.
 *
 * @module
 */
export * from './commit.js'
export * from './directory.js'
export * from './layer-file.js'
