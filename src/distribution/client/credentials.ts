/**
 * Where the credentials for a registry come from, following skopeo
 * (containers/image `pkg/docker/config`):
 *
 * 1. `credentials` (`--creds USER:PASS`; split at the first `:`, so a
 *    password may hold colons);
 * 2. else an auth file: `authFile` (`--authfile`) or `$REGISTRY_AUTH_FILE`
 *    when set, and then only that file; otherwise the first of
 *    `$XDG_RUNTIME_DIR/containers/auth.json`,
 *    `${XDG_CONFIG_HOME:-~/.config}/containers/auth.json` and
 *    `~/.docker/config.json` that has an entry for the registry.
 *
 * An entry is `auths[KEY].auth`, base64 of `user:password`. Keys are tried
 * most specific first: `host/ns/repo`, `host/ns`, `host`, then legacy
 * docker keys with a scheme and path (`https://host/v1/`). For docker.io
 * the keys `index.docker.io` and `https://index.docker.io/v1/` match too.
 * Credential helpers (`credHelpers`, `credsStore`) and identity tokens
 * are not supported: such an entry is skipped.
 *
 * A missing file is no credentials; a file that exists but is not JSON, or
 * an `auth` that is not base64 `user:pass`, is {@link RegistryAuthError}
 * (`ERR_REGISTRY_AUTH`) naming the file. Files over 1 MiB are refused.
 *
 * @module
 */
import { readFile, stat } from 'node:fs/promises'
import { homedir } from 'node:os'
import { join } from 'node:path'
import { RegistryAuthError } from './errors.js'

/** A user name and password for Basic auth or a token server. */
export interface Credentials {
  username: string
  password: string
}

/** Where to look; the environment is passed in so lookups are testable and explicit. */
export interface CredentialSources {
  credentials?: string
  authFile?: string
  env?: NodeJS.ProcessEnv
  home?: string
}

const MAX_AUTH_FILE = 1024 * 1024

/** What is wrong with a `USER:PASS` value (`must be USER:PASS: ...`), or undefined when it parses. */
export function credentialsProblem (value: string): string | undefined {
  const colon = value.indexOf(':')
  if (colon < 0) return 'must be USER:PASS: there is no ":" between the user and the password'
  if (colon === 0) return 'must be USER:PASS: the user can\'t be empty'
  return undefined
}

/** Parse `USER:PASS`. */
export function parseCredentials (value: string): Credentials {
  const problem = credentialsProblem(value)
  if (problem !== undefined) throw new RegistryAuthError(`credentials ${problem}`)
  const colon = value.indexOf(':')
  return { username: value.slice(0, colon), password: value.slice(colon + 1) }
}

/** The auth files to search, in order, and whether the first is the only one. */
export function authFilePaths (sources: CredentialSources): string[] {
  const env = sources.env ?? process.env
  if (sources.authFile !== undefined && sources.authFile !== '') return [sources.authFile]
  if (env.REGISTRY_AUTH_FILE !== undefined && env.REGISTRY_AUTH_FILE !== '') return [env.REGISTRY_AUTH_FILE]
  const home = sources.home ?? env.HOME ?? homedir()
  const paths: string[] = []
  if (env.XDG_RUNTIME_DIR !== undefined && env.XDG_RUNTIME_DIR !== '') paths.push(join(env.XDG_RUNTIME_DIR, 'containers', 'auth.json'))
  paths.push(join(env.XDG_CONFIG_HOME !== undefined && env.XDG_CONFIG_HOME !== '' ? env.XDG_CONFIG_HOME : join(home, '.config'), 'containers', 'auth.json'))
  paths.push(join(home, '.docker', 'config.json'))
  return paths
}

/** The keys an auth file entry may have for `registry` and `repository`, most specific first. */
export function authKeys (registry: string, repository: string): string[] {
  const keys: string[] = []
  const parts = repository.split('/')
  for (let i = parts.length; i >= 1; i--) keys.push(`${registry}/${parts.slice(0, i).join('/')}`)
  keys.push(registry)
  if (registry === 'docker.io') keys.push('index.docker.io', 'registry-1.docker.io')
  return keys
}

/** `https://host/v1/` → `host`, as docker normalises legacy keys. */
function legacyHost (key: string): string | undefined {
  const m = /^https?:\/\/([^/]+)/.exec(key)
  return m === null ? undefined : m[1]
}

async function readAuthFile (path: string): Promise<Record<string, unknown> | undefined> {
  let size: number
  try {
    size = (await stat(path)).size
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT' || (err as NodeJS.ErrnoException).code === 'ENOTDIR') return undefined
    throw new RegistryAuthError(`cannot read auth file ${JSON.stringify(path)}: ${(err as Error).message}`, { cause: err })
  }
  if (size > MAX_AUTH_FILE) throw new RegistryAuthError(`auth file ${JSON.stringify(path)} is larger than ${MAX_AUTH_FILE} bytes`)
  let doc: unknown
  try {
    doc = JSON.parse(await readFile(path, 'utf8'))
  } catch (err) {
    throw new RegistryAuthError(`auth file ${JSON.stringify(path)} is not valid JSON`, { cause: err })
  }
  if (doc === null || typeof doc !== 'object' || Array.isArray(doc)) throw new RegistryAuthError(`auth file ${JSON.stringify(path)} is not a JSON object`)
  const auths = (doc as { auths?: unknown }).auths
  if (auths === undefined) return {}
  if (auths === null || typeof auths !== 'object' || Array.isArray(auths)) throw new RegistryAuthError(`auth file ${JSON.stringify(path)}: "auths" is not an object`)
  return auths as Record<string, unknown>
}

function decodeEntry (path: string, key: string, entry: unknown): Credentials | undefined {
  if (entry === null || typeof entry !== 'object') return undefined
  const auth = (entry as { auth?: unknown }).auth
  if (typeof auth !== 'string' || auth === '') return undefined
  const where = `auth file ${JSON.stringify(path)}, entry ${JSON.stringify(key)}`
  if (!/^[A-Za-z0-9+/]*={0,2}$/.test(auth)) throw new RegistryAuthError(`${where}: "auth" is not base64`)
  const decoded = Buffer.from(auth, 'base64').toString('utf8')
  const colon = decoded.indexOf(':')
  if (colon <= 0) throw new RegistryAuthError(`${where}: "auth" is not base64 of USER:PASS`)
  return { username: decoded.slice(0, colon), password: decoded.slice(colon + 1) }
}

/**
 * The credentials for `registry`/`repository`, or undefined for anonymous
 * access.
 *
 * @throws {@link RegistryAuthError} for malformed `credentials` or an unreadable auth file
 */
export async function findCredentials (registry: string, repository: string, sources: CredentialSources): Promise<Credentials | undefined> {
  if (sources.credentials !== undefined) return parseCredentials(sources.credentials)
  const keys = authKeys(registry, repository)
  for (const path of authFilePaths(sources)) {
    const auths = await readAuthFile(path)
    if (auths === undefined) continue
    for (const key of keys) {
      if (Object.hasOwn(auths, key)) {
        const found = decodeEntry(path, key, auths[key])
        if (found !== undefined) return found
      }
    }
    for (const [key, entry] of Object.entries(auths)) {
      const host = legacyHost(key)
      if (host !== undefined && keys.includes(host)) {
        const found = decodeEntry(path, key, entry)
        if (found !== undefined) return found
      }
    }
  }
  return undefined
}
