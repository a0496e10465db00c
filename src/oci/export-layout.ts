/**
 * Exporting a snapshot as an OCI image (image-spec v1.1) with one flattened
 * layer, into an OCI image layout directory.
 *
 * - **Layer**: the reproducible tar of {@link exportTar}, compressed with
 *   gzip (node:zlib, fixed settings), zstd (the `zstd` CLI, fixed flags) or
 *   not at all. The tar is hashed on the way in (the `diff_id`), the
 *   compressed bytes on the way out (the layer digest); both in one pass.
 * - **Config**: the image config the OCI importer kept in the snapshot
 *   annotation `tessera.image.config`, with `rootfs` replaced by the one
 *   layer and `history` marked empty plus one "tessera flatten" entry; or a
 *   minimal config when the snapshot has no such annotation.
 * - **Manifest** and an `index.json` entry tagged with
 *   `org.opencontainers.image.ref.name`.
 *
 * Reproducible: the same snapshot gives the same tar, config and manifest
 * bytes; the compressed layer is the same for the same compressor build
 * (node's bundled zlib for gzip, the zstd version for zstd). See
 * {@link exportOciLayout}.
 *
 * @module
 */
import { pipeline } from 'node:stream/promises'
import { constants as zlibConstants, createGzip } from 'node:zlib'
import { AbortedError, ExportError, InvalidArgumentError, TesseraError, type TesseraErrorOptions, throwIfAborted } from '../errors.js'
import type { ExportProgress } from '../exporter/directory.js'
import type { SnapshotReader } from '../exporter/snapshot-reader.js'
import { exportTar } from '../exporter/tar.js'
import { type Digest, digestToString } from '../hash/digest.js'
import { sha256 } from '../hash/index.js'
import { describeExit, startTool, type ToolExit } from '../platform/tool.js'
import { IMAGE_ANNOTATIONS } from './annotations.js'
import { BlobWriter, prepareLayout, readIndex, undoPreparedLayout, REF_NAME_ANNOTATION, writeBlob, writeIndex, type OciIndex } from './layout-writer.js'
import { type Descriptor, MEDIA_TYPES, type Platform } from './types.js'
import { withLayoutLock } from './layout-lock.js'

export { NotOciLayoutError, REF_NAME_ANNOTATION } from './layout-writer.js'
export { LayoutLockedError, LAYOUT_LOCK_FILE } from './layout-lock.js'

/** The `tessera.image.config` annotation is not a usable image config (`ERR_INVALID_IMAGE_CONFIG`). */
export class InvalidImageConfigError extends TesseraError {
  static readonly code = 'ERR_INVALID_IMAGE_CONFIG'
  constructor (message: string, options?: TesseraErrorOptions) { super(InvalidImageConfigError.code, message, options) }
}

/** Layer compression. */
export type OciLayerCompression = 'gzip' | 'zstd' | 'none'

/** Progress of an OCI export. */
export interface OciExportProgress extends ExportProgress {
  /** Uncompressed tar bytes produced so far. */
  tarBytes: number
  /** Layer blob (compressed) bytes written so far. */
  layerBytes: number
}

/** Options for {@link exportOciLayout}. */
export interface ExportOciLayoutOptions {
  /** Tag recorded as `org.opencontainers.image.ref.name` in `index.json` (default `latest`). */
  tag?: string
  /** Layer compression (default `gzip`). */
  compression?: OciLayerCompression
  /**
   * Platform of the minimal config written when the snapshot carries no
   * image config (default: `linux` and the host's architecture). Ignored
   * when the snapshot has a `tessera.image.config` annotation.
   */
  platform?: Platform
  signal?: AbortSignal
  onProgress?: (progress: OciExportProgress) => void
  /** Non-fatal problems (skipped sockets, annotations that are not UTF-8). */
  onWarning?: (message: string) => void
  /** How long to wait for another writer's `index.json.lock` (default 30 s; then `ERR_OCI_LAYOUT_LOCKED`). */
  lockTimeoutMs?: number
}

/** What {@link exportOciLayout} wrote. */
export interface ExportOciLayoutResult {
  /** The manifest, as its entry in `index.json` (with the tag annotation and platform). */
  manifest: Descriptor
  config: Descriptor
  layer: Descriptor
  /** sha256 of the uncompressed layer tar (the config's `rootfs.diff_ids[0]`). */
  diffId: Digest
  /** The tag it was recorded under. */
  tag: string
}

