/**
 * OCI descriptors and indexes as the registry sends them, checked field by
 * field (strings, a sha256 digest, a safe integer size, string
 * annotations) before they are handed on. Anything else is
 * `ERR_REGISTRY_PROTOCOL` naming where.
 *
 * @module
 */
import { isDigest } from '../../hash/digest.js'
import { RegistryProtocolError } from './errors.js'
import type { BlobDescriptor } from './types.js'

const MAX_DESCRIPTORS = 100_000

function isStringRecord (value: unknown): value is Record<string, string> {
  return value !== null && typeof value === 'object' && !Array.isArray(value) && Object.values(value).every((v) => typeof v === 'string')
}

/** Check one descriptor; `where` names it in the error. */
export function parseDescriptor (value: unknown, where: string): BlobDescriptor {
  const bad = (why: string): never => { throw new RegistryProtocolError(`${where}: ${why}`) }
  if (value === null || typeof value !== 'object' || Array.isArray(value)) bad('a descriptor is not an object')
  const d = value as Record<string, unknown>
  if (typeof d.mediaType !== 'string' || d.mediaType === '' || d.mediaType.length > 255) bad('a descriptor has no valid mediaType')
  if (!isDigest(d.digest)) bad('a descriptor has no valid sha256 digest')
  if (!Number.isSafeInteger(d.size) || (d.size as number) < 0) bad('a descriptor has no valid size')
  const out: BlobDescriptor = { mediaType: d.mediaType as string, digest: d.digest as string, size: d.size as number }
  if (d.annotations !== undefined) {
    if (!isStringRecord(d.annotations)) bad('a descriptor has annotations that are not strings')
    out.annotations = d.annotations as Record<string, string>
  }
  if (d.artifactType !== undefined) {
    if (typeof d.artifactType !== 'string') bad('a descriptor has an artifactType that is not a string')
    out.artifactType = d.artifactType as string
  }
  return out
}

/** The parsed JSON of an OCI index and its checked `manifests`. */
export function parseIndex (bytes: Uint8Array, where: string): { doc: Record<string, unknown>, manifests: BlobDescriptor[] } {
  let doc: unknown
  try {
    doc = JSON.parse(Buffer.from(bytes).toString('utf8'))
  } catch (err) {
    throw new RegistryProtocolError(`${where}: not JSON`, { cause: err })
  }
  if (doc === null || typeof doc !== 'object' || Array.isArray(doc)) throw new RegistryProtocolError(`${where}: not a JSON object`)
  const list = (doc as { manifests?: unknown }).manifests ?? []
  if (!Array.isArray(list)) throw new RegistryProtocolError(`${where}: "manifests" is not an array`)
  if (list.length > MAX_DESCRIPTORS) throw new RegistryProtocolError(`${where}: more than ${MAX_DESCRIPTORS} descriptors`)
  return { doc: doc as Record<string, unknown>, manifests: list.map((m, i) => parseDescriptor(m, `${where}, manifests[${i}]`)) }
}
