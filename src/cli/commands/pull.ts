/**
 * `tessera pull docker://HOST[:PORT]/REPO[:TAG|@DIGEST] --name NAME`: an
 * image into the store. A tessera image is pulled by its metadata and only
 * the chunks the store lacks; an ordinary image by its layers, imported as
 * `import oci:` imports it. The name is committed last: an interrupted
 * pull (SIGINT, exit status 130) commits nothing, and a rerun fetches only
 * what is still missing.
 *
 * @module
 */
import { InvalidArgumentError } from '../../errors.js'
import { type CommandContext, defineCommand, JSON_OPTION } from '../command.js'
import { interruptible, INTERRUPTED_STATUS } from '../interrupt.js'
import { json, out, warn } from '../output.js'
import { formatBytes, ProgressLine } from '../progress.js'
import { isRemoteOperand, openRemote, REGISTRY_OPTIONS, REMOTE_PREFIX } from '../remote.js'

export const pullCommand = defineCommand({
  name: 'pull',
  summary: 'pull an image from a registry as a snapshot',
  usage: ['pull docker://HOST[:PORT]/REPO[:TAG|@DIGEST] --name NAME [--replace] [--platform OS/ARCH[/VARIANT]] [--tls-verify=false] [--creds USER:PASS] [--json]'],
  description: 'Pull an image as snapshot NAME. A tessera image (or an image with a tessera referrer) is pulled by its metadata\n' +
    'and only the chunks the store lacks, each verified; an ordinary image by its layers, to the root `import oci:` gives.\n' +
    'NAME is committed last: an interrupted pull (SIGINT, exit status 130) commits nothing, and a rerun fetches only what is missing.',
  operands: [1, 1],
  store: 'create',
  options: {
    name: { type: 'string', value: 'NAME', required: true, help: 'the snapshot name to commit (required)' },
    replace: { type: 'boolean', help: 're-point NAME if it exists' },
    platform: { type: 'string', value: 'OS/ARCH[/VARIANT]', help: 'the image of this platform in an index (default: this machine\'s)' },
    ...REGISTRY_OPTIONS,
    json: JSON_OPTION
  },
  async run (context): Promise<number> {
    const { options } = context
    const source = context.operands[0]!
    if (!isRemoteOperand(source)) throw new InvalidArgumentError(`the source must be ${REMOTE_PREFIX}HOST[:PORT]/REPO[:TAG|@DIGEST], got ${JSON.stringify(source)}`)
    return await pull(context, source)
  }
})

/** Pull `source` as `--name` (also `import docker://…`). */
export async function pull (context: Pick<CommandContext<any>, 'options' | 'interactive' | 'store'>, source: string): Promise<number> {
  const options = context.options as Record<string, unknown>
  // Required (`main` refuses a command line without it); checked by the pull before anything is fetched.
  const name = options.name as string
  const { pullSnapshot } = await import('../../distribution/pull.js')
  const repository = await openRemote(options, source)
  const store = await context.store()
  const progress = new ProgressLine(`pulling ${name}`, context.interactive, 'chunks')
  const started = Date.now()
  const result = await interruptible(async (signal) => await pullSnapshot(store, repository, {
    name,
    replace: options.replace === true,
    ...(options.platform !== undefined ? { platform: options.platform as string } : {}),
    signal,
    onProgress: (p) => progress.update({
      files: p.chunks,
      bytes: p.bytes,
      ...(p.totalChunks !== undefined && p.totalBytes !== undefined ? { total: { files: p.totalChunks, bytes: p.totalBytes } } : {})
    }),
    onWarning: warn
  }), 'nothing was committed; pull again to fetch what is still missing')
  progress.done()
  if (result === undefined) return INTERRUPTED_STATUS
  const seconds = (Date.now() - started) / 1000
  if (options.json === true) {
    const { transfer, ...rest } = result
    json({ ...rest, requests: transfer.requests, bytesReceived: transfer.bytesReceived, bytesSent: transfer.bytesSent, seconds })
  } else {
    out(`pulled ${name} from ${source} (${result.kind === 'image' ? 'image layers' : result.image !== undefined ? `tessera form of image ${result.image}` : 'tessera image'}): ${result.files} entries, ${formatBytes(result.logicalBytes)}; fetched ${result.chunks} chunks (${formatBytes(result.chunkBytes)}), ${formatBytes(result.transfer.bytesReceived)} in ${result.transfer.requests} requests, ${seconds.toFixed(1)} s`)
    out(`snapshot ${result.snapshot}`)
    out(`root     ${result.root}`)
  }
  return 0
}
