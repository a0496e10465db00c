/**
 * Reading an image from a docker archive: the tarball of `docker save` and
 * of `skopeo copy ... docker-archive:FILE[:REF]`, for untrusted archives.
 *
 * **Reading.** The outer tar is indexed once — headers only (ustar, GNU
 * long names, PAX `path`/`linkpath`/`size`), recording each member's data
 * offset and size without reading contents — then members are read by
 * position from one file handle held until `close()`. Symbolic and hard
 * links between members are followed (skopeo writes `<id>/layer.tar` as a
 * symlink to `../<hex>.tar`); links that leave the archive root, loops,
 * duplicate member names and truncation are {@link OciInvalidError}s. The
 * archive must be a seekable regular file (not a pipe).
 *
 * **Digests.** A docker archive has no manifest blob and names layers by
 * file, so digests come from the config, as containers/image does:
 * - `configDigest` is the sha256 of the config member. When the `Config`
 *   path names a digest (`<hex>.json`, `blobs/sha256/<hex>`), it must match
 *   ({@link OciBlobMismatchError}).
 * - The config's `rootfs.diff_ids` must have one entry per `Layers` path.
 *   An uncompressed layer member (the only kind `docker save` and skopeo
 *   write) gets its diff ID as digest (a diff ID is the sha256 of the
 *   uncompressed tar), media type `application/vnd.oci.image.layer.v1.tar`,
 *   and its member size; its stream is verified against them, so the
 *   layers are tied to the config and the config to `configDigest`. A
 *   layer path naming a digest (`<hex>.tar`, `blobs/sha256/<hex>`) must
 *   agree with the diff ID (checked when the image is opened).
 * - A compressed layer member (gzip or zstd, found by its magic number) is
 *   presented as stored, with the gzip or zstd OCI layer media type; its
 *   digest is the one its path names, or else the sha256 of the member
 *   computed when the image is opened (one extra read of that layer). Its
 *   diff ID is **not** verified here: that needs decompression, left to the
 *   consumer.
 * - `manifestDigest` is synthesized: the sha256 of the docker schema 2
 *   manifest containers/image generates for the image (`skopeo inspect
 *   --raw docker-archive:FILE`), byte for byte — config descriptor with the
 *   docker config media type, config size and digest; one layer entry per
 *   diff ID with media type `application/vnd.docker.image.rootfs.diff.tar.gzip`
 *   (sic), the member's size, the diff ID. It equals skopeo's digest for
 *   archives of uncompressed layers; for a compressed member skopeo uses
 *   the uncompressed size, which tessera does not compute, so the digests
 *   differ. `manifestMediaType` is the docker schema 2 manifest type.
 *
 * Hence `skopeo copy oci:A docker-archive:B` keeps `configDigest`, and the
 * layers of B are the decompressed layers of A (same file contents, so the
 * same tessera root digest), with `manifestDigest` different from A's.
 *
 * **Selecting the image.** `reference` is either `@N` (the N-th image of
 * `manifest.json`, from 0, as skopeo's `docker-archive:FILE:@N`) or a docker
 * reference matched against `RepoTags` after normalisation
 * (`busybox` = `docker.io/library/busybox:latest`); no reference takes the
 * only image, several images are {@link OciAmbiguousReferenceError}.
 *
 * @module
 */
import type { FileHandle } from 'node:fs/promises'
import { InvalidArgumentError, NotFoundError, throwIfAborted } from '../errors.js'
import { digestToString, type Digest } from '../hash/digest.js'
import { sha256 } from '../hash/index.js'
import { decodeUstarHeader, isZeroBlock } from '../tar/header.js'
import { decodePaxRecords } from '../tar/pax.js'
import { openRegularFile, readAt, readRange, verifiedStream } from './blob.js'
import {
  OciAmbiguousReferenceError, OciBlobMismatchError, OciInvalidError, OciMissingBlobError, OciReferenceNotFoundError, quote
} from './errors.js'
import {
  configDiffIds, parseConfig, parseDockerArchiveManifest, resolveLimits, type DockerArchiveManifestItem, type OciLimits,
  type ResolvedOciLimits
} from './json.js'
import { normalizeDockerReference, parseArchiveIndex, parseDockerReference } from './reference.js'
import { MEDIA_TYPES, type Descriptor, type LayerSource, type SourceImage } from './types.js'

