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

/** Go 1.19's archive/tar test archives (Debian golang-src). */
export const GO_TESTDATA = '/usr/share/go-1.19/src/archive/tar/testdata'
/** Its expectations. */
export const GO_READER_TEST = '/usr/share/go-1.19/src/archive/tar/reader_test.go'

const SOURCE = fileURLToPath(new URL('../../../scripts/tar-oracle/main.go', import.meta.url))

function hasGo (): boolean {
  return spawnSync('go', ['version'], { stdio: 'ignore' }).status === 0
}

/** Why a test needing the oracle cannot run, or false when it can. */
export function goSkip (): string | false {
  return hasGo() ? false : 'needs the go command (Debian package golang-go)'
}

/** Why a test needing Go's testdata cannot run, or false when it can. */
export function goTestdataSkip (): string | false {
  return goSkip() || (fs.existsSync(GO_READER_TEST) ? false : `needs ${GO_TESTDATA} (Debian package golang-src)`)
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
