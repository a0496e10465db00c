/**
 * The CLI's commands. Each takes parsed arguments and an open store, writes
 * its output to stdout and returns the exit code. The contract of forms and
 * JSON fields is in docs/CLI.md.
 *
 * @module
 */
import { createWriteStream } from 'node:fs'
import { once } from 'node:events'
import { pipeline } from 'node:stream/promises'
import { Readable } from 'node:stream'
import { InvalidArgumentError, NotFoundError } from '../errors.js'
import type { Entry } from '../format/entry.js'
import { printable } from '../format/names.js'
import { digestToString } from '../hash/digest.js'
import { SnapshotReader, type RootEntry } from '../exporter/snapshot-reader.js'
import type { ImportResult } from '../importer/commit.js'
import type { MtimePolicy } from '../format/mtime.js'
import type { LocalObjectStore } from '../store/index.js'
import { join } from 'node:path'
import { parseLocation } from './location.js'
import { formatBytes, ProgressLine } from './progress.js'

// Each command loads what it needs when it runs: a `cat` of one range
// should not pay for loading the importers, the OCI code or the registry
// server (startup time is most of a cold range read).
// Each import source loads only its own modules (a directory import is
// run once per image in a benchmark: the OCI modules cost 17 ms each time).
const imageImporters = async () => ({
  ...await import('../oci/import.js'),
  ...await import('../oci/layout-source.js'),
  ...await import('../oci/docker-archive-source.js'),
  ...await import('../oci/reference.js')
})

/** Values from the command line. */
export interface CommandArgs {
  positionals: string[]
  values: Record<string, string | boolean | undefined>
  /** Progress may be shown (stderr is a terminal and --json is off). */
  interactive: boolean
  /** The store's directory (for files kept beside the database, e.g. upload sessions). */
  storeDir?: string
}

/** Copy a byte stream to stdout, waiting for drain; stdout stays usable. */
async function toStdout (source: AsyncIterable<Uint8Array>): Promise<void> {
  for await (const piece of source) {
    if (!process.stdout.write(piece)) await once(process.stdout, 'drain')
  }
}

const out = (s: string): void => { process.stdout.write(s.endsWith('\n') ? s : s + '\n') }
const warn = (s: string): void => { process.stderr.write(`tessera: warning: ${s}\n`) }
const json = (v: unknown): void => { out(JSON.stringify(v, null, 2)) }

function intOption (args: CommandArgs, name: string): number | undefined {
  const raw = args.values[name]
  if (raw === undefined) return undefined
  const n = Number(raw)
  if (typeof raw !== 'string' || !/^\d+$/.test(raw) || !Number.isSafeInteger(n)) throw new InvalidArgumentError(`--${name} takes a non-negative integer, got ${JSON.stringify(raw)}`)
  return n
}

function mtimeOption (args: CommandArgs): MtimePolicy | undefined {
  const raw = args.values.mtime
  if (raw === undefined) return undefined
  if (raw === 'keep' || raw === 'zero') return raw
  if (typeof raw === 'string' && /^\d+$/.test(raw)) return Number(raw)
  throw new InvalidArgumentError(`--mtime takes keep, zero or a number of seconds, got ${JSON.stringify(raw)}`)
}

function requireName (args: CommandArgs): string {
  const name = args.values.name
  if (typeof name !== 'string' || name === '') throw new InvalidArgumentError('--name NAME is required')
  return name
}

/** Chunker params from --chunk-min/--chunk-avg/--chunk-max/--inline-max. */
function paramsOption (args: CommandArgs): Record<string, number> {
  const params: Record<string, number> = {}
  for (const [flag, field] of [['chunk-min', 'min'], ['chunk-avg', 'avg'], ['chunk-max', 'max'], ['inline-max', 'inlineMax']] as const) {
    const v = intOption(args, flag)
    if (v !== undefined) params[field] = v
  }
  return params
}

