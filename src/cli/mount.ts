/**
 * `tessera mount NAME|SNAPSHOT-DIGEST DIR [--json] [--prefetch] [--suid] [--dev]`:
 * the snapshot read-only at DIR, in the foreground, until SIGINT, SIGTERM
 * or an external `umount DIR`; then the exit status is 0. When the mount
 * is ready, `--json` prints one JSON line on stdout (`dir`, `snapshot`,
 * `name`, `inodes`); otherwise a line goes to stderr. Problems while
 * mounted (a read answered with EIO) are one line each on stderr.
 *
 * @module
 */
import { InvalidArgumentError } from '../errors.js'
import { SnapshotReader } from '../exporter/snapshot-reader.js'
import type { SnapshotSource } from '../store/index.js'
import type { CommandArgs } from './commands.js'

const USAGE = 'usage: tessera mount NAME|SNAPSHOT-DIGEST DIR [--json] [--prefetch] [--suid] [--dev]'

/** `mount NAME DIR` */
export async function mountCommand (store: SnapshotSource, args: CommandArgs): Promise<number> {
  const [ref, dir, ...rest] = args.positionals
  if (ref === undefined || dir === undefined || rest.length > 0) throw new InvalidArgumentError(USAGE)
  if (ref.startsWith('docker://')) throw new InvalidArgumentError('mounting docker:// snapshots needs the remote reader, which this build does not have yet')
  const { mountSnapshot } = await import('../mount/index.js')
  const say = (line: string): void => { process.stderr.write(`tessera mount: ${line}\n`) }
  const reader = await SnapshotReader.open(store, ref)
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
      prefetch: args.values.prefetch === true,
      setuid: args.values.suid === true,
      devices: args.values.dev === true,
      onLog: say
    })
    const described = reader.name !== undefined ? `${reader.name} (${reader.digest})` : reader.digest
    if (args.values.json === true) {
      process.stdout.write(JSON.stringify({ dir: handle.dir, snapshot: reader.digest, name: reader.name ?? null, inodes: handle.inodes }) + '\n')
    } else {
      say(`${described} mounted read-only at ${handle.dir} (${handle.inodes} inodes); Ctrl-C or umount ${handle.dir} to unmount`)
    }
    if (args.values.prefetch === true) {
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
