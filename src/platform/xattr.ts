/**
 * Extended attributes of whole trees, in bulk, through the `attr` tools.
 *
 * Node.js has no xattr API, and one process per file is far too slow for a
 * large tree, so {@link readXattrsTree} runs ONE `getfattr` over the whole
 * tree and {@link writeXattrs} ONE `setfattr --restore=-` fed from a pipe.
 *
 * - **All namespaces.** `user.*`, `trusted.*`, `security.*` and `system.*`
 *   (POSIX ACLs `system.posix_acl_access` / `_default`, as their binary
 *   xattr form) are read and written. Reading `trusted.*` and writing
 *   `trusted.*` / `security.*` needs root (CAP_SYS_ADMIN); without it the
 *   kernel hides or refuses them.
 * - **Symlinks are never followed.** Both tools run with `-h` (`l*xattr`
 *   calls on the link itself) and the walk is physical (`-P`), so a
 *   dangling link is not an error and a link to a directory is not entered.
 *   Linux refuses `user.*` on symlinks (EPERM); `trusted.*` and
 *   `security.*` are allowed.
 * - **Raw bytes.** Paths, names and values are bytes; nothing is assumed to
 *   be UTF-8. The root may be any bytes: it is opened in this process and
 *   handed to the tool as `/proc/self/fd/3` (see `dir-fd.ts`).
 * - **Problems with single files are warnings.** An unreadable file, a
 *   filesystem that refuses an attribute, a name the kernel rejects: the
 *   tool reports it on stderr and carries on. Each such line becomes an
 *   {@link XattrWarning}. With an `onWarning` callback the call reports them
 *   and succeeds; without one it fails after the tool has finished with
 *   `PlatformError` (`ERR_PLATFORM`) listing them, so nothing is lost
 *   silently by default.
 * - **A missing tool** is `UnsupportedError` (`ERR_UNSUPPORTED`); probe
 *   with {@link xattrSupport}.
 *
 * Order matters on export: changing a file's owner clears its
 * `security.capability`, and so does writing to it. Write the attributes
 * after contents, ownership and mode.
 *
 * @module
 */
import { Readable } from 'node:stream'
import { pipeline } from 'node:stream/promises'
import {
  InvalidArgumentError, InvalidPathError, TesseraError, UnreadableSourceError, throwIfAborted
} from '../errors.js'
import { PlatformError } from './errors.js'
import { CHILD_DIR, openDirectory, pathBytes, type DirectoryHandle } from './dir-fd.js'
import { LineSplitter, describeExit, readLines, startTool, type ToolExit } from './tool.js'
import { DumpParser, formatDumpRecord, unquote, type Xattr } from './xattr-dump.js'

export type { Xattr } from './xattr-dump.js'

/** A problem the tool reported about one file or attribute; the run went on. */
export interface XattrWarning {
  /** The tool that complained. */
  tool: 'getfattr' | 'setfattr'
  /** The tool's stderr line, with the internal `/proc/self/fd/3/.` prefix replaced by the root as given. */
  message: string
  /**
   * The path concerned, relative to the root (empty for the root itself),
   * when it could be recovered from the message. Best effort: a path or
   * attribute name that itself contains `": "` can be split wrongly.
   */
  path?: Buffer
  /** The attribute concerned, when the tool names one (getfattr failing to read a value). */
  name?: Buffer
}

/** Options shared by {@link readXattrsTree} and {@link writeXattrs}. */
export interface XattrOptions {
  /**
   * Receives each per-file problem: a readable message, then the details.
   * When given, problems do not fail the call. When absent, the call
   * rejects with `PlatformError` after the tool finishes if there was any
   * problem (its `details` list them).
   */
  onWarning?: (message: string, warning: XattrWarning) => void
  /** Cancels the run: the tool is killed and the call rejects with `AbortedError`. */
  signal?: AbortSignal
}

/** Options of {@link readXattrsTree}. */
export interface ReadXattrsOptions extends XattrOptions {
  /** The `getfattr` executable: a name looked up in `PATH` (default `getfattr`) or a path. */
  getfattrPath?: string
}

/** Options of {@link writeXattrs}. */
export interface WriteXattrsOptions extends XattrOptions {
  /** The `setfattr` executable: a name looked up in `PATH` (default `setfattr`) or a path. */
  setfattrPath?: string
}

/** The attributes to give one path (see {@link writeXattrs}). */
export interface XattrItem {
  /**
   * Path relative to the root, as bytes: components joined by `/`, no
   * leading `/`, no `..`, no NUL. Empty for the root itself.
   */
  path: Uint8Array
  /** Name/value pairs. Names are 1–255 bytes without NUL. */
  xattrs: ReadonlyArray<readonly [name: Uint8Array, value: Uint8Array]>
}