/** Options of {@link openDockerArchive}. */
export interface OpenDockerArchiveOptions {
  /** `@N`, or a docker reference matched against `RepoTags` (see the module comment). */
  reference?: string
  /** Bounds on sizes and counts, see {@link OciLimits}. */
  limits?: OciLimits
  /** Cancels opening (throws `ERR_ABORTED`). Layer streams take their own signal. */
  signal?: AbortSignal
}

// ---------------------------------------------------------------- outer tar index

/** A member of the archive, as indexed. */
export type ArchiveMember =
  | { kind: 'file', name: string, offset: number, size: number }
  | { kind: 'symlink' | 'hardlink', name: string, target: string }
  | { kind: 'other', name: string, typeflag: string }

const BLOCK = 512
/** Largest PAX header or GNU long name accepted in the outer archive. */
const META_MAX = 1024 * 1024
/** Most links followed to reach a member. */
const LINK_HOPS_MAX = 40
/** Typeflags of headers that describe the next entry (or the archive) rather than being one. */
const META_TYPES: ReadonlySet<string> = new Set(['x', 'g', 'L', 'K', 'V'])
/** Old GNU sparse headers: the "is extended" flag in the header and in each extension block. */
const OLDGNU_ISEXTENDED = 482
const OLDGNU_EXT_ISEXTENDED = 504
const utf8 = new TextDecoder('utf-8', { fatal: true })
const latin1 = (b: Uint8Array): string => Buffer.from(b.buffer, b.byteOffset, b.byteLength).toString('latin1')

/**
 * An archive path in canonical form (no `.`, `..` resolved, no empty
 * components, no leading or trailing `/`), or undefined when it is absolute,
 * empty or climbs above the root.
 */
export function normalizeArchivePath (path: string): string | undefined {
  if (path.startsWith('/') || path.includes('\0')) return undefined
  const out: string[] = []
  for (const part of path.split('/')) {
    if (part === '' || part === '.') continue
    if (part === '..') {
      if (out.pop() === undefined) return undefined
      continue
    }
    out.push(part)
  }
  return out.length === 0 ? undefined : out.join('/')
}

function decodeName (bytes: Uint8Array): string | undefined {
  try {
    return utf8.decode(bytes)
  } catch {
    return undefined
  }
}

function parsePaxSize (value: Uint8Array, at: number): number {
  const s = latin1(value)
  if (!/^[0-9]{1,16}$/.test(s) || !Number.isSafeInteger(Number(s))) throw new OciInvalidError(`docker archive: bad PAX size ${quote(s)} in the header at byte ${at}`)
  return Number(s)
}

/**
 * Index the members of a tar file from their headers, without reading
 * their contents.
 *
 * @internal
 */
