/**
 * Strict parsing and validation of the JSON documents of an image: OCI
 * index and manifest, docker manifest list and schema 2 manifest,
 * descriptors, platforms, configs, the `oci-layout` file and docker-archive
 * `manifest.json`. For untrusted input: every failure is an
 * {@link OciInvalidError} (`ERR_OCI_INVALID`), except a well-formed digest of
 * another algorithm than sha256 ({@link UnsupportedError}, `ERR_UNSUPPORTED`).
 *
 * JSON is read by a strict parser rather than `JSON.parse`, so that tessera
 * sees the same document other implementations (Go's encoding/json in
 * containerd, docker, skopeo) see, or refuses it:
 * - **Duplicate keys are rejected.** `JSON.parse` and Go keep the last
 *   value, some parsers the first; a document that means different things
 *   to different readers is refused instead.
 * - **Keys that differ from a schema field only in case are rejected**
 *   (`"Layers"` in an OCI manifest, `"config"` in a docker `manifest.json`):
 *   Go matches struct fields case-insensitively (with Unicode folding: `ſ`
 *   is `s`, the Kelvin sign is `k`), so it would read them as that field.
 * - Numbers with a fraction or exponent (`1.0`, `1e3`) are not integers,
 *   as for Go's int64 fields: they are returned as {@link JsonNonInteger}
 *   so that a schema field wanting an integer rejects them, while unknown
 *   fields (ignored, as the OCI spec requires) may hold any number.
 * - Invalid UTF-8, a byte order mark, `\u` escapes of lone surrogates,
 *   raw control characters in strings, and anything `JSON.parse` rejects
 *   are refused. Nesting is bounded ({@link OciLimits.maxJsonDepth}).
 * - A document larger than its limit is refused from its size, before it is
 *   read or parsed; counts (layers, manifests) are checked before the
 *   elements are validated.
 *
 * @module
 */
import { InvalidArgumentError, UnsupportedError } from '../errors.js'
import { isDigest, type Digest } from '../hash/digest.js'
import { MEDIA_TYPES, type Descriptor, type Platform } from './types.js'
import { OciInvalidError, quote } from './errors.js'

// ---------------------------------------------------------------- limits

/** Bounds on what an image may declare. All are positive integers. */
export interface OciLimits {
  /**
   * Largest manifest, index (the layout's `index.json` included), docker
   * manifest list or docker-archive `manifest.json`, in bytes. Default 4 MiB
   * (containerd's limit).
   */
  maxManifestBytes?: number
  /** Largest image config, in bytes. Default 4 MiB. */
  maxConfigBytes?: number
  /** Most layers in a manifest. Default 1000. */
  maxLayers?: number
  /**
   * Most index documents on the way from the top to a manifest, the top
   * one (a layout's `index.json`) included. Default 8.
   */
  maxIndexDepth?: number
  /** Most descriptors in one index, or images in a docker-archive `manifest.json`. Default 4096. */
  maxIndexManifests?: number
  /** Deepest nesting of arrays and objects in a JSON document. Default 128. */
  maxJsonDepth?: number
  /** Most members (headers) in a docker archive. Default 100000. */
  maxArchiveEntries?: number
}

/** {@link OciLimits} with every field set. */
export type ResolvedOciLimits = Required<OciLimits>

/** The default {@link OciLimits}. */
export const DEFAULT_OCI_LIMITS: Readonly<ResolvedOciLimits> = Object.freeze({
  maxManifestBytes: 4 * 1024 * 1024,
  maxConfigBytes: 4 * 1024 * 1024,
  maxLayers: 1000,
  maxIndexDepth: 8,
  maxIndexManifests: 4096,
  maxJsonDepth: 128,
  maxArchiveEntries: 100_000
})

/**
 * Fill in defaults and check the values.
 *
 * @throws {@link InvalidArgumentError} (`ERR_INVALID_ARGUMENT`) for a value that is not a positive safe integer
 */
