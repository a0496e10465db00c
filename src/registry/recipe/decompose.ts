/**
 * Decomposing a layer blob spooled to a file: sniff what it is, split its
 * tar stream into the store, find how to recreate its compression, build
 * the recipe, and prove it by rebuilding the blob from the recipe and
 * comparing with its digest. Anything that cannot be recreated is
 * `whole`; only I/O errors, store errors and aborts throw.
 *
 * @module
 */
import { createReadStream } from 'node:fs'
import { open } from 'node:fs/promises'
import { pipeline } from 'node:stream'
import { createGunzip } from 'node:zlib'
import { AbortedError, IntegrityError, throwIfAborted } from '../../errors.js'
import { blockDeflateImplementations, deflateImplementations, findGzipParams, inflatePrefix, parseGzipHeader, ZSTD_IMPLEMENTATION, ZstdDataError, findZstdLevel, zstdDecompressStream, zstdFrameObstacle } from '../../compression/index.js'
import { digestToBytes } from '../../hash/index.js'
import { sha256 } from '../../hash/index.js'
import type { ObjectStore } from '../../store/index.js'
import { bytesEqual } from '../../hash/index.js'
import { encodeRecipe } from './recipe.js'
import { recipeFormat } from './recipe.js'
import type { LayerRecipe, RecipeCompression } from './recipe.js'
import { rebuildRecipe } from './rebuild.js'
import { looksLikeTar } from './tar-split.js'
import { splitTar } from './layer-tar.js'

/** Outcome of looking at a blob already verified against its digest and spooled to a file. */
export type LayerDecomposition =
  | { kind: 'reproduced', format: 'tar' | 'tar+gzip' | 'tar+zstd', recipe: Uint8Array }
  | { kind: 'whole', isLayer: boolean, reason: string }

/** Options of {@link decomposeLayer}. */
export interface DecomposeOptions {
  signal?: AbortSignal
  /** Called now and then with the blob bytes processed so far (each pass counts again). */
  onProgress?: (bytes: number) => void
}

/** Compressed bytes read to search for the compression parameters. */
const PROBE_BYTES = 2 * 1024 * 1024
/** Uncompressed bytes of the prefix the search compresses. */
const PREFIX_LIMIT = 4 * 1024 * 1024
const READ_SIZE = 1024 * 1024

type Store = Pick<ObjectStore, 'putChunk' | 'getChunk' | 'flush'>

async function readHead (file: string, n: number): Promise<Uint8Array> {
  const fh = await open(file, 'r')
  try {
    const buf = new Uint8Array(n)
    let got = 0
    while (got < n) {
      const { bytesRead } = await fh.read(buf, got, n - got, got)
      if (bytesRead === 0) break
      got += bytesRead
    }
    return buf.subarray(0, got)
  } finally {
    await fh.close()
  }
}

/** Errors of the decompressors (the data is bad), as opposed to I/O errors. */
function isDataError (err: unknown): boolean {
  if (err instanceof ZstdDataError) return true
  const code = (err as { code?: unknown } | null)?.code
  return typeof code === 'string' && code.startsWith('Z_')
}

/**
 * Look at a blob and store it as chunks plus a recipe if it is a layer
 * whose bytes can be recreated; see the module comment of `index.ts`.
 *
 * @param file - the blob's bytes (already verified against `blob.digest`).
 * @param blob - its digest (`sha256:…`) and size.
 * @param store - where chunks go; chunks of a blob that ends up `whole` are left for gc.
 */
export async function decomposeLayer (file: string, blob: { digest: string, size: number }, store: Store, options: DecomposeOptions = {}): Promise<LayerDecomposition> {
  try {
    return await decompose(file, blob, store, options)
  } catch (err) {
    // node:fs streams abort with their own AbortError: report ERR_ABORTED
    if (options.signal?.aborted === true && !(err instanceof AbortedError)) throw new AbortedError(undefined, { cause: err })
    throw err
  }
}