/** Import sources the CLI accepts. */
export const IMPORT_KINDS = ['dir', 'tar', 'oci', 'docker-archive'] as const

/** `import dir:PATH|tar:PATH --name NAME [--json] [--replace] [--base NAME] [--mtime keep|zero|SECONDS]` */
export async function importCommand (store: LocalObjectStore, args: CommandArgs): Promise<number> {
  const source = parseLocation(args.positionals[0], IMPORT_KINDS, 'source')
  const name = requireName(args)
  const progress = new ProgressLine(`importing ${name}`, args.interactive)
  const started = Date.now()
  const params = paramsOption(args)
  const mtime = mtimeOption(args)
  const base = args.values.base
  if (args.values.platform !== undefined && source.kind === 'dir') throw new InvalidArgumentError('--platform applies to image sources only')
  if (base !== undefined && source.kind !== 'tar') throw new InvalidArgumentError('--base applies to tar: layers only')
  const common = {
    name,
    replace: args.values.replace === true,
    params,
    ...(mtime !== undefined ? { mtime } : {}),
    onProgress: (p: { files: number, bytes: number }) => progress.update(p),
    onWarning: warn
  }
  try {
    let result: ImportResult
    switch (source.kind) {
      case 'dir': {
        const { importDirectory } = await import('../importer/directory.js')
        result = await importDirectory(store, source.path, common)
        break
      }
      case 'tar': {
        const { importLayerFile } = await import('../importer/layer-file.js')
        result = await importLayerFile(store, source.path, { ...common, ...(typeof base === 'string' ? { base } : {}) })
        break
      }
      case 'oci':
      case 'docker-archive': {
        const { importImage, openOciLayout, openDockerArchive, parseImageLocation } = await imageImporters()
        const location = parseImageLocation(args.positionals[0]!)
        const platform = typeof args.values.platform === 'string' ? args.values.platform : undefined
        if (platform !== undefined && location.transport !== 'oci') throw new InvalidArgumentError('--platform applies to oci: layouts only')
        const image = location.transport === 'oci'
          ? await openOciLayout(location.path, { ...(location.reference !== undefined ? { reference: location.reference } : {}), ...(platform !== undefined ? { platform } : {}) })
          : await openDockerArchive(location.path, location.reference !== undefined ? { reference: location.reference } : {})
        result = await importImage(store, image, common)
        break
      }
      default:
        throw new InvalidArgumentError(`unsupported source kind ${source.kind}`)
    }
    progress.done()
    const seconds = (Date.now() - started) / 1000
    if (args.values.json === true) {
      json({ ...result, seconds })
    } else {
      out(`imported ${name}: ${result.files} entries, ${formatBytes(result.logicalBytes)} in ${seconds.toFixed(1)} s (${result.newChunks} new chunks, ${formatBytes(result.newBytes)})`)
      out(`snapshot ${result.snapshot}`)
      out(`root     ${result.root}`)
    }
    return 0
  } finally {
    progress.done()
  }
}