export function resolveLimits (limits: OciLimits | undefined): ResolvedOciLimits {
  const out: ResolvedOciLimits = { ...DEFAULT_OCI_LIMITS }
  if (limits === undefined) return out
  if (typeof limits !== 'object' || limits === null) throw new InvalidArgumentError('limits must be an object')
  for (const key of Object.keys(DEFAULT_OCI_LIMITS) as Array<keyof ResolvedOciLimits>) {
    const v = limits[key]
    if (v === undefined) continue
    if (typeof v !== 'number' || !Number.isSafeInteger(v) || v < 1) {
      throw new InvalidArgumentError(`limits.${key} must be a positive integer, got ${String(v)}`)
    }
    out[key] = v
  }
  return out
}

// ---------------------------------------------------------------- strict JSON

/**
 * A JSON number written with a fraction or an exponent. The strict parser
 * returns these instead of a `number` so that fields wanting an integer
 * reject them (Go's int64 decoding does).
 */
export class JsonNonInteger {
  constructor (readonly value: number, readonly text: string) {}
}

/** Options of {@link parseStrictJson}. */
export interface StrictJsonOptions {
  /** Deepest nesting of arrays and objects. Default 128. */
  maxDepth?: number
}

const utf8 = new TextDecoder('utf-8', { fatal: true, ignoreBOM: true })
const INTEGER_RE = /^-?(?:0|[1-9][0-9]*)$/
const NUMBER_RE = /-?(?:0|[1-9][0-9]*)(?:\.[0-9]+)?(?:[eE][+-]?[0-9]+)?/y

class JsonParser {
  private pos = 0
  constructor (private readonly text: string, private readonly what: string, private readonly maxDepth: number) {}

  fail (message: string): never {
    throw new OciInvalidError(`${this.what} is not valid JSON: ${message} at character ${this.pos}`)
  }

  private ws (): void {
    const t = this.text
    for (;;) {
      const c = t.charCodeAt(this.pos)
      if (c === 0x20 || c === 0x0a || c === 0x0d || c === 0x09) this.pos++
      else return
    }
  }

  document (): unknown {
    this.ws()
    const value = this.value(0)
    this.ws()
    if (this.pos !== this.text.length) this.fail('unexpected data after the value')
    return value
  }

  private value (depth: number): unknown {
    const t = this.text
    const c = t[this.pos]
    switch (c) {
      case '{': return this.object(depth + 1)
      case '[': return this.array(depth + 1)
      case '"': return this.string()
      case 't': return this.literal('true', true)
      case 'f': return this.literal('false', false)
      case 'n': return this.literal('null', null)
      case undefined: return this.fail('unexpected end of input')
      default:
        if (c === '-' || (c >= '0' && c <= '9')) return this.number()
        return this.fail(`unexpected character ${JSON.stringify(c)}`)
    }
  }

  private literal<T> (word: string, value: T): T {
    if (!this.text.startsWith(word, this.pos)) this.fail('invalid literal')
    this.pos += word.length
    return value
  }

  private number (): number | JsonNonInteger {
    NUMBER_RE.lastIndex = this.pos
    const m = NUMBER_RE.exec(this.text)
    if (m === null) return this.fail('invalid number')
    const s = m[0]
    this.pos += s.length
    const next = this.text[this.pos]
    if (next !== undefined && /[0-9.eE+-]/.test(next)) this.fail('invalid number')
    const n = Number(s)
    return INTEGER_RE.test(s) ? n : new JsonNonInteger(n, s)
  }

