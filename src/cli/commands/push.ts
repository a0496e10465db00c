/**
 * `tessera push NAME docker://HOST[:PORT]/REPO:TAG`: a snapshot to a
 * registry as a tessera image (docs/FORMAT.md §11). Only packs the
 * repository lacks are uploaded; the manifest goes last, so an
 * interrupted push leaves the tag as it was.
 *
 * @module
 */
import { InvalidArgumentError } from '../../errors.js'
import { defineCommand, JSON_OPTION } from '../command.js'
import { interruptible, INTERRUPTED_STATUS } from '../interrupt.js'
import { json, out, warn } from '../output.js'
import { formatBytes, ProgressLine } from '../progress.js'
import { isRemoteOperand, openRemote, REGISTRY_OPTIONS, REMOTE_PREFIX } from '../remote.js'
import { resolveSnapshot } from '../snapshot-arg.js'

export const pushCommand = defineCommand({
  name: 'push',
  summary: 'push a snapshot to a registry as a tessera image',
  usage: ['push NAME docker://HOST[:PORT]/REPO[:TAG] [--reuse REF[,REF...]] [--tls-verify=false] [--creds USER:PASS] [--json]'],
  description: 'Push snapshot NAME to a registry as a tessera image (docs/FORMAT.md §11), under TAG (default latest).\n' +
    'Packs the repository has (the image TAG names now, those of --reuse: tags or digests of REPO, or docker://\n' +
    'references to other repositories of the same registry, mounted from there; and those of the last 16 other tags of\n' +
    'REPO) are reused; only new packs are uploaded.\n' +
    'The manifest is written last: an interrupted push (SIGINT, exit status 130) leaves TAG as it was.',
  operands: [2, 2],
  store: 'existing',
  snapshotOperands: 'local',
  options: {
    reuse: { type: 'string', value: 'REF[,REF...]', help: 'images whose packs may be reused: TAG, sha256:DIGEST or docker://HOST/REPO:TAG' },
    ...REGISTRY_OPTIONS,
    json: JSON_OPTION
  },
  async run (context) {
    const { options } = context
    const [operand, target] = context.operands as [string, string]
    if (isRemoteOperand(operand)) throw new InvalidArgumentError(`push sends a snapshot of the store, got ${JSON.stringify(operand)}: pull it first, or copy it from registry to registry with skopeo copy`)
    if (!isRemoteOperand(target)) throw new InvalidArgumentError(`the target must be ${REMOTE_PREFIX}HOST[:PORT]/REPO[:TAG], got ${JSON.stringify(target)}`)
    const { pushSnapshot } = await import('../../distribution/push.js')
    const store = await context.store()
    const selected = await resolveSnapshot(store, operand)
    const repository = await openRemote(options, target)
    if (repository.reference.digest !== undefined) throw new InvalidArgumentError('a push writes a tag: give docker://HOST/REPO:TAG, not a digest')
    const reuse = await Promise.all((options.reuse ?? '').split(',').filter((r) => r !== '').map(async (r) => {
      if (!isRemoteOperand(r)) return r
      const other = await openRemote(options, r)
      if (other.reference.registry !== repository.reference.registry) throw new InvalidArgumentError(`--reuse ${r}: packs can be reused from the same registry only`)
      return { repository: other, reference: other.reference.digest ?? other.reference.tag ?? 'latest' }
    }))
    const progress = new ProgressLine(`pushing ${operand}`, context.interactive, 'packs')
    const started = Date.now()
    let packs = 0
    const result = await interruptible(async (signal) => await pushSnapshot(store, 'name' in selected ? selected.name : selected.digest, repository, {
      reuse,
      signal,
      onWarning: warn,
      onProgress: (p) => progress.update({ files: ++packs, bytes: p.bytes })
    }), 'the tag was not changed')
    progress.done()
    if (result === undefined) return INTERRUPTED_STATUS
    const seconds = (Date.now() - started) / 1000
    const { requests, bytesSent, bytesReceived } = repository.counters
    if (options.json) {
      json({ name: operand, target, ...result, requests, bytesSent, bytesReceived, seconds })
    } else {
      out(`pushed ${operand} to ${target}: ${result.packs} packs (${result.uploadedPacks} uploaded, ${result.presentPacks} already present, ${result.mountedPacks} mounted, ${result.reusedPacks} reused), ${formatBytes(result.uploadedBytes)} sent in ${seconds.toFixed(1)} s`)
      out(`manifest ${result.manifest}`)
      out(`snapshot ${result.snapshot}`)
      out(`root     ${result.root}`)
    }
    return 0
  }
})