async function decompose (file: string, blob: { digest: string, size: number }, store: Store, options: DecomposeOptions): Promise<LayerDecomposition> {
  const { signal } = options
  const blobDigest = digestToBytes(blob.digest)
  throwIfAborted(signal)
  let done = 0
  const progress = (n: number): void => {
    done += n
    options.onProgress?.(done)
  }
  const fileBytes = (): AsyncIterable<Uint8Array> => {
    const s = createReadStream(file, { highWaterMark: READ_SIZE, signal })
    s.on('data', (c) => progress(c.length))
    return s
  }
  const head = await readHead(file, PROBE_BYTES)
  const base = { blobSize: blob.size, blobDigest }

  const finish = async (compression: RecipeCompression, tar: AsyncIterable<Uint8Array>): Promise<LayerDecomposition> => {
    let split
    try {
      split = await splitTar(tar, store, { signal })
    } catch (err) {
      if (isDataError(err)) return { kind: 'whole', isLayer: true, reason: `the compressed stream is corrupt: ${(err as Error).message}` }
      throw err
    }
    const recipe: LayerRecipe = { ...base, compression, tarSize: split.tarSize, meta: split.meta, layout: split.layout }
    await store.flush()
    const reason = await verify(recipe, store, signal)
    if (reason !== undefined) return { kind: 'whole', isLayer: true, reason }
    return { kind: 'reproduced', format: recipeFormat(recipe), recipe: encodeRecipe(recipe) }
  }

  // gzip
  if (head[0] === 0x1f && head[1] === 0x8b) {
    const header = parseGzipHeader(head)
    if (header === undefined) return { kind: 'whole', isLayer: false, reason: 'not a valid gzip header' }
    const deflated = head.subarray(header.length)
    const pre = inflatePrefix(deflated, PREFIX_LIMIT)
    if (pre.broken) return { kind: 'whole', isLayer: false, reason: 'gzip data does not inflate' }
    if (!looksLikeTar(pre.data)) return { kind: 'whole', isLayer: false, reason: 'the gzip stream does not hold a tar' }
    if (pre.ended && header.length + pre.consumed + 8 !== blob.size) {
      return { kind: 'whole', isLayer: true, reason: 'gzip blob with more than one member or trailing bytes' }
    }
    const headerBytes = head.slice(0, header.length)
    const params = findGzipParams(header, headerBytes, pre.data, pre.ended ? deflated.subarray(0, pre.consumed) : deflated, pre.ended, signal)
    if (params === undefined) {
      const impls = deflateImplementations().map((i) => i.name).join(', ')
      const goImpls = blockDeflateImplementations().map((i) => `${i.name} (levels ${i.levels.join(', ')})`).join(', ')
      return { kind: 'whole', isLayer: true, reason: `gzip stream not made by ${impls} at levels 1–9 nor by ${goImpls} (another deflate: GNU gzip…)` }
    }
    const gunzipped = pipeline(createReadStream(file, { highWaterMark: READ_SIZE, signal }).on('data', (c) => progress(c.length)), createGunzip(), () => {})
    const compression: RecipeCompression = params.kind === 'gzip'
      ? { kind: 'gzip', header: headerBytes, deflate: params.deflate }
      : { kind: 'gzip-blocks', header: headerBytes, deflate: params.deflate }
    return await finish(compression, gunzipped)
  }

  // zstd
  if (head[0] === 0x28 && head[1] === 0xb5 && head[2] === 0x2f && head[3] === 0xfd) {
    const pre = await zstdPrefix(head, PREFIX_LIMIT)
    if (!looksLikeTar(pre.data)) return { kind: 'whole', isLayer: false, reason: 'the zstd stream does not hold a tar' }
    const obstacle = zstdFrameObstacle(head)
    if (obstacle !== undefined) return { kind: 'whole', isLayer: true, reason: obstacle }
    const complete = head.length === blob.size && pre.complete
    const level = await findZstdLevel(pre.data, head, complete, signal)
    if (level === undefined) return { kind: 'whole', isLayer: true, reason: `zstd stream not made by ${ZSTD_IMPLEMENTATION} at levels 1–8` }
    return await finish({ kind: 'zstd', implementation: ZSTD_IMPLEMENTATION, level }, zstdDecompressStream(fileBytes(), signal))
  }

  if (looksLikeTar(head)) return await finish({ kind: 'none' }, fileBytes())
  return { kind: 'whole', isLayer: false, reason: 'not a tar, gzip or zstd stream' }
}

/** Decompress what can be of the start of a zstd stream, up to about `limit` bytes. */
async function zstdPrefix (head: Uint8Array, limit: number): Promise<{ data: Uint8Array, complete: boolean }> {
  const out: Uint8Array[] = []
  let total = 0
  let complete = true
  try {
    for await (const piece of zstdDecompressStream([head])) {
      out.push(piece)
      total += piece.length
      if (total >= limit) { complete = false; break }
    }
  } catch (err) {
    if (!(err instanceof ZstdDataError)) throw err
    complete = false
  }
  return { data: new Uint8Array(Buffer.concat(out)), complete }
}

/** Rebuild the blob from the recipe; undefined if it matches the digest, else why not. */
async function verify (recipe: LayerRecipe, store: Pick<ObjectStore, 'getChunk'>, signal: AbortSignal | undefined): Promise<string | undefined> {
  const hash = sha256.create()
  let size = 0
  try {
    for await (const piece of rebuildRecipe(recipe, store, { signal })) {
      hash.update(piece)
      size += piece.length
    }
  } catch (err) {
    if (err instanceof IntegrityError) return `the blob rebuilt from chunks differs from the blob (${err.message})`
    throw err
  }
  if (size !== recipe.blobSize || !bytesEqual(hash.digest(), recipe.blobDigest)) return 'the blob rebuilt from chunks differs from the blob'
  return undefined
}