/** `export NAME dir:PATH|tar:PATH|tar:-` */
export async function exportCommand (store: LocalObjectStore, args: CommandArgs): Promise<number> {
  const [{ exportOciLayout }, { exportDirectory }, { exportTar }, { parseImageLocation }] = await Promise.all([import('../oci/export-layout.js'), import('../exporter/directory.js'), import('../exporter/tar.js'), import('../oci/reference.js')])
  const ref = args.positionals[0]
  if (ref === undefined) throw new InvalidArgumentError('usage: tessera export NAME dir:PATH|tar:PATH')
  const target = parseLocation(args.positionals[1], ['dir', 'tar', 'oci'], 'target')
  const reader = await SnapshotReader.open(store, ref)
  const progress = new ProgressLine(`exporting ${ref}`, args.interactive && !(target.kind === 'tar' && target.path === '-'))
  try {
    if (target.kind === 'oci') {
      const location = parseImageLocation(args.positionals[1]!)
      const compression = args.values.compression ?? 'gzip'
      if (compression !== 'gzip' && compression !== 'zstd' && compression !== 'none') throw new InvalidArgumentError(`--compression takes gzip, zstd or none, got ${JSON.stringify(compression)}`)
      const done = await exportOciLayout(reader, location.path, {
        ...(location.reference !== undefined ? { tag: location.reference } : {}),
        compression,
        onProgress: (p) => progress.update(p),
        onWarning: warn
      })
      progress.done()
      if (args.values.json === true) json({ name: ref, snapshot: reader.digest, layout: location.path, tag: done.tag, manifest: done.manifest.digest, config: done.config.digest, layer: done.layer.digest, diffId: done.diffId })
      else out(`exported ${ref} to ${location.path}:${done.tag} (manifest ${done.manifest.digest})`)
    } else if (target.kind === 'dir') {
      const done = await exportDirectory(reader, target.path, {
        devices: args.values.devices === true,
        onProgress: (p) => progress.update(p),
        onWarning: warn
      })
      progress.done()
      if (args.values.json === true) json({ name: ref, snapshot: reader.digest, target: target.path, ...done })
    } else {
      const stream = Readable.from(exportTar(reader, { onWarning: warn, onProgress: (p) => progress.update(p) }))
      if (target.path === '-') {
        await toStdout(stream)
      } else {
        await pipeline(stream, createWriteStream(target.path, { flags: 'wx' }))
      }
    }
    return 0
  } finally {
    progress.done()
  }
}

const TYPE_CHAR: Record<Entry['kind'], string> = { file: '-', dir: 'd', symlink: 'l', hardlink: 'h', fifo: 'p', socket: 's', char: 'c', block: 'b' }

function modeString (mode: number): string {
  const rwx = (bits: number, special: boolean, s: string, S: string): string =>
    `${bits & 4 ? 'r' : '-'}${bits & 2 ? 'w' : '-'}${special ? (bits & 1 ? s : S) : bits & 1 ? 'x' : '-'}`
  return rwx(mode >> 6, (mode & 0o4000) !== 0, 's', 'S') + rwx(mode >> 3, (mode & 0o2000) !== 0, 's', 'S') + rwx(mode, (mode & 0o1000) !== 0, 't', 'T')
}

function entryJson (e: Entry | RootEntry): Record<string, unknown> {
  const base: Record<string, unknown> = { name: Buffer.from(e.name).toString('utf8'), kind: e.kind }
  if (e.kind === 'hardlink') return { ...base, path: Buffer.from(e.path).toString('utf8') }
  Object.assign(base, { mode: e.mode, uid: e.uid, gid: e.gid, mtimeNs: e.mtimeNs.toString() })
  if (e.xattrs.length > 0) base.xattrs = e.xattrs.map(([k, v]) => [Buffer.from(k).toString('utf8'), Buffer.from(v).toString('base64')])
  switch (e.kind) {
    case 'file': return { ...base, size: e.size, chunks: e.content instanceof Uint8Array ? 0 : e.content.length }
    case 'dir': return { ...base, tree: digestToString(e.tree) }
    case 'symlink': return { ...base, target: Buffer.from(e.target).toString('utf8') }
    case 'char': case 'block': return { ...base, major: e.major, minor: e.minor }
    default: return base
  }
}

function entryLine (e: Entry): string {
  const name = printable(e.name).slice(1, -1)
  if (e.kind === 'hardlink') return `h--------- ${'-'.padStart(11)} ${''.padStart(12)} ${''.padStart(19)} ${name} link to ${printable(e.path).slice(1, -1)}`
  const date = new Date(Number(e.mtimeNs / 1_000_000n)).toISOString().slice(0, 19).replace('T', ' ')
  const size = e.kind === 'file' ? String(e.size) : e.kind === 'char' || e.kind === 'block' ? `${e.major},${e.minor}` : '0'
  const tail = e.kind === 'symlink' ? ` -> ${printable(e.target).slice(1, -1)}` : ''
  return `${TYPE_CHAR[e.kind]}${modeString(e.mode)} ${`${e.uid}/${e.gid}`.padStart(11)} ${size.padStart(12)} ${date} ${name}${tail}`
}