/** What {@link writeXattrs} sent to `setfattr`. */
export interface WriteXattrsResult {
  /** Paths that had at least one attribute. */
  files: number
  /** Attributes sent (some may have been refused: see `warnings`). */
  attributes: number
  /** Problems reported (one per refused attribute or unusable path). */
  warnings: number
}

/** The form the tools see the root in: the open directory's fd in the child, plus `/.`. */
const TOOL_ROOT = Buffer.from(`${CHILD_DIR}/.`, 'latin1')
const TOOL_ROOT_TEXT = TOOL_ROOT.toString('latin1')
/** Largest number of warning messages kept in a `PlatformError`'s `details`. */
const MAX_DETAILS = 100
/** `setfattr` input is written in batches of about this many bytes. */
const WRITE_BATCH = 64 * 1024

/**
 * The map key {@link readXattrsTree} uses for a relative path: the bytes as
 * a `latin1` string, one character per byte, so any byte sequence
 * round-trips with `Buffer.from(key, 'latin1')`. For ASCII names it is the
 * ordinary path text (`'dir/file'`); the root is `''`.
 */
export function xattrKey (relativePath: Buffer): string {
  return relativePath.toString('latin1')
}

/** Path relative to the root from the path the tool printed, or undefined if it is not below the root. */
function relativeFromTool (toolPath: Buffer): Buffer | undefined {
  if (!toolPath.subarray(0, TOOL_ROOT.length).equals(TOOL_ROOT)) return undefined
  const rest = toolPath.subarray(TOOL_ROOT.length)
  if (rest.length === 0) return rest
  return rest[0] === 0x2f ? rest.subarray(1) : undefined
}

/**
 * Turn one stderr line into a warning. Known shapes (attr 2.4/2.5):
 * `TOOL: PATH: REASON` (getfattr cannot list a file or walk into it;
 * setfattr cannot set an attribute) and `PATH: NAME: REASON` (getfattr
 * cannot read one value). PATH and NAME are quoted (`\ooo`).
 */
function toWarning (tool: 'getfattr' | 'setfattr', line: Buffer, rootText: string): XattrWarning {
  const warning: XattrWarning = { tool, message: line.toString('utf8').split(TOOL_ROOT_TEXT).join(rootText) }
  const toolPrefix = Buffer.from(`${tool}: `, 'latin1')
  const hasToolPrefix = line.subarray(0, toolPrefix.length).equals(toolPrefix)
  const body = hasToolPrefix ? line.subarray(toolPrefix.length) : line
  const reasonAt = body.lastIndexOf(': ')
  if (!body.subarray(0, TOOL_ROOT.length).equals(TOOL_ROOT) || reasonAt < 0) return warning
  let subject = body.subarray(0, reasonAt)
  if (!hasToolPrefix) {
    const nameAt = subject.lastIndexOf(': ')
    if (nameAt < 0) return warning
    warning.name = unquote(subject.subarray(nameAt + 2))
    subject = subject.subarray(0, nameAt)
  }
  const path = relativeFromTool(unquote(subject))
  if (path !== undefined) warning.path = path
  return warning
}