  private string (): string {
    const t = this.text
    this.pos++ // opening quote
    let out = ''
    let start = this.pos
    for (;;) {
      const c = t.charCodeAt(this.pos)
      if (Number.isNaN(c)) this.fail('unterminated string')
      if (c === 0x22) {
        out += t.slice(start, this.pos)
        this.pos++
        return out
      }
      if (c < 0x20) this.fail('control character in a string')
      if (c !== 0x5c) { this.pos++; continue }
      out += t.slice(start, this.pos)
      const e = t[this.pos + 1]
      switch (e) {
        case '"': out += '"'; break
        case '\\': out += '\\'; break
        case '/': out += '/'; break
        case 'b': out += '\b'; break
        case 'f': out += '\f'; break
        case 'n': out += '\n'; break
        case 'r': out += '\r'; break
        case 't': out += '\t'; break
        case 'u': {
          const unit = this.hex4(this.pos + 2)
          if (unit >= 0xd800 && unit <= 0xdbff) {
            // a high surrogate must be followed by an escaped low one
            if (t[this.pos + 6] !== '\\' || t[this.pos + 7] !== 'u') this.fail('lone surrogate in a \\u escape')
            const low = this.hex4(this.pos + 8)
            if (low < 0xdc00 || low > 0xdfff) this.fail('lone surrogate in a \\u escape')
            out += String.fromCharCode(unit, low)
            this.pos += 6
          } else if (unit >= 0xdc00 && unit <= 0xdfff) {
            this.fail('lone surrogate in a \\u escape')
          } else {
            out += String.fromCharCode(unit)
          }
          this.pos += 4
          break
        }
        default: this.fail('invalid escape in a string')
      }
      this.pos += 2
      start = this.pos
    }
  }

  private hex4 (at: number): number {
    const s = this.text.slice(at, at + 4)
    if (!/^[0-9a-fA-F]{4}$/.test(s)) this.fail('invalid \\u escape')
    return parseInt(s, 16)
  }

  private array (depth: number): unknown[] {
    if (depth > this.maxDepth) this.fail(`nesting deeper than ${this.maxDepth}`)
    this.pos++
    const out: unknown[] = []
    this.ws()
    if (this.text[this.pos] === ']') { this.pos++; return out }
    for (;;) {
      this.ws()
      out.push(this.value(depth))
      this.ws()
      const c = this.text[this.pos]
      if (c === ',') { this.pos++; continue }
      if (c === ']') { this.pos++; return out }
      this.fail('expected , or ] in an array')
    }
  }

  private object (depth: number): Record<string, unknown> {
    if (depth > this.maxDepth) this.fail(`nesting deeper than ${this.maxDepth}`)
    this.pos++
    const entries = new Map<string, unknown>()
    this.ws()
    if (this.text[this.pos] === '}') { this.pos++; return {} }
    for (;;) {
      this.ws()
      if (this.text[this.pos] !== '"') this.fail('expected a string key in an object')
      const keyAt = this.pos
      const key = this.string()
      if (entries.has(key)) {
        this.pos = keyAt
        this.fail(`duplicate key ${quote(key)}`)
      }
      this.ws()
      if (this.text[this.pos] !== ':') this.fail('expected : after an object key')
      this.pos++
      this.ws()
      entries.set(key, this.value(depth))
      this.ws()
      const c = this.text[this.pos]
      if (c === ',') { this.pos++; continue }
      if (c === '}') { this.pos++; break }
      this.fail('expected , or } in an object')
    }
    // fromEntries defines own properties: a "__proto__" key stays a plain key
    return Object.fromEntries(entries)
  }
}

/**
 * Parse JSON strictly (see the module comment): UTF-8 without BOM, no
 * duplicate keys, no lone surrogates, bounded nesting; numbers with a
 * fraction or exponent come back as {@link JsonNonInteger}.
 *
 * @param what - names the document in error messages
 * @throws {@link OciInvalidError} (`ERR_OCI_INVALID`)
 */
export function parseStrictJson (bytes: Uint8Array, what: string, options: StrictJsonOptions = {}): unknown {
  let text: string
  try {
    text = utf8.decode(bytes)
  } catch (err) {
    throw new OciInvalidError(`${what} is not valid UTF-8`, { cause: err })
  }
  return new JsonParser(text, what, options.maxDepth ?? DEFAULT_OCI_LIMITS.maxJsonDepth).document()
}

