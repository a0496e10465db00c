/**
 * Remote images on the command line: the registry options every command
 * that reaches a registry takes (skopeo's conventions: `--tls-verify`,
 * `--tls-verify=false`,
 * `--creds USER:PASS`, `--authfile PATH`), opening a repository from a
 * `docker://HOST[:PORT]/REPO[:TAG|@DIGEST]` operand, and opening such an
 * operand as a snapshot for the read commands (`ls`, `cat`, `stat`,
 * `diff`, `export`): a tessera image is read lazily, caching what it
 * fetches in the local store (created if missing) unless `--no-cache`; an
 * ordinary image is imported first (into the store, or into memory with
 * `--no-cache`), its snapshot left unnamed.
 *
 * @module
 */
import { credentialsProblem } from '../distribution/client/credentials.js'
import type { RegistryClientOptions, RegistryRepository } from '../distribution/client/types.js'
import { InvalidArgumentError, UsageError } from '../errors.js'
import type { SnapshotReader } from '../exporter/snapshot-reader.js'
import type { CommandContext, OptionTable } from './command.js'

/** The prefix of a remote operand. */
export const REMOTE_PREFIX = 'docker://'

/** Whether an operand names a remote image. */
export function isRemoteOperand (operand: string): boolean {
  return operand.startsWith(REMOTE_PREFIX)
}

/** How to reach a registry (skopeo's options). */
export const REGISTRY_OPTIONS = {
  'tls-verify': { type: 'optional-boolean', help: 'require HTTPS and verify certificates (default true); =false allows plain HTTP and unverified TLS' },
  creds: { type: 'string', value: 'USER:PASS', help: 'credentials for the registry (default: the auth file)' },
  authfile: { type: 'string', value: 'PATH', help: 'the auth file (default: $REGISTRY_AUTH_FILE, $XDG_RUNTIME_DIR/containers/auth.json, ~/.docker/config.json)' }
} as const satisfies OptionTable

/** The options of a read command for `docker://` operands. */
export const REMOTE_READ_OPTIONS = {
  ...REGISTRY_OPTIONS,
  'no-cache': { type: 'boolean', help: 'docker:// operands: read without keeping what is fetched in the local store' }
} as const satisfies OptionTable

/**
 * Refuse the options of {@link REMOTE_READ_OPTIONS} (`--tls-verify`,
 * `--creds`, `--authfile`, `--no-cache`) when none of `operands` is a
 * `docker://` image: there they would do nothing (`ERR_INVALID_ARGUMENT`,
 * as every option the operands give no meaning).
 */
export function refuseUnusedRemoteOptions (options: Record<string, unknown>, operands: readonly string[]): void {
  if (operands.some(isRemoteOperand)) return
  for (const [name, spec] of Object.entries(REMOTE_READ_OPTIONS)) {
    // A flag is false when absent; the others are undefined.
    const given = spec.type === 'boolean' ? options[name] === true : options[name] !== undefined
    if (given) throw new InvalidArgumentError(`--${name} applies to docker:// operands only`)
  }
}

/**
 * The client options the registry options ask for.
 *
 * @throws {@link UsageError} for a `--creds` that is not `USER:PASS` (a
 *   password without its colon would be taken for a user name)
 */
export function clientOptions (options: Record<string, unknown>): RegistryClientOptions {
  const out: RegistryClientOptions = {}
  if (options['tls-verify'] === false) out.tlsVerify = false
  if (typeof options.creds === 'string') {
    const problem = credentialsProblem(options.creds)
    if (problem !== undefined) throw new UsageError(`--creds ${problem}`)
    out.credentials = options.creds
  }
  if (typeof options.authfile === 'string') out.authFile = options.authfile
  return out
}

/** Open the repository a `docker://` operand names. */
export async function openRemote (options: Record<string, unknown>, operand: string): Promise<RegistryRepository> {
  const { openRepository } = await import('../distribution/client/index.js')
  return openRepository(operand, clientOptions(options))
}

/** Open a `docker://` operand as a snapshot (see the module doc). */
export async function openRemoteSnapshot (context: CommandContext<any>, operand: string): Promise<SnapshotReader> {
  const [{ SnapshotReader }, { RemoteSnapshot, NotTesseraImageError }] = await Promise.all([
    import('../exporter/snapshot-reader.js'), import('../distribution/index.js')
  ])
  const noCache = context.options['no-cache'] === true
  const repository = await openRemote(context.options, operand)
  const cache = noCache ? undefined : await context.store(true)
  try {
    const remote = await RemoteSnapshot.open(repository, cache !== undefined ? { cache } : {})
    return await SnapshotReader.open(remote, remote.snapshotDigest)
  } catch (err) {
    if (!(err instanceof NotTesseraImageError)) throw err
  }
  const { importRemoteImage } = await import('../distribution/import-remote.js')
  const target = cache ?? await (await import('../store/open.js')).openMemoryStore()
  return await importRemoteImage(target, repository)
}
