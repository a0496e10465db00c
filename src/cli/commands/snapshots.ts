/**
 * `tessera snapshots`: the named snapshots. A snapshot object that cannot
 * be read (corrupt, missing) is listed with its error, the others as
 * usual, and the exit status is 1.
 *
 * @module
 */
import { digestToString } from '../../hash/digest.js'
import { defineCommand, JSON_OPTION } from '../command.js'
import { json, out } from '../output.js'
import { formatBytes } from '../progress.js'

/** A row of the listing (`snapshots --json` prints an array of them). */
interface Row {
  name: string
  snapshot: string
  root?: string
  files: number
  logicalBytes: number
  created: string
  /** Why the snapshot object could not be read. */
  error?: { code: string, message: string }
}

const errorOf = (err: unknown): { code: string, message: string } => {
  const code = (err as { code?: unknown }).code
  return { code: typeof code === 'string' ? code : 'ERR_INTERNAL', message: err instanceof Error ? err.message : String(err) }
}

export const snapshotsCommand = defineCommand({
  name: 'snapshots',
  summary: 'list the named snapshots',
  usage: ['snapshots [--json]'],
  description: 'List the named snapshots: name, snapshot digest (a unique prefix of it names the snapshot in\n' +
    'other commands), root digest, entries, bytes, creation time. A snapshot that cannot be read is listed\n' +
    'with its error, and the exit status is 1 (run `tessera fsck`).',
  operands: [0, 0],
  store: 'existing',
  options: { json: JSON_OPTION },
  async run (context) {
    const [store, { SnapshotReader }] = await Promise.all([context.store(), import('../../exporter/snapshot-reader.js')])
    const rows: Row[] = []
    for await (const [name, ref] of store.listRefs()) {
      const row: Row = {
        name,
        snapshot: digestToString(ref.snapshot),
        files: ref.files,
        logicalBytes: ref.logicalBytes,
        created: new Date(Number(ref.createdNs / 1_000_000n)).toISOString()
      }
      try {
        row.root = (await SnapshotReader.open(store, row.snapshot)).root
      } catch (err) {
        row.error = errorOf(err)
      }
      rows.push(row)
    }
    if (context.options.json) {
      json(rows)
    } else {
      for (const r of rows) {
        const root = r.root !== undefined ? r.root.slice(0, 19) : 'unreadable'.padEnd(19)
        const error = r.error !== undefined ? `  ${r.error.code}: ${r.error.message}` : ''
        out(`${r.name.padEnd(24)} ${r.snapshot.slice(0, 19)}  root ${root}  ${String(r.files).padStart(8)} entries  ${formatBytes(r.logicalBytes).padStart(10)}  ${r.created}${error}`)
      }
    }
    const bad = rows.filter((r) => r.error !== undefined)
    if (bad.length > 0) process.stderr.write(`tessera: ${bad[0]!.error!.code}: ${bad.length} of ${rows.length} snapshots cannot be read (${bad.map((r) => r.name).join(', ')}); run tessera fsck\n`)
    return bad.length > 0 ? 1 : 0
  }
})
