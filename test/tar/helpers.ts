/**
 * Shared helpers of the tar tests: collecting a stream, temp dirs, running
 * the real GNU tar, and describing an extracted tree.
 */
import { spawnSync } from 'node:child_process'
import { createHash } from 'node:crypto'
import fs from 'node:fs'
import os from 'node:os'
import path from 'node:path'

/** UTF-8 bytes of a string. */
export function b (text: string): Uint8Array {
  return new TextEncoder().encode(text)
}

/** All chunks of a stream, concatenated. */
export async function collect (stream: AsyncIterable<Uint8Array>): Promise<Buffer> {
  const parts: Uint8Array[] = []
  for await (const chunk of stream) parts.push(chunk)
  return Buffer.concat(parts)
}

/** Run `fn` with a fresh directory under os.tmpdir(), removed afterwards. */
export async function withTempDir<T> (fn: (dir: string) => Promise<T> | T): Promise<T> {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'tessera-tar-'))
  try {
    return await fn(dir)
  } finally {
    fs.rmSync(dir, { recursive: true, force: true })
  }
}

/** Result of running GNU tar. */
export interface TarRun { status: number | null, stdout: Buffer, stderr: string }

/** Run GNU tar (`tar` on PATH) with `args`; `locale` sets LC_ALL (C by default). Tests that call it skip with `requireTool('tar')`. */
export function gnuTar (args: string[], locale = 'C'): TarRun {
  const r = spawnSync('tar', args, { env: { ...process.env, LC_ALL: locale }, maxBuffer: 64 << 20 })
  if (r.error !== undefined) throw r.error
  return { status: r.status, stdout: r.stdout, stderr: r.stderr.toString('utf8') }
}

/** Paths are keyed by their bytes read as latin1, so every byte string has one key. */
export function key (bytes: Uint8Array): string {
  return Buffer.from(bytes).toString('latin1')
}

/** What an extracted path looks like, from lstat (bigint) and friends. */
export interface Described {
  type: 'file' | 'directory' | 'symlink' | 'fifo' | 'char' | 'block' | 'other'
  mode: number
  uid: number
  gid: number
  mtimeNs: bigint
  size: number
  ino: bigint
  nlink: number
  sha256?: string
  linkname?: string
  devmajor?: number
  devminor?: number
}

function kind (st: fs.BigIntStats): Described['type'] {
  if (st.isFile()) return 'file'
  if (st.isDirectory()) return 'directory'
  if (st.isSymbolicLink()) return 'symlink'
  if (st.isFIFO()) return 'fifo'
  if (st.isCharacterDevice()) return 'char'
  if (st.isBlockDevice()) return 'block'
  return 'other'
}

/**
 * Every path under `root` (relative, as raw bytes read as latin1 keys,
 * directories without trailing slash) with its description. Files for
 * which `noHash` returns true get no sha256 (big sparse files).
 */
export function describeTree (root: string, noHash: (key: string) => boolean = () => false): Map<string, Described> {
  const out = new Map<string, Described>()
  const rootBuf = Buffer.from(root)
  const walk = (rel: Buffer): void => {
    const abs = rel.length === 0 ? rootBuf : Buffer.concat([rootBuf, Buffer.from('/'), rel])
    for (const name of fs.readdirSync(abs, { encoding: 'buffer' })) {
      const childRel = rel.length === 0 ? name : Buffer.concat([rel, Buffer.from('/'), name])
      const childAbs = Buffer.concat([abs, Buffer.from('/'), name])
      const st = fs.lstatSync(childAbs, { bigint: true })
      const d: Described = {
        type: kind(st),
        mode: Number(st.mode & 0o7777n),
        uid: Number(st.uid),
        gid: Number(st.gid),
        mtimeNs: st.mtimeNs,
        size: Number(st.size),
        ino: st.ino,
        nlink: Number(st.nlink)
      }
      if (d.type === 'file' && !noHash(key(childRel))) d.sha256 = createHash('sha256').update(fs.readFileSync(childAbs)).digest('hex')
      if (d.type === 'symlink') d.linkname = key(fs.readlinkSync(childAbs, { encoding: 'buffer' }))
      if (d.type === 'char' || d.type === 'block') {
        const rdev = st.rdev
        d.devmajor = Number(((rdev >> 8n) & 0xfffn) | ((rdev >> 32n) & ~0xfffn))
        d.devminor = Number((rdev & 0xffn) | ((rdev >> 12n) & ~0xffn))
      }
      out.set(key(childRel), d)
      if (d.type === 'directory') walk(childRel)
    }
  }
  walk(Buffer.alloc(0))
  return out
}

/**
 * Extended attributes of a file as read by getfattr, name (latin1 key of
 * its bytes) to value bytes.
 */
export function readXattrs (file: string): Map<string, Buffer> {
  const r = spawnSync('getfattr', ['--absolute-names', '-d', '-m', '-', '-e', 'hex', file], { env: { ...process.env, LC_ALL: 'C' } })
  if (r.error !== undefined) throw r.error
  if (r.status !== 0) throw new Error(`getfattr failed: ${r.stderr.toString()}`)
  const out = new Map<string, Buffer>()
  for (const line of r.stdout.toString('latin1').split('\n')) {
    if (line === '' || line.startsWith('#')) continue
    const m = /^(.*?)(?:=0x([0-9a-f]*))?$/.exec(line)
    if (m === null) continue
    // getfattr escapes unprintable bytes, '=' and '\' in names as \ooo
    const name = (m[1] ?? '').replace(/\\([0-7]{3})/g, (_, o: string) => String.fromCharCode(parseInt(o, 8)))
    out.set(name, Buffer.from(m[2] ?? '', 'hex'))
  }
  return out
}

/** A deterministic pseudo-random byte stream (xorshift32), in chunks of `chunk` bytes. */
export function * pseudoRandom (total: number, seed: number, chunk = 64 * 1024): Generator<Uint8Array> {
  let x = seed >>> 0 || 1
  let left = total
  while (left > 0) {
    const n = Math.min(chunk, left)
    const out = new Uint8Array(n)
    for (let i = 0; i < n; i++) {
      x ^= x << 13; x >>>= 0
      x ^= x >>> 17
      x ^= x << 5; x >>>= 0
      out[i] = x & 0xff
    }
    left -= n
    yield out
  }
}

/** sha256 hex of the concatenation of `chunks`. */
export function sha256Of (chunks: Iterable<Uint8Array>): string {
  const h = createHash('sha256')
  for (const c of chunks) h.update(c)
  return h.digest('hex')
}
