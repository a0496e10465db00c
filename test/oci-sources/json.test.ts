import { test } from 'node:test'
import assert from 'node:assert/strict'
import {
  DEFAULT_OCI_LIMITS, JsonNonInteger, configDiffIds, parseConfig, parseDescriptor, parseDockerArchiveManifest, parseIndex,
  parseManifest, parseStrictJson, resolveLimits
} from '../../src/oci/json.js'
import { MEDIA_TYPES } from '../../src/oci/types.js'

const enc = (v: unknown): Uint8Array => Buffer.from(typeof v === 'string' ? v : JSON.stringify(v))
const D = 'sha256:' + 'ab'.repeat(32)
const D2 = 'sha256:' + 'cd'.repeat(32)
const layer = { mediaType: MEDIA_TYPES.ociLayerGzip, digest: D, size: 10 }
const config = { mediaType: MEDIA_TYPES.ociConfig, digest: D2, size: 3 }
const manifest = { schemaVersion: 2, mediaType: MEDIA_TYPES.ociManifest, config, layers: [layer] }

function invalid (fn: () => unknown, re?: RegExp): void {
  assert.throws(fn, (err: Error & { code?: string }) => {
    assert.equal(err.code, 'ERR_OCI_INVALID', err.message)
    if (re !== undefined) assert.match(err.message, re)
    return true
  })
}

test('strict JSON: values as JSON.parse gives them, non-integers marked', () => {
  const v = parseStrictJson(enc('{"a":[1,-2,0,"x\\u00e9\\ud83d\\ude00\\n"],"b":{"c":null,"d":true,"e":false},"f":1.5,"g":1e3}'), 'doc') as Record<string, unknown>
  assert.deepEqual(v.a, [1, -2, 0, 'x\u00e9\u{1f600}\n'])
  assert.deepEqual(v.b, { c: null, d: true, e: false })
  assert.ok(v.f instanceof JsonNonInteger && v.f.value === 1.5)
  assert.ok(v.g instanceof JsonNonInteger && v.g.value === 1000)
  // "__proto__" stays a plain own key
  const p = parseStrictJson(enc('{"__proto__":{"polluted":1}}'), 'doc') as Record<string, unknown>
  assert.ok(Object.prototype.hasOwnProperty.call(p, '__proto__'))
  assert.equal(({} as Record<string, unknown>).polluted, undefined)
})

test('strict JSON: duplicate keys, BOM, bad UTF-8, lone surrogates, junk and deep nesting are refused', () => {
  invalid(() => parseStrictJson(enc('{"a":1,"a":2}'), 'doc'), /duplicate key "a"/)
  invalid(() => parseStrictJson(enc('{"x":{"a":1,"b":{},"a":1}}'), 'doc'), /duplicate/)
  invalid(() => parseStrictJson(Buffer.concat([Buffer.from([0xef, 0xbb, 0xbf]), enc('{}')]), 'doc'))
  invalid(() => parseStrictJson(Buffer.from([0x22, 0xff, 0x22]), 'doc'), /UTF-8/)
  invalid(() => parseStrictJson(enc('"\\ud800"'), 'doc'), /surrogate/)
  invalid(() => parseStrictJson(enc('"\\udc00\\ud800"'), 'doc'), /surrogate/)
  invalid(() => parseStrictJson(enc('{"a":1} x'), 'doc'))
  invalid(() => parseStrictJson(enc('{"a":01}'), 'doc'))
  invalid(() => parseStrictJson(enc('{"a":"\t"}'), 'doc'), /control/)
  invalid(() => parseStrictJson(enc('[1,]'), 'doc'))
  invalid(() => parseStrictJson(enc('{"a" 1}'), 'doc'))
  invalid(() => parseStrictJson(enc(''), 'doc'))
  invalid(() => parseStrictJson(enc('['.repeat(200) + ']'.repeat(200)), 'doc'), /nesting/)
  assert.deepEqual(parseStrictJson(enc('[[[]]]'), 'doc', { maxDepth: 3 }), [[[]]])
  invalid(() => parseStrictJson(enc('[[[[]]]]'), 'doc', { maxDepth: 3 }), /nesting/)
})

