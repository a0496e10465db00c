/**
 * Optional authentication of `tessera serve`: basic users whose passwords
 * are kept as scrypt hashes, and static bearer tokens kept as sha256
 * hashes, read from a JSON file:
 *
 * ```json
 * {
 *   "realm": "tessera",
 *   "users":  [{ "username": "alice", "password": "scrypt$16384$8$1$<salt b64>$<key b64>", "access": "push" }],
 *   "tokens": [{ "name": "ci", "sha256": "<hex sha256 of the token>", "access": "pull" }]
 * }
 * ```
 *
 * `access` is `push` (read and write, the default) or `pull` (read only:
 * writes get 403 `DENIED`). A request without valid credentials gets 401
 * `UNAUTHORIZED` with a `WWW-Authenticate` challenge (`Basic` when users
 * are configured, then `Bearer` when tokens are). Make a password hash with
 * `tessera serve --hash-password` (reads the password on stdin) or
 * {@link hashPassword}; a token hash with `printf %s TOKEN | sha256sum`.
 *
 * @module
 */
import { createHash, randomBytes, scrypt, timingSafeEqual } from 'node:crypto'
import { readFile } from 'node:fs/promises'
import { InvalidArgumentError } from '../../errors.js'
import { RegistryHttpError } from './errors.js'

/** What a user or token may do. */
export type Access = 'pull' | 'push'

/** The auth configuration file's contents. */
export interface AuthConfig {
  /** Realm named in challenges. Default `tessera`. */
  realm?: string
  users?: Array<{ username: string, password: string, access?: Access }>
  tokens?: Array<{ name?: string, sha256: string, access?: Access }>
}

/** Who made a request. */
export interface Principal { name: string, access: Access }

const SCRYPT = { N: 16384, r: 8, p: 1, keyLength: 32 }
const HASH_RE = /^scrypt\$(\d+)\$(\d+)\$(\d+)\$([A-Za-z0-9+/=]+)\$([A-Za-z0-9+/=]+)$/

function scryptAsync (password: string, salt: Buffer, keyLength: number, params: { N: number, r: number, p: number }): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    scrypt(password, salt, keyLength, { ...params, maxmem: 256 * params.N * params.r + 1024 * 1024 }, (err, key) => { err !== null ? reject(err) : resolve(key) })
  })
}

/** A password hash for the auth file: `scrypt$N$r$p$<salt base64>$<key base64>`. */
export async function hashPassword (password: string): Promise<string> {
  const salt = randomBytes(16)
  const key = await scryptAsync(password, salt, SCRYPT.keyLength, SCRYPT)
  return `scrypt$${SCRYPT.N}$${SCRYPT.r}$${SCRYPT.p}$${salt.toString('base64')}$${key.toString('base64')}`
}

/** True when `password` matches `hash` (made by {@link hashPassword}); compared in constant time. */
export async function verifyPassword (password: string, hash: string): Promise<boolean> {
  const m = HASH_RE.exec(hash)
  if (m === null) return false
  const [N, r, p] = [Number(m[1]), Number(m[2]), Number(m[3])]
  const expected = Buffer.from(m[5]!, 'base64')
  const key = await scryptAsync(password, Buffer.from(m[4]!, 'base64'), expected.length, { N, r, p })
  return key.length === expected.length && timingSafeEqual(key, expected)
}

function checkAccess (value: unknown, where: string): Access {
  if (value === undefined) return 'push'
  if (value === 'pull' || value === 'push') return value
  throw new InvalidArgumentError(`${where}: access must be "pull" or "push", got ${JSON.stringify(value)}`)
}

/** Check an auth configuration; throws `ERR_INVALID_ARGUMENT` saying what is wrong. */
export function parseAuthConfig (value: unknown, source = 'auth config'): Required<AuthConfig> {
  if (typeof value !== 'object' || value === null || Array.isArray(value)) throw new InvalidArgumentError(`${source}: not a JSON object`)
  const v = value as Record<string, unknown>
  for (const key of Object.keys(v)) if (!['realm', 'users', 'tokens'].includes(key)) throw new InvalidArgumentError(`${source}: unknown field ${JSON.stringify(key)}`)
  const realm = v.realm ?? 'tessera'
  if (typeof realm !== 'string' || !/^[\x20-\x7e]*$/.test(realm) || realm.includes('"')) throw new InvalidArgumentError(`${source}: realm must be printable ASCII without quotes`)
  const users = v.users ?? []
  const tokens = v.tokens ?? []
  if (!Array.isArray(users) || !Array.isArray(tokens)) throw new InvalidArgumentError(`${source}: users and tokens must be arrays`)
  const config: Required<AuthConfig> = { realm, users: [], tokens: [] }
  const seen = new Set<string>()
  users.forEach((u: any, i: number) => {
    const where = `${source}: users[${i}]`
    if (typeof u?.username !== 'string' || u.username === '' || u.username.includes(':')) throw new InvalidArgumentError(`${where}: username must be a non-empty string without ':'`)
    if (seen.has(u.username)) throw new InvalidArgumentError(`${where}: duplicate username ${JSON.stringify(u.username)}`)
    seen.add(u.username)
    if (typeof u.password !== 'string' || !HASH_RE.test(u.password)) throw new InvalidArgumentError(`${where}: password must be a hash made by \`tessera serve --hash-password\` (scrypt$N$r$p$salt$key)`)
    config.users.push({ username: u.username, password: u.password, access: checkAccess(u.access, where) })
  })
  tokens.forEach((t: any, i: number) => {
    const where = `${source}: tokens[${i}]`
    if (typeof t?.sha256 !== 'string' || !/^[0-9a-f]{64}$/.test(t.sha256)) throw new InvalidArgumentError(`${where}: sha256 must be the 64 lowercase hex digits of the token's sha256`)
    if (t.name !== undefined && typeof t.name !== 'string') throw new InvalidArgumentError(`${where}: name must be a string`)
    config.tokens.push({ name: t.name ?? `token ${i}`, sha256: t.sha256, access: checkAccess(t.access, where) })
  })
  if (config.users.length === 0 && config.tokens.length === 0) throw new InvalidArgumentError(`${source}: no users and no tokens: nobody could log in`)
  return config
}

