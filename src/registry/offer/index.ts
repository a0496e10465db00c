/**
 * Images pushed to `tessera serve` as ordinary layers (by docker, podman,
 * skopeo), offered in tessera's own format (docs/FORMAT.md §11.5, "For
 * registries"): a tessera manifest whose `subject` is the image manifest,
 * listed by the referrers API, built from the chunks the registry already
 * holds.
 *
 * Contract:
 * - the snapshot is the image flattened as `import oci:` flattens it, with
 *   default parameters (the same root); its packs are laid out as
 *   `tessera push` lays out new packs (§11.4) and are blobs rebuilt from
 *   the store's own stored objects (pack recipes, §10): nothing of the
 *   chunks is stored again;
 * - everything built is stored as ordinary registry records (blob
 *   records, a manifest record linked into the repository with its
 *   referrers entry), so it is kept by `gc` like anything pushed, served
 *   by GET, HEAD and Range like any blob, and deleted the same way; the
 *   same image in the same store gives the same digests every time;
 * - an image is built when a client first asks for its tessera referrers
 *   (`?artifactType=application/vnd.tessera.snapshot.v1`, or the fallback
 *   tag `sha256-<hex>`), one build at a time, the request waiting for it;
 *   images that are not flattenable images (artifacts, configs without
 *   matching `diff_ids`, missing layers) are never built, and an import
 *   that fails (a bad tar, a limit) is not retried while the process runs.
 *
 * Files: `image-source.ts` (what can be offered, and the image as
 * `importImage` reads it), `build.ts` (import, packs, metadata, manifest),
 * `offers.ts` (the {@link SnapshotOffers} service).
 *
 * @module
 */
export { createSnapshotOffers, type SnapshotOffersOptions } from './offers.js'
export type { OfferObjectStore } from './build.js'
export type { SnapshotOffers } from '../types.js'