export async function indexArchive (
  handle: FileHandle, fileSize: number, limits: ResolvedOciLimits, signal?: AbortSignal
): Promise<Map<string, ArchiveMember>> {
  const members = new Map<string, ArchiveMember>()
  const truncated = (what: string): never => {
    throw new OciInvalidError(`the docker archive is truncated: ${what} (the file has ${fileSize} bytes)`)
  }
  let pos = 0
  let headers = 0
  let pending: { path?: string | null, linkpath?: string | null, size?: number, longName?: Uint8Array, longLink?: Uint8Array } = {}
  let pendingAny = false
  for (;;) {
    throwIfAborted(signal)
    if (pos === fileSize) {
      if (pendingAny) truncated('it ends after an extended header, before its entry')
      break // no end-of-archive marker: accepted, as GNU tar does
    }
    if (pos + BLOCK > fileSize) truncated(`a header at byte ${pos} is cut short`)
    const { bytes: block } = await readAt(handle, pos, BLOCK)
    if (isZeroBlock(block)) {
      if (pendingAny) throw new OciInvalidError(`docker archive: the end-of-archive marker at byte ${pos} follows an extended header`)
      if (pos + 2 * BLOCK <= fileSize) {
        const { bytes: second } = await readAt(handle, pos + BLOCK, BLOCK)
        if (!isZeroBlock(second)) throw new OciInvalidError(`docker archive: a zero block at byte ${pos} is followed by a non-zero block`)
      }
      break
    }
    if (++headers > limits.maxArchiveEntries) {
      throw new OciInvalidError(`the docker archive has more than ${limits.maxArchiveEntries} members`)
    }
    let h
    try {
      h = decodeUstarHeader(block)
    } catch (err) {
      throw new OciInvalidError(`docker archive: bad tar header at byte ${pos}: ${(err as Error).message}`, { cause: err })
    }
    const typeflag = h.typeflag
    // a PAX size applies to the entry, not to further metadata headers
    const size = META_TYPES.has(typeflag) ? h.size : pending.size ?? h.size
    if (size < 0) throw new OciInvalidError(`docker archive: negative size in the header at byte ${pos}`)
    let dataStart = pos + BLOCK
    if (typeflag === 'S' && block[OLDGNU_ISEXTENDED] !== 0) {
      // old GNU sparse: extension blocks of the sparse map come before the data
      for (let n = 1; ; n++) {
        if (n * BLOCK > META_MAX) throw new OciInvalidError(`docker archive: the sparse map of the member at byte ${pos} is above the ${META_MAX}-byte limit`)
        if (dataStart + BLOCK > fileSize) truncated(`a sparse map at byte ${dataStart} is cut short`)
        const { bytes: ext } = await readAt(handle, dataStart, BLOCK)
        dataStart += BLOCK
        if (ext[OLDGNU_EXT_ISEXTENDED] === 0) break
      }
    }
    const dataEnd = dataStart + size
    if (dataEnd > fileSize) truncated(`the member whose header is at byte ${pos} needs ${size} bytes of data`)
    const next = dataStart + Math.ceil(size / BLOCK) * BLOCK
    const readMeta = async (what: string): Promise<Uint8Array> => {
      if (size > META_MAX) throw new OciInvalidError(`docker archive: ${what} at byte ${pos} is ${size} bytes, above the ${META_MAX}-byte limit`)
      return (await readAt(handle, dataStart, size)).bytes
    }
    switch (typeflag) {
      case 'x': {
        for (const [k, v] of decodePaxRecords(await readMeta('a PAX header'))) {
          const key = latin1(k)
          // an empty value unsets the keyword
          if (key === 'path') pending.path = v.length === 0 ? undefined : decodeName(v) ?? null
          else if (key === 'linkpath') pending.linkpath = v.length === 0 ? undefined : decodeName(v) ?? null
          else if (key === 'size') pending.size = v.length === 0 ? undefined : parsePaxSize(v, pos)
        }
        pendingAny = true
        pos = next
        continue
      }
      case 'g':
        await readMeta('a PAX global header') // bounded, then ignored
        pos = next
        continue
      case 'L':
      case 'K': {
        let data = await readMeta('a GNU long name')
        let end = data.length
        while (end > 0 && data[end - 1] === 0) end--
        data = data.subarray(0, end)
        if (typeflag === 'L') pending.longName = data
        else pending.longLink = data
        pendingAny = true
        pos = next
        continue
      }
      case 'V':
        pos = next
        continue
      default:
        break
    }
    const rawName = pending.path !== undefined ? pending.path : decodeName(pending.longName ?? h.path)
    const rawLink = pending.linkpath !== undefined ? pending.linkpath : decodeName(pending.longLink ?? h.linkname)
    pending = {}
    pendingAny = false
    pos = next
    const name = rawName === null || rawName === undefined ? undefined : normalizeArchivePath(rawName)
    if (name === undefined) continue // cannot be named by manifest.json
    let member: ArchiveMember
    if (typeflag === '5' || ((typeflag === '0' || typeflag === '\0') && rawName?.endsWith('/') === true)) {
      continue // directories
    } else if (typeflag === '0' || typeflag === '\0' || typeflag === '7') {
      member = { kind: 'file', name, offset: dataStart, size }
    } else if (typeflag === '1' || typeflag === '2') {
      const kind = typeflag === '1' ? 'hardlink' : 'symlink'
      if (rawLink === null || rawLink === undefined || rawLink === '') {
        member = { kind: 'other', name, typeflag }
      } else {
        member = { kind, name, target: rawLink }
      }
    } else {
      member = { kind: 'other', name, typeflag }
    }
    if (members.has(name)) throw new OciInvalidError(`the docker archive has two members named ${quote(name)}`)
    members.set(name, member)
  }
  return members
}

