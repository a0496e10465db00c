/**
 * Blob upload sessions: each is a temporary file `<dir>/<uuid>` that
 * chunks are appended to (POST, PATCH, PUT of the distribution spec) until
 * the final PUT streams it into the blob store, which verifies the digest.
 *
 * - A chunk's `Content-Range` must start where the session is, else 416;
 *   a chunk that fails part way (client gone, limit hit, wrong length) is
 *   cut off again, so the session stays where it was.
 * - The size of a session is capped (`maxUploadBytes`, 413 `SIZE_INVALID`)
 *   and so is their number (`maxUploadSessions`, 429 `TOOMANYREQUESTS`).
 * - Sessions untouched for `uploadSessionTtlMs` are cancelled and their
 *   file removed; sessions live in memory, so files left by an earlier run
 *   are removed when the server starts.
 *
 * @module
 */
import { randomUUID } from 'node:crypto'
import { createWriteStream } from 'node:fs'
import { mkdir, open, readdir, rm, truncate } from 'node:fs/promises'
import { join } from 'node:path'
import { Transform, type Readable } from 'node:stream'
import { pipeline } from 'node:stream/promises'
import { RegistryHttpError } from './errors.js'
import type { RegistryLimits } from './limits.js'

/** One upload in progress. */
export interface UploadSession {
  /** The id clients see (a UUID). */
  readonly id: string
  /** The repository the upload was started in. */
  readonly repository: string
  /** The temporary file holding the bytes received so far. */
  readonly path: string
  /** Bytes received so far. */
  size: number
  /** A request is writing to or finishing the session. */
  busy: boolean
  /** When the session was last used (ms since the epoch). */
  touched: number
}

/** A chunk's claimed place: `Content-Range: <start>-<end>` (inclusive). */
export interface ChunkRange { start: number, end: number }

const UUID_RE = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/

/** Parse a `Content-Range` of an upload chunk (`<start>-<end>`, also with a `bytes ` or `bytes=` prefix). */
export function parseChunkRange (header: string | undefined): ChunkRange | undefined {
  if (header === undefined) return undefined
  const m = /^(?:bytes[ =])?(\d{1,15})-(\d{1,15})(?:\/(?:\d{1,15}|\*))?$/.exec(header.trim())
  if (m === null) throw new RegistryHttpError('BLOB_UPLOAD_INVALID', `malformed Content-Range ${JSON.stringify(header.slice(0, 100))}`, { status: 416 })
  const range = { start: Number(m[1]), end: Number(m[2]) }
  if (range.end < range.start) throw new RegistryHttpError('BLOB_UPLOAD_INVALID', `Content-Range ${header} ends before it starts`, { status: 416 })
  return range
}

/** The `Range` header answered for a session: `0-<last byte>` (`0-0` when empty, as registries do). */
export function rangeHeader (size: number): string {
  return `0-${Math.max(0, size - 1)}`
}

/** Counts the bytes passing through and fails past `max`. */
class ByteCounter extends Transform {
  count = 0
  constructor (readonly max: number, readonly onOver: () => Error) { super() }
  override _transform (chunk: Buffer, _encoding: string, callback: (err?: Error | null, data?: Buffer) => void): void {
    this.count += chunk.length
    if (this.count > this.max) callback(this.onOver())
    else callback(null, chunk)
  }
}

/** The upload sessions of one server. */
export class UploadSessions {
  readonly #dir: string
  readonly #limits: Pick<RegistryLimits, 'maxUploadBytes' | 'maxUploadSessions' | 'uploadSessionTtlMs'>
  readonly #sessions = new Map<string, UploadSession>()
  #timer: NodeJS.Timeout | undefined

  constructor (dir: string, limits: Pick<RegistryLimits, 'maxUploadBytes' | 'maxUploadSessions' | 'uploadSessionTtlMs'>) {
    this.#dir = dir
    this.#limits = limits
  }

