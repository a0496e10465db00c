/**
 * A file's content as a snapshot records it: inline bytes when the whole
 * file fits in `inlineMax`, otherwise FastCDC chunks, each hashed and
 * written to the store once (docs/FORMAT.md §4). Every importer (directory
 * walks, tar layers, OCI images) stores contents through this, so the same
 * file gives the same chunks whatever it came from.
 *
 * Contract: {@link storeContent} needs only an `ObjectWriter`'s `putChunk`;
 * chunk references come back in file order; a chunk the store already had
 * is not counted as new.
 *
 * @module
 */
export * from './file-content.js'