/** `created` used where the source image gives none: the epoch, so output stays reproducible. */
export const EPOCH = '1970-01-01T00:00:00Z'

/** `created_by` of the history entry describing the flattened layer. */
export const FLATTEN_CREATED_BY = 'tessera flatten'

/** Block size the tar is cut into before compression, so compressor input never depends on how the store chunked files. */
const BLOCK = 64 * 1024

/** gzip settings: fixed, so the output only depends on the input and the zlib build. */
const GZIP_OPTIONS = {
  level: 6,
  windowBits: 15,
  memLevel: 8,
  strategy: zlibConstants.Z_DEFAULT_STRATEGY,
  chunkSize: BLOCK
} as const

/** OS byte written in the gzip header: 3 (Unix) whatever platform zlib was built for. */
const GZIP_OS_UNIX = 3

/**
 * zstd flags: level 3, `--single-thread` (the one mode every zstd build has;
 * `-T1` gives different bytes), checksum on (the default, made explicit);
 * flags override `ZSTD_CLEVEL` / `ZSTD_NBTHREADS` from the environment.
 */
export const ZSTD_ARGS: readonly string[] = ['-q', '-3', '--single-thread', '--check', '-c', '-']

const LAYER_MEDIA_TYPE: Record<OciLayerCompression, string> = {
  none: MEDIA_TYPES.ociLayer,
  gzip: MEDIA_TYPES.ociLayerGzip,
  zstd: MEDIA_TYPES.ociLayerZstd
}

// OCI image-layout ref.name grammar.
const REF_COMPONENT = '[A-Za-z0-9]+(?:(?:[-._:@+]|--)[A-Za-z0-9]+)*'
const REF_NAME_RE = new RegExp(`^${REF_COMPONENT}(?:/${REF_COMPONENT})*$`)

const NODE_ARCH_TO_OCI: Record<string, string> = {
  x64: 'amd64',
  arm64: 'arm64',
  arm: 'arm',
  ia32: '386',
  ppc64: 'ppc64le',
  s390x: 's390x',
  riscv64: 'riscv64',
  loong64: 'loong64',
  mips: 'mips',
  mipsel: 'mipsle'
}

/** The OCI architecture name of this host (`amd64`, `arm64`, ...). */
export function hostArchitecture (): string {
  return NODE_ARCH_TO_OCI[process.arch] ?? process.arch
}

function isPlainObject (v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v)
}

const utf8 = new TextDecoder('utf-8', { fatal: true })

/** The snapshot's image config annotation, parsed, or undefined. */
function sourceConfig (reader: SnapshotReader): Record<string, unknown> | undefined {
  const key = Buffer.from(IMAGE_ANNOTATIONS.config)
  const found = reader.snapshot.annotations.find(([k]) => Buffer.compare(Buffer.from(k), key) === 0)
  if (found === undefined) return undefined
  let parsed: unknown
  try {
    parsed = JSON.parse(utf8.decode(found[1]))
  } catch (err) {
    throw new InvalidImageConfigError(`the ${IMAGE_ANNOTATIONS.config} annotation of snapshot ${reader.digest} is not UTF-8 JSON: ${(err as Error).message}`, { cause: err })
  }
  if (!isPlainObject(parsed)) throw new InvalidImageConfigError(`the ${IMAGE_ANNOTATIONS.config} annotation of snapshot ${reader.digest} is not a JSON object`)
  for (const field of ['architecture', 'os'] as const) {
    if (typeof parsed[field] !== 'string' || parsed[field] === '') {
      throw new InvalidImageConfigError(`the image config of snapshot ${reader.digest} has no ${field}`)
    }
  }
  if (parsed.history !== undefined && (!Array.isArray(parsed.history) || !parsed.history.every(isPlainObject))) {
    throw new InvalidImageConfigError(`the image config of snapshot ${reader.digest} has a history that is not an array of objects`)
  }
  if (parsed.config !== undefined && parsed.config !== null && !isPlainObject(parsed.config)) {
    throw new InvalidImageConfigError(`the image config of snapshot ${reader.digest} has a "config" that is not an object`)
  }
  return parsed
}

