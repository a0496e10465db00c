/**
 * One FUSE connection: requests read from the device by a worker thread
 * (`device-reader.ts`), answered here from a {@link ReadOnlyFilesystem},
 * one `writev` per reply. Metadata is answered synchronously from memory;
 * READs run concurrently (the kernel sends them asynchronously). Anything
 * that would write gets EROFS; opcodes a read-only filesystem does not need
 * get ENOSYS, which the kernel remembers and stops sending.
 *
 * @module
 */
import { constants as fsConstants, writevSync } from 'node:fs'
import { constants } from 'node:os'
import { Worker } from 'node:worker_threads'
import type { ReadOnlyFilesystem } from '../filesystem.js'
import type { DeviceReaderData, DeviceReaderMessage } from './device-reader.js'
import {
  cString, decodeAccessIn, decodeGetxattrIn, decodeInitIn, decodeListxattrIn, decodeOpenIn, decodeReadIn, decodeRequest, direntBytes,
  encodeAttrOut, encodeEntryOut, encodeInitOut, encodeOutHeader, encodeStatfsOut, encodeXattrSize,
  InitFlag, NO_REPLY_OPS, Op, type Request, type Validity, WRITE_OPS, writeDirent
} from './protocol.js'

const E = constants.errno

/** Options for {@link FuseSession}. */
export interface FuseSessionOptions {
  /** How long the kernel may cache names and attributes, in seconds (the tree never changes). */
  cacheSeconds: number
  /** Largest READ the kernel may send, in 4 KiB pages (max 256). */
  maxPages: number
  /** Told about each failed read (answered with EIO). */
  onReadError: (err: unknown, ino: number) => void
}

/** Read buffer: room for any request, however large a SETXATTR or WRITE the kernel tries. */
const REQUEST_BUFFER_BYTES = 136 * 1024
const O_ACCMODE = 3
const W_OK = 2

/** The filesystem side of one FUSE connection. */
export class FuseSession {
  readonly #fd: number
  readonly #fs: ReadOnlyFilesystem
  readonly #options: FuseSessionOptions
  readonly #valid: Validity
  readonly #worker: Worker
  readonly #control = new SharedArrayBuffer(4)
  #initialized = false
  #resolveInit: () => void = () => {}
  #resolveEnd: (code: string) => void = () => {}
  /** Resolves once INIT is answered: the mount is usable. */
  readonly initialized: Promise<void>
  /** Resolves with the reason once the kernel has closed the connection (`ENODEV` after an unmount). */
  readonly ended: Promise<string>

  constructor (fd: number, fs: ReadOnlyFilesystem, options: FuseSessionOptions) {
    this.#fd = fd
    this.#fs = fs
    this.#options = options
    this.#valid = { sec: options.cacheSeconds }
    this.initialized = new Promise((resolve) => { this.#resolveInit = resolve })
    this.ended = new Promise((resolve) => { this.#resolveEnd = resolve })
    this.#worker = new Worker(new URL('./device-reader.js', import.meta.url), {
      workerData: { fd, bufferBytes: REQUEST_BUFFER_BYTES, control: this.#control } satisfies DeviceReaderData
    })
    this.#worker.on('message', (m: DeviceReaderMessage) => {
      if (m instanceof Uint8Array) this.#dispatch(Buffer.from(m.buffer, m.byteOffset, m.byteLength))
      else this.#resolveEnd(m.end)
    })
    this.#worker.on('error', (err) => { this.#resolveEnd(`worker failed: ${err.message}`) })
    this.#worker.on('exit', () => { this.#resolveEnd('worker exited') })
  }

  #dispatch (bytes: Buffer): void {
    const req = decodeRequest(bytes)
    if (req === undefined) return
    if (NO_REPLY_OPS.has(req.opcode)) return
    try {
      if (req.opcode === Op.READ) { this.#read(req); return }
      this.#answer(req)
    } catch (err) {
      // A request the filesystem cannot make sense of: never leave the caller hanging.
      this.#options.onReadError(err, req.nodeid)
      this.#error(req, E.EIO)
    }
  }

  #answer (req: Request): void {
    const fs = this.#fs
    const body = req.body
    switch (req.opcode) {
      case Op.INIT: return this.#init(req)
      case Op.DESTROY: return this.#ok(req)
      case Op.LOOKUP: {
        const ino = fs.lookup(req.nodeid, cString(body))
        const attr = ino === undefined ? undefined : fs.attributes(ino)
        // A missing name is a negative entry the kernel may cache as long as a positive one.
        return this.#ok(req, encodeEntryOut(attr, this.#valid))
      }
      case Op.GETATTR: {
        const attr = fs.attributes(req.nodeid)
        return attr === undefined ? this.#error(req, E.ENOENT) : this.#ok(req, encodeAttrOut(attr, this.#valid))
      }
      case Op.READLINK: {
        const target = fs.readlink(req.nodeid)
        return target === undefined ? this.#error(req, E.EINVAL) : this.#ok(req, target)
      }
      case Op.OPEN: {
        const { flags } = decodeOpenIn(body)
        if ((flags & O_ACCMODE) !== 0 || (flags & fsConstants.O_TRUNC) !== 0) return this.#error(req, E.EROFS)
        // ENOSYS makes every later open of the connection a zero-message
        // open, whose default is FOPEN_KEEP_CACHE: no OPEN or RELEASE round
        // trip per open(2), and pages cached across opens.
        return this.#error(req, E.ENOSYS)
      }
      case Op.OPENDIR:
        // Likewise for directories, with FOPEN_KEEP_CACHE | FOPEN_CACHE_DIR.
        return this.#error(req, E.ENOSYS)
      case Op.READDIR: case Op.READDIRPLUS: return this.#readdir(req, req.opcode === Op.READDIRPLUS)
      case Op.RELEASE: case Op.RELEASEDIR: return this.#ok(req)
      // Nothing to flush; ENOSYS stops the kernel sending FLUSH on every close.
      case Op.FLUSH: return this.#error(req, E.ENOSYS)
      case Op.GETXATTR: {
        const { size, name } = decodeGetxattrIn(body)
        const found = fs.xattrs(req.nodeid).find(([k]) => Buffer.compare(Buffer.from(k), name) === 0)
        return found === undefined ? this.#error(req, E.ENODATA) : this.#sized(req, size, found[1])
      }
      case Op.LISTXATTR: {
        const { size } = decodeListxattrIn(body)
        const names = Buffer.concat(fs.xattrs(req.nodeid).flatMap(([k]) => [k, Buffer.alloc(1)]))
        return this.#sized(req, size, names)
      }
      case Op.STATFS: {
        const { files, bytes } = fs.figures()
        return this.#ok(req, encodeStatfsOut({ blocks: Math.ceil(bytes / 4096), files, blockSize: 4096, nameMax: 255 }))
      }
      case Op.ACCESS:
        return (decodeAccessIn(body).mask & W_OK) !== 0 ? this.#error(req, E.EROFS) : this.#ok(req)
      default:
        return this.#error(req, WRITE_OPS.has(req.opcode) ? E.EROFS : E.ENOSYS)
    }
  }

