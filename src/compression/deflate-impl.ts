/**
 * The deflate implementations a gzip layer can be recreated with. Each is a
 * pure-JS package pinned to an exact version in package-lock.json, so it
 * gives the same bytes on every machine and every future Node.js: a recipe
 * names the implementation it was made with, and rebuilding it with another
 * would lose the blob.
 *
 * - `pako@2.1.0`: a port of zlib 1.2.8 whose output equals stock zlib
 *   1.2.x (measured equal to Python's `zlib` on zlib 1.2.13 at levels 1, 6
 *   and 9), which is what Python's `gzip`/`tarfile` and most C tools make.
 * - `pako@3.0.3`: equal to Node.js 20's bundled zlib (Chromium's fork,
 *   `1.3.1-e00f703`: other hashing, other bytes than stock zlib), so layers
 *   written with `node:zlib` are recreated too. `node:zlib` itself is never
 *   used to recreate a stream: its output may change with Node.js versions.
 *
 * Go writers are recreated by bit-exact ports kept in this repository,
 * named after the Go module versions they port, with parameters of their
 * own ({@link BlockDeflateImplementation}: a level and a block size):
 *
 * - `klauspost-pgzip@1.2.5+compress@1.15.12` (`klauspost-pgzip/`):
 *   `github.com/klauspost/pgzip` 1.2.5 on
 *   `github.com/klauspost/compress/flate` 1.15.12, level 5
 *   (`DefaultCompression`), any block size: what umoci 0.4.7 (Debian's
 *   build, 256 KiB blocks) and skopeo 1.9.3 (pgzip's default 1 MiB
 *   blocks) write.
 * - `go1.19.8-compress/flate` (`go-compress-flate/`): Go's standard
 *   `compress/flate` (levels 2–9) under `compress/gzip`, block size 0 (one
 *   stream): what docker's `pkg/archive` and Go programs using
 *   `gzip.NewWriter` write.
 *
 * GNU gzip (and so `tar czf`) has its own deflate: it matches none of
 * these, and such layers are kept whole.
 *
 * @module
 */
import { createRequire } from 'node:module'
import { UnsupportedError } from '../errors.js'
import { PGZIP_DEFAULT_BLOCK_SIZE, PGZIP_IMPLEMENTATION, PgzipDeflater, UMOCI_BLOCK_SIZE } from './klauspost-pgzip/index.js'
import { GO_FLATE_IMPLEMENTATION, StdFlateCompressor } from './go-compress-flate/index.js'
import { InvalidArgumentError } from '../errors.js'

const require = createRequire(import.meta.url)

interface PakoDeflate {
  push (data: Uint8Array, flush: boolean): boolean
  onData: (chunk: Uint8Array) => void
  onEnd: (status: number) => void
  err: number
  msg: string
}
interface PakoModule { Deflate: new (options: Record<string, unknown>) => PakoDeflate }

/** One incremental raw deflate: push input, get output through the callback. */
export interface RawDeflater {
  /** Feed input; `final` ends the stream. Output arrives through `onData` (possibly later). */
  push (bytes: Uint8Array, final: boolean): void
}

/** Parameters passed to zlib's `deflateInit2` (windowBits as a positive number; the stream is raw). */
export interface ZlibParams { level: number, windowBits: number, memLevel: number, strategy: number }

/** A pinned deflate implementation. */
export interface DeflateImplementation {
  /** Name as recorded in recipes: `package@version`. */
  readonly name: string
  /** A raw deflater with `params`; output pieces (fresh arrays, at most `chunkSize` bytes) go to `onData`. */
  create (params: ZlibParams, chunkSize: number, onData: (bytes: Uint8Array) => void): RawDeflater
}

function pakoImplementation (name: string, moduleName: string, version: string): DeflateImplementation | undefined {
  let mod: PakoModule
  try {
    const pkg = require(`${moduleName}/package.json`) as { version?: string }
    if (pkg.version !== version) return undefined
    mod = require(moduleName) as PakoModule
  } catch {
    return undefined
  }
  return {
    name,
    create (params, chunkSize, onData) {
      const d = new mod.Deflate({ level: params.level, windowBits: -params.windowBits, memLevel: params.memLevel, strategy: params.strategy, chunkSize })
      d.onData = onData
      d.onEnd = () => {}
      return {
        push (bytes, final) {
          d.push(bytes, final)
          if (d.err !== 0) throw new Error(`${name} deflate failed: ${d.msg}`)
        }
      }
    }
  }
}