/** `ls NAME [PATH] [--json]` */
export async function lsCommand (store: LocalObjectStore, args: CommandArgs): Promise<number> {
  const ref = args.positionals[0]
  if (ref === undefined) throw new InvalidArgumentError('usage: tessera ls NAME [PATH]')
  const reader = await SnapshotReader.open(store, ref)
  const path = args.positionals[1] ?? ''
  const entry = await reader.stat(path)
  const entries = entry.kind === 'dir' ? await reader.readTree(entry.tree) : [entry as Entry]
  if (args.values.json === true) json(entries.map(entryJson))
  else for (const e of entries) out(entryLine(e))
  return 0
}

/** `cat NAME PATH [--offset N] [--length N]` */
export async function catCommand (store: LocalObjectStore, args: CommandArgs): Promise<number> {
  const [ref, path] = args.positionals
  if (ref === undefined || path === undefined) throw new InvalidArgumentError('usage: tessera cat NAME PATH [--offset N] [--length N]')
  const reader = await SnapshotReader.open(store, ref)
  const offset = intOption(args, 'offset')
  const length = intOption(args, 'length')
  const entry = await reader.statFile(path)
  await toStdout(reader.readFile(entry, { ...(offset !== undefined ? { offset } : {}), ...(length !== undefined ? { length } : {}) }))
  return 0
}

/** `snapshots [--json]` */
export async function snapshotsCommand (store: LocalObjectStore, args: CommandArgs): Promise<number> {
  const rows: Array<Record<string, unknown>> = []
  for await (const [name, ref] of store.listRefs()) {
    const reader = await SnapshotReader.open(store, name)
    rows.push({
      name,
      snapshot: digestToString(ref.snapshot),
      root: reader.root,
      files: ref.files,
      logicalBytes: ref.logicalBytes,
      created: new Date(Number(ref.createdNs / 1_000_000n)).toISOString()
    })
  }
  if (args.values.json === true) json(rows)
  else for (const r of rows) out(`${String(r.name).padEnd(24)} ${String(r.snapshot).slice(0, 19)}  root ${String(r.root).slice(0, 19)}  ${String(r.files).padStart(8)} entries  ${formatBytes(r.logicalBytes as number).padStart(10)}  ${String(r.created)}`)
  return 0
}

/** `diff NAME1 NAME2 [--json]` */
export async function diffCommand (store: LocalObjectStore, args: CommandArgs): Promise<number> {
  const { diffSnapshots } = await import('../exporter/diff.js')
  const [left, right] = args.positionals
  if (left === undefined || right === undefined) throw new InvalidArgumentError('usage: tessera diff NAME1 NAME2 [--json]')
  const a = await SnapshotReader.open(store, left)
  const b = await SnapshotReader.open(store, right)
  const shown = (p: Uint8Array): string => p.length === 0 ? '/' : Buffer.from(p).toString('utf8')
  const result = { added: [] as unknown[], removed: [] as unknown[], modified: [] as unknown[] }
  for await (const d of diffSnapshots(a, b)) {
    if (args.values.json === true) {
      const item = { path: shown(d.path), kind: d.kind, ...(d.change === 'modified' ? { changes: d.aspects } : {}) }
      result[d.change].push(item)
    } else {
      const tag = d.change === 'added' ? 'A' : d.change === 'removed' ? 'D' : 'M'
      const label = d.path.length === 0 ? '/' : printable(d.path).slice(1, -1)
      out(`${tag} ${label}${d.kind === 'dir' && d.path.length > 0 ? '/' : ''}${d.change === 'modified' ? `  (${d.aspects.join(', ')})` : ''}`)
    }
  }
  if (args.values.json === true) json(result)
  return 0
}