/** Follow links to a regular file member; undefined when the path is absent. */
function resolveMember (members: Map<string, ArchiveMember>, path: string, what: string): Extract<ArchiveMember, { kind: 'file' }> | undefined {
  let name = normalizeArchivePath(path)
  if (name === undefined) throw new OciInvalidError(`manifest.json: ${what} path ${quote(path)} is not a relative path inside the archive`)
  for (let hop = 0; hop <= LINK_HOPS_MAX; hop++) {
    const m = members.get(name)
    if (m === undefined) return undefined
    if (m.kind === 'file') return m
    if (m.kind === 'other') throw new OciInvalidError(`docker archive: ${what} ${quote(name)} is not a regular file (tar type ${quote(m.typeflag)})`)
    let target: string | undefined
    if (m.kind === 'hardlink') {
      target = normalizeArchivePath(m.target)
    } else if (!m.target.startsWith('/')) {
      const slash = name.lastIndexOf('/')
      target = normalizeArchivePath(slash < 0 ? m.target : `${name.slice(0, slash)}/${m.target}`)
    }
    if (target === undefined) throw new OciInvalidError(`docker archive: ${what} ${quote(name)} links outside the archive (${quote(m.target)})`)
    name = target
  }
  throw new OciInvalidError(`docker archive: ${what} ${quote(path)}: too many levels of links`)
}

// ---------------------------------------------------------------- image

const LAYER_NAME_RES = [/^([0-9a-f]{64})\.tar$/, /^blobs\/sha256\/([0-9a-f]{64})$/]
const CONFIG_NAME_RES = [/^([0-9a-f]{64})\.json$/, /^blobs\/sha256\/([0-9a-f]{64})$/]

/** Digests claimed by member names, deduplicated. */
function nameClaims (names: ReadonlyArray<string | undefined>, patterns: readonly RegExp[]): Digest[] {
  const out = new Set<Digest>()
  for (const name of names) {
    if (name === undefined) continue
    for (const re of patterns) {
      const m = re.exec(name)
      if (m?.[1] !== undefined) out.add(`sha256:${m[1]}`)
    }
  }
  return [...out]
}

function detectCompression (head: Uint8Array): 'gzip' | 'zstd' | 'none' {
  if (head[0] === 0x1f && head[1] === 0x8b) return 'gzip'
  if (head[0] === 0x28 && head[1] === 0xb5 && head[2] === 0x2f && head[3] === 0xfd) return 'zstd'
  return 'none'
}

/** Names of the images of manifest.json for messages: their tags, `@N` for untagged ones. */
function imageNames (items: readonly DockerArchiveManifestItem[]): string[] {
  const names: string[] = []
  items.forEach((item, i) => {
    if (item.RepoTags.length === 0) names.push(`@${i}`)
    for (const t of item.RepoTags) if (!names.includes(t)) names.push(t)
  })
  return names
}

function safeNormalize (tag: string): string {
  try {
    return normalizeDockerReference(tag)
  } catch {
    return tag
  }
}

function selectImage (items: DockerArchiveManifestItem[], reference: string | undefined): { item: DockerArchiveManifestItem, reference?: string } {
  if (reference === undefined) {
    const only = items[0]
    if (items.length === 1 && only !== undefined) {
      const tag = only.RepoTags.length === 1 ? only.RepoTags[0] : undefined
      return tag === undefined ? { item: only } : { item: only, reference: tag }
    }
    throw new OciAmbiguousReferenceError(`the docker archive holds ${items.length} images and no reference was given`, imageNames(items))
  }
  const index = parseArchiveIndex(reference)
  if (index !== undefined) {
    const item = items[index]
    if (item === undefined) throw new OciReferenceNotFoundError(reference, imageNames(items), `the docker archive (${items.length} images)`)
    return { item, reference }
  }
  if (parseDockerReference(reference).digest !== undefined) {
    throw new InvalidArgumentError(`docker archives do not support digest references: ${quote(reference)}`)
  }
  const want = normalizeDockerReference(reference)
  const hits = items.filter((item) => item.RepoTags.some((t) => t === reference || safeNormalize(t) === want))
  const hit = hits[0]
  if (hit === undefined) throw new OciReferenceNotFoundError(reference, imageNames(items), 'the docker archive')
  if (hits.length > 1) {
    throw new OciAmbiguousReferenceError(`reference ${quote(reference)} names ${hits.length} images of the docker archive`, hits.map((h) => `@${items.indexOf(h)}`))
  }
  return { item: hit, reference }
}