test('manifest: a valid OCI and docker manifest', () => {
  const m = parseManifest(enc({ ...manifest, annotations: { a: 'b' }, unknownField: [1.5, { x: 1 }] }))
  assert.equal(m.mediaType, MEDIA_TYPES.ociManifest)
  assert.deepEqual(m.layers, [layer])
  assert.deepEqual(m.config, config)
  // mediaType may be absent in an OCI manifest: the descriptor's is used
  const { mediaType: _, ...bare } = manifest
  assert.equal(parseManifest(enc(bare)).mediaType, MEDIA_TYPES.ociManifest)
  const docker = { ...manifest, mediaType: MEDIA_TYPES.dockerManifest }
  assert.equal(parseManifest(enc(docker), { mediaType: MEDIA_TYPES.dockerManifest }).mediaType, MEDIA_TYPES.dockerManifest)
})

test('manifest: schema violations are ERR_OCI_INVALID', () => {
  invalid(() => parseManifest(enc({ ...manifest, schemaVersion: 1 })), /schemaVersion must be 2/)
  invalid(() => parseManifest(enc({ ...manifest, schemaVersion: '2' })), /schemaVersion/)
  invalid(() => parseManifest(enc('{"schemaVersion":2.0,"config":{},"layers":[]}')), /schemaVersion/)
  invalid(() => parseManifest(enc({ ...manifest, config: undefined })), /config is missing/)
  invalid(() => parseManifest(enc({ ...manifest, layers: {} })), /expected an array/)
  invalid(() => parseManifest(enc({ ...manifest, layers: [{ ...layer, size: -1 }] })), /size/)
  invalid(() => parseManifest(enc({ ...manifest, layers: [{ ...layer, size: 2 ** 53 }] })), /size/)
  invalid(() => parseManifest(enc(JSON.stringify(manifest).replace('"size":10', '"size":1e1'))), /size/)
  invalid(() => parseManifest(enc(JSON.stringify(manifest).replace('"size":10', '"size":10.0'))), /size/)
  invalid(() => parseManifest(enc({ ...manifest, layers: [{ ...layer, digest: 'sha256:' + 'AB'.repeat(32) }] })), /not a sha256 digest/)
  invalid(() => parseManifest(enc({ ...manifest, layers: [{ ...layer, digest: 'sha256:../../etc/passwd' }] })), /not a sha256 digest/)
  invalid(() => parseManifest(enc({ ...manifest, layers: [{ ...layer, digest: D + 'a' }] })))
  invalid(() => parseManifest(enc({ ...manifest, layers: [{ ...layer, mediaType: 'not a media type' }] })), /media type/)
  invalid(() => parseManifest(enc({ ...manifest, layers: [{ ...layer, annotations: { a: 1 } }] })), /expected a string/)
  invalid(() => parseManifest(enc({ ...manifest, manifests: [] })), /index/)
  invalid(() => parseManifest(enc({ ...manifest, mediaType: MEDIA_TYPES.ociIndex })), /referenced as/)
  invalid(() => parseManifest(enc({ ...manifest, mediaType: MEDIA_TYPES.dockerManifest })), /referenced as/)
  invalid(() => parseManifest(enc([manifest])), /expected an object/)
  // differs from a field only in case: Go would read it as that field
  invalid(() => parseManifest(enc({ ...manifest, Layers: [] })), /only in case/)
  invalid(() => parseManifest(enc({ ...manifest, layers: [{ ...layer, Digest: D2 }] })), /only in case/)
  invalid(() => parseManifest(enc({ ...manifest, layer\u017f: [] })), /only in case/)
  invalid(() => parseManifest(enc(JSON.stringify(manifest).replace('"layers":[', '"layers":[],"layers":['))), /duplicate/)
})

test('sha512 digests are unsupported rather than invalid', () => {
  assert.throws(() => parseDescriptor({ ...layer, digest: 'sha512:' + 'ab'.repeat(64) }, 'd'), { code: 'ERR_UNSUPPORTED' })
})

test('a manifest with 100,000 layers is refused quickly, by size or by count', () => {
  const one = JSON.stringify(layer)
  const huge = enc(`{"schemaVersion":2,"config":${JSON.stringify(config)},"layers":[${Array(100_000).fill(one).join(',')}]}`)
  assert.ok(huge.length > DEFAULT_OCI_LIMITS.maxManifestBytes)
  let t = performance.now()
  invalid(() => parseManifest(huge), /above the 4194304-byte limit/)
  assert.ok(performance.now() - t < 50, 'the size limit is checked before parsing')
  t = performance.now()
  invalid(() => parseManifest(huge, { limits: { maxManifestBytes: 64 * 1024 * 1024 } }), /100000 layers, above the limit of 1000/)
  assert.ok(performance.now() - t < 5000)
  assert.equal(parseManifest(huge, { limits: { maxManifestBytes: 64 * 1024 * 1024, maxLayers: 100_000 } }).layers.length, 100_000)
})