/** Collects warnings: forwards them to `onWarning`, or keeps them for the strict-mode error. */
class WarningSink {
  count = 0
  readonly kept: string[] = []
  /** The first exception thrown by the caller's `onWarning`, rethrown by `check`. */
  callbackError: unknown
  readonly #onWarning: ((message: string, warning: XattrWarning) => void) | undefined
  constructor (onWarning: ((message: string, warning: XattrWarning) => void) | undefined) { this.#onWarning = onWarning }

  add (warning: XattrWarning): void {
    this.count++
    if (this.#onWarning !== undefined) {
      // Called from a stream event handler: an exception must not escape there.
      try {
        this.#onWarning(warning.message, warning)
      } catch (err) {
        this.callbackError ??= err
      }
    } else if (this.kept.length < MAX_DETAILS) {
      this.kept.push(warning.message)
    }
  }

  /** Decide the outcome from the exit status. Throws on failure. */
  check (tool: string, exit: ToolExit): void {
    if (this.callbackError !== undefined) throw this.callbackError
    // Both tools exit 1 when some file failed (and say so on stderr), 2 on a usage error.
    const partial = exit.code === 1 && this.count > 0
    if (exit.code !== 0 && !partial) {
      throw new PlatformError(describeExit(tool, exit), { details: exit.stderrTail })
    }
    if (this.count > 0 && this.#onWarning === undefined) {
      const first = this.kept[0] ?? ''
      throw new PlatformError(
        `${tool} reported ${this.count} problem(s), first: ${first} (pass onWarning to accept them as warnings)`,
        { details: this.kept })
    }
  }
}

/** Turn a failure to open the root into the caller's error class. */
async function openRoot (root: Buffer | string, onError: (message: string, cause: unknown) => TesseraError): Promise<DirectoryHandle> {
  try {
    return await openDirectory(root)
  } catch (err) {
    throw onError(`cannot open directory ${pathBytes(root).toString('utf8')}: ${(err as Error).message}`, err)
  }
}

/**
 * Read the extended attributes of every file below `root` (and of `root`
 * itself) with one `getfattr --absolute-names -h -P -R -d -m - -e hex` run.
 *
 * The result maps each path that has at least one attribute, relative to
 * `root` and in the {@link xattrKey} form (bytes as a `latin1` string,
 * `''` for the root), to its attributes sorted by name bytes. Paths without
 * attributes are absent. Every hard link of a file is listed under each of
 * its names. Mount points below `root` are crossed, as `getfattr -R` does.
 *
 * The output is parsed as it streams; only the result map is held.
 *
 * Limit: `getfattr` builds each path in a 4096-byte buffer (FILENAME_MAX),
 * so entries whose path below the root is longer than about 4,070 bytes are
 * skipped with a warning ("File name too long") naming their directory.
 *
 * @throws `UnsupportedError` (`ERR_UNSUPPORTED`) if `getfattr` cannot be run;
 *   `UnreadableSourceError` (`ERR_UNREADABLE_SOURCE`) if `root` cannot be
 *   opened as a directory; `PlatformError` (`ERR_PLATFORM`) if the tool fails
 *   as a whole, prints something unparseable, or (without `onWarning`)
 *   reports any per-file problem; `AbortedError` (`ERR_ABORTED`) on abort.
 */
export async function readXattrsTree (root: Buffer | string, options: ReadXattrsOptions = {}): Promise<Map<string, Xattr[]>> {
  throwIfAborted(options.signal)
  const rootText = pathBytes(root).toString('utf8').replace(/\/+$/, '')
  const dir = await openRoot(root, (message, cause) => new UnreadableSourceError(message, { cause }))
  try {
    const sink = new WarningSink(options.onWarning)
    const result = new Map<string, Xattr[]>()
    const parser = new DumpParser(record => {
      const rel = relativeFromTool(record.path)
      if (rel === undefined) {
        throw new PlatformError(`getfattr printed a path outside the tree: ${JSON.stringify(record.path.toString('utf8'))}`)
      }
      record.xattrs.sort((a, b) => Buffer.compare(a[0], b[0]))
      result.set(xattrKey(rel), record.xattrs)
    })
    const tool = startTool({
      command: options.getfattrPath ?? 'getfattr',
      args: ['--absolute-names', '-h', '-P', '-R', '-d', '-m', '-', '-e', 'hex', '--', TOOL_ROOT_TEXT],
      packageName: 'attr',
      dirFd: dir.fd,
      stdout: true,
      onStderrLine: line => sink.add(toWarning('getfattr', line, rootText)),
      ...(options.signal === undefined ? {} : { signal: options.signal })
    })
    const stdout = tool.child.stdout
    const parsing = stdout === null
      ? Promise.resolve()
      : readLines(stdout, new LineSplitter(line => parser.line(line))).then(() => parser.end())
    // If parsing fails, stop the tool; then let a failure to run it take precedence.
    const parseError = await parsing.then(() => undefined, (err: unknown) => { tool.child.kill('SIGKILL'); return err })
    const exit = await tool.exit
    if (parseError !== undefined) throw parseError
    sink.check('getfattr', exit)
    return result
  } finally {
    await dir.close()
  }
}

function asBuffer (bytes: Uint8Array): Buffer {
  return Buffer.isBuffer(bytes) ? bytes : Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength)
}

/** Check one item and return its path and attributes as Buffers. */
function checkItem (item: XattrItem): { path: Buffer, xattrs: Xattr[] } {
  const path = asBuffer(item.path)
  if (path.includes(0)) throw new InvalidPathError('xattr path contains a NUL byte')
  if (path[0] === 0x2f) throw new InvalidPathError(`xattr path must be relative: ${JSON.stringify(path.toString('utf8'))}`)
  for (let start = 0; start <= path.length;) {
    let end = path.indexOf(0x2f, start)
    if (end < 0) end = path.length
    if (end - start === 2 && path[start] === 0x2e && path[start + 1] === 0x2e) {
      throw new InvalidPathError(`xattr path must not contain "..": ${JSON.stringify(path.toString('utf8'))}`)
    }
    start = end + 1
  }
  const xattrs = item.xattrs.map(([n, v]): Xattr => {
    const name = asBuffer(n)
    if (name.length === 0 || name.length > 255 || name.includes(0)) {
      throw new InvalidArgumentError(`xattr name must be 1-255 bytes without NUL: ${JSON.stringify(name.toString('utf8'))}`)
    }
    return [name, asBuffer(v)]
  })
  return { path, xattrs }
}

