/**
 * Platforms: parsing `OS/ARCH[/VARIANT]`, normalising (as containerd does),
 * matching index entries, the default (host) platform, and recognising
 * attestation manifests, which are not images.
 *
 * Matching is exact after normalisation: `linux/arm64` and `linux/arm64/v8`
 * are the same platform, as are `linux/amd64` and `linux/amd64/v1`, and
 * `linux/arm` is `linux/arm/v7`; but `linux/amd64` does not match an entry
 * for `linux/amd64/v3`, and `linux/arm/v7` does not fall back to `v6`.
 * `os.version` and `os.features` are not compared; among several matching
 * entries the first one in the index wins.
 *
 * @module
 */
import { InvalidArgumentError } from '../errors.js'
import { OciAmbiguousReferenceError, OciInvalidError, OciPlatformNotFoundError, OciUnsupportedMediaTypeError, quote } from './errors.js'
import { INDEX_MEDIA_TYPES, MANIFEST_MEDIA_TYPES } from './json.js'
import type { Descriptor, Platform } from './types.js'

const COMPONENT_RE = /^[a-z0-9][a-z0-9._-]{0,63}$/

/**
 * Parse `OS/ARCH[/VARIANT]` (`linux/amd64`, `linux/arm64/v8`,
 * `linux/arm/v7`). Components are lowercase letters, digits, `.`, `_`, `-`.
 * The result is not normalised (see {@link normalizePlatform}).
 *
 * @throws {@link InvalidArgumentError} (`ERR_INVALID_ARGUMENT`) on bad syntax
 */
export function parsePlatform (value: string): Platform {
  if (typeof value !== 'string') throw new InvalidArgumentError('a platform must be a string OS/ARCH[/VARIANT]')
  const parts = value.split('/')
  if (parts.length < 2 || parts.length > 3 || !parts.every((p) => COMPONENT_RE.test(p))) {
    throw new InvalidArgumentError(`invalid platform ${quote(value)}: expected OS/ARCH[/VARIANT], for example linux/amd64 or linux/arm64/v8`)
  }
  const [os = '', architecture = '', variant] = parts
  return variant === undefined ? { os, architecture } : { os, architecture, variant }
}

/** `os/arch[/variant]`. */
export function formatPlatform (p: Platform): string {
  return `${p.os}/${p.architecture}${p.variant !== undefined && p.variant !== '' ? `/${p.variant}` : ''}`
}

const ARCH_ALIASES: Record<string, { architecture: string, variant?: string }> = {
  i386: { architecture: '386' },
  x86_64: { architecture: 'amd64' },
  'x86-64': { architecture: 'amd64' },
  aarch64: { architecture: 'arm64' },
  armhf: { architecture: 'arm', variant: 'v7' },
  armel: { architecture: 'arm', variant: 'v6' }
}

/**
 * Normalise as containerd does: lowercase os and architecture, aliases
 * (`x86_64` is `amd64`, `aarch64` is `arm64`, `armhf` is `arm/v7`...),
 * default variants made explicit (`arm64` is `arm64/v8`, `arm` is `arm/v7`),
 * `amd64/v1` is `amd64`. Returns os, architecture and variant only.
 */
export function normalizePlatform (p: Platform): Platform {
  const os = p.os.toLowerCase()
  let architecture = p.architecture.toLowerCase()
  let variant = p.variant === undefined || p.variant === '' ? undefined : p.variant.toLowerCase()
  const alias = ARCH_ALIASES[architecture]
  if (alias !== undefined) {
    architecture = alias.architecture
    if (alias.variant !== undefined && variant === undefined) variant = alias.variant
  }
  if (architecture === 'arm64') {
    if (variant === undefined || variant === '8' || variant === 'v8.0') variant = 'v8'
  } else if (architecture === 'arm') {
    if (variant === undefined) variant = 'v7'
    else if (/^[5-8]$/.test(variant)) variant = `v${variant}`
  } else if (architecture === 'amd64') {
    if (variant === 'v1') variant = undefined
  }
  return variant === undefined ? { os, architecture } : { os, architecture, variant }
}

/** Whether two platforms are the same after {@link normalizePlatform}. */
export function platformMatches (want: Platform, have: Platform): boolean {
  const a = normalizePlatform(want)
  const b = normalizePlatform(have)
  return a.os === b.os && a.architecture === b.architecture && a.variant === b.variant
}

