/**
 * `tessera ls NAME [PATH]`: the entries of a directory of a snapshot, or
 * the one entry at PATH when it is not a directory.
 *
 * @module
 */
import type { Entry } from '../../format/entry.js'
import { defineCommand, JSON_OPTION } from '../command.js'
import { entryJson, entryLine, withLinkTarget } from '../entry-format.js'
import { json, out } from '../output.js'
import { REMOTE_READ_OPTIONS } from '../remote.js'
import { openSnapshot, snapshotPath } from '../snapshot-arg.js'

export const lsCommand = defineCommand({
  name: 'ls',
  summary: 'list a directory of a snapshot',
  usage: ['ls NAME [PATH] [--json]'],
  description: 'List the directory PATH (default: the root) of snapshot NAME, or describe the entry at PATH.\n' +
    'Hard links show the mode, owner, size and time of the inode they share.',
  operands: [1, 2],
  store: 'existing',
  snapshotOperands: true,
  options: { json: JSON_OPTION, ...REMOTE_READ_OPTIONS },
  async run (context) {
    const reader = await openSnapshot(context, context.operands[0]!)
    const entry = await reader.stat(snapshotPath(context.operands[1]))
    const entries = entry.kind === 'dir' ? await reader.readTree(entry.tree) : [entry as Entry]
    const shown = await Promise.all(entries.map(async (e) => await withLinkTarget(reader, e)))
    if (context.options.json) json(shown.map(entryJson))
    else for (const e of shown) out(entryLine(e))
    return 0
  }
})