/**
 * Give paths below `root` extended attributes, with one
 * `setfattr -h --restore=-` run reading the dump format from a pipe.
 *
 * Attributes are added or replaced, never removed. Items with no attributes
 * are skipped. Each `path` is relative to `root`; its last component is not
 * followed if it is a symlink, but the directories leading to it are
 * resolved normally, so they must be real directories (as they are in a
 * tree being exported). `items` may be an async iterable; it is consumed
 * with backpressure, so it can be produced lazily.
 *
 * Items are checked as they are consumed; a bad one (`InvalidPathError`,
 * `InvalidArgumentError`) stops the run, after earlier items may already
 * have been applied.
 *
 * @throws `UnsupportedError` (`ERR_UNSUPPORTED`) if `setfattr` cannot be run;
 *   `PlatformError` (`ERR_PLATFORM`) if `root` cannot be opened, the tool
 *   fails as a whole, or (without `onWarning`) any attribute was refused;
 *   `InvalidPathError` / `InvalidArgumentError` for a malformed item;
 *   `AbortedError` (`ERR_ABORTED`) on abort.
 */
export async function writeXattrs (
  root: Buffer | string,
  items: Iterable<XattrItem> | AsyncIterable<XattrItem>,
  options: WriteXattrsOptions = {}
): Promise<WriteXattrsResult> {
  throwIfAborted(options.signal)
  const rootText = pathBytes(root).toString('utf8').replace(/\/+$/, '')
  const dir = await openRoot(root, (message, cause) => new PlatformError(message, { cause }))
  try {
    const sink = new WarningSink(options.onWarning)
    const counts = { files: 0, attributes: 0 }
    // `-h` must come first: setfattr performs --restore while parsing its options.
    const tool = startTool({
      command: options.setfattrPath ?? 'setfattr',
      args: ['-h', '--restore=-'],
      packageName: 'attr',
      dirFd: dir.fd,
      stdin: true,
      onStderrLine: line => sink.add(toWarning('setfattr', line, rootText)),
      ...(options.signal === undefined ? {} : { signal: options.signal })
    })
    const slash = Buffer.from('/')
    let sourceError: unknown
    async function * dump (): AsyncGenerator<Buffer> {
      let batch: Buffer[] = []
      let size = 0
      try {
        for await (const item of items) {
          if (item.xattrs.length === 0) continue
          const { path, xattrs } = checkItem(item)
          const toolPath = path.length === 0 ? TOOL_ROOT : Buffer.concat([TOOL_ROOT, slash, path])
          const record = formatDumpRecord(toolPath, xattrs)
          counts.files++
          counts.attributes += xattrs.length
          batch.push(record)
          size += record.length
          if (size >= WRITE_BATCH) {
            yield Buffer.concat(batch)
            batch = []
            size = 0
          }
        }
      } catch (err) {
        sourceError = err
        throw err
      }
      if (size > 0) yield Buffer.concat(batch)
    }
    const stdin = tool.child.stdin
    const feeding = stdin === null
      ? Promise.resolve()
      : pipeline(Readable.from(dump()), stdin, { signal: options.signal })
    const feedError = await feeding.then(() => undefined, (err: unknown) => err)
    if (sourceError !== undefined) {
      // A bad item, or `items` itself threw: stop the tool before it applies more.
      tool.child.kill('SIGKILL')
      await tool.exit.catch(() => {})
      throw sourceError
    }
    const exit = await tool.exit
    if (feedError !== undefined && exit.code === 0) {
      throw new PlatformError(`cannot feed setfattr: ${(feedError as Error).message}`, { cause: feedError })
    }
    sink.check('setfattr', exit)
    return { ...counts, warnings: sink.count }
  } finally {
    await dir.close()
  }
}

/** Options of {@link xattrSupport}. */
export interface XattrSupportOptions {
  /** As in {@link ReadXattrsOptions.getfattrPath}. */
  getfattrPath?: string
  /** As in {@link WriteXattrsOptions.setfattrPath}. */
  setfattrPath?: string
}

/**
 * True when both `getfattr` and `setfattr` can be run (each answers
 * `--version`). It says nothing about whether a given filesystem stores
 * extended attributes. Never throws.
 */
export async function xattrSupport (options: XattrSupportOptions = {}): Promise<boolean> {
  const works = async (command: string): Promise<boolean> => {
    try {
      const exit = await startTool({ command, args: ['--version'], packageName: 'attr' }).exit
      return exit.code === 0
    } catch {
      return false
    }
  }
  const [get, set] = await Promise.all([works(options.getfattrPath ?? 'getfattr'), works(options.setfattrPath ?? 'setfattr')])
  return get && set
}