/** Fields of an image config in the order they are written; other fields follow in their source order. */
const CONFIG_ORDER = ['created', 'author', 'architecture', 'os', 'os.version', 'os.features', 'variant', 'config', 'rootfs', 'history'] as const

/**
 * The image config of the flattened image. Built with `Object.fromEntries`
 * (data properties only, so a `__proto__` key from the source stays a key)
 * in a fixed key order, so `JSON.stringify` of it is deterministic.
 */
export function buildImageConfig (source: Record<string, unknown> | undefined, diffId: Digest, snapshotDigest: Digest, platform: Platform): Record<string, unknown> {
  const created = typeof source?.created === 'string' ? source.created : EPOCH
  const rootfs = { type: 'layers', diff_ids: [diffId] }
  const history = [
    ...((source?.history as Array<Record<string, unknown>> | undefined) ?? []).map((h) => ({ ...h, empty_layer: true })),
    { created, created_by: FLATTEN_CREATED_BY, comment: snapshotDigest }
  ]
  if (source === undefined) {
    const entries: Array<[string, unknown]> = [['architecture', platform.architecture], ['os', platform.os]]
    if (platform.variant !== undefined) entries.push(['variant', platform.variant])
    if (platform['os.version'] !== undefined) entries.push(['os.version', platform['os.version']])
    if (platform['os.features'] !== undefined) entries.push(['os.features', platform['os.features']])
    entries.push(['config', {}], ['rootfs', rootfs], ['history', history])
    return Object.fromEntries(entries)
  }
  const entries: Array<[string, unknown]> = []
  for (const key of CONFIG_ORDER) {
    if (key === 'rootfs') entries.push([key, rootfs])
    else if (key === 'history') entries.push([key, history])
    else if (Object.hasOwn(source, key)) entries.push([key, source[key]])
  }
  const known = new Set<string>(CONFIG_ORDER)
  for (const [key, value] of Object.entries(source)) if (!known.has(key)) entries.push([key, value])
  return Object.fromEntries(entries)
}

/** The platform an index entry names, from the config. */
function platformOf (config: Record<string, unknown>): Platform {
  const p: Platform = { architecture: String(config.architecture), os: String(config.os) }
  if (typeof config.variant === 'string') p.variant = config.variant
  if (typeof config['os.version'] === 'string') p['os.version'] = config['os.version']
  if (Array.isArray(config['os.features']) && config['os.features'].every((f) => typeof f === 'string')) p['os.features'] = config['os.features'] as string[]
  return p
}

/** Snapshot annotations `org.opencontainers.image.*` (except ref.name), for the manifest, in key order. */
function manifestAnnotations (reader: SnapshotReader, onWarning: ((m: string) => void) | undefined): Record<string, string> | undefined {
  const out: Array<[string, string]> = []
  for (const [k, v] of reader.snapshot.annotations) {
    let key: string
    let value: string
    try {
      key = utf8.decode(k)
      if (!key.startsWith('org.opencontainers.image.') || key === REF_NAME_ANNOTATION) continue
      value = utf8.decode(v)
    } catch {
      onWarning?.('skipped a snapshot annotation that is not UTF-8')
      continue
    }
    out.push([key, value])
  }
  return out.length > 0 ? Object.fromEntries(out) : undefined
}

/** Cut a byte stream into blocks of exactly `size` bytes (the last one shorter). */
async function * reblock (source: AsyncIterable<Uint8Array>, size: number, onBytes: (piece: Uint8Array) => void): AsyncGenerator<Buffer> {
  let block = Buffer.allocUnsafe(size)
  let fill = 0
  for await (const piece of source) {
    onBytes(piece)
    let at = 0
    while (at < piece.length) {
      const n = Math.min(size - fill, piece.length - at)
      block.set(piece.subarray(at, at + n), fill)
      fill += n
      at += n
      if (fill === size) {
        yield block
        block = Buffer.allocUnsafe(size)
        fill = 0
      }
    }
  }
  if (fill > 0) yield block.subarray(0, fill)
}

interface LayerWriteContext {
  blob: BlobWriter
  signal: AbortSignal | undefined
  onLayerBytes: (n: number) => void
}

