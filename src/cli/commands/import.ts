/**
 * `tessera import SOURCE --name NAME`: a directory, one tar layer, an OCI
 * layout or a docker archive, committed as one snapshot. Each source
 * kind loads only its own modules (a directory import, run once per image
 * in a benchmark, does not pay for the OCI code). SIGINT aborts the
 * import: one line says nothing was committed, and the exit status is 130.
 *
 * @module
 */
import { InvalidArgumentError } from '../../errors.js'
import type { ImportResult } from '../../importer/commit.js'
import type { MtimePolicy } from '../../format/mtime.js'
import { defineCommand, JSON_OPTION } from '../command.js'
import { parseLocation } from '../location.js'
import { json, out, warn } from '../output.js'
import { formatBytes, ProgressLine } from '../progress.js'
import { isRemoteOperand, REGISTRY_OPTIONS, refuseUnusedRemoteOptions } from '../remote.js'

/** Import sources the CLI accepts. */
export const IMPORT_KINDS = ['dir', 'tar', 'oci', 'docker-archive'] as const

/** The exit status of a command stopped by SIGINT (128 + 2, as shells report it). */
export const INTERRUPTED_STATUS = 130

function mtimePolicy (raw: string | undefined): MtimePolicy | undefined {
  if (raw === undefined) return undefined
  if (raw === 'keep' || raw === 'zero') return raw
  if (/^\d+$/.test(raw)) return Number(raw)
  throw new InvalidArgumentError(`--mtime takes keep, zero or a number of seconds, got ${JSON.stringify(raw)}`)
}

const chunkOption = (what: string): { type: 'integer', value: 'N', help: string } => ({ type: 'integer', value: 'N', help: `${what} (bytes; docs/FORMAT.md has the defaults and bounds)` })

