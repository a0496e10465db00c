/**
 * `tessera stat NAME PATH`: one entry of a snapshot, described in full.
 *
 * @module
 */
import { defineCommand, JSON_OPTION } from '../command.js'
import { entryBlock, entryJson, withLinkTarget } from '../entry-format.js'
import { json, out } from '../output.js'
import { REMOTE_READ_OPTIONS } from '../remote.js'
import { openSnapshot, snapshotPath } from '../snapshot-arg.js'

export const statCommand = defineCommand({
  name: 'stat',
  summary: 'describe one entry of a snapshot',
  usage: ['stat NAME PATH [--json]'],
  description: 'Describe the entry at PATH of snapshot NAME: kind, mode, owner, size, time, link target, xattrs.\n' +
    'Symlinks are not followed; a hard link is shown with the inode it shares. --json prints the object\n' +
    '`ls --json` prints for the entry.',
  operands: [2, 2],
  store: 'existing',
  snapshotOperands: true,
  options: { json: JSON_OPTION, ...REMOTE_READ_OPTIONS },
  async run (context) {
    const reader = await openSnapshot(context, context.operands[0]!)
    const path = snapshotPath(context.operands[1])
    const shown = await withLinkTarget(reader, await reader.stat(path))
    if (context.options.json) json(entryJson(shown))
    else out(entryBlock(path, shown))
    return 0
  }
})
