/**
 * Reading an image from an OCI image layout directory (what `umoci`,
 * `skopeo copy ... oci:DIR:TAG`, `docker buildx --output type=oci` write),
 * for untrusted layouts.
 *
 * What is checked:
 * - `oci-layout` exists and says `imageLayoutVersion` `1.0.0`;
 * - `index.json` and every manifest, index and config are parsed strictly
 *   (see `json.ts`) within their size limits; every blob read is checked
 *   against its descriptor's digest and size; layers are checked as they
 *   are streamed;
 * - blob paths are built only from validated digests (`sha256:` and 64
 *   lowercase hex digits), so a digest cannot lead outside `blobs/sha256/`;
 *   `blobs/` and `blobs/sha256/` must be real directories and blob files
 *   regular files, not symbolic links (a link could point anywhere on the
 *   host); files inside the layout are opened without following a final
 *   symlink and without blocking on FIFOs;
 * - every layer blob exists when the image is opened
 *   ({@link OciMissingBlobError}), its media type is one of
 *   {@link LAYER_MEDIA_TYPES} and the config's is an image config's
 *   ({@link OciUnsupportedMediaTypeError}).
 *
 * @module
 */
import { lstat, stat } from 'node:fs/promises'
import { join, resolve } from 'node:path'
import { InvalidArgumentError, NotFoundError, UnsupportedError, throwIfAborted } from '../errors.js'
import { isDigest, type Digest } from '../hash/digest.js'
import { openRegularFile, readRange, readSmallFile, readVerifiedBlob, verifiedStream } from './blob.js'
import {
  OciAmbiguousReferenceError, OciInvalidError, OciMissingBlobError, OciPlatformNotFoundError, OciReferenceNotFoundError,
  OciUnsupportedMediaTypeError, quote
} from './errors.js'
import {
  CONFIG_MEDIA_TYPES, INDEX_MEDIA_TYPES, MANIFEST_MEDIA_TYPES, parseConfig, parseIndex, parseManifest, parseOciLayoutFile,
  resolveLimits, type ImageIndex, type OciLimits, type ResolvedOciLimits
} from './json.js'
import { formatPlatform, isAttestationManifest, platformMatches, resolvePlatformOption, selectByPlatform } from './platform.js'
import { LAYER_MEDIA_TYPES, type Descriptor, type LayerSource, type Platform, type SourceImage } from './types.js'

/** The annotation naming an image in a layout's `index.json`. */
export const REF_NAME_ANNOTATION = 'org.opencontainers.image.ref.name'

/** The `imageLayoutVersion` tessera reads. */
export const OCI_LAYOUT_VERSION = '1.0.0'

/** Most index documents read while looking for a digest reference. */
const DIGEST_SEARCH_MAX_INDEXES = 64
/** Largest `oci-layout` file. */
const OCI_LAYOUT_FILE_MAX = 64 * 1024

/** Options of {@link openOciLayout}. */
export interface OpenOciLayoutOptions {
  /**
   * The image to read: a tag (the `org.opencontainers.image.ref.name`
   * annotation of an `index.json` entry, compared exactly) or a digest
   * `sha256:<hex>` of a manifest or index listed in `index.json` or in an
   * index it leads to. A string that is a digest is always a digest
   * reference, even if some entry is tagged with that string. Without one,
   * the layout must hold one image (or only untagged per-platform entries).
   */
  reference?: string
  /**
   * The platform picked in indexes (`linux/arm64`, or an object). Default:
   * the host's ({@link defaultPlatform}). When given, a manifest reached
   * without an index must be of this platform too (its `index.json`
   * entry's `platform`, else its config's `os`, `architecture` and
   * `variant`): `ERR_OCI_PLATFORM_NOT_FOUND` otherwise. Without it, such a
   * manifest is taken whatever its platform.
   */
  platform?: string | Platform
  /** Bounds on sizes and counts, see {@link OciLimits}. */
  limits?: OciLimits
  /** Cancels opening (throws `ERR_ABORTED`). Layer streams take their own signal. */
  signal?: AbortSignal
}

