/**
 * `tessera mount NAME|DIGEST|docker://… DIR`: the snapshot read-only at
 * DIR, in the foreground, until SIGINT, SIGTERM or an external `umount DIR`; then the
 * exit status is 0. When the mount is ready, `--json` prints one JSON line
 * on stdout (`dir`, `snapshot`, `name`, `inodes`); otherwise a line goes
 * to stderr. Problems while mounted (a read answered with EIO) are one
 * line each on stderr.
 *
 * A `docker://` operand is a tessera image read where it is (`../remote.ts`):
 * mounting fetches its manifest and metadata only, each chunk is fetched
 * on its first read (verified, a bounded number in flight) and kept in the
 * local store, which is created if missing (`--no-cache`: kept in memory
 * only); `--prefetch` fetches the rest in the background. An ordinary image
 * without a tessera form is imported first, then mounted.
 *
 * @module
 */
import { defineCommand, JSON_OPTION } from '../command.js'
import { REMOTE_READ_OPTIONS } from '../remote.js'
import { openSnapshot } from '../snapshot-arg.js'

export const mountCommand = defineCommand({
  name: 'mount',
  summary: 'mount a snapshot read-only (FUSE, as root), until SIGINT, SIGTERM or umount',
  usage: ['mount NAME|DIGEST|docker://HOST/REPO:TAG DIR [--json] [--prefetch] [--suid] [--dev] [--tls-verify=false] [--creds U:P] [--no-cache]'],
  description: 'Mount snapshot NAME read-only at the existing directory DIR and serve it in the foreground. SIGINT,\n' +
    'SIGTERM or `umount DIR` unmounts it and the exit status is 0; a busy DIR is detached at once and the\n' +
    'command waits for its last user (a second signal exits now). Needs root and /dev/fuse. If the process is\n' +
    'killed, a guard unmounts DIR; should DIR still answer "Transport endpoint is not connected", run\n' +
    '`umount DIR` (or `umount -l DIR`).\n' +
    'A docker:// image is mounted once its metadata is fetched; chunks are fetched on first read, verified,\n' +
    'and kept in the local store (created if missing; --no-cache keeps nothing); --prefetch fetches the rest\n' +
    'in the background. An ordinary image without a tessera form is imported first.',
  operands: [2, 2],
  store: 'existing',
  snapshotOperands: true,
  options: {
    json: JSON_OPTION,
    prefetch: { type: 'boolean', help: 'read every chunk in the background once mounted (for a store that fetches on first read)' },
    suid: { type: 'boolean', help: 'honour setuid and setgid bits on exec (default: nosuid)' },
    dev: { type: 'boolean', help: 'allow opening device nodes (default: nodev)' },
    ...REMOTE_READ_OPTIONS
  },
  async run (context) {
    const [ref, dir] = context.operands as [string, string]
    const { options } = context
    const { mountSnapshot } = await import('../../mount/index.js')
    const say = (line: string): void => { process.stderr.write(`tessera mount: ${line}\n`) }
    const reader = await openSnapshot(context, ref)
    const stop = new AbortController()
    let signals = 0
    const onSignal = (signal: NodeJS.Signals): void => {
      // A second signal while a busy mount waits for its last user: stop now.
      if (++signals > 1) { say(`${signal} again: exiting; the detached mount's users get ENOTCONN`); process.exit(0) }
      say(`${signal}: unmounting`)
      stop.abort()
    }
    process.on('SIGINT', onSignal)
    process.on('SIGTERM', onSignal)
    try {
      const handle = await mountSnapshot(reader, dir, {
        signal: stop.signal,
        prefetch: options.prefetch,
        setuid: options.suid,
        devices: options.dev,
        onLog: say
      })
      const described = reader.name !== undefined ? `${reader.name} (${reader.digest})` : reader.digest
      if (options.json) {
        process.stdout.write(JSON.stringify({ dir: handle.dir, snapshot: reader.digest, name: reader.name ?? null, inodes: handle.inodes }) + '\n')
      } else {
        say(`${described} mounted read-only at ${handle.dir} (${handle.inodes} inodes); Ctrl-C or umount ${handle.dir} to unmount`)
      }
      if (options.prefetch) {
        void handle.prefetched.then(() => { if (!stop.signal.aborted) say('prefetch done: every chunk is in the store') })
      }
      // An abort unmounts; a busy mount is detached and closes when its last user lets go.
      const unmount = (): void => {
        void handle.unmount().then(({ lazy }) => {
          if (lazy) say(`${handle.dir} is busy: detached; waiting for its last user (signal again to stop now)`)
        }, (err: unknown) => { say(`unmount failed: ${(err as Error).message}`) })
      }
      if (stop.signal.aborted) unmount()
      else stop.signal.addEventListener('abort', unmount, { once: true })
      await handle.closed
      say(`${handle.dir} unmounted`)
      return 0
    } finally {
      process.off('SIGINT', onSignal)
      process.off('SIGTERM', onSignal)
    }
  }
})