/** Refuse a document from its size, before reading it. */
export function checkDocumentSize (size: number, max: number, what: string): void {
  if (size > max) throw new OciInvalidError(`${what} is ${size} bytes, above the ${max}-byte limit`)
}

// ---------------------------------------------------------------- schema helpers

type JsonObject = Record<string, unknown>

function typeName (v: unknown): string {
  if (v === null) return 'null'
  if (Array.isArray(v)) return 'an array'
  if (v instanceof JsonNonInteger) return `the non-integer ${v.text}`
  return `a ${typeof v}`
}

function invalid (where: string, message: string): never {
  throw new OciInvalidError(`${where}: ${message}`)
}

function expectObject (v: unknown, where: string): JsonObject {
  if (typeof v !== 'object' || v === null || Array.isArray(v) || v instanceof JsonNonInteger) {
    invalid(where, `expected an object, got ${typeName(v)}`)
  }
  return v as JsonObject
}

function own (o: JsonObject, key: string): unknown {
  return Object.prototype.hasOwnProperty.call(o, key) ? o[key] : undefined
}

function has (o: JsonObject, key: string): boolean {
  return Object.prototype.hasOwnProperty.call(o, key)
}

/** Go's case folding of field names, enough for ASCII names: ſ is s, the Kelvin sign is k. */
function fold (s: string): string {
  return s.toLowerCase().replace(/\u017f/g, 's')
}

/**
 * Refuse keys of `o` that a case-insensitive decoder (Go's encoding/json)
 * would take for one of `fields`: `"Layers"` for `layers`.
 *
 * @throws {@link OciInvalidError} (`ERR_OCI_INVALID`)
 */
export function checkFieldCase (o: JsonObject, fields: readonly string[], where: string): void {
  const folded = new Map(fields.map((f) => [fold(f), f]))
  for (const key of Object.keys(o)) {
    if (fields.includes(key)) continue
    const field = folded.get(fold(key))
    if (field !== undefined) invalid(where, `key ${quote(key)} differs from the field ${quote(field)} only in case`)
  }
}

function expectString (v: unknown, where: string): string {
  if (typeof v !== 'string') invalid(where, `expected a string, got ${typeName(v)}`)
  return v
}

function optionalString (o: JsonObject, key: string, where: string): string | undefined {
  const v = own(o, key)
  return v === undefined ? undefined : expectString(v, `${where}.${key}`)
}

function expectArray (v: unknown, where: string): unknown[] {
  if (!Array.isArray(v)) invalid(where, `expected an array, got ${typeName(v)}`)
  return v
}

function stringArray (v: unknown, where: string): string[] {
  return expectArray(v, where).map((s, i) => expectString(s, `${where}[${i}]`))
}

function stringMap (v: unknown, where: string): Record<string, string> {
  const o = expectObject(v, where)
  for (const [k, s] of Object.entries(o)) expectString(s, `${where}[${quote(k)}]`)
  return o as Record<string, string>
}

function schemaVersion2 (o: JsonObject, where: string): 2 {
  const v = own(o, 'schemaVersion')
  if (v === undefined) invalid(where, 'schemaVersion is missing')
  if (v !== 2) invalid(where, `schemaVersion must be 2, got ${typeof v === 'number' ? String(v) : v instanceof JsonNonInteger ? v.text : typeName(v)}`)
  return 2
}

