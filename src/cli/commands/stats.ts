/**
 * `tessera stats`: figures about the store.
 *
 * @module
 */
import { defineCommand, JSON_OPTION } from '../command.js'
import { json, out } from '../output.js'
import { formatBytes } from '../progress.js'

export const statsCommand = defineCommand({
  name: 'stats',
  summary: 'figures about the store: bytes named, stored, deduplicated',
  usage: ['stats [--json]'],
  operands: [0, 0],
  store: 'existing',
  options: { json: JSON_OPTION },
  async run (context) {
    const s = await (await context.store()).stats()
    if (context.options.json) {
      json(s)
    } else {
      out(`snapshots      ${s.snapshots}`)
      out(`logical bytes  ${formatBytes(s.logicalBytes)} (${s.logicalBytes})`)
      out(`unique chunks  ${s.chunks} (${formatBytes(s.chunkBytes)} uncompressed)`)
      out(`stored bytes   ${formatBytes(s.storedBytes)} (${s.storedBytes})`)
      out(`metadata       ${formatBytes(s.metadataBytes)} in ${s.metadataObjects} objects`)
      out(`dedup ratio    ${s.dedupRatio.toFixed(2)}x`)
    }
    return 0
  }
})