/** `stats [--json]` */
export async function statsCommand (store: LocalObjectStore, args: CommandArgs): Promise<number> {
  const s = await store.stats()
  if (args.values.json === true) {
    json(s)
  } else {
    out(`snapshots      ${s.snapshots}`)
    out(`logical bytes  ${formatBytes(s.logicalBytes)} (${s.logicalBytes})`)
    out(`unique chunks  ${s.chunks} (${formatBytes(s.chunkBytes)} uncompressed)`)
    out(`stored bytes   ${formatBytes(s.storedBytes)} (${s.storedBytes})`)
    out(`metadata       ${formatBytes(s.metadataBytes)} in ${s.metadataObjects} objects`)
    out(`dedup ratio    ${s.dedupRatio.toFixed(2)}x`)
  }
  return 0
}

/** `rm NAME`: remove a ref (its objects stay until `gc`). */
export async function rmCommand (store: LocalObjectStore, args: CommandArgs): Promise<number> {
  const names = args.positionals
  if (names.length === 0) throw new InvalidArgumentError('usage: tessera rm NAME...')
  for (const name of names) {
    if (!await store.deleteRef(name)) throw new NotFoundError(`no snapshot named ${JSON.stringify(name)}`)
    if (args.values.json !== true) out(`removed ${name}`)
  }
  if (args.values.json === true) json({ removed: names })
  return 0
}

/** `gc [--json]`: delete unreachable objects, print the bytes freed. */
export async function gcCommand (store: LocalObjectStore, args: CommandArgs): Promise<number> {
  // The registry's root provider registers itself as it loads: gc keeps what `serve` stored.
  const [{ gc }] = await Promise.all([import('../maintenance/gc.js'), import('../registry/backend/gc-roots.js')])
  const progress = new ProgressLine('gc', args.interactive, 'objects')
  try {
    const result = await gc(store, { onProgress: (p) => progress.update({ files: p.objects, bytes: p.bytes }) })
    progress.done()
    if (args.values.json === true) {
      json(result)
    } else {
      const d = result.deleted
      out(`freed ${formatBytes(result.bytesFreed)} (${result.bytesFreed} bytes): deleted ${d.chunks} chunks, ${d.trees} trees, ${d.snapshots} snapshots`)
      const p = result.packs
      if (p.deleted + p.rewritten > 0) out(`packs: deleted ${p.deleted}, rewrote ${p.rewritten} (moved ${p.chunksMoved} chunks), ${formatBytes(p.bytesFreed)} of pack files freed`)
    }
    return 0
  } finally {
    progress.done()
  }
}

/** `fsck [--json] [--repair]`: verify every object; exit 1 if a problem is left. */
export async function fsckCommand (store: LocalObjectStore, args: CommandArgs): Promise<number> {
  const [{ fsck }] = await Promise.all([import('../maintenance/fsck.js'), import('../registry/backend/gc-roots.js')])
  const progress = new ProgressLine('fsck', args.interactive, 'objects')
  try {
    const report = await fsck(store, { repair: args.values.repair === true, onProgress: (p) => progress.update({ files: p.objects, bytes: p.bytes }) })
    progress.done()
    if (args.values.json === true) {
      json(report)
    } else {
      for (const p of report.problems) out(`${p.repaired ? 'repaired' : 'problem'} ${p.kind}: ${p.object}: ${p.message}`)
      const o = report.objects
      const u = report.unreferenced
      out(`checked ${o.chunks} chunks, ${o.trees} trees, ${o.snapshots} snapshots, ${o.refs} refs (${formatBytes(report.bytesRead)} read)`)
      if (u.chunks + u.trees + u.snapshots > 0) out(`unreferenced (gc reclaims them): ${u.chunks} chunks, ${u.trees} trees, ${u.snapshots} snapshots`)
      if (report.packs.reclaimableBytes > 0) out(`packs: ${report.packs.files} files, ${formatBytes(report.packs.bytes)}, of which ${formatBytes(report.packs.reclaimableBytes)} no chunk uses (gc reclaims them)`)
      out(report.ok ? 'no problems' : `${report.problems.filter((p) => !p.repaired).length} problems`)
    }
    return report.ok ? 0 : 1
  } finally {
    progress.done()
  }
}