/**
 * The host's platform for container images: os `linux` (images for other
 * hosts run Linux images too), architecture from `process.arch` (`x64` is
 * `amd64`, `arm64` is `arm64/v8`, `arm` is `arm/v7` or `arm/v6`, `ia32` is
 * `386`, `ppc64` is `ppc64le` on little-endian hosts); `linux/amd64` when
 * the architecture has no OCI name.
 */
export function defaultPlatform (arch: string = process.arch): Platform {
  switch (arch) {
    case 'x64': return { os: 'linux', architecture: 'amd64' }
    case 'arm64': return { os: 'linux', architecture: 'arm64', variant: 'v8' }
    case 'arm': {
      const v = (process.config.variables as Record<string, unknown>).arm_version
      return { os: 'linux', architecture: 'arm', variant: v === '6' || v === 6 ? 'v6' : 'v7' }
    }
    case 'ia32': return { os: 'linux', architecture: '386' }
    case 'ppc64': return { os: 'linux', architecture: 'ppc64le' }
    case 's390x': case 'riscv64': case 'loong64': case 'mips64el':
      return { os: 'linux', architecture: arch }
    default: return { os: 'linux', architecture: 'amd64' }
  }
}

/**
 * A platform option as given (`"linux/arm64"` or an object) as a
 * {@link Platform}; the default when undefined.
 *
 * @throws {@link InvalidArgumentError} (`ERR_INVALID_ARGUMENT`)
 */
export function resolvePlatformOption (value: string | Platform | undefined): Platform {
  if (value === undefined) return defaultPlatform()
  if (typeof value === 'string') return parsePlatform(value)
  if (typeof value !== 'object' || value === null || typeof value.os !== 'string' || typeof value.architecture !== 'string' ||
    (value.variant !== undefined && typeof value.variant !== 'string')) {
    throw new InvalidArgumentError('platform must be a string OS/ARCH[/VARIANT] or an object with os and architecture')
  }
  return parsePlatform(formatPlatform(value))
}

/** Annotation docker buildx puts on attestation manifests. */
export const DOCKER_REFERENCE_TYPE_ANNOTATION = 'vnd.docker.reference.type'

/**
 * Whether an index entry is an attestation manifest (buildx provenance and
 * SBOMs), not an image: its platform is `unknown/unknown`, or it has the
 * annotation `vnd.docker.reference.type: attestation-manifest`.
 */
export function isAttestationManifest (d: Descriptor): boolean {
  if (d.annotations?.[DOCKER_REFERENCE_TYPE_ANNOTATION] === 'attestation-manifest') return true
  return d.platform !== undefined && d.platform.os === 'unknown' && d.platform.architecture === 'unknown'
}

function platformName (d: Descriptor): string {
  return d.platform === undefined ? `(no platform) ${d.digest}` : formatPlatform(d.platform)
}

function isImageType (mediaType: string): boolean {
  return MANIFEST_MEDIA_TYPES.has(mediaType) || INDEX_MEDIA_TYPES.has(mediaType)
}

/**
 * Pick the entry of an index for the requested platform. Attestation
 * manifests and entries of other media types are skipped; an entry without
 * a platform is taken only when it is the index's only image.
 */
export function selectByPlatform (platform: Platform, entries: readonly Descriptor[], where: string): Descriptor {
  const images = entries.filter((d) => !isAttestationManifest(d) && isImageType(d.mediaType))
  if (images.length === 0) {
    const other = entries.find((d) => !isAttestationManifest(d))
    if (other !== undefined) {
      throw new OciUnsupportedMediaTypeError(`${where} lists no image; its entries are of media type ${quote(other.mediaType)}`, other.mediaType)
    }
    throw new OciInvalidError(`${where} lists no image`)
  }
  const match = images.find((d) => d.platform !== undefined && platformMatches(platform, d.platform))
  if (match !== undefined) return match
  const only = images[0]
  if (images.length === 1 && only !== undefined && only.platform === undefined) return only
  if (images.every((d) => d.platform === undefined)) {
    throw new OciAmbiguousReferenceError(`${where} lists ${images.length} images without platforms`, images.map((d) => d.digest))
  }
  throw new OciPlatformNotFoundError(formatPlatform(platform), [...new Set(images.map(platformName))], where)
}