test('index: valid, and its limits', () => {
  const entry = { mediaType: MEDIA_TYPES.ociManifest, digest: D, size: 5, platform: { architecture: 'arm64', os: 'linux', variant: 'v8' } }
  const ix = parseIndex(enc({ schemaVersion: 2, manifests: [entry] }))
  assert.deepEqual(ix.manifests, [entry])
  assert.equal(ix.mediaType, MEDIA_TYPES.ociIndex)
  const list = parseIndex(enc({ schemaVersion: 2, mediaType: MEDIA_TYPES.dockerManifestList, manifests: [] }), { mediaType: MEDIA_TYPES.dockerManifestList })
  assert.equal(list.mediaType, MEDIA_TYPES.dockerManifestList)
  invalid(() => parseIndex(enc({ schemaVersion: 2, manifests: [entry], layers: [] })), /config or layers/)
  invalid(() => parseIndex(enc({ schemaVersion: 2 })), /manifests is missing/)
  invalid(() => parseIndex(enc({ schemaVersion: 2, manifests: [{ ...entry, platform: { os: 'linux' } }] })), /architecture is missing/)
  invalid(() => parseIndex(enc({ schemaVersion: 2, manifests: Array(5).fill(entry) }), { limits: { maxIndexManifests: 4 } }), /5 manifests, above the limit of 4/)
  invalid(() => parseIndex(enc({ schemaVersion: 2, manifests: [] }), { limits: { maxManifestBytes: 10 } }), /byte limit/)
})

test('config: any strict JSON object; diff IDs', () => {
  const c = parseConfig(enc({ architecture: 'amd64', os: 'linux', rootfs: { type: 'layers', diff_ids: [D, D2] } }))
  assert.deepEqual(configDiffIds(c), [D, D2])
  invalid(() => parseConfig(enc([1])), /expected an object/)
  invalid(() => parseConfig(enc('{"a":1,"a":1}')), /duplicate/)
  invalid(() => parseConfig(enc({ x: 'y'.repeat(100) }), { limits: { maxConfigBytes: 50 } }), /byte limit/)
  invalid(() => configDiffIds(parseConfig(enc({}))), /rootfs is missing/)
  invalid(() => configDiffIds(parseConfig(enc({ rootfs: { type: 'layers', diff_ids: ['nope'] } }))), /sha256/)
})

test('docker-archive manifest.json', () => {
  const items = parseDockerArchiveManifest(enc([
    { Config: 'a.json', RepoTags: ['x:1'], Layers: ['l.tar'] },
    { Config: 'b.json', RepoTags: null, Layers: [] }
  ]))
  assert.deepEqual(items, [{ Config: 'a.json', RepoTags: ['x:1'], Layers: ['l.tar'] }, { Config: 'b.json', RepoTags: [], Layers: [] }])
  invalid(() => parseDockerArchiveManifest(enc([])), /no images/)
  invalid(() => parseDockerArchiveManifest(enc({})), /expected an array/)
  invalid(() => parseDockerArchiveManifest(enc([{ Config: 'a', Layers: [1] }])), /expected a string/)
  invalid(() => parseDockerArchiveManifest(enc([{ config: 'a', Config: 'a', Layers: [] }])), /only in case/)
  invalid(() => parseDockerArchiveManifest(enc([{ Config: 'a', Layers: Array(3).fill('x') }]), { maxLayers: 2 }), /3 layers/)
})

test('limits are checked', () => {
  assert.deepEqual(resolveLimits(undefined), DEFAULT_OCI_LIMITS)
  assert.equal(resolveLimits({ maxLayers: 5 }).maxLayers, 5)
  assert.throws(() => resolveLimits({ maxLayers: 0 }), { code: 'ERR_INVALID_ARGUMENT' })
  assert.throws(() => resolveLimits({ maxIndexDepth: 1.5 }), { code: 'ERR_INVALID_ARGUMENT' })
})