interface Context {
  root: string
  limits: ResolvedOciLimits
  platform: Platform
  signal: AbortSignal | undefined
  indexes: Map<string, ImageIndex>
  /** Set once an index entry was chosen for matching {@link platform}. */
  platformMatched?: boolean
}

/** The path of a blob; the digest is checked again here, whatever the caller did. */
function blobPath (root: string, digest: string): string {
  if (!isDigest(digest)) throw new OciInvalidError(`${quote(digest)} is not a sha256 digest`)
  return join(root, 'blobs', 'sha256', digest.slice('sha256:'.length))
}

function isErrno (err: unknown, ...codes: string[]): boolean {
  return typeof err === 'object' && err !== null && codes.includes((err as NodeJS.ErrnoException).code ?? '')
}

/** Map file-system errors on a blob to OCI errors. */
function blobError (err: unknown, digest: string, what: string): unknown {
  if (isErrno(err, 'ENOENT', 'ENOTDIR')) return new OciMissingBlobError(`${what} ${digest} is missing from the layout`, digest, { cause: err })
  if (isErrno(err, 'ELOOP')) return new OciInvalidError(`${what} ${digest} is a symbolic link; blobs must be regular files`, { cause: err })
  return err
}

async function checkBlobDirectories (root: string): Promise<void> {
  for (const dir of [join(root, 'blobs'), join(root, 'blobs', 'sha256')]) {
    let st
    try {
      st = await lstat(dir)
    } catch (err) {
      if (isErrno(err, 'ENOENT')) continue // every blob will be reported missing
      throw err
    }
    if (st.isSymbolicLink()) throw new OciInvalidError(`${dir} is a symbolic link; the layout's blob directories must be real directories`)
    if (!st.isDirectory()) throw new OciInvalidError(`${dir} is not a directory`)
  }
}

async function readBlob (ctx: Context, d: Descriptor, what: string, maxBytes: number): Promise<Uint8Array> {
  throwIfAborted(ctx.signal)
  const path = blobPath(ctx.root, d.digest)
  if (d.size > maxBytes) {
    throw new OciInvalidError(`${what} ${d.digest} declares ${d.size} bytes, above the ${maxBytes}-byte limit`)
  }
  let file
  try {
    file = await openRegularFile(path, `${what} ${d.digest}`)
  } catch (err) {
    throw blobError(err, d.digest, what)
  }
  try {
    // read one byte more than declared, to see a longer blob without reading all of it
    return await readVerifiedBlob(readRange(file.handle, 0, d.size + 1, ctx.signal), d, what, { maxBytes, signal: ctx.signal })
  } finally {
    await file.handle.close()
  }
}

async function readIndexBlob (ctx: Context, d: Descriptor): Promise<ImageIndex> {
  const cached = ctx.indexes.get(d.digest)
  if (cached !== undefined) return cached
  const what = `index ${d.digest}`
  const bytes = await readBlob(ctx, d, 'index', ctx.limits.maxManifestBytes)
  const index = parseIndex(bytes, { mediaType: d.mediaType, limits: ctx.limits, what })
  ctx.indexes.set(d.digest, index)
  return index
}

function tagOf (d: Descriptor): string | undefined {
  return d.annotations?.[REF_NAME_ANNOTATION]
}

/** Names of the entries of index.json for messages: tags, or digests of untagged entries. */
function entryNames (entries: readonly Descriptor[]): string[] {
  const names: string[] = []
  for (const d of entries) {
    const name = tagOf(d) ?? d.digest
    if (!names.includes(name)) names.push(name)
  }
  return names
}

/** {@link selectByPlatform}, noting in `ctx` that the platform asked for was matched by an index entry. */
function selectIn (ctx: Context, entries: readonly Descriptor[], where: string): Descriptor {
  const d = selectByPlatform(ctx.platform, entries, where)
  if (d.platform !== undefined && platformMatches(ctx.platform, d.platform)) ctx.platformMatched = true
  return d
}

