/**
 * Go's `archive/tar` as an oracle: what containerd, CRI-O, Docker, umoci
 * and skopeo unpack layers with. `scripts/tar-oracle/main.go` is built once
 * per machine (standard library only, Debian's golang-go, no module
 * download) and lists archives as Go reads them; Go's own test archives
 * come from Debian's golang-src.
 */
import { spawnSync } from 'node:child_process'
import { createHash } from 'node:crypto'
import fs from 'node:fs'
import os from 'node:os'
import path from 'node:path'
import { fileURLToPath } from 'node:url'
import assert from 'node:assert/strict'
import { readTar, type ReadTarOptions, type TarReadEntry } from '../../src/tar/index.js'
import { missingTools, toolsRequired } from '../helpers/tools.js'

/** Go 1.19's archive/tar test archives (Debian golang-src). */
export const GO_TESTDATA = '/usr/share/go-1.19/src/archive/tar/testdata'
/** Its expectations. */
export const GO_READER_TEST = '/usr/share/go-1.19/src/archive/tar/reader_test.go'

const SOURCE = fileURLToPath(new URL('../../../scripts/tar-oracle/main.go', import.meta.url))

/** Why a test needing the oracle cannot run (`needs go (apt-get install golang-go)`), or false when it can. */
export function goSkip (): string | false {
  return missingTools('go')
}

/**
 * Why a test needing Go's testdata cannot run, or false when it can. Like
 * a missing tool (test/helpers/tools.ts), a missing golang-src fails the
 * run instead with `TESSERA_REQUIRE_TOOLS=1`.
 */
export function goTestdataSkip (): string | false {
  return goSkip() || testdataSkip()
}

/** Why a test needing Go's testdata (not the go command) cannot run, or false. */
export function testdataSkip (): string | false {
  if (fs.existsSync(GO_READER_TEST)) return false
  const reason = `needs ${GO_TESTDATA} (apt-get install golang-src)`
  if (toolsRequired()) throw new Error(`TESSERA_REQUIRE_TOOLS is set and a package is missing: ${reason}`)
  return reason
}

let built: string | undefined

/** The oracle binary, built on first use into a directory keyed by its source (shared by test processes). */
export function oracle (): string {
  if (built !== undefined) return built
  const source = fs.readFileSync(SOURCE)
  const dir = path.join(os.tmpdir(), `tessera-tar-oracle-${createHash('sha256').update(source).digest('hex').slice(0, 16)}`)
  const bin = path.join(dir, 'tar-oracle')
  if (!fs.existsSync(bin)) {
    fs.mkdirSync(dir, { recursive: true })
    const work = fs.mkdtempSync(path.join(dir, 'build-'))
    fs.writeFileSync(path.join(work, 'main.go'), source)
    const r = spawnSync('go', ['build', '-o', path.join(work, 'tar-oracle'), 'main.go'], {
      cwd: work,
      encoding: 'utf8',
      env: { ...process.env, GOPATH: path.join(dir, 'gopath'), GOCACHE: path.join(dir, 'gocache'), GOFLAGS: '', GOPROXY: 'off', GO111MODULE: 'off' }
    })
    if (r.status !== 0) throw new Error(`building the tar oracle failed: ${r.stderr}`)
    fs.renameSync(path.join(work, 'tar-oracle'), bin) // atomic: parallel test files may build it too
    fs.rmSync(work, { recursive: true, force: true })
  }
  built = bin
  return bin
}

/** One entry as Go returns it (byte strings as hex). */
export interface GoEntry {
  typeflag: number
  name: string
  linkname: string
  size: number
  mode: number
  uid: number
  gid: number
  uname: string
  gname: string
  /** Whole seconds (decimal), or `zero` for Go's zero time. */
  mtimeSec: string
  mtimeNsec: number
  devmajor: number
  devminor: number
  /** `[name hex, value hex]`, sorted. */
  xattrs: Array<[string, string]>
  paxRecords: Record<string, string>
  format: string
  /** Length and sha256 of the content Go reads, unless it was above `maxContent`. */
  content: { length: number, sha256: string } | null
}

/** What Go read of one archive. */
export interface GoListing {
  file: string
  entries: GoEntry[]
  /** Next's or Read's error, null when the archive ended cleanly. */
  error: string | null
}

/** List archives with Go's reader; contents above `maxContent` bytes are not read. */
export function goList (files: string[], maxContent = 256 << 20): GoListing[] {
  if (files.length === 0) return []
  const r = spawnSync(oracle(), ['-max-content', String(maxContent), ...files], { encoding: 'utf8', maxBuffer: 256 << 20 })
  if (r.status !== 0) throw new Error(`tar-oracle failed: ${r.stderr}`)
  return r.stdout.trim().split('\n').map((line) => JSON.parse(line) as GoListing)
}

/** A Go entry's mtime in nanoseconds (undefined for Go's zero time). */
export function goMtimeNs (e: GoEntry): bigint | undefined {
  return e.mtimeSec === 'zero' ? undefined : BigInt(e.mtimeSec) * 1_000_000_000n + BigInt(e.mtimeNsec)
}

