/**
 * `tessera diff NAME1 NAME2`: the paths added, removed and modified
 * between two snapshots. Exit status as diff(1)'s: 0 when they are equal,
 * 1 when they differ, 2 on an error.
 *
 * @module
 */
import { printable } from '../../format/names.js'
import { defineCommand, JSON_OPTION } from '../command.js'
import { json, out } from '../output.js'
import { REMOTE_READ_OPTIONS } from '../remote.js'
import { openSnapshot } from '../snapshot-arg.js'

export const diffCommand = defineCommand({
  name: 'diff',
  summary: 'paths added, removed and modified between two snapshots',
  usage: ['diff NAME1 NAME2 [--json]'],
  description: 'Print A (added), D (removed) and M (modified, with what changed: content, metadata, link, kind)\n' +
    'paths from NAME1 to NAME2. Subtrees with equal digests are skipped without being read.\n' +
    'Exit status: 0 when the snapshots are equal, 1 when they differ, 2 on an error (as diff(1)).',
  operands: [2, 2],
  store: 'existing',
  snapshotOperands: true,
  errorStatus: 2,
  options: { json: JSON_OPTION, ...REMOTE_READ_OPTIONS },
  async run (context) {
    const { diffSnapshots } = await import('../../exporter/diff.js')
    const [left, right] = context.operands as [string, string]
    const a = await openSnapshot(context, left)
    const b = await openSnapshot(context, right)
    const shown = (p: Uint8Array): string => p.length === 0 ? '/' : Buffer.from(p).toString('utf8')
    const result = { added: [] as unknown[], removed: [] as unknown[], modified: [] as unknown[] }
    let differences = 0
    for await (const d of diffSnapshots(a, b)) {
      differences++
      if (context.options.json) {
        result[d.change].push({ path: shown(d.path), kind: d.kind, ...(d.change === 'modified' ? { changes: d.aspects } : {}) })
      } else {
        const tag = d.change === 'added' ? 'A' : d.change === 'removed' ? 'D' : 'M'
        const label = d.path.length === 0 ? '/' : printable(d.path).slice(1, -1)
        out(`${tag} ${label}${d.kind === 'dir' && d.path.length > 0 ? '/' : ''}${d.change === 'modified' ? `  (${d.aspects.join(', ')})` : ''}`)
      }
    }
    if (context.options.json) json(result)
    return differences > 0 ? 1 : 0
  }
})
