/**
 * The canonical metadata format (docs/FORMAT.md §3–§5). Contract:
 * - `encode*` functions validate their input and always produce the single
 *   canonical encoding; their output always decodes.
 * - `decode*` functions accept only canonical bytes and throw
 *   `NonCanonicalError` (`ERR_NON_CANONICAL`) for anything else.
 * - Builders refuse unsorted or duplicate entries (`ERR_UNSORTED_ENTRIES`).
 *
 * @module
 */
export * from './canonical.js'
export * from './entry.js'
export * from './names.js'
export * from './tree.js'
export * from './snapshot.js'
export * from './ref.js'
export * from './mtime.js'
