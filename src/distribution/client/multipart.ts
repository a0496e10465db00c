/**
 * A strict, streaming parser of `multipart/byteranges` bodies (RFC 9110
 * §14.6, RFC 2046 §5.1.1), as answered to a multi-range GET.
 *
 * - The boundary comes from the `Content-Type` (1..70 characters of the
 *   RFC 2046 alphabet, optionally quoted).
 * - A preamble of at most 1 KiB may come before the first delimiter
 *   (`--boundary` at the start of the body or after a CRLF).
 * - Each part's header block (at most 8 KiB) must hold one valid
 *   `Content-Range: bytes a-b/size` (or `/*`); other headers are ignored,
 *   folded lines are refused. Before any byte of the part is buffered,
 *   `accept(start, end, size)` may refuse it (a part not asked for, a
 *   repeated part, a wrong size): memory is bounded by what the caller
 *   accepts.
 * - A part's body is exactly its `Content-Range` length, followed by
 *   `CRLF--boundary`: the body ending first is {@link RegistryTruncatedError},
 *   other bytes there (a part longer than it says) are
 *   {@link RegistryProtocolError}.
 * - After the closing `--boundary--`, at most 1 KiB of epilogue.
 *
 * Parts are yielded as they complete, each in its own buffer.
 *
 * @module
 */
import { RegistryProtocolError, RegistryTruncatedError, quoteRemote } from './errors.js'
import { parseContentRange, type ContentRange } from './ranges.js'

/** One part of a byteranges body: `[start, end)` of the blob and its bytes. */
export interface BytePart {
  start: number
  end: number
  bytes: Uint8Array
}

/** Refuse a part before it is read by throwing; `size` is the complete length the part names, undefined for `*`. */
export type AcceptPart = (start: number, end: number, size: number | undefined) => void

const MAX_PREAMBLE = 1024
const MAX_PART_HEADERS = 8 * 1024
const MAX_EPILOGUE = 1024
const CRLF = Buffer.from('\r\n')
const CRLFCRLF = Buffer.from('\r\n\r\n')

/**
 * The boundary of a `multipart/byteranges` Content-Type, or undefined when
 * the type is something else or the boundary is malformed.
 */
export function byterangesBoundary (contentType: string | undefined): string | undefined {
  if (contentType === undefined) return undefined
  const m = /^\s*multipart\/byteranges\s*;(.*)$/i.exec(contentType)
  if (m === null) return undefined
  const params = m[1]!
  const b = /(?:^|;)\s*boundary\s*=\s*(?:"([^"]*)"|([^;\s]*))/i.exec(params)
  if (b === null) return undefined
  const boundary = b[1] ?? b[2] ?? ''
  if (!/^[0-9A-Za-z'()+_,\-./:=? ]{0,69}[0-9A-Za-z'()+_,\-./:=?]$/.test(boundary)) return undefined
  return boundary
}

/** Buffered reading over an async iterable of chunks. */
class ByteReader {
  readonly #it: AsyncIterator<Uint8Array>
  #buf: Uint8Array = new Uint8Array(0)
  #pos = 0
  #eof = false

  constructor (source: AsyncIterable<Uint8Array>) {
    this.#it = source[Symbol.asyncIterator]()
  }