/** Read all of stdin as text, without the trailing newline. */
async function readStdin (): Promise<string> {
  const parts: Buffer[] = []
  for await (const piece of process.stdin) parts.push(piece as Buffer)
  return Buffer.concat(parts).toString('utf8').replace(/\r?\n$/, '')
}

/** `serve --hash-password`: print the scrypt hash of the password read on stdin, for the auth file. Needs no store. */
export async function hashPasswordCommand (): Promise<number> {
  const { hashPassword } = await import('../registry/server/index.js')
  const password = await readStdin()
  if (password === '') throw new InvalidArgumentError('give the password on stdin (e.g. `printf %s PASSWORD | tessera serve --hash-password`)')
  out(await hashPassword(password))
  return 0
}

/**
 * `serve [--host 127.0.0.1] [--port 5000] [--auth FILE] [--max-manifest-bytes N] [--max-upload-bytes N]`:
 * run the registry until SIGINT or SIGTERM. Prints the URL on stdout, one
 * line per request on stderr; upload sessions live in `<store>/uploads`.
 */
export async function serveCommand (store: LocalObjectStore, args: CommandArgs): Promise<number> {
  const [{ openRegistryStore }, { createRegistryServer, loadAuthConfig }] = await Promise.all([import('../registry/backend/index.js'), import('../registry/server/index.js')])
  if (args.positionals.length > 0) throw new InvalidArgumentError(`serve takes no positional arguments, got ${JSON.stringify(args.positionals[0])}`)
  const host = typeof args.values.host === 'string' ? args.values.host : '127.0.0.1'
  const port = intOption(args, 'port') ?? 5000
  if (port > 65535) throw new InvalidArgumentError(`--port takes 0 to 65535, got ${port}`)
  const maxManifestBytes = intOption(args, 'max-manifest-bytes')
  const maxUploadBytes = intOption(args, 'max-upload-bytes')
  const auth = typeof args.values.auth === 'string' ? await loadAuthConfig(args.values.auth) : undefined
  const storeDir = args.storeDir ?? '.'
  const registry = await openRegistryStore(store, { tempDirectory: join(storeDir, 'uploads'), ...(maxManifestBytes !== undefined ? { maxManifestBytes } : {}) })
  const server = await createRegistryServer(registry, {
    uploadDirectory: join(storeDir, 'uploads'),
    ...(auth !== undefined ? { auth } : {}),
    limits: { ...(maxManifestBytes !== undefined ? { maxManifestBytes } : {}), ...(maxUploadBytes !== undefined ? { maxUploadBytes } : {}) },
    onLog: (line) => { process.stderr.write(`tessera serve: ${line}\n`) }
  })
  let stop: (signal: string) => void = () => {}
  const stopped = new Promise<string>((resolve) => { stop = resolve })
  const onSignal = (signal: NodeJS.Signals): void => { stop(signal) }
  process.once('SIGINT', onSignal)
  process.once('SIGTERM', onSignal)
  try {
    const url = await server.listen({ host, port })
    out(url)
    process.stderr.write(`tessera serve: listening on ${url}${auth !== undefined ? ' (authentication required)' : ''}\n`)
    const signal = await stopped
    process.stderr.write(`tessera serve: ${signal}, shutting down\n`)
  } finally {
    process.off('SIGINT', onSignal)
    process.off('SIGTERM', onSignal)
    await server.close()
  }
  return 0
}