/** Sink stage: write compressed bytes to the blob, fixing the gzip OS byte when asked. */
function blobSink (ctx: LayerWriteContext, gzipHeader: boolean, errors: { sink?: unknown }) {
  return async function (source: AsyncIterable<Buffer>): Promise<void> {
    let offset = 0
    try {
      for await (const chunk of source) {
        if (gzipHeader && offset <= 9 && offset + chunk.length > 9) chunk[9 - offset] = GZIP_OS_UNIX
        offset += chunk.length
        await ctx.blob.write(chunk)
        ctx.onLayerBytes(chunk.length)
      }
    } catch (err) {
      errors.sink ??= err
      throw err
    }
  }
}

/** Wrap the tar so its failure (the real cause of a broken pipe) is remembered. */
async function * remember (source: AsyncIterable<Buffer>, errors: { source?: unknown }): AsyncGenerator<Buffer> {
  try {
    yield * source
  } catch (err) {
    errors.source ??= err
    throw err
  }
}

async function writeLayer (ctx: LayerWriteContext, compression: OciLayerCompression, tarBlocks: AsyncIterable<Buffer>): Promise<void> {
  const errors: { source?: unknown, sink?: unknown } = {}
  const opts = ctx.signal !== undefined ? { signal: ctx.signal } : {}
  if (compression !== 'zstd') {
    try {
      if (compression === 'none') await pipeline(remember(tarBlocks, errors), blobSink(ctx, false, errors), opts)
      else await pipeline(remember(tarBlocks, errors), createGzip(GZIP_OPTIONS), blobSink(ctx, true, errors), opts)
    } catch (err) {
      throw errors.source ?? errors.sink ?? err
    }
    return
  }
  const tool = startTool({ command: 'zstd', args: ZSTD_ARGS, packageName: 'zstd', stdin: true, stdout: true, ...opts })
  const child = tool.child
  const results = await Promise.allSettled([
    pipeline(remember(tarBlocks, errors), child.stdin!, opts),
    pipeline(child.stdout!, blobSink(ctx, false, errors), opts),
    tool.exit
  ])
  if (errors.source !== undefined) throw errors.source
  if (errors.sink !== undefined) throw errors.sink
  const exit = results[2]
  if (exit.status === 'rejected') throw exit.reason
  const status = exit.value as ToolExit
  if (status.code !== 0) throw new ExportError(`zstd failed to compress the layer: ${describeExit('zstd', status)}`)
  for (const r of results) if (r.status === 'rejected') throw r.reason
}

/**
 * Export the snapshot open in `reader` as an OCI image with one layer into
 * the OCI image layout at `layoutPath`, tagged `options.tag` (default
 * `latest`).
 *
 * The layout is created when `layoutPath` is absent or an empty directory;
 * an existing layout is added to (blobs already there are kept, an
 * `index.json` entry with the same tag is replaced, other entries and
 * fields are kept). Anything else is refused with `NotOciLayoutError`
 * (`ERR_NOT_OCI_LAYOUT`) before anything is written.
 *
 * Reproducibility: the same snapshot exported twice gives byte-identical
 * tar (so the same `diff_id`), config and manifest, and:
 * - `none`: the same layer digest, always;
 * - `gzip`: the same layer digest with the same zlib build (the header is
 *   fixed: no name, mtime 0, OS byte 3; settings are fixed, and input is fed
 *   in fixed 64 KiB blocks). Another Node.js release may bundle a zlib that
 *   compresses differently, giving another layer and manifest digest (the
 *   `diff_id` is unaffected);
 * - `zstd`: the same layer digest with the same zstd version (fixed flags,
 *   see {@link ZSTD_ARGS}).
 *
 * Errors: `NotOciLayoutError`, `InvalidArgumentError` (bad tag or
 * compression), `InvalidImageConfigError` (unusable config annotation),
 * `UnsupportedError` (no `zstd` executable), `ExportError` (writing failed,
 * zstd failed), `AbortedError`, and the reader's errors. A failed export
 * removes its temporary file and leaves `index.json` untouched; a layout it
 * created (the path was absent or an empty directory) is removed again.
 */