// RFC 6838 restricted names, as the OCI spec requires of media types
const MEDIA_TYPE_RE = /^[A-Za-z0-9][A-Za-z0-9!#$&^_.+-]{0,126}\/[A-Za-z0-9][A-Za-z0-9!#$&^_.+-]{0,126}$/
// the OCI digest grammar: algorithm ":" encoded
const ANY_DIGEST_RE = /^[a-z0-9]+(?:[+._-][a-z0-9]+)*:[a-zA-Z0-9=_-]+$/

/**
 * Check a media type string (RFC 6838 `type/subtype`).
 *
 * @throws {@link OciInvalidError}
 */
export function checkMediaType (v: unknown, where: string): string {
  const s = expectString(v, where)
  if (!MEDIA_TYPE_RE.test(s)) invalid(where, `${quote(s)} is not a media type`)
  return s
}

/**
 * Check a digest string: `sha256:` and 64 lowercase hex digits.
 *
 * @throws {@link OciInvalidError} (`ERR_OCI_INVALID`) for a malformed digest
 * @throws {@link UnsupportedError} (`ERR_UNSUPPORTED`) for a well-formed digest of another algorithm (sha512...)
 */
export function checkDigest (v: unknown, where: string): Digest {
  const s = expectString(v, where)
  if (isDigest(s)) return s
  if (ANY_DIGEST_RE.test(s) && !s.startsWith('sha256:')) {
    throw new UnsupportedError(`${where}: digest algorithm ${quote(s.slice(0, s.indexOf(':')))} is not supported (only sha256)`)
  }
  return invalid(where, `${quote(s)} is not a sha256 digest`)
}

/** Check a size: a non-negative safe integer. */
export function checkSize (v: unknown, where: string): number {
  if (typeof v !== 'number' || !Number.isSafeInteger(v) || v < 0) {
    invalid(where, `expected a non-negative integer size, got ${typeof v === 'number' ? String(v) : typeName(v)}`)
  }
  return v
}

// ---------------------------------------------------------------- platform, descriptor

/** The fields of a platform object. */
export const PLATFORM_FIELDS = ['architecture', 'os', 'variant', 'os.version', 'os.features', 'features'] as const

/** Validate an OCI platform object. */
export function parsePlatformObject (v: unknown, where: string): Platform {
  const o = expectObject(v, where)
  checkFieldCase(o, PLATFORM_FIELDS, where)
  const architecture = own(o, 'architecture')
  const os = own(o, 'os')
  if (architecture === undefined) invalid(where, 'architecture is missing')
  if (os === undefined) invalid(where, 'os is missing')
  const p: Platform = { architecture: expectString(architecture, `${where}.architecture`), os: expectString(os, `${where}.os`) }
  const variant = optionalString(o, 'variant', where)
  if (variant !== undefined) p.variant = variant
  const osVersion = optionalString(o, 'os.version', where)
  if (osVersion !== undefined) p['os.version'] = osVersion
  const features = own(o, 'os.features')
  if (features !== undefined) p['os.features'] = stringArray(features, `${where}["os.features"]`)
  if (has(o, 'features')) stringArray(own(o, 'features'), `${where}.features`)
  return p
}

/** The fields of a content descriptor. */
export const DESCRIPTOR_FIELDS = ['mediaType', 'digest', 'size', 'urls', 'annotations', 'platform', 'artifactType', 'data'] as const

/** Validate a content descriptor. Unknown fields are ignored (and dropped). */
export function parseDescriptor (v: unknown, where: string): Descriptor {
  const o = expectObject(v, where)
  checkFieldCase(o, DESCRIPTOR_FIELDS, where)
  if (!has(o, 'mediaType')) invalid(where, 'mediaType is missing')
  if (!has(o, 'digest')) invalid(where, 'digest is missing')
  if (!has(o, 'size')) invalid(where, 'size is missing')
  const d: Descriptor = {
    mediaType: checkMediaType(own(o, 'mediaType'), `${where}.mediaType`),
    digest: checkDigest(own(o, 'digest'), `${where}.digest`),
    size: checkSize(own(o, 'size'), `${where}.size`)
  }
  if (has(o, 'urls')) d.urls = stringArray(own(o, 'urls'), `${where}.urls`)
  if (has(o, 'annotations')) d.annotations = stringMap(own(o, 'annotations'), `${where}.annotations`)
  if (has(o, 'platform')) d.platform = parsePlatformObject(own(o, 'platform'), `${where}.platform`)
  if (has(o, 'artifactType')) checkMediaType(own(o, 'artifactType'), `${where}.artifactType`)
  if (has(o, 'data')) expectString(own(o, 'data'), `${where}.data`)
  return d
}

// ---------------------------------------------------------------- index, manifest

/** An OCI image index or a docker manifest list, validated. */
export interface ImageIndex {
  schemaVersion: 2
  /** The `mediaType` field, or the media type the document was read as when the field is absent. */
  mediaType: string
  manifests: Descriptor[]
  annotations?: Record<string, string>
}

/** An OCI image manifest or a docker schema 2 manifest, validated. */
export interface ImageManifest {
  schemaVersion: 2
  /** The `mediaType` field, or the media type the document was read as when the field is absent. */
  mediaType: string
  config: Descriptor
  layers: Descriptor[]
  annotations?: Record<string, string>
  /** The `artifactType` field, when present. */
  artifactType?: string
  /** The `subject` descriptor, when present. */
  subject?: Descriptor
}

/** Options of the document parsers. */
export interface ParseDocumentOptions {
  /**
   * The media type the document is read as (its descriptor's). When the
   * document has a `mediaType` field it must be this one. Defaults to the
   * OCI type.
   */
  mediaType?: string
  limits?: OciLimits
  /** Names the document in error messages. */
  what?: string
}

/** The fields of an index (and of a manifest, to catch a confusion of the two). */
export const INDEX_FIELDS = ['schemaVersion', 'mediaType', 'manifests', 'annotations', 'subject', 'artifactType', 'config', 'layers'] as const
/** The fields of a manifest (and of an index, to catch a confusion of the two). */
export const MANIFEST_FIELDS = ['schemaVersion', 'mediaType', 'config', 'layers', 'annotations', 'subject', 'artifactType', 'manifests'] as const

/** Media types read as an index. */
export const INDEX_MEDIA_TYPES: ReadonlySet<string> = new Set([MEDIA_TYPES.ociIndex, MEDIA_TYPES.dockerManifestList])
/** Media types read as an image manifest. */
export const MANIFEST_MEDIA_TYPES: ReadonlySet<string> = new Set([MEDIA_TYPES.ociManifest, MEDIA_TYPES.dockerManifest])
/** Config media types of a container image. */
export const CONFIG_MEDIA_TYPES: ReadonlySet<string> = new Set([MEDIA_TYPES.ociConfig, MEDIA_TYPES.dockerConfig])

function documentMediaType (o: JsonObject, expected: string, where: string): string {
  const v = own(o, 'mediaType')
  if (v === undefined) return expected
  const s = checkMediaType(v, `${where}.mediaType`)
  if (s !== expected) invalid(where, `mediaType is ${quote(s)} but the document was referenced as ${quote(expected)}`)
  return s
}

function documentRoot (bytes: Uint8Array, what: string, max: number, limits: ResolvedOciLimits): JsonObject {
  checkDocumentSize(bytes.length, max, what)
  return expectObject(parseStrictJson(bytes, what, { maxDepth: limits.maxJsonDepth }), what)
}

/**
 * Parse an OCI image index (a layout's `index.json` included) or a docker
 * manifest list. Refuses a document that also has `config` or `layers`
 * (a manifest/index confusion).
 *
 * @throws {@link OciInvalidError} (`ERR_OCI_INVALID`)
 */
export function parseIndex (bytes: Uint8Array, options: ParseDocumentOptions = {}): ImageIndex {
  const limits = resolveLimits(options.limits)
  const expected = options.mediaType ?? MEDIA_TYPES.ociIndex
  const what = options.what ?? 'image index'
  const o = documentRoot(bytes, what, limits.maxManifestBytes, limits)
  checkFieldCase(o, INDEX_FIELDS, what)
  schemaVersion2(o, what)
  const mediaType = documentMediaType(o, expected, what)
  if (!INDEX_MEDIA_TYPES.has(mediaType)) invalid(what, `${quote(mediaType)} is not an index media type`)
  if (has(o, 'config') || has(o, 'layers')) invalid(what, 'an index must not have config or layers (is it a manifest?)')
  if (!has(o, 'manifests')) invalid(what, 'manifests is missing')
  const list = expectArray(own(o, 'manifests'), `${what}.manifests`)
  if (list.length > limits.maxIndexManifests) {
    invalid(what, `${list.length} manifests, above the limit of ${limits.maxIndexManifests}`)
  }
  const index: ImageIndex = {
    schemaVersion: 2,
    mediaType,
    manifests: list.map((d, i) => parseDescriptor(d, `${what}.manifests[${i}]`))
  }
  if (has(o, 'annotations')) index.annotations = stringMap(own(o, 'annotations'), `${what}.annotations`)
  if (has(o, 'subject')) parseDescriptor(own(o, 'subject'), `${what}.subject`)
  return index
}

/**
 * Parse an OCI image manifest or a docker schema 2 manifest. The layer
 * count is checked against {@link OciLimits.maxLayers} before any layer is
 * validated. Refuses a document that also has `manifests`.
 *
 * @throws {@link OciInvalidError} (`ERR_OCI_INVALID`)
 */
export function parseManifest (bytes: Uint8Array, options: ParseDocumentOptions = {}): ImageManifest {
  const limits = resolveLimits(options.limits)
  const expected = options.mediaType ?? MEDIA_TYPES.ociManifest
  const what = options.what ?? 'image manifest'
  const o = documentRoot(bytes, what, limits.maxManifestBytes, limits)
  checkFieldCase(o, MANIFEST_FIELDS, what)
  schemaVersion2(o, what)
  const mediaType = documentMediaType(o, expected, what)
  if (!MANIFEST_MEDIA_TYPES.has(mediaType)) invalid(what, `${quote(mediaType)} is not a manifest media type`)
  if (has(o, 'manifests')) invalid(what, 'a manifest must not have manifests (is it an index?)')
  if (!has(o, 'config')) invalid(what, 'config is missing')
  if (!has(o, 'layers')) invalid(what, 'layers is missing')
  const layers = expectArray(own(o, 'layers'), `${what}.layers`)
  if (layers.length > limits.maxLayers) invalid(what, `${layers.length} layers, above the limit of ${limits.maxLayers}`)
  const manifest: ImageManifest = {
    schemaVersion: 2,
    mediaType,
    config: parseDescriptor(own(o, 'config'), `${what}.config`),
    layers: layers.map((d, i) => parseDescriptor(d, `${what}.layers[${i}]`))
  }
  if (has(o, 'annotations')) manifest.annotations = stringMap(own(o, 'annotations'), `${what}.annotations`)
  if (has(o, 'subject')) manifest.subject = parseDescriptor(own(o, 'subject'), `${what}.subject`)
  if (has(o, 'artifactType')) manifest.artifactType = checkMediaType(own(o, 'artifactType'), `${what}.artifactType`)
  return manifest
}

/**
 * Parse an image config: it only has to be a JSON object (parsed strictly);
 * callers keep its bytes.
 *
 * @throws {@link OciInvalidError} (`ERR_OCI_INVALID`)
 */
export function parseConfig (bytes: Uint8Array, options: { limits?: OciLimits, what?: string } = {}): JsonObject {
  const limits = resolveLimits(options.limits)
  return documentRoot(bytes, options.what ?? 'image config', limits.maxConfigBytes, limits)
}

/**
 * The layer diff IDs of a config (`rootfs.diff_ids`), which must be there,
 * with `rootfs.type` `layers`.
 *
 * @throws {@link OciInvalidError} (`ERR_OCI_INVALID`)
 */
export function configDiffIds (config: JsonObject, what = 'image config'): Digest[] {
  checkFieldCase(config, ['rootfs'], what)
  const rootfs = own(config, 'rootfs')
  if (rootfs === undefined) invalid(what, 'rootfs is missing')
  const r = expectObject(rootfs, `${what}.rootfs`)
  checkFieldCase(r, ['type', 'diff_ids'], `${what}.rootfs`)
  const type = own(r, 'type')
  if (type !== 'layers') invalid(`${what}.rootfs`, `type must be "layers", got ${typeof type === 'string' ? quote(type) : typeName(type)}`)
  const ids = own(r, 'diff_ids')
  if (ids === undefined) invalid(`${what}.rootfs`, 'diff_ids is missing')
  return expectArray(ids, `${what}.rootfs.diff_ids`).map((d, i) => checkDigest(d, `${what}.rootfs.diff_ids[${i}]`))
}

/**
 * Parse an `oci-layout` file and return its `imageLayoutVersion`.
 *
 * @throws {@link OciInvalidError} (`ERR_OCI_INVALID`)
 */
export function parseOciLayoutFile (bytes: Uint8Array, limits?: OciLimits): string {
  const resolved = resolveLimits(limits)
  const o = documentRoot(bytes, 'oci-layout', resolved.maxManifestBytes, resolved)
  checkFieldCase(o, ['imageLayoutVersion'], 'oci-layout')
  const v = own(o, 'imageLayoutVersion')
  if (v === undefined) invalid('oci-layout', 'imageLayoutVersion is missing')
  return expectString(v, 'oci-layout.imageLayoutVersion')
}

// ---------------------------------------------------------------- docker archive

/** One image of a docker-archive `manifest.json`. */
export interface DockerArchiveManifestItem {
  /** Archive path of the config. */
  Config: string
  /** Its tags (`null` in the file is an empty list). */
  RepoTags: string[]
  /** Archive paths of the layers, bottom first. */
  Layers: string[]
  Parent?: string
}

const ARCHIVE_ITEM_FIELDS = ['Config', 'RepoTags', 'Layers', 'Parent', 'LayerSources'] as const

/**
 * Parse the `manifest.json` of a docker archive (`docker save`,
 * `skopeo copy ... docker-archive:`): a non-empty array of
 * `{Config, RepoTags, Layers}`.
 *
 * @throws {@link OciInvalidError} (`ERR_OCI_INVALID`)
 */
export function parseDockerArchiveManifest (bytes: Uint8Array, limits?: OciLimits): DockerArchiveManifestItem[] {
  const resolved = resolveLimits(limits)
  const what = 'manifest.json'
  checkDocumentSize(bytes.length, resolved.maxManifestBytes, what)
  const list = expectArray(parseStrictJson(bytes, what, { maxDepth: resolved.maxJsonDepth }), what)
  if (list.length === 0) invalid(what, 'it lists no images')
  if (list.length > resolved.maxIndexManifests) invalid(what, `${list.length} images, above the limit of ${resolved.maxIndexManifests}`)
  return list.map((v, i) => {
    const where = `${what}[${i}]`
    const o = expectObject(v, where)
    checkFieldCase(o, ARCHIVE_ITEM_FIELDS, where)
    if (!has(o, 'Config')) invalid(where, 'Config is missing')
    if (!has(o, 'Layers')) invalid(where, 'Layers is missing')
    const config = expectString(own(o, 'Config'), `${where}.Config`)
    if (config === '') invalid(where, 'Config is empty')
    const layerList = expectArray(own(o, 'Layers'), `${where}.Layers`)
    if (layerList.length > resolved.maxLayers) invalid(where, `${layerList.length} layers, above the limit of ${resolved.maxLayers}`)
    const layers = stringArray(layerList, `${where}.Layers`)
    const tags = own(o, 'RepoTags')
    const item: DockerArchiveManifestItem = {
      Config: config,
      RepoTags: tags === undefined || tags === null ? [] : stringArray(tags, `${where}.RepoTags`),
      Layers: layers
    }
    const parent = optionalString(o, 'Parent', where)
    if (parent !== undefined) item.Parent = parent
    if (has(o, 'LayerSources')) expectObject(own(o, 'LayerSources'), `${where}.LayerSources`)
    return item
  })
}
