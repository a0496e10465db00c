/**
 * Writing into an OCI image layout (image-spec v1.1, `image-layout.md`):
 * creating or opening the layout, writing blobs atomically, and replacing
 * `index.json`.
 *
 * Atomicity: every blob is written to a temporary file inside `blobs/`
 * (same file system as its final place), synced, and only then renamed to
 * `blobs/sha256/<hex>`, so a blob is never visible under its final name
 * half-written. `index.json` is replaced the same way, and written last, so
 * an interrupted export leaves at worst unreferenced blobs, never an index
 * entry pointing at a missing or partial blob.
 *
 * Concurrent writers: `exportOciLayout` replaces `index.json` under the
 * layout's lock (`layout-lock.ts`), so tessera exports keep each other's
 * entries. The blobs themselves are safe to write concurrently.
 *
 * @module
 */
import { randomBytes } from 'node:crypto'
import { mkdir, open, readdir, readFile, rename, stat, unlink, type FileHandle } from 'node:fs/promises'
import { join } from 'node:path'
import { TesseraError, type TesseraErrorOptions, ExportError } from '../errors.js'
import { type Digest, digestToString } from '../hash/digest.js'
import { sha256, type HashState } from '../hash/index.js'
import { emptyDirectory, makeDirectories, removeTree } from '../platform/remove-tree.js'
import { type Descriptor, MEDIA_TYPES } from './types.js'

/** The path exists but is not an OCI image layout tessera can add to (`ERR_NOT_OCI_LAYOUT`). */
export class NotOciLayoutError extends TesseraError {
  static readonly code = 'ERR_NOT_OCI_LAYOUT'
  constructor (message: string, options?: TesseraErrorOptions) { super(NotOciLayoutError.code, message, options) }
}

/** Name of the layout marker file. */
export const OCI_LAYOUT_FILE = 'oci-layout'
/** Name of the layout's index. */
export const OCI_INDEX_FILE = 'index.json'
/** The only layout version of image-spec v1.x. */
export const OCI_LAYOUT_VERSION = '1.0.0'
/** Annotation naming a manifest in a layout's index (the tag). */
export const REF_NAME_ANNOTATION = 'org.opencontainers.image.ref.name'

/** The parsed `index.json` of a layout. Unknown fields are kept as they were. */
export interface OciIndex {
  schemaVersion: 2
  mediaType?: string
  manifests: Descriptor[]
  annotations?: Record<string, string>
  [field: string]: unknown
}

/** What {@link prepareLayout} found. */
export interface PreparedLayout {
  /** True when the layout did not exist (absent or empty directory) and was created. */
  created: boolean
  /** The topmost directory made for a created layout (the layout's or a parent), if any were made. */
  madeDirectory?: string
}

const TMP_PREFIX = '.tessera-tmp-'

/** The image-spec digest grammar (any algorithm: a layout may hold sha512 entries). */
const DIGEST_GRAMMAR = /^[a-z0-9]+(?:[+._-][a-z0-9]+)*:[a-zA-Z0-9=_-]+$/

function errnoCode (err: unknown): string | undefined {
  return (err as NodeJS.ErrnoException | undefined)?.code
}

function wrapFs (err: unknown, what: string): never {
  if (err instanceof TesseraError) throw err
  const code = errnoCode(err)
  throw new ExportError(`cannot ${what}${code !== undefined ? ` (${code})` : ''}: ${(err as Error).message}`, { cause: err })
}

/** Path of a blob in a layout. */
export function blobPath (layoutPath: string, digest: Digest): string {
  return join(layoutPath, 'blobs', 'sha256', digest.slice('sha256:'.length))
}

/** An empty index, as written in a new layout. */
export function emptyIndex (): OciIndex {
  return { schemaVersion: 2, mediaType: MEDIA_TYPES.ociIndex, manifests: [] }
}

/**
 * Make `layoutPath` ready to receive blobs: create the layout when the path
 * is absent or an empty directory (`oci-layout`, an empty `index.json` and
 * `blobs/sha256/`), or check that it already
 * is a layout. Throws {@link NotOciLayoutError} (`ERR_NOT_OCI_LAYOUT`) for
 * anything else: a file, a non-empty directory without `oci-layout`, an
 * unknown layout version, an unreadable `index.json`.
 */