/** The platform an image config declares (`os`, `architecture`, `variant`), if it declares one. */
function configPlatform (config: Record<string, unknown>): Platform | undefined {
  const { os, architecture, variant } = config
  if (typeof os !== 'string' || typeof architecture !== 'string' || os === '' || architecture === '') return undefined
  return typeof variant === 'string' && variant !== '' ? { os, architecture, variant } : { os, architecture }
}

/** Refuse an image chosen without an index when it is not of the platform asked for. */
function checkImagePlatform (want: Platform, have: Platform | undefined, where: string): void {
  if (have !== undefined && platformMatches(want, have)) return
  throw new OciPlatformNotFoundError(formatPlatform(want), [have !== undefined ? formatPlatform(have) : '(no platform in its config)'], where)
}

/** Find a descriptor by digest in index.json or the indexes it leads to (bounded). */
async function findByDigest (ctx: Context, top: ImageIndex, digest: Digest): Promise<Descriptor | undefined> {
  let level: ImageIndex[] = [top]
  let read = 0
  for (let depth = 1; depth <= ctx.limits.maxIndexDepth && level.length > 0; depth++) {
    const next: ImageIndex[] = []
    for (const index of level) {
      const hit = index.manifests.find((d) => d.digest === digest)
      if (hit !== undefined) return hit
    }
    if (depth === ctx.limits.maxIndexDepth) break
    for (const index of level) {
      for (const d of index.manifests) {
        if (!INDEX_MEDIA_TYPES.has(d.mediaType)) continue
        if (read >= DIGEST_SEARCH_MAX_INDEXES) return undefined
        read++
        try {
          next.push(await readIndexBlob(ctx, d))
        } catch (err) {
          // an unreadable index elsewhere in the layout is not this image's problem
          if (err instanceof OciMissingBlobError) continue
          throw err
        }
      }
    }
    level = next
  }
  return undefined
}

/** Pick the top-level entry of index.json; returns it and the reference to record. */
async function selectTop (ctx: Context, index: ImageIndex, reference: string | undefined): Promise<{ d: Descriptor, reference?: string }> {
  const entries = index.manifests
  if (reference !== undefined && isDigest(reference)) {
    const d = await findByDigest(ctx, index, reference)
    if (d === undefined) throw new OciReferenceNotFoundError(reference, entryNames(entries), 'the layout')
    return { d, reference }
  }
  if (reference !== undefined) {
    const matches = entries.filter((d) => tagOf(d) === reference)
    if (matches.length === 0) throw new OciReferenceNotFoundError(reference, entryNames(entries), 'the layout')
    const first = matches[0] as Descriptor
    const distinct = new Set(matches.map((d) => d.digest))
    if (distinct.size === 1) return { d: first, reference }
    // several entries share the tag: one per platform is an index in disguise
    if (matches.every((d) => d.platform !== undefined)) return { d: selectIn(ctx, matches, `tag ${quote(reference)}`), reference }
    throw new OciAmbiguousReferenceError(`tag ${quote(reference)} names ${distinct.size} different images in index.json`, [...distinct])
  }
  const candidates = entries.filter((d) => !isAttestationManifest(d))
  if (candidates.length === 0) throw new OciInvalidError('the layout\'s index.json lists no image')
  if (candidates.length === 1) {
    const d = candidates[0] as Descriptor
    const tag = tagOf(d)
    return tag === undefined ? { d } : { d, reference: tag }
  }
  if (candidates.every((d) => tagOf(d) === undefined) && candidates.some((d) => d.platform !== undefined)) {
    return { d: selectIn(ctx, candidates, 'index.json') }
  }
  throw new OciAmbiguousReferenceError(`the layout holds ${candidates.length} images and no reference was given`, entryNames(candidates))
}