/** Decode a hex byte string of the oracle. */
export function unhex (s: string): Buffer {
  return Buffer.from(s, 'hex')
}

/** What an entry means for the rootfs a runtime unpacks: the fields tessera keeps. */
export interface View {
  path: string
  kind: string
  mode: number
  uid: number
  gid: number
  mtimeNs: string
  size?: number
  linkname?: string
  dev?: [number, number]
  xattrs: Array<[string, string]>
  sha256?: string
}

/** An archive as read: its entries, and the error code (tessera) or message (Go) it ended with. */
export interface Reading { entries: View[], error?: string }

/** Contents above this are not hashed (the 60 GB sparse files of the testdata). */
export const MAX_CONTENT = 64 << 20
const utf8 = (hex: string): string => Buffer.from(hex, 'hex').toString('latin1')

export async function tesseraReading (bytes: Uint8Array, options: ReadTarOptions = {}): Promise<Reading> {
  const entries: View[] = []
  try {
    for await (const e of readTar([bytes], options)) {
      const v = viewOf(e)
      entries.push(v) // before its content is read, as Go returns the header before a read fails
      if (v.size !== undefined && v.size <= MAX_CONTENT) v.sha256 = await sha256(e.content)
    }
  } catch (err) {
    const code = (err as { code?: unknown }).code
    assert.ok(typeof code === 'string' && code.startsWith('ERR_'), `not a tessera error: ${String(err)}`)
    return { entries, error: code }
  }
  return { entries }
}

async function sha256 (content: AsyncIterable<Uint8Array>): Promise<string> {
  const h = createHash('sha256')
  for await (const c of content) h.update(c)
  return h.digest('hex')
}

/** The header fields of an entry (not its content). */
export function viewOf (e: TarReadEntry): View {
  const v: View = {
    path: Buffer.from(e.path).toString('latin1'),
    kind: e.type,
    mode: e.mode,
    uid: e.uid,
    gid: e.gid,
    mtimeNs: e.mtimeNs.toString(),
    xattrs: e.xattrs.map(([n, x]): [string, string] => [Buffer.from(n).toString('latin1'), Buffer.from(x).toString('latin1')]).sort()
  }
  if (e.type === 'file') v.size = e.size
  if (e.linkname !== undefined) v.linkname = Buffer.from(e.linkname).toString('latin1')
  if (e.type === 'char' || e.type === 'block') v.dev = [e.devmajor, e.devminor]
  return v
}

const GO_KINDS: Record<string, string> = { 0: 'file', 7: 'file', S: 'file', 1: 'hardlink', 2: 'symlink', 3: 'char', 4: 'block', 5: 'directory', 6: 'fifo' }

/**
 * Go's headers as the runtimes apply them: PAX global headers and volume
 * labels make no file (containerd logs and skips `g`); a type they do not
 * unpack (GNU dumpdir `D`...), an empty name or an empty link target fails
 * the layer; a directory's trailing `/` is dropped.
 */
export function goReading (l: GoListing): Reading {
  const entries: View[] = []
  for (const e of l.entries) {
    const flag = String.fromCharCode(e.typeflag)
    if (flag === 'g' || flag === 'V') continue
    const kind = GO_KINDS[flag]
    if (kind === undefined) return { entries, error: `unhandled tar header type ${e.typeflag}` }
    // an empty name or link target cannot be created (symlink(2) and link(2) refuse it)
    if (e.name === '') return { entries, error: 'empty name' }
    if ((kind === 'symlink' || kind === 'hardlink') && e.linkname === '') return { entries, error: 'empty link target' }
    entries.push(goView(e, kind))
  }
  return l.error === null ? { entries } : { entries, error: l.error }
}

function goView (e: GoEntry, kind: string): View {
  let name = utf8(e.name)
  if (kind === 'directory') name = name.replace(/(.)\/+$/, '$1')
  const v: View = {
    path: name,
    kind,
    mode: e.mode & 0o7777,
    uid: e.uid,
    gid: e.gid,
    mtimeNs: (goMtimeNs(e) ?? 0n).toString(),
    // from the SCHILY.xattr.* records, as current containerd and Docker take
    // them (Go's deprecated Header.Xattrs drops the empty values)
    xattrs: Object.entries(e.paxRecords).map(([k, x]): [string, string] => [utf8(k), utf8(x)])
      .filter(([k]) => k.startsWith('SCHILY.xattr.')).map(([k, x]): [string, string] => [k.slice('SCHILY.xattr.'.length), x]).sort()
  }
  if (kind === 'file') {
    v.size = e.size
    if (e.content !== null && e.size <= MAX_CONTENT) v.sha256 = e.content.sha256
  }
  if (kind === 'symlink' || kind === 'hardlink') v.linkname = utf8(e.linkname)
  if (kind === 'char' || kind === 'block') v.dev = [e.devmajor, e.devminor]
  return v
}

