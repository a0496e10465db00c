/**
 * Manifests pushed to `tessera serve` are read by the strict JSON parser
 * of image documents: a document that Go's encoding/json (containerd,
 * docker) would read differently from JSON.parse is refused with
 * MANIFEST_INVALID and not stored. Against a real `tessera serve` process
 * on a loopback port.
 */
import { test } from 'node:test'
import assert from 'node:assert/strict'
import { spawn, type ChildProcess } from 'node:child_process'
import { once } from 'node:events'
import { mkdtemp, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { TESSERA_BIN } from '../../helpers/cli.js'
import { digestOf, errorCode, imageManifest, pushBlob, putManifest } from './helpers.js'

const root = await mkdtemp(join(tmpdir(), 'tessera-serve-strict-'))
let server: ChildProcess | undefined
test.after(async () => {
  if (server !== undefined && server.exitCode === null) {
    server.kill('SIGTERM')
    await once(server, 'exit')
  }
  await rm(root, { recursive: true, force: true })
})
server = spawn(TESSERA_BIN, ['--store', join(root, 'store'), 'serve', '--port', '0'], { stdio: ['ignore', 'pipe', 'inherit'] })
const [first] = await once(server.stdout!, 'data') as [Buffer]
const url = /http:\/\/127\.0\.0\.1:\d+/.exec(first.toString())![0]

const repo = 'lib/strict'
const config = Buffer.from('{"architecture":"amd64","os":"linux","rootfs":{"type":"layers","diff_ids":[]}}')
const configDigest = await pushBlob(url, repo, config)
const layer = Buffer.from('not really a layer, a blob all the same')
const layerDigest = await pushBlob(url, repo, layer)
const good = imageManifest({ digest: configDigest, size: config.length }, [{ digest: layerDigest, size: layer.length }])

/** `good` with the text of its first `from` replaced by `to`. */
const edited = (from: string, to: string): string => {
  assert.ok(good.includes(from), from)
  return good.replace(from, to)
}

test('a well-formed manifest is accepted (the control)', async () => {
  const r = await putManifest(url, repo, 'good', good)
  assert.equal(r.status, 201, await r.text())
  assert.equal(r.headers.get('docker-content-digest'), digestOf(good))
})

test('duplicate keys, case-folded field names and non-integers are MANIFEST_INVALID and not stored', async () => {
  const other = `"sha256:${'0'.repeat(64)}"`
  const cases: Array<[string, string, RegExp]> = [
    // JSON.parse keeps the last "layers", some readers the first.
    ['a duplicate top-level key', edited('"layers":[', '"layers":[],"layers":['), /duplicate key "layers"/],
    ['a duplicate key in a descriptor', edited(`"digest":"${layerDigest}"`, `"digest":"${layerDigest}","digest":${other}`), /duplicate key "digest"/],
    // Go matches struct fields case-insensitively: it would read "Layers" as the layers.
    ['a case-folded top-level key', edited('"schemaVersion":2,', '"schemaVersion":2,"Layers":[],'), /key "Layers" differs from the field "layers" only in case/],
    ['a case-folded descriptor key', edited(`"digest":"${layerDigest}"`, `"digest":"${layerDigest}","DIGEST":${other}`), /key "DIGEST" differs from the field "digest" only in case/],
    ['a long s folding to s', edited('"schemaVersion":2,', '"schemaVersion":2,"layer\u017F":[],'), /differs from the field "layers" only in case/],
    ['a lone surrogate', edited('"schemaVersion":2,', '"schemaVersion":2,"x":"\\ud800",'), /lone surrogate/],
    ['a size with a fraction', edited(`"size":${layer.length}`, `"size":${layer.length}.0`), /size/],
    ['a schemaVersion with an exponent', edited('"schemaVersion":2', '"schemaVersion":2e0'), /schemaVersion/]
  ]
  for (const [what, body, message] of cases) {
    const r = await putManifest(url, repo, 'bad', body)
    const text = await r.text()
    assert.equal(r.status, 400, `${what}: ${text}`)
    const parsed = JSON.parse(text) as { errors: Array<{ code: string, detail: string }> }
    assert.equal(parsed.errors[0]!.code, 'MANIFEST_INVALID', what)
    assert.match(parsed.errors[0]!.detail, message, what)
    const back = await fetch(`${url}/v2/${repo}/manifests/${digestOf(body)}`)
    assert.equal(back.status, 404, `${what}: not stored`)
    assert.equal(await errorCode(back), 'MANIFEST_UNKNOWN')
  }
  const tag = await fetch(`${url}/v2/${repo}/manifests/bad`)
  assert.equal(tag.status, 404, 'the tag was never created')
})