/** The manifest containers/image generates for an image of a docker archive, byte for byte (Go's json.Marshal of its Schema2). */
function synthesizeManifest (config: { size: number, digest: Digest }, layers: ReadonlyArray<{ size: number, digest: Digest }>): string {
  const layerJson = layers.map((l) => `{"mediaType":"${MEDIA_TYPES.dockerLayerGzip}","size":${l.size},"digest":"${l.digest}"}`)
  return `{"schemaVersion":2,"mediaType":"${MEDIA_TYPES.dockerManifest}",` +
    `"config":{"mediaType":"${MEDIA_TYPES.dockerConfig}","size":${config.size},"digest":"${config.digest}"},` +
    `"layers":[${layerJson.join(',')}]}`
}

async function hashMember (handle: FileHandle, m: { offset: number, size: number }, signal?: AbortSignal): Promise<Digest> {
  const hash = sha256.create()
  let got = 0
  for await (const chunk of readRange(handle, m.offset, m.size, signal)) {
    hash.update(chunk)
    got += chunk.length
  }
  if (got !== m.size) throw new OciInvalidError('the docker archive changed or was truncated while being read')
  return digestToString(hash.digest())
}

/**
 * Open an image of a docker archive (`docker save`, `skopeo copy ...
 * docker-archive:`). Indexes the archive, reads and verifies
 * `manifest.json`, the config and the layer names (see the module comment
 * for what the digests mean); layers are read and verified by their
 * `open()`. The archive stays open until `close()`.
 *
 * @param path - the archive file
 * @throws {@link NotFoundError} (`ERR_NOT_FOUND`) when `path` does not exist
 * @throws {@link OciInvalidError} (`ERR_OCI_INVALID`) for a malformed or truncated archive or document, or a limit exceeded
 * @throws {@link OciMissingBlobError} (`ERR_OCI_MISSING_BLOB`) when the config or a layer is not in the archive
 * @throws {@link OciBlobMismatchError} (`ERR_OCI_BLOB_MISMATCH`) when a member contradicts the digest its name or the config gives it
 * @throws {@link OciReferenceNotFoundError} (`ERR_OCI_REFERENCE_NOT_FOUND`), {@link OciAmbiguousReferenceError} (`ERR_OCI_AMBIGUOUS_REFERENCE`)
 * @throws {@link InvalidArgumentError} (`ERR_INVALID_ARGUMENT`) for bad options or a malformed reference
 */
export async function openDockerArchive (path: string, options: OpenDockerArchiveOptions = {}): Promise<SourceImage> {
  if (typeof path !== 'string' || path === '') throw new InvalidArgumentError('the archive path must be a non-empty string')
  if (options.reference !== undefined && (typeof options.reference !== 'string' || options.reference === '')) {
    throw new InvalidArgumentError('reference must be a non-empty string')
  }
  const limits = resolveLimits(options.limits)
  const { signal } = options
  throwIfAborted(signal)
  let file
  try {
    file = await openRegularFile(path, `docker archive ${path}`)
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') throw new NotFoundError(`docker archive ${path} does not exist`, { cause: err })
    throw err
  }
  const { handle } = file
  try {
    const image = await openImage(handle, file.size, limits, options)
    return image
  } catch (err) {
    await handle.close()
    throw err
  }
}