  get available (): number { return this.#buf.length - this.#pos }

  async #more (): Promise<boolean> {
    if (this.#eof) return false
    const r = await this.#it.next()
    if (r.done === true) { this.#eof = true; return false }
    const chunk = r.value
    if (this.available === 0) {
      this.#buf = chunk
    } else {
      const joined = new Uint8Array(this.available + chunk.length)
      joined.set(this.#buf.subarray(this.#pos))
      joined.set(chunk, this.available)
      this.#buf = joined
    }
    this.#pos = 0
    return true
  }

  /** Make at least `n` bytes available; false when the body ends first. */
  async fill (n: number): Promise<boolean> {
    while (this.available < n) if (!await this.#more()) return false
    return true
  }

  peek (n: number): Uint8Array { return this.#buf.subarray(this.#pos, this.#pos + n) }
  skip (n: number): void { this.#pos += n }

  /** Offset of `pattern` from the read position, searching at most `limit` bytes; -1 when not within the limit, -2 when the body ended first. */
  async find (pattern: Uint8Array, limit: number): Promise<number> {
    let from = 0
    for (;;) {
      const view = Buffer.from(this.#buf.buffer, this.#buf.byteOffset + this.#pos, Math.min(this.available, limit + pattern.length))
      const at = view.indexOf(pattern, from)
      if (at >= 0 && at <= limit) return at
      if (this.available >= limit + pattern.length) return -1
      from = Math.max(0, this.available - pattern.length + 1)
      if (!await this.#more()) return -2
    }
  }

  /** Copy exactly `target.length` bytes into `target`; the count copied (short at the end of the body). */
  async readInto (target: Uint8Array): Promise<number> {
    let done = 0
    while (done < target.length) {
      if (this.available === 0 && !await this.#more()) break
      const n = Math.min(this.available, target.length - done)
      target.set(this.#buf.subarray(this.#pos, this.#pos + n), done)
      this.#pos += n
      done += n
    }
    return done
  }

  /** Stop reading the source. */
  async close (): Promise<void> {
    await this.#it.return?.()
  }
}

function bytesEqualAt (reader: ByteReader, expected: Uint8Array): boolean {
  return Buffer.from(reader.peek(expected.length)).equals(expected)
}

/**
 * Parse a `multipart/byteranges` body into its parts (see the module
 * comment); `what` names the request in messages.
 */
export async function * parseByteranges (body: AsyncIterable<Uint8Array>, boundary: string, accept: AcceptPart, what = 'multipart answer'): AsyncGenerator<BytePart> {
  const reader = new ByteReader(body)
  const dash = Buffer.from(`--${boundary}`)
  const delimiter = Buffer.from(`\r\n--${boundary}`)
  const protocol = (why: string): never => { throw new RegistryProtocolError(`${what}: ${why}`) }
  const truncated = (why: string): never => { throw new RegistryTruncatedError(`${what}: ${why}`) }
  try {
    // preamble, then the first delimiter (at the very start or after a CRLF)
    let at: number
    if (await reader.fill(dash.length) && bytesEqualAt(reader, dash)) {
      at = 0
    } else {
      at = await reader.find(delimiter, MAX_PREAMBLE)
      if (at === -2) protocol('the body holds no boundary')
      if (at < 0) protocol(`no boundary in the first ${MAX_PREAMBLE} bytes`)
      at += 2
    }
    reader.skip(at + dash.length)
    let parts = 0
    for (;;) {
      // after a delimiter: `--` closes, else optional padding then CRLF
      if (!await reader.fill(2)) truncated('the body ended after a boundary')
      if (bytesEqualAt(reader, Buffer.from('--'))) {
        reader.skip(2)
        break
      }
      const eol = await reader.find(CRLF, 64)
      if (eol === -2) truncated('the body ended after a boundary')
      if (eol < 0) protocol('a boundary line is not ended by CRLF')
      if (!/^[ \t]*$/.test(Buffer.from(reader.peek(eol)).toString('latin1'))) protocol('a boundary line has extra characters')
      reader.skip(eol + 2)
      // part headers
      let range: ContentRange | undefined
      if (await reader.fill(2) && bytesEqualAt(reader, CRLF)) {
        reader.skip(2)
      } else {
        const end = await reader.find(CRLFCRLF, MAX_PART_HEADERS)
        if (end === -2) truncated('the body ended in the headers of a part')
        if (end < 0) protocol(`the headers of a part are longer than ${MAX_PART_HEADERS} bytes`)
        const text = Buffer.from(reader.peek(end)).toString('latin1')
        reader.skip(end + 4)
        for (const line of text.split('\r\n')) {
          if (/^[ \t]/.test(line)) protocol('a part has a folded header line')
          const colon = line.indexOf(':')
          if (colon <= 0) protocol(`a part has a malformed header line ${quoteRemote(line, 80)}`)
          const name = line.slice(0, colon).trim().toLowerCase()
          if (name !== 'content-range') continue
          if (range !== undefined) protocol('a part has two Content-Range headers')
          range = parseContentRange(line.slice(colon + 1)) ?? protocol(`a part has an invalid Content-Range ${quoteRemote(line.slice(colon + 1).trim(), 80)}`)
        }
      }
      if (range === undefined) return protocol('a part has no Content-Range')
      accept(range.start, range.end, range.size)
      const bytes = new Uint8Array(new SharedArrayBuffer(range.end - range.start))
      const got = await reader.readInto(bytes)
      if (got < bytes.length) truncated(`the part ${range.start}-${range.end - 1} ended after ${got} of ${bytes.length} bytes`)
      if (!await reader.fill(delimiter.length)) truncated(`the body ended after the part ${range.start}-${range.end - 1}`)
      if (!bytesEqualAt(reader, delimiter)) protocol(`the part ${range.start}-${range.end - 1} is longer than its Content-Range, or its boundary is missing`)
      reader.skip(delimiter.length)
      parts++
      yield { start: range.start, end: range.end, bytes }
    }
    if (parts === 0) protocol('a multipart answer with no parts')
    // epilogue: bounded, ignored
    let rest = 0
    while (await reader.fill(1)) {
      rest += reader.available
      if (rest > MAX_EPILOGUE) protocol(`more than ${MAX_EPILOGUE} bytes after the closing boundary`)
      reader.skip(reader.available)
    }
  } finally {
    await reader.close()
  }
}