/** Follow indexes down to a manifest. `depth` counts the indexes read so far (index.json is 1). */
async function resolveManifest (ctx: Context, d: Descriptor, depth: number): Promise<Descriptor> {
  for (;;) {
    throwIfAborted(ctx.signal)
    if (MANIFEST_MEDIA_TYPES.has(d.mediaType)) return d
    if (!INDEX_MEDIA_TYPES.has(d.mediaType)) {
      throw new OciUnsupportedMediaTypeError(`${d.digest} is of media type ${quote(d.mediaType)}, not an image manifest or index`, d.mediaType)
    }
    if (depth >= ctx.limits.maxIndexDepth) {
      throw new OciInvalidError(`indexes are nested deeper than the limit of ${ctx.limits.maxIndexDepth}`)
    }
    const index = await readIndexBlob(ctx, d)
    depth++
    d = selectIn(ctx, index.manifests, `index ${d.digest}`)
  }
}

/**
 * Open an image of an OCI image layout. Reads and verifies `oci-layout`,
 * `index.json`, the manifest (following indexes, picking the platform) and
 * the config, and checks that every layer blob exists; layers are read
 * and verified by their `open()`.
 *
 * @param path - the layout directory
 * @throws {@link OciInvalidError} (`ERR_OCI_INVALID`) for a malformed layout or document, or a limit exceeded
 * @throws {@link OciMissingBlobError} (`ERR_OCI_MISSING_BLOB`) when a blob is absent
 * @throws {@link OciBlobMismatchError} (`ERR_OCI_BLOB_MISMATCH`) when a manifest, index or config does not match its descriptor
 * @throws {@link OciUnsupportedMediaTypeError} (`ERR_OCI_UNSUPPORTED_MEDIA_TYPE`) for a manifest, config or layer of another media type
 * @throws {@link OciReferenceNotFoundError} (`ERR_OCI_REFERENCE_NOT_FOUND`), {@link OciAmbiguousReferenceError} (`ERR_OCI_AMBIGUOUS_REFERENCE`),
 *   {@link OciPlatformNotFoundError} (`ERR_OCI_PLATFORM_NOT_FOUND`) when the image cannot be chosen
 * @throws {@link UnsupportedError} (`ERR_UNSUPPORTED`) for another layout version or a digest algorithm other than sha256
 * @throws {@link NotFoundError} (`ERR_NOT_FOUND`) when `path` does not exist
 * @throws {@link InvalidArgumentError} (`ERR_INVALID_ARGUMENT`) for bad options
 */