/** Read and check an auth configuration file. */
export async function loadAuthConfig (file: string): Promise<Required<AuthConfig>> {
  let text
  try {
    text = await readFile(file, 'utf8')
  } catch (err) {
    throw new InvalidArgumentError(`cannot read the auth file ${file}: ${(err as Error).message}`, { cause: err })
  }
  let value
  try {
    value = JSON.parse(text)
  } catch (err) {
    throw new InvalidArgumentError(`the auth file ${file} is not valid JSON: ${(err as Error).message}`, { cause: err })
  }
  return parseAuthConfig(value, file)
}

/** Successful verifications kept this long, so a client's many requests cost one scrypt. */
const CACHE_TTL_MS = 5 * 60 * 1000
const CACHE_MAX = 1024

/** Checks the `Authorization` header of requests against an {@link AuthConfig}. */
export class Authenticator {
  readonly #config: Required<AuthConfig>
  readonly #challenges: string[]
  readonly #cache = new Map<string, { principal: Principal, expires: number }>()

  constructor (config: AuthConfig) {
    this.#config = parseAuthConfig(config)
    this.#challenges = []
    if (this.#config.users.length > 0) this.#challenges.push(`Basic realm="${this.#config.realm}"`)
    if (this.#config.tokens.length > 0) this.#challenges.push(`Bearer realm="${this.#config.realm}"`)
  }

  /**
   * The principal of a request with this `Authorization` header, allowed to
   * `write` or not. Throws 401 `UNAUTHORIZED` (with the challenges) when
   * the credentials are missing or wrong, 403 `DENIED` when a pull-only
   * principal writes.
   */
  async authenticate (authorization: string | undefined, write: boolean): Promise<Principal> {
    const principal = authorization === undefined ? undefined : await this.#verify(authorization)
    if (principal === undefined) {
      throw new RegistryHttpError('UNAUTHORIZED', authorization === undefined ? 'authentication required' : 'invalid credentials', { headers: { 'www-authenticate': this.#challenges } })
    }
    if (write && principal.access !== 'push') throw new RegistryHttpError('DENIED', `${principal.name} may only pull`)
    return principal
  }

  async #verify (authorization: string): Promise<Principal | undefined> {
    const key = createHash('sha256').update(authorization).digest('hex')
    const cached = this.#cache.get(key)
    const now = Date.now()
    if (cached !== undefined && cached.expires > now) return cached.principal
    this.#cache.delete(key)
    const principal = await this.#check(authorization)
    if (principal !== undefined) {
      if (this.#cache.size >= CACHE_MAX) this.#cache.delete(this.#cache.keys().next().value!)
      this.#cache.set(key, { principal, expires: now + CACHE_TTL_MS })
    }
    return principal
  }

  async #check (authorization: string): Promise<Principal | undefined> {
    const m = /^(Basic|Bearer) +([^ ]+) *$/i.exec(authorization)
    if (m === null) return undefined
    if (m[1]!.toLowerCase() === 'bearer') {
      const hash = createHash('sha256').update(m[2]!).digest()
      for (const t of this.#config.tokens) {
        if (timingSafeEqual(hash, Buffer.from(t.sha256, 'hex'))) return { name: t.name!, access: t.access ?? 'push' }
      }
      return undefined
    }
    const decoded = Buffer.from(m[2]!, 'base64').toString('utf8')
    const colon = decoded.indexOf(':')
    if (colon < 0) return undefined
    const user = this.#config.users.find((u) => u.username === decoded.slice(0, colon))
    if (user === undefined) return undefined
    return await verifyPassword(decoded.slice(colon + 1), user.password) ? { name: user.username, access: user.access ?? 'push' } : undefined
  }
}