export async function prepareLayout (layoutPath: string): Promise<PreparedLayout> {
  let names: string[]
  let madeDirectory: string | undefined
  try {
    const st = await stat(layoutPath)
    if (!st.isDirectory()) throw new NotOciLayoutError(`${layoutPath} exists and is not a directory, so it cannot be an OCI layout`)
    names = await readdir(layoutPath)
  } catch (err) {
    if (errnoCode(err) !== 'ENOENT') wrapFs(err, `read ${layoutPath}`)
    try { madeDirectory = (await makeDirectories(layoutPath))?.toString() } catch (err2) { wrapFs(err2, `create ${layoutPath}`) }
    names = []
  }
  let created = false
  if (names.length === 0) {
    created = true
  } else if (!names.includes(OCI_LAYOUT_FILE)) {
    throw new NotOciLayoutError(`${layoutPath} is a non-empty directory without an ${OCI_LAYOUT_FILE} file: not an OCI image layout, refusing to write into it`)
  } else {
    await checkLayoutFile(layoutPath)
    await readIndex(layoutPath) // validates
  }
  try {
    await mkdir(join(layoutPath, 'blobs', 'sha256'), { recursive: true })
  } catch (err) { wrapFs(err, `create ${join(layoutPath, 'blobs', 'sha256')}`) }
  if (created) {
    // The marker first, then an empty index: from here on the directory is
    // a valid (empty) layout, even if the export that follows fails.
    await writeFileAtomic(layoutPath, join(layoutPath, OCI_LAYOUT_FILE), Buffer.from(JSON.stringify({ imageLayoutVersion: OCI_LAYOUT_VERSION })))
    await writeIndex(layoutPath, emptyIndex())
  }
  return madeDirectory !== undefined ? { created, madeDirectory } : { created }
}

/**
 * Take back a layout {@link prepareLayout} created for a write that then
 * failed: the directories it made, or the contents of the empty directory
 * it was given. Nothing is removed once `index.json` lists an image (a
 * concurrent export finished into the new layout meanwhile).
 */
export async function undoPreparedLayout (layoutPath: string, prepared: PreparedLayout): Promise<void> {
  if (!prepared.created) return
  const index = await readIndex(layoutPath).catch(() => undefined)
  if (index === undefined || index.manifests.length > 0) return
  if (prepared.madeDirectory !== undefined) await removeTree(prepared.madeDirectory)
  else await emptyDirectory(layoutPath)
}

async function checkLayoutFile (layoutPath: string): Promise<void> {
  const file = join(layoutPath, OCI_LAYOUT_FILE)
  let parsed: unknown
  try {
    parsed = JSON.parse(await readFile(file, 'utf8'))
  } catch (err) {
    throw new NotOciLayoutError(`${file} is not readable JSON: ${(err as Error).message}`, { cause: err })
  }
  const version = (parsed as { imageLayoutVersion?: unknown } | null)?.imageLayoutVersion
  if (version !== OCI_LAYOUT_VERSION) {
    throw new NotOciLayoutError(`${file} declares imageLayoutVersion ${JSON.stringify(version)}; only ${JSON.stringify(OCI_LAYOUT_VERSION)} is supported`)
  }
}

function isPlainObject (v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v)
}

/**
 * Read and check a layout's `index.json`. A layout that has `oci-layout`
 * but no `index.json` yet (what an export interrupted while creating the
 * layout leaves) reads as an empty index.
 */
export async function readIndex (layoutPath: string): Promise<OciIndex> {
  const file = join(layoutPath, OCI_INDEX_FILE)
  let text: string
  try {
    text = await readFile(file, 'utf8')
  } catch (err) {
    if (errnoCode(err) === 'ENOENT') return emptyIndex()
    throw new NotOciLayoutError(`cannot read ${file}: ${(err as Error).message}`, { cause: err })
  }
  let parsed: unknown
  try {
    parsed = JSON.parse(text)
  } catch (err) {
    throw new NotOciLayoutError(`${file} is not valid JSON: ${(err as Error).message}`, { cause: err })
  }
  if (!isPlainObject(parsed) || parsed.schemaVersion !== 2 || !Array.isArray(parsed.manifests)) {
    throw new NotOciLayoutError(`${file} is not an OCI image index (schemaVersion 2 with a manifests array)`)
  }
  for (const m of parsed.manifests) {
    if (!isPlainObject(m) || typeof m.mediaType !== 'string' || typeof m.digest !== 'string' || !DIGEST_GRAMMAR.test(m.digest) || typeof m.size !== 'number') {
      throw new NotOciLayoutError(`${file} has a malformed manifest descriptor: ${JSON.stringify(m).slice(0, 200)}`)
    }
  }
  return parsed as OciIndex
}