export async function openOciLayout (path: string, options: OpenOciLayoutOptions = {}): Promise<SourceImage> {
  if (typeof path !== 'string' || path === '') throw new InvalidArgumentError('the layout path must be a non-empty string')
  if (options.reference !== undefined && (typeof options.reference !== 'string' || options.reference === '')) {
    throw new InvalidArgumentError('reference must be a non-empty string')
  }
  const ctx: Context = {
    root: resolve(path),
    limits: resolveLimits(options.limits),
    platform: resolvePlatformOption(options.platform),
    signal: options.signal,
    indexes: new Map()
  }
  throwIfAborted(ctx.signal)
  try {
    if (!(await stat(ctx.root)).isDirectory()) throw new OciInvalidError(`${path} is not an OCI image layout: it is not a directory`)
  } catch (err) {
    if (isErrno(err, 'ENOENT')) throw new NotFoundError(`OCI layout ${path} does not exist`, { cause: err })
    throw err
  }

  let layoutFile: Uint8Array
  try {
    layoutFile = await readSmallFile(join(ctx.root, 'oci-layout'), 'oci-layout', OCI_LAYOUT_FILE_MAX)
  } catch (err) {
    if (isErrno(err, 'ENOENT', 'ENOTDIR')) throw new OciInvalidError(`${path} is not an OCI image layout: it has no oci-layout file`, { cause: err })
    if (isErrno(err, 'ELOOP')) throw new OciInvalidError(`${path}: oci-layout is a symbolic link`, { cause: err })
    throw err
  }
  const version = parseOciLayoutFile(layoutFile, ctx.limits)
  if (version !== OCI_LAYOUT_VERSION) {
    throw new UnsupportedError(`OCI layout version ${quote(version)} is not supported (only ${OCI_LAYOUT_VERSION})`)
  }
  await checkBlobDirectories(ctx.root)

  let indexBytes: Uint8Array
  try {
    indexBytes = await readSmallFile(join(ctx.root, 'index.json'), 'index.json', ctx.limits.maxManifestBytes)
  } catch (err) {
    if (isErrno(err, 'ENOENT')) throw new OciInvalidError(`${path} is not an OCI image layout: it has no index.json`, { cause: err })
    if (isErrno(err, 'ELOOP')) throw new OciInvalidError(`${path}: index.json is a symbolic link`, { cause: err })
    throw err
  }
  // an index.json with another mediaType field (a docker manifest list) is refused here
  const top = parseIndex(indexBytes, { limits: ctx.limits, what: 'index.json' })

  const selected = await selectTop(ctx, top, options.reference)
  const manifestDesc = await resolveManifest(ctx, selected.d, 1)
  const manifestBytes = await readBlob(ctx, manifestDesc, 'manifest', ctx.limits.maxManifestBytes)
  const manifest = parseManifest(manifestBytes, { mediaType: manifestDesc.mediaType, limits: ctx.limits, what: `manifest ${manifestDesc.digest}` })

  const configDesc = manifest.config
  if (!CONFIG_MEDIA_TYPES.has(configDesc.mediaType)) {
    throw new OciUnsupportedMediaTypeError(`manifest ${manifestDesc.digest}: config media type ${quote(configDesc.mediaType)} is not an image config`, configDesc.mediaType)
  }
  manifest.layers.forEach((l, i) => {
    if (!LAYER_MEDIA_TYPES.has(l.mediaType)) {
      throw new OciUnsupportedMediaTypeError(`manifest ${manifestDesc.digest}: layer ${i} has unsupported media type ${quote(l.mediaType)}`, l.mediaType)
    }
  })
  const config = await readBlob(ctx, configDesc, 'config', ctx.limits.maxConfigBytes)
  const configObject = parseConfig(config, { limits: ctx.limits, what: `config ${configDesc.digest}` })
  if (options.platform !== undefined && ctx.platformMatched !== true) {
    checkImagePlatform(ctx.platform, manifestDesc.platform ?? configPlatform(configObject), `${selected.reference !== undefined ? `image ${quote(selected.reference)}` : `the layout's image ${manifestDesc.digest}`} (of one platform)`)
  }

  for (const [i, l] of manifest.layers.entries()) {
    throwIfAborted(ctx.signal)
    const p = blobPath(ctx.root, l.digest)
    let st
    try {
      st = await lstat(p)
    } catch (err) {
      throw blobError(err, l.digest, `layer ${i}`)
    }
    if (st.isSymbolicLink()) throw new OciInvalidError(`layer ${i} ${l.digest} is a symbolic link; blobs must be regular files`)
    if (!st.isFile()) throw new OciInvalidError(`layer ${i} ${l.digest} is not a regular file`)
  }

  let closed = false
  const root = ctx.root
  const layers: LayerSource[] = manifest.layers.map((descriptor, i) => ({
    descriptor,
    open (openOptions: { signal?: AbortSignal } = {}): AsyncIterable<Uint8Array> {
      const what = `layer ${i}`
      const signal = openOptions.signal
      return (async function * () {
        if (closed) throw new InvalidArgumentError('the image source is closed')
        let file
        try {
          file = await openRegularFile(blobPath(root, descriptor.digest), `${what} ${descriptor.digest}`)
        } catch (err) {
          throw blobError(err, descriptor.digest, what)
        }
        try {
          yield * verifiedStream(readRange(file.handle, 0, descriptor.size + 1, signal), descriptor, what, { signal })
        } finally {
          await file.handle.close()
        }
      })()
    }
  }))

  const image: SourceImage = {
    manifestDigest: manifestDesc.digest,
    manifestMediaType: manifest.mediaType,
    configDigest: configDesc.digest,
    config,
    layers,
    async close (): Promise<void> { closed = true }
  }
  if (selected.reference !== undefined) image.reference = selected.reference
  return image
}
