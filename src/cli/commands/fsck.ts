/**
 * `tessera fsck`: re-read and verify every object; exit status 1 while a
 * problem is left.
 *
 * @module
 */
import { defineCommand, JSON_OPTION } from '../command.js'
import { json, out } from '../output.js'
import { formatBytes, ProgressLine } from '../progress.js'

export const fsckCommand = defineCommand({
  name: 'fsck',
  summary: 'verify every object; exit status 1 on a problem',
  usage: ['fsck [--repair] [--json]'],
  description: 'Re-read and verify every object, ref, the chunk index and the counters; print one line per\n' +
    'problem (problem KIND: OBJECT: message) and exit 1 if any is left. Objects no name reaches are counted,\n' +
    'not problems. --repair deletes refs and objects that do not verify and rebuilds the index and counters;\n' +
    'it never deletes intact data. A snapshot left lacking an object is reported damaged (ref and digest)\n' +
    'and the exit status stays 1 until its content is imported again.',
  operands: [0, 0],
  store: 'existing',
  options: {
    repair: { type: 'boolean', help: 'repair what can be repaired without losing intact data' },
    json: JSON_OPTION
  },
  async run (context) {
    const [{ fsck }, store] = await Promise.all([import('../../maintenance/fsck.js'), context.store(), import('../../registry/backend/gc-roots.js')])
    const progress = new ProgressLine('fsck', context.interactive, 'objects')
    try {
      const report = await fsck(store, { repair: context.options.repair, onProgress: (p) => progress.update({ files: p.objects, bytes: p.bytes }) })
      progress.done()
      if (context.options.json) {
        json(report)
      } else {
        for (const p of report.problems) out(`${p.repaired ? 'repaired' : 'problem'} ${p.kind}: ${p.object}: ${p.message}`)
        const o = report.objects
        const u = report.unreferenced
        out(`checked ${o.chunks} chunks, ${o.trees} trees, ${o.snapshots} snapshots, ${o.refs} refs (${formatBytes(report.bytesRead)} read)`)
        if (u.chunks + u.trees + u.snapshots > 0) out(`unreferenced (gc reclaims them): ${u.chunks} chunks, ${u.trees} trees, ${u.snapshots} snapshots`)
        if (report.packs.reclaimableBytes > 0) out(`packs: ${report.packs.files} files, ${formatBytes(report.packs.bytes)}, of which ${formatBytes(report.packs.reclaimableBytes)} no chunk uses (gc reclaims them)`)
        out(report.ok ? 'no problems' : `${report.problems.filter((p) => !p.repaired).length} problems`)
      }
      return report.ok ? 0 : 1
    } finally {
      progress.done()
    }
  }
})
