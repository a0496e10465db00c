/**
 * Helpers of the image-source tests: building real images with umoci and
 * skopeo, editing layouts by hand (blobs, index.json), and matching errors.
 */
import assert from 'node:assert/strict'
import { execFileSync, spawnSync } from 'node:child_process'
import { createHash } from 'node:crypto'
import { cp, mkdir, readFile, writeFile } from 'node:fs/promises'
import { join } from 'node:path'


/** Run a command, failing with its stderr. */
export function run (cmd: string, args: string[], options: { cwd?: string } = {}): Buffer {
  try {
    return execFileSync(cmd, args, { cwd: options.cwd, stdio: ['ignore', 'pipe', 'pipe'], maxBuffer: 256 * 1024 * 1024 })
  } catch (err) {
    const e = err as { stderr?: Buffer, message: string }
    throw new Error(`${cmd} ${args.join(' ')} failed: ${e.stderr?.toString() ?? e.message}`)
  }
}

/** skopeo, offline: local transports only, no policy file needed. */
export function skopeo (args: string[]): Buffer {
  return run('skopeo', ['--insecure-policy', ...args])
}

export function sha256Hex (bytes: Uint8Array): string {
  return createHash('sha256').update(bytes).digest('hex')
}

export function digestOf (bytes: Uint8Array): `sha256:${string}` {
  return `sha256:${sha256Hex(bytes)}`
}

import { lcgBytes } from '../helpers/fixture.js'
export { lcgBytes }

/** Files of the two images built by {@link buildLayout}. */
export const BASE_FILES: Record<string, Buffer> = {
  'etc/hello': Buffer.from('hello\n'),
  'data/blob.bin': lcgBytes(200 * 1024, 5)
}
export const TOP_FILES: Record<string, Buffer> = {
  'srv/two.txt': Buffer.from('second layer\n')
}

/**
 * An OCI layout with two tags built by umoci: `base` (one layer with
 * {@link BASE_FILES}) and `top` (base plus a layer with {@link TOP_FILES}).
 */
export async function buildLayout (work: string): Promise<string> {
  const layout = join(work, 'layout')
  const bundle = join(work, 'bundle')
  run('umoci', ['init', '--layout', layout])
  run('umoci', ['new', '--image', `${layout}:base`])
  run('umoci', ['unpack', '--image', `${layout}:base`, bundle])
  for (const [p, content] of Object.entries(BASE_FILES)) {
    await mkdir(join(bundle, 'rootfs', p, '..'), { recursive: true })
    await writeFile(join(bundle, 'rootfs', p), content)
  }
  run('umoci', ['repack', '--image', `${layout}:base`, bundle])
  run('umoci', ['tag', '--image', `${layout}:base`, 'top'])
  run('rm', ['-rf', bundle])
  run('umoci', ['unpack', '--image', `${layout}:top`, bundle])
  for (const [p, content] of Object.entries(TOP_FILES)) {
    await mkdir(join(bundle, 'rootfs', p, '..'), { recursive: true })
    await writeFile(join(bundle, 'rootfs', p), content)
  }
  run('umoci', ['repack', '--image', `${layout}:top`, bundle])
  run('rm', ['-rf', bundle])
  return layout
}

/** A copy of a layout to edit. */
export async function copyLayout (from: string, to: string): Promise<string> {
  await cp(from, to, { recursive: true })
  return to
}

export interface JsonDescriptor {
  mediaType: string
  digest: string
  size: number
  annotations?: Record<string, string>
  platform?: Record<string, unknown>
  [key: string]: unknown
}

export async function readIndex (layout: string): Promise<{ schemaVersion: number, manifests: JsonDescriptor[], [k: string]: unknown }> {
  return JSON.parse(await readFile(join(layout, 'index.json'), 'utf8'))
}

export async function writeIndex (layout: string, index: unknown): Promise<void> {
  await writeFile(join(layout, 'index.json'), typeof index === 'string' ? index : JSON.stringify(index))
}

export function blobFile (layout: string, digest: string): string {
  return join(layout, 'blobs', 'sha256', digest.slice('sha256:'.length))
}

export async function readBlob (layout: string, digest: string): Promise<Buffer> {
  return await readFile(blobFile(layout, digest))
}

export async function readJsonBlob<T = any> (layout: string, digest: string): Promise<T> { // eslint-disable-line @typescript-eslint/no-explicit-any
  return JSON.parse((await readBlob(layout, digest)).toString('utf8'))
}

/** Store bytes (or JSON) as a blob; returns its descriptor fields. */
export async function writeBlob (layout: string, content: Uint8Array | string | object, mediaType: string): Promise<JsonDescriptor> {
  const bytes = content instanceof Uint8Array ? content : Buffer.from(typeof content === 'string' ? content : JSON.stringify(content))
  const digest = digestOf(bytes)
  await writeFile(blobFile(layout, digest), bytes)
  return { mediaType, digest, size: bytes.length }
}

/** The descriptor of a tag in index.json. */
export async function tagDescriptor (layout: string, tag: string): Promise<JsonDescriptor> {
  const d = (await readIndex(layout)).manifests.find((m) => m.annotations?.['org.opencontainers.image.ref.name'] === tag)
  assert.ok(d !== undefined, `no tag ${tag}`)
  return d
}

/** Add (or replace) a tagged entry in index.json. */
export async function addTag (layout: string, tag: string, d: JsonDescriptor): Promise<void> {
  const index = await readIndex(layout)
  index.manifests = index.manifests.filter((m) => m.annotations?.['org.opencontainers.image.ref.name'] !== tag)
  index.manifests.push({ ...d, annotations: { ...d.annotations, 'org.opencontainers.image.ref.name': tag } })
  await writeIndex(layout, index)
}

/** Collect a stream. */
export async function collect (stream: AsyncIterable<Uint8Array>): Promise<Buffer> {
  const parts: Buffer[] = []
  for await (const c of stream) parts.push(Buffer.from(c))
  return Buffer.concat(parts)
}

/** Assert that `p` rejects with an error of the given `code`; returns the error. */
export async function rejectsWith (p: Promise<unknown> | (() => Promise<unknown>), code: string, message?: RegExp): Promise<Error & { code: string }> {
  let caught: unknown
  try {
    await (typeof p === 'function' ? p() : p)
  } catch (err) {
    caught = err
  }
  assert.ok(caught !== undefined, `expected an error ${code}, got none`)
  const e = caught as Error & { code: string }
  assert.equal(e.code, code, `expected ${code}, got ${e.code}: ${e.message}`)
  if (message !== undefined) assert.match(e.message, message)
  return e
}

/** Flip one byte of a file. */
export async function flipByte (path: string, at: number): Promise<void> {
  const b = await readFile(path)
  const i = at < 0 ? b.length + at : at
  b[i] = (b[i] ?? 0) ^ 0x40
  await writeFile(path, b)
}

/** The names of the entries of a tar (paths as stored), with GNU tar. */
export function tarNames (bytes: Uint8Array, work: string): string[] {
  const r = spawnSync('tar', ['-tf', '-'], { input: bytes, cwd: work })
  if (r.status !== 0) throw new Error(`tar -t failed: ${r.stderr.toString()}`)
  return r.stdout.toString().split('\n').filter((s) => s !== '')
}
