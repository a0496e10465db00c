/**
 * `tessera cat NAME PATH`: a file of a snapshot, or a byte range of it, on
 * stdout. Only the chunks that cover the range are read.
 *
 * @module
 */
import { defineCommand } from '../command.js'
import { toStdout } from '../output.js'
import { REMOTE_READ_OPTIONS } from '../remote.js'
import { openSnapshot, snapshotPath } from '../snapshot-arg.js'

export const catCommand = defineCommand({
  name: 'cat',
  summary: 'write a file of a snapshot, or a byte range of it, to stdout',
  usage: ['cat NAME PATH [--offset N] [--length N]'],
  description: 'Write the regular file PATH of snapshot NAME (a hard link is followed, a symlink is not) to stdout.\n' +
    'Only the chunks that cover the range are read.',
  operands: [2, 2],
  store: 'existing',
  snapshotOperands: true,
  options: {
    offset: { type: 'integer', value: 'N', help: 'first byte to write (default 0)' },
    length: { type: 'integer', value: 'N', help: 'bytes to write (default: to the end of the file)' },
    ...REMOTE_READ_OPTIONS
  },
  async run (context) {
    const { offset, length } = context.options
    const reader = await openSnapshot(context, context.operands[0]!)
    const entry = await reader.statFile(snapshotPath(context.operands[1]))
    await toStdout(reader.readFile(entry, { ...(offset !== undefined ? { offset } : {}), ...(length !== undefined ? { length } : {}) }))
    return 0
  }
})