export async function exportOciLayout (reader: SnapshotReader, layoutPath: string, options: ExportOciLayoutOptions = {}): Promise<ExportOciLayoutResult> {
  const tag = options.tag ?? 'latest'
  if (!REF_NAME_RE.test(tag)) throw new InvalidArgumentError(`invalid tag ${JSON.stringify(tag)}: an OCI layout ref name is components of [A-Za-z0-9] joined by one of -._:@+ or --, separated by /`)
  const compression = options.compression ?? 'gzip'
  if (!Object.hasOwn(LAYER_MEDIA_TYPE, compression)) throw new InvalidArgumentError(`unknown compression ${JSON.stringify(compression)}: expected gzip, zstd or none`)
  const { signal, onWarning } = options
  throwIfAborted(signal)

  // Check the config before writing anything.
  const source = sourceConfig(reader)
  const prepared = await prepareLayout(layoutPath)
  try {
    return await writeImage(reader, layoutPath, source, tag, compression, options)
  } catch (err) {
    // A layout this export created is taken back: a failure leaves nothing.
    await undoPreparedLayout(layoutPath, prepared).catch((undoErr: Error) => {
      onWarning?.(`could not remove the layout ${layoutPath} the failed export created: ${undoErr.message}`)
    })
    throw err
  }
}

/** Write the layer, config and manifest blobs of the image into a prepared layout and tag it in `index.json`. */
async function writeImage (reader: SnapshotReader, layoutPath: string, source: Record<string, unknown> | undefined, tag: string, compression: OciLayerCompression, options: ExportOciLayoutOptions): Promise<ExportOciLayoutResult> {
  const { signal, onProgress, onWarning } = options

  const progress: OciExportProgress = { files: 0, bytes: 0, tarBytes: 0, layerBytes: 0 }
  const report = (): void => { onProgress?.({ ...progress }) }
  const diffHash = sha256.create()
  const tar = exportTar(reader, {
    ...(signal !== undefined ? { signal } : {}),
    ...(onWarning !== undefined ? { onWarning } : {}),
    onProgress: (p) => { progress.files = p.files; progress.bytes = p.bytes; report() }
  })
  const tarBlocks = reblock(tar, BLOCK, (piece) => { diffHash.update(piece); progress.tarBytes += piece.length })

  const blob = await BlobWriter.create(layoutPath)
  let layerBlob: { digest: Digest, size: number }
  try {
    await writeLayer({ blob, signal, onLayerBytes: (n) => { progress.layerBytes += n } }, compression, tarBlocks)
    throwIfAborted(signal)
    layerBlob = await blob.commit()
  } catch (err) {
    if (signal?.aborted === true && !(err instanceof AbortedError)) throw new AbortedError(undefined, { cause: signal.reason })
    throw err
  } finally {
    await blob.discard()
  }
  report()
  const diffId = digestToString(diffHash.digest())
  const layer: Descriptor = { mediaType: LAYER_MEDIA_TYPE[compression], digest: layerBlob.digest, size: layerBlob.size }

  const platform = options.platform ?? { architecture: hostArchitecture(), os: 'linux' }
  const configObject = buildImageConfig(source, diffId, reader.digest, platform)
  const config = await writeBlob(layoutPath, MEDIA_TYPES.ociConfig, Buffer.from(JSON.stringify(configObject), 'utf8'))

  const annotations = manifestAnnotations(reader, onWarning)
  const manifestObject = {
    schemaVersion: 2,
    mediaType: MEDIA_TYPES.ociManifest,
    config: { mediaType: config.mediaType, digest: config.digest, size: config.size },
    layers: [{ mediaType: layer.mediaType, digest: layer.digest, size: layer.size }],
    ...(annotations !== undefined ? { annotations } : {})
  }
  const manifestBlob = await writeBlob(layoutPath, MEDIA_TYPES.ociManifest, Buffer.from(JSON.stringify(manifestObject), 'utf8'))
  const manifest: Descriptor = {
    mediaType: manifestBlob.mediaType,
    digest: manifestBlob.digest,
    size: manifestBlob.size,
    annotations: { [REF_NAME_ANNOTATION]: tag },
    platform: platformOf(configObject)
  }
  throwIfAborted(signal)

  // Read, merge and replace the index under the layout's lock, so that
  // concurrent exports into one layout keep each other's entries.
  await withLayoutLock(layoutPath, async () => {
    const index: OciIndex = await readIndex(layoutPath)
    index.manifests = [...index.manifests.filter((m) => m.annotations?.[REF_NAME_ANNOTATION] !== tag), manifest]
    await writeIndex(layoutPath, index)
  }, options.lockTimeoutMs !== undefined ? { timeoutMs: options.lockTimeoutMs } : {})
  return { manifest, config, layer, diffId, tag }
}
