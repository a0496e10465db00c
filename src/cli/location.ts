/**
 * Parsing `KIND:PATH` locations of the CLI (`dir:PATH`, `tar:PATH`, `tar:-`).
 *
 * @module
 */
import { InvalidArgumentError } from '../errors.js'

/** A parsed location. */
export interface Location {
  kind: string
  path: string
}

/** Split `KIND:PATH`; `kinds` lists the accepted kinds. */
export function parseLocation (value: string | undefined, kinds: readonly string[], what: string): Location {
  if (value === undefined) throw new InvalidArgumentError(`missing ${what}: expected one of ${kinds.map((k) => `${k}:PATH`).join(', ')}`)
  const colon = value.indexOf(':')
  const kind = colon > 0 ? value.slice(0, colon) : ''
  if (!kinds.includes(kind)) throw new InvalidArgumentError(`unsupported ${what} ${JSON.stringify(value)}: expected one of ${kinds.map((k) => `${k}:PATH`).join(', ')}`)
  const path = value.slice(colon + 1)
  if (path === '') throw new InvalidArgumentError(`${what} ${JSON.stringify(value)} has an empty path`)
  return { kind, path }
}