const IMPLEMENTATIONS: DeflateImplementation[] = [
  pakoImplementation('pako@2.1.0', 'pako-2.1.0', '2.1.0'),
  pakoImplementation('pako@3.0.3', 'pako', '3.0.3')
].filter((i): i is DeflateImplementation => i !== undefined)

/** The implementations available here, in the order they are tried. */
export function deflateImplementations (): readonly DeflateImplementation[] {
  return IMPLEMENTATIONS
}

/**
 * The implementation a recipe names. Throws `UnsupportedError`
 * (`ERR_UNSUPPORTED`) when it is not installed at exactly that version.
 */
export function deflateImplementation (name: string): DeflateImplementation {
  const impl = IMPLEMENTATIONS.find((i) => i.name === name)
  if (impl === undefined) throw new UnsupportedError(`deflate implementation ${name} is not available: install it at exactly that version`)
  return impl
}

/** Parameters of a Go-style gzip writer: a flate level and pgzip's block size. */
export interface BlockParams { level: number, blockSize: number }

/**
 * A deflate implementation driven by a level and a block size, as Go's
 * gzip writers are (a port kept in this repository, so it is pinned by the
 * repository's own version).
 */
export interface BlockDeflateImplementation {
  /** Name as recorded in recipes. */
  readonly name: string
  /** Levels the search tries, most likely first. */
  readonly levels: readonly number[]
  /** Block sizes the search tries, most likely first (0: the writer makes one stream). */
  readonly blockSizes: readonly number[]
  /** The member header this writer makes when the caller sets no field (as it is before the data). */
  readonly header: (level: number) => Uint8Array
  /**
   * A raw deflater with `params`; output pieces (fresh arrays, at most
   * `chunkSize` bytes) go to `onData`. Throws `UnsupportedError`
   * (`ERR_UNSUPPORTED`) or `InvalidArgumentError` (`ERR_INVALID_ARGUMENT`)
   * for parameters it does not have.
   */
  create (params: BlockParams, chunkSize: number, onData: (bytes: Uint8Array) => void): RawDeflater
}

/** Go's XFL byte: 2 at level 9, 4 at level 1, else 0. */
const goXfl = (level: number): number => level === 9 ? 2 : level === 1 ? 4 : 0

/** Hand out a view in fresh pieces of at most `chunkSize` bytes. */
function pieces (out: Uint8Array, chunkSize: number, onData: (bytes: Uint8Array) => void): void {
  for (let off = 0; off < out.length; off += chunkSize) onData(out.slice(off, Math.min(out.length, off + chunkSize)))
}

const PGZIP: BlockDeflateImplementation = {
  name: PGZIP_IMPLEMENTATION,
  levels: [5],
  blockSizes: [UMOCI_BLOCK_SIZE, PGZIP_DEFAULT_BLOCK_SIZE],
  // MTIME is Go's zero time.Time as a uint32
  header: (level) => new Uint8Array([0x1f, 0x8b, 8, 0, 0x00, 0x09, 0x6e, 0x88, goXfl(level), 255]),
  create (params, chunkSize, onData) {
    return new PgzipDeflater(params.level, params.blockSize, (out) => { pieces(out, chunkSize, onData) })
  }
}

const GO_FLATE: BlockDeflateImplementation = {
  name: GO_FLATE_IMPLEMENTATION,
  levels: [6, 9],
  blockSizes: [0],
  header: (level) => new Uint8Array([0x1f, 0x8b, 8, 0, 0, 0, 0, 0, goXfl(level), 255]),
  create (params, chunkSize, onData) {
    if (params.blockSize !== 0) throw new InvalidArgumentError(`${GO_FLATE_IMPLEMENTATION} makes one stream: block size must be 0, not ${params.blockSize}`)
    const c = new StdFlateCompressor(params.level)
    return {
      push (bytes, final) {
        c.write(bytes)
        if (final) c.close()
        pieces(c.take(), chunkSize, onData)
      }
    }
  }
}

const BLOCK_IMPLEMENTATIONS: BlockDeflateImplementation[] = [PGZIP, GO_FLATE]

/** The level-and-block-size implementations, in the order they are tried. */
export function blockDeflateImplementations (): readonly BlockDeflateImplementation[] {
  return BLOCK_IMPLEMENTATIONS
}

/**
 * The level-and-block-size implementation a recipe names. Throws
 * `UnsupportedError` (`ERR_UNSUPPORTED`) when this build does not have it.
 */
export function blockDeflateImplementation (name: string): BlockDeflateImplementation {
  const impl = BLOCK_IMPLEMENTATIONS.find((i) => i.name === name)
  if (impl === undefined) throw new UnsupportedError(`deflate implementation ${name} is not available in this version of tessera`)
  return impl
}
