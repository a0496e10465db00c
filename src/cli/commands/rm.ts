/**
 * `tessera rm NAME...`: remove snapshot names; their objects stay until
 * `gc`.
 *
 * @module
 */
import { NotFoundError } from '../../errors.js'
import { defineCommand, JSON_OPTION } from '../command.js'
import { json, out } from '../output.js'

export const rmCommand = defineCommand({
  name: 'rm',
  summary: 'remove snapshot names (their objects stay until gc)',
  usage: ['rm NAME... [--json]'],
  description: 'Remove the snapshot names NAME... (ERR_NOT_FOUND if one does not exist). Their objects stay until gc.',
  operands: [1],
  store: 'existing',
  options: { json: JSON_OPTION },
  async run (context) {
    const store = await context.store()
    for (const name of context.operands) {
      if (!await store.deleteRef(name)) throw new NotFoundError(`no snapshot named ${JSON.stringify(name)}`)
      if (!context.options.json) out(`removed ${name}`)
    }
    if (context.options.json) json({ removed: context.operands })
    return 0
  }
})
