/**
 * `tessera gc`: delete every object no name reaches, then reclaim pack
 * space; prints the bytes freed.
 *
 * @module
 */
import { defineCommand, JSON_OPTION } from '../command.js'
import { json, out } from '../output.js'
import { formatBytes, ProgressLine } from '../progress.js'

export const gcCommand = defineCommand({
  name: 'gc',
  summary: 'delete what no name reaches; prints the bytes freed',
  usage: ['gc [--json]'],
  description: 'Delete every chunk, tree and snapshot object no name reaches, rewrite or delete pack files that\n' +
    'hold them, then compact the store. Refuses to run (ERR_STORE_INCONSISTENT) when something reachable\n' +
    'is missing or corrupt: run fsck.',
  operands: [0, 0],
  store: 'existing',
  options: { json: JSON_OPTION },
  async run (context) {
    // The registry's root provider registers itself as it loads: gc keeps what `serve` stored.
    const [{ gc }, store] = await Promise.all([import('../../maintenance/gc.js'), context.store(), import('../../registry/backend/gc-roots.js')])
    const progress = new ProgressLine('gc', context.interactive, 'objects')
    try {
      const result = await gc(store, { onProgress: (p) => progress.update({ files: p.objects, bytes: p.bytes }) })
      progress.done()
      if (context.options.json) {
        json(result)
      } else {
        const d = result.deleted
        out(`freed ${formatBytes(result.bytesFreed)} (${result.bytesFreed} bytes): deleted ${d.chunks} chunks, ${d.trees} trees, ${d.snapshots} snapshots`)
        const p = result.packs
        if (p.deleted + p.rewritten > 0) out(`packs: deleted ${p.deleted}, rewrote ${p.rewritten} (moved ${p.chunksMoved} chunks), ${formatBytes(p.bytesFreed)} of pack files freed`)
      }
      return 0
    } finally {
      progress.done()
    }
  }
})