async function openImage (handle: FileHandle, fileSize: number, limits: ResolvedOciLimits, options: OpenDockerArchiveOptions): Promise<SourceImage> {
  const { signal } = options
  const members = await indexArchive(handle, fileSize, limits, signal)

  const manifestMember = resolveMember(members, 'manifest.json', 'manifest.json')
  if (manifestMember === undefined) throw new OciInvalidError('not a docker archive: it has no manifest.json')
  const readMember = async (m: { offset: number, size: number }, what: string, max: number): Promise<Uint8Array> => {
    if (m.size > max) throw new OciInvalidError(`${what} is ${m.size} bytes, above the ${max}-byte limit`)
    const { bytes, got } = await readAt(handle, m.offset, m.size)
    if (got !== m.size) throw new OciInvalidError('the docker archive changed or was truncated while being read')
    return bytes
  }
  const items = parseDockerArchiveManifest(await readMember(manifestMember, 'manifest.json', limits.maxManifestBytes), limits)
  const selected = selectImage(items, options.reference)
  const item = selected.item
  throwIfAborted(signal)

  // config
  const configClaims = nameClaims([normalizeArchivePath(item.Config)], CONFIG_NAME_RES)
  const configMember = resolveMember(members, item.Config, 'config')
  if (configMember === undefined) {
    const named = configClaims[0] ?? item.Config
    throw new OciMissingBlobError(`config ${quote(item.Config)} is missing from the docker archive`, named)
  }
  const config = await readMember(configMember, `config ${quote(item.Config)}`, limits.maxConfigBytes)
  const configDigest = digestToString(sha256.digest(config))
  for (const claim of nameClaims([configMember.name], CONFIG_NAME_RES).concat(configClaims)) {
    if (claim !== configDigest) {
      throw new OciBlobMismatchError(`config ${quote(item.Config)} does not match the digest its name gives: expected ${claim}, got ${configDigest}`,
        { digest: claim, expectedSize: config.length, receivedSize: config.length, actualDigest: configDigest })
    }
  }
  const diffIds = configDiffIds(parseConfig(config, { limits, what: `config ${configDigest}` }), `config ${configDigest}`)
  if (diffIds.length !== item.Layers.length) {
    throw new OciInvalidError(`the docker archive lists ${item.Layers.length} layers but config ${configDigest} has ${diffIds.length} diff IDs`)
  }

  // layers
  const descriptors: Descriptor[] = []
  const locations: Array<{ offset: number, size: number }> = []
  for (const [i, layerPath] of item.Layers.entries()) {
    throwIfAborted(signal)
    const diffId = diffIds[i] as Digest
    const member = resolveMember(members, layerPath, `layer ${i}`)
    if (member === undefined) throw new OciMissingBlobError(`layer ${i} ${quote(layerPath)} (${diffId}) is missing from the docker archive`, diffId)
    const claims = nameClaims([normalizeArchivePath(layerPath), member.name], LAYER_NAME_RES)
    const head = (await readAt(handle, member.offset, Math.min(4, member.size))).bytes
    const compression = detectCompression(head)
    let digest: Digest
    let mediaType: string
    if (compression === 'none') {
      digest = diffId
      mediaType = MEDIA_TYPES.ociLayer
    } else {
      digest = claims[0] ?? await hashMember(handle, member, signal)
      mediaType = compression === 'gzip' ? MEDIA_TYPES.ociLayerGzip : MEDIA_TYPES.ociLayerZstd
    }
    for (const claim of claims) {
      if (claim !== digest) {
        throw new OciBlobMismatchError(
          `layer ${i} ${quote(layerPath)}: its name says ${claim} but ${compression === 'none' ? `the config's diff ID is ${digest}` : `it also claims ${digest}`}`,
          { digest: claim, expectedSize: member.size })
      }
    }
    descriptors.push({ mediaType, digest, size: member.size })
    locations.push({ offset: member.offset, size: member.size })
  }

  const manifest = synthesizeManifest({ size: config.length, digest: configDigest }, descriptors.map((d, i) => ({
    size: d.size,
    digest: diffIds[i] as Digest
  })))
  const manifestDigest = digestToString(sha256.digest(new TextEncoder().encode(manifest)))

  let closed = false
  const layers: LayerSource[] = descriptors.map((descriptor, i) => {
    const at = locations[i] as { offset: number, size: number }
    return {
      descriptor,
      open (openOptions: { signal?: AbortSignal } = {}): AsyncIterable<Uint8Array> {
        const what = `layer ${i}`
        const layerSignal = openOptions.signal
        return (async function * () {
          if (closed) throw new InvalidArgumentError('the image source is closed')
          yield * verifiedStream(readRange(handle, at.offset, at.size, layerSignal), descriptor, what, { signal: layerSignal })
        })()
      }
    }
  })

  const image: SourceImage = {
    manifestDigest,
    manifestMediaType: MEDIA_TYPES.dockerManifest,
    configDigest,
    config,
    layers,
    async close (): Promise<void> {
      if (closed) return
      closed = true
      await handle.close()
    }
  }
  if (selected.reference !== undefined) image.reference = selected.reference
  return image
}