export const importCommand = defineCommand({
  name: 'import',
  summary: 'import a directory, a tar layer, an OCI layout or a docker archive as a snapshot',
  usage: [
    'import dir:PATH --name NAME [--replace] [--mtime keep|zero|SECONDS] [--json]',
    'import tar:PATH --name NAME [--base NAME] [--tar-dialect go|gnu]',
    'import oci:PATH[:TAG] --name NAME [--platform OS/ARCH[/VARIANT]]',
    'import docker-archive:PATH[:REF] --name NAME',
    'import docker://HOST[:PORT]/REPO[:TAG|@DIGEST] --name NAME [--tls-verify=false] [--creds USER:PASS] (as tessera pull)'
  ],
  description: 'Import SOURCE as snapshot NAME. tar: is one layer (tar, tar.gz or tar.zst, told by its magic bytes),\n' +
    'applied on an empty rootfs or on snapshot --base, read as the container runtimes read layers (Go\'s archive/tar)\n' +
    'unless --tar-dialect gnu reads it as GNU tar does (PAX global headers then apply). Nothing is committed unless the whole import succeeds;\n' +
    'SIGINT stops it (exit status 130).',
  operands: [1, 1],
  store: 'create',
  options: {
    name: { type: 'string', value: 'NAME', required: true, help: 'the snapshot name to commit (required)' },
    replace: { type: 'boolean', help: 're-point NAME if it exists' },
    mtime: { type: 'string', value: 'keep|zero|SECONDS', help: 'file times: kept, zero, or a fixed time such as $SOURCE_DATE_EPOCH' },
    base: { type: 'string', value: 'NAME', help: 'tar: only: apply the layer on top of this snapshot (a name, digest or unique digest prefix)' },
    'tar-dialect': { type: 'string', value: 'go|gnu', help: 'tar: only: read the tar as Go\'s archive/tar (default, as the runtimes) or GNU tar does' },
    platform: { type: 'string', value: 'OS/ARCH[/VARIANT]', help: 'oci: only: the image of this platform (default: this machine\'s)' },
    'chunk-min': chunkOption('smallest chunk'),
    'chunk-avg': chunkOption('average chunk'),
    'chunk-max': chunkOption('largest chunk'),
    'inline-max': chunkOption('files up to this size are kept inline in their tree'),
    ...REGISTRY_OPTIONS,
    json: JSON_OPTION
  },
  async run (context) {
    const { options } = context
    const spec = context.operands[0]!
    if (isRemoteOperand(spec)) {
      for (const flag of ['mtime', 'base', 'tar-dialect', 'chunk-min', 'chunk-avg', 'chunk-max', 'inline-max'] as const) {
        if (options[flag] !== undefined) throw new InvalidArgumentError(`--${flag} does not apply to docker:// (an image is pulled as it is)`)
      }
      const { pull } = await import('./pull.js')
      return await pull(context, spec)
    }
    const source = parseLocation(spec, IMPORT_KINDS, 'source')
    refuseUnusedRemoteOptions(options, [spec])
    // Required (`main` refuses a command line without it); a bad name is refused before anything is read.
    const name = options.name!
    ;(await import('../../format/ref.js')).assertRefName(name)
    if (options.platform !== undefined && source.kind !== 'oci') throw new InvalidArgumentError('--platform applies to oci: layouts only')
    if (options.base !== undefined && source.kind !== 'tar') throw new InvalidArgumentError('--base applies to tar: layers only')
    const dialect = options['tar-dialect']
    if (dialect !== undefined && source.kind !== 'tar') throw new InvalidArgumentError('--tar-dialect applies to tar: layers only (image layers are read as the runtimes read them)')
    if (dialect !== undefined && dialect !== 'go' && dialect !== 'gnu') throw new InvalidArgumentError(`--tar-dialect takes go or gnu, got ${JSON.stringify(dialect)}`)
    const mtime = mtimePolicy(options.mtime)
    const params: Record<string, number> = {}
    for (const [flag, field] of [['chunk-min', 'min'], ['chunk-avg', 'avg'], ['chunk-max', 'max'], ['inline-max', 'inlineMax']] as const) {
      const v = options[flag]
      if (v !== undefined) params[field] = v
    }
    const store = await context.store()
    const progress = new ProgressLine(`importing ${name}`, context.interactive)
    const interrupt = new AbortController()
    const onSigint = (): void => { interrupt.abort() }
    // Only the first SIGINT is caught: a second one ends the process at once.
    process.once('SIGINT', onSigint)
    const started = Date.now()
    const common = {
      name,
      replace: options.replace,
      params,
      ...(mtime !== undefined ? { mtime } : {}),
      signal: interrupt.signal,
      onProgress: (p: { files: number, bytes: number }) => progress.update(p),
      onWarning: warn
    }
    let result: ImportResult
    try {
      switch (source.kind) {
        case 'dir': {
          const { importDirectory } = await import('../../importer/directory.js')
          result = await importDirectory(store, source.path, common)
          break
        }
        case 'tar': {
          const [{ importLayerFile }, { resolveSnapshot }] = await Promise.all([import('../../importer/layer-file.js'), import('../snapshot-arg.js')])
          // --base is a snapshot operand like any other: a name, a digest or a unique digest prefix.
          const base = options.base !== undefined ? await resolveSnapshot(store, options.base) : undefined
          const baseOption = base === undefined ? {} : { base: 'name' in base ? base.name : base.digest }
          result = await importLayerFile(store, source.path, { ...common, ...baseOption, ...(dialect !== undefined ? { dialect } : {}) })
          break
        }
        default: {
          const [{ importImage }, { openOciLayout }, { openDockerArchive }, { parseImageLocation }] = await Promise.all([
            import('../../oci/import.js'), import('../../oci/layout-source.js'), import('../../oci/docker-archive-source.js'), import('../../oci/reference.js')
          ])
          const location = parseImageLocation(spec)
          const reference = location.reference !== undefined ? { reference: location.reference } : {}
          const image = location.transport === 'oci'
            ? await openOciLayout(location.path, { ...reference, ...(options.platform !== undefined ? { platform: options.platform } : {}) })
            : await openDockerArchive(location.path, reference)
          result = await importImage(store, image, common)
        }
      }
    } catch (err) {
      progress.done()
      // Whatever the import failed with once interrupted (an abort, or a
      // source cut short), it committed nothing.
      if (!interrupt.signal.aborted) throw err
      process.stderr.write('tessera: interrupted: nothing was committed\n')
      return INTERRUPTED_STATUS
    } finally {
      process.off('SIGINT', onSigint)
    }
    progress.done()
    const seconds = (Date.now() - started) / 1000
    if (options.json) {
      json({ ...result, seconds })
    } else {
      out(`imported ${name}: ${result.files} entries, ${formatBytes(result.logicalBytes)} in ${seconds.toFixed(1)} s (${result.newChunks} new chunks, ${formatBytes(result.newBytes)}${result.holeBytes > 0 ? `; ${formatBytes(result.holeBytes)} in holes` : ''})`)
      out(`snapshot ${result.snapshot}`)
      out(`root     ${result.root}`)
    }
    return 0
  }
})