  #init (req: Request): void {
    const init = decodeInitIn(req.body)
    const wanted = InitFlag.ASYNC_READ | InitFlag.DO_READDIRPLUS | InitFlag.PARALLEL_DIROPS | InitFlag.MAX_PAGES | InitFlag.CACHE_SYMLINKS
    this.#ok(req, encodeInitOut({
      maxReadahead: init.maxReadahead,
      flags: init.flags & wanted,
      maxBackground: 64,
      congestionThreshold: 48,
      maxWrite: 4096,
      timeGran: 1,
      maxPages: this.#options.maxPages
    }))
    if (!this.#initialized) { this.#initialized = true; this.#resolveInit() }
  }

  #read (req: Request): void {
    const { offset, size } = decodeReadIn(req.body)
    this.#fs.read(req.nodeid, offset, size).then(
      (pieces) => { this.#ok(req, ...pieces) },
      (err: unknown) => { this.#options.onReadError(err, req.nodeid); this.#error(req, E.EIO) }
    )
  }

  /** READDIR(PLUS): `.`, `..`, then the entries; the offset is the index of the next one. */
  #readdir (req: Request, plus: boolean): void {
    const fs = this.#fs
    const dir = fs.directory(req.nodeid)
    if (dir === undefined) return this.#error(req, E.ENOTDIR)
    const { offset, size } = decodeReadIn(req.body)
    const out = Buffer.allocUnsafe(size)
    let used = 0
    const dot = Buffer.from('.')
    const dotdot = Buffer.from('..')
    const total = dir.names.length + 2
    for (let i = offset; i < total; i++) {
      const name = i === 0 ? dot : i === 1 ? dotdot : dir.names[i - 2]!
      const ino = i === 0 ? req.nodeid : i === 1 ? dir.parent : dir.inos[i - 2]!
      if (used + direntBytes(name.length, plus) > size) break
      const attr = fs.attributes(ino)
      if (attr === undefined) continue
      used += writeDirent(out, used, name, ino, attr.mode, i + 1, plus ? { attr: i < 2 ? undefined : attr, valid: this.#valid } : undefined)
    }
    this.#ok(req, out.subarray(0, used))
  }

  /** A GETXATTR/LISTXATTR answer: the size for a probe (size 0), ERANGE if too small, else the bytes. */
  #sized (req: Request, size: number, value: Uint8Array): void {
    if (size === 0) return this.#ok(req, encodeXattrSize(value.length))
    if (size < value.length) return this.#error(req, E.ERANGE)
    this.#ok(req, value)
  }

  #ok (req: Request, ...payload: Uint8Array[]): void {
    const bytes = payload.reduce((n, p) => n + p.length, 0)
    this.#write([encodeOutHeader(req.unique, 0, bytes), ...payload])
  }

  #error (req: Request, errno: number): void {
    this.#write([encodeOutHeader(req.unique, -errno, 0)])
  }

  #write (buffers: Uint8Array[]): void {
    try {
      writevSync(this.#fd, buffers)
    } catch (err) {
      // ENOENT: the request was interrupted or aborted meanwhile; ENODEV: the connection is gone.
      const code = (err as NodeJS.ErrnoException).code
      if (code !== 'ENOENT' && code !== 'ENODEV') throw err
    }
  }

  /**
   * Let the process exit while the reader thread still waits on the device
   * (the thread ends by itself once the connection is closed; it cannot be
   * stopped inside its blocking read).
   */
  unref (): void { this.#worker.unref() }

  /** Make the reader thread give up waiting for the mount (mounting failed). */
  abandon (): void {
    Atomics.store(new Int32Array(this.#control), 0, 1)
    Atomics.notify(new Int32Array(this.#control), 0)
  }
}