  /** The directory of the session files. */
  get directory (): string { return this.#dir }

  /** Sessions open now. */
  get count (): number { return this.#sessions.size }

  /** Create the directory, remove files an earlier run left, start expiring sessions. */
  async start (): Promise<void> {
    await mkdir(this.#dir, { recursive: true })
    for (const name of await readdir(this.#dir)) {
      if (UUID_RE.test(name) || name.endsWith('.tmp')) await rm(join(this.#dir, name), { force: true })
    }
    const every = Math.max(1000, Math.min(60_000, Math.floor(this.#limits.uploadSessionTtlMs / 2)))
    this.#timer = setInterval(() => { void this.expire() }, every)
    this.#timer.unref()
  }

  /** Cancel the sessions untouched for longer than the TTL (also called by a timer). */
  async expire (now = Date.now()): Promise<number> {
    let n = 0
    for (const s of [...this.#sessions.values()]) {
      if (!s.busy && now - s.touched > this.#limits.uploadSessionTtlMs) {
        await this.remove(s)
        n++
      }
    }
    return n
  }

  /** Start a session in `repository` (an empty file). */
  async create (repository: string): Promise<UploadSession> {
    if (this.#sessions.size >= this.#limits.maxUploadSessions) throw new RegistryHttpError('TOOMANYREQUESTS', `too many uploads in progress (${this.#limits.maxUploadSessions})`)
    const id = randomUUID()
    const path = join(this.#dir, id)
    const handle = await open(path, 'wx', 0o600)
    await handle.close()
    const session: UploadSession = { id, repository, path, size: 0, busy: false, touched: Date.now() }
    this.#sessions.set(id, session)
    return session
  }

  /** The session `id` of `repository`; `BLOB_UPLOAD_UNKNOWN` if there is none. */
  get (repository: string, id: string): UploadSession {
    const s = UUID_RE.test(id) ? this.#sessions.get(id) : undefined
    if (s === undefined || s.repository !== repository) throw new RegistryHttpError('BLOB_UPLOAD_UNKNOWN', `no upload ${JSON.stringify(id.slice(0, 100))} in ${repository}`)
    s.touched = Date.now()
    return s
  }

  /** Mark the session busy for the length of `work`; 416 if another request holds it. */
  async hold<T> (session: UploadSession, work: () => Promise<T>): Promise<T> {
    if (session.busy) throw new RegistryHttpError('BLOB_UPLOAD_INVALID', 'another request is writing to this upload', { status: 416, headers: this.headers(session) })
    session.busy = true
    try {
      return await work()
    } finally {
      session.busy = false
      session.touched = Date.now()
    }
  }

  /**
   * Append the bytes of `body` to the session (the caller holds it). With
   * `range`, the chunk must start at the session's size (else 416) and have
   * `end - start + 1` bytes (else `SIZE_INVALID`); `contentLength`,
   * when known, is checked against the size limit before reading. On any
   * failure the file is cut back and the session is unchanged.
   */
  async append (session: UploadSession, body: Readable, options: { range?: ChunkRange | undefined, contentLength?: number | undefined } = {}): Promise<number> {
    const { range, contentLength } = options
    if (range !== undefined && range.start !== session.size) {
      throw new RegistryHttpError('BLOB_UPLOAD_INVALID', `chunk starts at ${range.start}, the upload has ${session.size} bytes`, { status: 416, headers: this.headers(session) })
    }
    const expected = range !== undefined ? range.end - range.start + 1 : contentLength
    if (range !== undefined && contentLength !== undefined && contentLength !== expected) {
      throw new RegistryHttpError('SIZE_INVALID', `Content-Length ${contentLength} does not match Content-Range ${range.start}-${range.end}`)
    }
    const room = this.#limits.maxUploadBytes - session.size
    const tooLarge = (): RegistryHttpError => new RegistryHttpError('SIZE_INVALID', `upload larger than the limit of ${this.#limits.maxUploadBytes} bytes`, { status: 413 })
    if (expected !== undefined && expected > room) throw tooLarge()
    const counter = new ByteCounter(room, tooLarge)
    try {
      await pipeline(body, counter, createWriteStream(session.path, { flags: 'r+', start: session.size }))
      if (expected !== undefined && counter.count !== expected) {
        throw new RegistryHttpError('SIZE_INVALID', `received ${counter.count} bytes, expected ${expected}`)
      }
    } catch (err) {
      await truncate(session.path, session.size).catch(() => {})
      throw err
    }
    session.size += counter.count
    session.touched = Date.now()
    return counter.count
  }

  /** End a session and remove its file (cancelled, finished or expired). */
  async remove (session: UploadSession): Promise<void> {
    this.#sessions.delete(session.id)
    await rm(session.path, { force: true })
  }

  /** The headers of an upload response: `Location`, `Range`, `Docker-Upload-UUID`. */
  headers (session: UploadSession): Record<string, string> {
    return {
      location: `/v2/${session.repository}/blobs/uploads/${session.id}`,
      range: rangeHeader(session.size),
      'docker-upload-uuid': session.id
    }
  }

  /** Stop the timer and remove every session's file. */
  async close (): Promise<void> {
    if (this.#timer !== undefined) clearInterval(this.#timer)
    this.#timer = undefined
    for (const s of [...this.#sessions.values()]) await this.remove(s)
  }
}
