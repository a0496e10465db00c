/**
 * The snapshot and path operands of the read commands, resolved in one
 * place. A snapshot operand is, in this order:
 *
 * 1. a full snapshot digest (`sha256:` and 64 hex digits);
 * 2. a snapshot name (a ref);
 * 3. a unique prefix of the digest of a named snapshot, as `tessera
 *    snapshots` prints it (`sha256:3f1c0a9be2d4`, any number of digits
 *    after `sha256:`; or the hex digits alone, at least 4): `ERR_AMBIGUOUS_SNAPSHOT` when it matches several
 *    snapshots, `ERR_NOT_FOUND` when none.
 *
 * 4. `docker://HOST[:PORT]/REPO[:TAG|@DIGEST]`, an image in a registry,
 *    read remotely (`./remote.ts`): only the metadata and the chunks read
 *    are fetched, and kept in the store (created if missing) unless
 *    `--no-cache`.
 *
 * @module
 */
import { AmbiguousSnapshotError, NotFoundError } from '../errors.js'
import type { SnapshotReader } from '../exporter/snapshot-reader.js'
import type { RefReader } from '../store/index.js'
import type { CommandContext } from './command.js'
import { isRemoteOperand } from './remote.js'

const FULL_DIGEST = /^sha256:[0-9a-f]{64}$/
const PREFIX = /^(?:sha256:([0-9a-f]{1,63})|([0-9a-f]{4,63}))$/

/** What a snapshot operand names: a ref name or a full snapshot digest. */
export type SnapshotSelector = { name: string } | { digest: string }

/** Resolve a snapshot operand against the store's refs (see the module doc for the rules). */
export async function resolveSnapshot (refs: RefReader, operand: string): Promise<SnapshotSelector> {
  if (FULL_DIGEST.test(operand)) return { digest: operand }
  if (await refs.getRef(operand) !== undefined) return { name: operand }
  const match = PREFIX.exec(operand)
  const prefix = match?.[1] ?? match?.[2]
  if (prefix === undefined) throw new NotFoundError(`no snapshot named ${JSON.stringify(operand)}`)
  const { digestToString } = await import('../hash/digest.js')
  const matches = new Map<string, string[]>()
  for await (const [name, ref] of refs.listRefs()) {
    const digest = digestToString(ref.snapshot)
    if (!digest.startsWith(`sha256:${prefix}`)) continue
    matches.set(digest, [...matches.get(digest) ?? [], name])
  }
  if (matches.size === 0) throw new NotFoundError(`no snapshot named ${JSON.stringify(operand)}, and no named snapshot's digest starts with ${prefix}`)
  if (matches.size > 1) {
    const list = [...matches].map(([digest, names]) => `${digest.slice(0, 23)}… (${names.join(', ')})`).join(', ')
    throw new AmbiguousSnapshotError(`${JSON.stringify(operand)} is the start of ${matches.size} snapshot digests: ${list}; give more digits`)
  }
  const [digest, names] = [...matches][0]!
  // One snapshot: open it by its name when only one name points at it (the reader then carries the name).
  return names.length === 1 ? { name: names[0]! } : { digest }
}

/** Open the snapshot a command's operand names. */
export async function openSnapshot (context: CommandContext<any>, operand: string): Promise<SnapshotReader> {
  if (isRemoteOperand(operand)) return await (await import('./remote.js')).openRemoteSnapshot(context, operand)
  const [{ SnapshotReader }, store] = await Promise.all([import('../exporter/snapshot-reader.js'), context.store()])
  const selected = await resolveSnapshot(store, operand)
  return await SnapshotReader.open(store, 'name' in selected ? selected.name : selected.digest)
}

/**
 * A path operand inside a snapshot, as the user typed it: `./etc/x`,
 * `etc/x` and `/etc/x` are the same path, `.` and `/` the root; `.`
 * components are dropped (`..` is refused by the reader).
 */
export function snapshotPath (operand: string | undefined): string {
  if (operand === undefined) return ''
  return operand.split('/').filter((name) => name !== '.' && name !== '').join('/')
}