/** Write `index` as the layout's `index.json`, atomically. */
export async function writeIndex (layoutPath: string, index: OciIndex): Promise<void> {
  await writeFileAtomic(layoutPath, join(layoutPath, OCI_INDEX_FILE), Buffer.from(JSON.stringify(index)))
}

/** Write all of `handle`, looping over short writes. */
async function writeAll (handle: FileHandle, bytes: Uint8Array): Promise<void> {
  let done = 0
  while (done < bytes.length) {
    const { bytesWritten } = await handle.write(bytes, done, bytes.length - done)
    done += bytesWritten
  }
}

async function writeFileAtomic (layoutPath: string, finalPath: string, bytes: Uint8Array): Promise<void> {
  const tmp = join(layoutPath, `${TMP_PREFIX}${randomBytes(8).toString('hex')}`)
  let handle: FileHandle | undefined
  try {
    handle = await open(tmp, 'wx', 0o644)
    await writeAll(handle, bytes)
    await handle.sync()
    await handle.close()
    handle = undefined
    await rename(tmp, finalPath)
  } catch (err) {
    await handle?.close().catch(() => {})
    await unlink(tmp).catch(() => {})
    wrapFs(err, `write ${finalPath}`)
  }
}

/**
 * A blob being written: bytes go to a temporary file in `blobs/` and are
 * hashed as they go; {@link BlobWriter.commit} renames the file to its
 * digest, {@link BlobWriter.discard} removes it.
 */
export class BlobWriter {
  readonly layoutPath: string
  /** The temporary file. */
  readonly tmpPath: string
  #handle: FileHandle | undefined
  readonly #hash: HashState = sha256.create()
  #size = 0
  #done = false

  private constructor (layoutPath: string, tmpPath: string, handle: FileHandle) {
    this.layoutPath = layoutPath
    this.tmpPath = tmpPath
    this.#handle = handle
  }

  /** Start a blob in the layout at `layoutPath` (which must be prepared). */
  static async create (layoutPath: string): Promise<BlobWriter> {
    const tmpPath = join(layoutPath, 'blobs', `${TMP_PREFIX}${randomBytes(8).toString('hex')}`)
    try {
      return new BlobWriter(layoutPath, tmpPath, await open(tmpPath, 'wx', 0o644))
    } catch (err) { wrapFs(err, `create a temporary blob in ${join(layoutPath, 'blobs')}`) }
  }

  /** Bytes written so far. */
  get size (): number { return this.#size }

  /** Append bytes. */
  async write (bytes: Uint8Array): Promise<void> {
    if (this.#handle === undefined) throw new ExportError('write to a blob that is already committed or discarded')
    this.#hash.update(bytes)
    this.#size += bytes.length
    try {
      await writeAll(this.#handle, bytes)
    } catch (err) { wrapFs(err, `write ${this.tmpPath}`) }
  }

  /** Sync, close and move the blob to `blobs/sha256/<hex>`; returns its digest and size. */
  async commit (): Promise<{ digest: Digest, size: number }> {
    const handle = this.#handle
    if (handle === undefined) throw new ExportError('blob already committed or discarded')
    this.#handle = undefined
    const digest = digestToString(this.#hash.digest())
    try {
      await handle.sync()
      await handle.close()
      await rename(this.tmpPath, blobPath(this.layoutPath, digest))
    } catch (err) {
      await handle.close().catch(() => {})
      await unlink(this.tmpPath).catch(() => {})
      wrapFs(err, `store blob ${digest}`)
    }
    this.#done = true
    return { digest, size: this.#size }
  }

  /** Remove the temporary file (a no-op after {@link BlobWriter.commit}). */
  async discard (): Promise<void> {
    if (this.#done) return
    this.#done = true
    const handle = this.#handle
    this.#handle = undefined
    await handle?.close().catch(() => {})
    await unlink(this.tmpPath).catch(() => {})
  }
}

/** Write `bytes` as a blob; returns its descriptor. */
export async function writeBlob (layoutPath: string, mediaType: string, bytes: Uint8Array): Promise<Descriptor> {
  const writer = await BlobWriter.create(layoutPath)
  try {
    await writer.write(bytes)
    const { digest, size } = await writer.commit()
    return { mediaType, digest, size }
  } finally {
    await writer.discard()
  }
}
