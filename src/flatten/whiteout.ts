/**
 * OCI whiteouts (image-spec layer.md): `.wh.NAME` deletes NAME from the
 * layers below; `.wh..wh..opq` makes its directory opaque (hides everything
 * the layers below put there). Other `.wh..wh.*` names are AUFS internals
 * and are dropped.
 *
 * @module
 */

const PREFIX = Buffer.from('.wh.')
const OPAQUE = Buffer.from('.wh..wh..opq')
const META = Buffer.from('.wh..wh.')

/** What a name means for layer application. */
export type WhiteoutKind =
  | { kind: 'none' }
  | { kind: 'opaque' }
  | { kind: 'whiteout', target: Uint8Array }
  | { kind: 'meta' }

const startsWith = (a: Uint8Array, prefix: Buffer): boolean => a.length >= prefix.length && Buffer.from(a.buffer, a.byteOffset, prefix.length).equals(prefix)

/** Classify the last component of a layer entry's path. */
export function classifyWhiteout (name: Uint8Array): WhiteoutKind {
  if (!startsWith(name, PREFIX)) return { kind: 'none' }
  if (name.length === OPAQUE.length && startsWith(name, OPAQUE)) return { kind: 'opaque' }
  if (startsWith(name, META)) return { kind: 'meta' }
  return { kind: 'whiteout', target: name.subarray(PREFIX.length) }
}
