/**
 * `tessera export NAME TARGET`: a snapshot written as a directory, a tar
 * stream (a new file, or stdout when it is not a terminal) or an image in
 * an OCI layout.
 *
 * @module
 */
import { InvalidArgumentError } from '../../errors.js'
import { defineCommand, JSON_OPTION } from '../command.js'
import { parseLocation } from '../location.js'
import { json, out, toStdout, warn } from '../output.js'
import { ProgressLine } from '../progress.js'
import { REMOTE_READ_OPTIONS } from '../remote.js'
import { openSnapshot } from '../snapshot-arg.js'

export const exportCommand = defineCommand({
  name: 'export',
  summary: 'write a snapshot as a directory, a tar stream or an OCI image',
  usage: [
    'export NAME dir:PATH [--devices] [--json]',
    'export NAME tar:PATH|tar:-',
    'export NAME oci:PATH[:TAG] [--compression gzip|zstd|none] [--json]'
  ],
  description: 'Write snapshot NAME to TARGET: a directory that is absent or empty (owners restored when run as root),\n' +
    'a new tar file or stdout (tar:-, refused when stdout is a terminal), or an image with one flattened layer\n' +
    'in an OCI layout (created, or added to; default tag latest).',
  operands: [2, 2],
  store: 'existing',
  snapshotOperands: true,
  options: {
    devices: { type: 'boolean', help: 'dir: only: create device nodes (skipped with a warning otherwise)' },
    compression: { type: 'string', value: 'KIND', choices: ['gzip', 'zstd', 'none'], help: 'oci: only: the layer\'s compression (default gzip)' },
    json: JSON_OPTION,
    ...REMOTE_READ_OPTIONS
  },
  async run (context) {
    const { options } = context
    const [ref, spec] = context.operands as [string, string]
    const target = parseLocation(spec, ['dir', 'tar', 'oci'], 'target')
    const toStdoutStream = target.kind === 'tar' && target.path === '-'
    if (toStdoutStream && process.stdout.isTTY === true) throw new InvalidArgumentError('refusing to write a tar stream to a terminal: redirect stdout, or give tar:PATH')
    if (options.compression !== undefined && target.kind !== 'oci') throw new InvalidArgumentError('--compression applies to oci: targets only')
    if (options.devices && target.kind !== 'dir') throw new InvalidArgumentError('--devices applies to dir: targets only')
    const reader = await openSnapshot(context, ref)
    const progress = new ProgressLine(`exporting ${ref}`, context.interactive && !toStdoutStream)
    try {
      if (target.kind === 'oci') {
        const [{ exportOciLayout }, { parseImageLocation }] = await Promise.all([import('../../oci/export-layout.js'), import('../../oci/reference.js')])
        const location = parseImageLocation(spec)
        const done = await exportOciLayout(reader, location.path, {
          ...(location.reference !== undefined ? { tag: location.reference } : {}),
          compression: (options.compression ?? 'gzip') as 'gzip' | 'zstd' | 'none',
          onProgress: (p) => progress.update(p),
          onWarning: warn
        })
        progress.done()
        if (options.json) json({ name: ref, snapshot: reader.digest, layout: location.path, tag: done.tag, manifest: done.manifest.digest, config: done.config.digest, layer: done.layer.digest, diffId: done.diffId })
        else out(`exported ${ref} to ${location.path}:${done.tag} (manifest ${done.manifest.digest})`)
      } else if (target.kind === 'dir') {
        const { exportDirectory } = await import('../../exporter/directory.js')
        const done = await exportDirectory(reader, target.path, {
          devices: options.devices,
          onProgress: (p) => progress.update(p),
          onWarning: warn
        })
        progress.done()
        if (options.json) json({ name: ref, snapshot: reader.digest, target: target.path, ...done })
      } else {
        const { exportTar } = await import('../../exporter/tar.js')
        const stream = exportTar(reader, { onWarning: warn, onProgress: (p) => progress.update(p) })
        if (toStdoutStream) {
          await toStdout(stream)
        } else {
          const { writeNewFile } = await import('../new-file.js')
          await writeNewFile(target.path, stream)
        }
      }
      return 0
    } finally {
      progress.done()
    }
  }
})
