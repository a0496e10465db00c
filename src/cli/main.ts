/**
 * The `tessera` command line. Parses arguments, opens the store
 * (`--store DIR`, else `$TESSERA_STORE`, else `./.tessera`), runs one
 * command, and turns errors into one line on stderr and a non-zero exit.
 *
 * @module
 */
import { parseArgs } from 'node:util'
import { InvalidArgumentError, TesseraError } from '../errors.js'
import { openStore } from '../store/open.js'
import { catCommand, type CommandArgs, diffCommand, exportCommand, fsckCommand, gcCommand, hashPasswordCommand, importCommand, lsCommand, rmCommand, serveCommand, snapshotsCommand, statsCommand } from './commands.js'
import { mountCommand } from './mount.js'

const USAGE = `usage: tessera [--store DIR] COMMAND ...

  import dir:PATH --name NAME [--json] [--replace] [--mtime keep|zero|SECONDS]
  import tar:PATH --name NAME [--base NAME]       one layer (tar, tar.gz, tar.zst)
  import oci:PATH[:TAG] --name NAME [--platform OS/ARCH[/VARIANT]]
  import docker-archive:PATH[:REF] --name NAME
                  [--chunk-min N] [--chunk-avg N] [--chunk-max N] [--inline-max N]
  export NAME dir:PATH [--devices]
  export NAME tar:PATH|tar:-
  export NAME oci:PATH[:TAG] [--compression gzip|zstd|none]
  ls NAME [PATH] [--json]
  cat NAME PATH [--offset N] [--length N]
  snapshots [--json]
  diff NAME1 NAME2 [--json]                       added, removed, modified paths
  stats [--json]
  rm NAME...                                      remove snapshot names (objects stay until gc)
  gc [--json]                                     delete what no name reaches; prints bytes freed
  fsck [--json] [--repair]                        verify every object; exit 1 on a problem
  mount NAME DIR [--json] [--prefetch] [--suid] [--dev]   read-only FUSE mount, until ^C or umount DIR
  serve [--host 127.0.0.1] [--port 5000] [--auth FILE]
        [--max-manifest-bytes N] [--max-upload-bytes N]   OCI registry on the store
  serve --hash-password                           password on stdin -> hash for --auth

The store is --store DIR, else $TESSERA_STORE, else ./.tessera (created on first use).
NAME may also be a snapshot digest (sha256:...).`

const COMMANDS = {
  import: importCommand,
  export: exportCommand,
  ls: lsCommand,
  cat: catCommand,
  snapshots: snapshotsCommand,
  diff: diffCommand,
  stats: statsCommand,
  rm: rmCommand,
  gc: gcCommand,
  fsck: fsckCommand,
  serve: serveCommand,
  mount: mountCommand
} as const

/** Run the CLI with `argv` (without node and script); resolves to the exit code. */
export async function main (argv: string[]): Promise<number> {
  // A reader that stops early (`| head`) is not an error.
  process.stdout.on('error', (err: NodeJS.ErrnoException) => {
    if (err.code === 'EPIPE') process.exit(0)
  })
  let parsed
  try {
    parsed = parseArgs({
      args: argv,
      allowPositionals: true,
      strict: true,
      options: {
        store: { type: 'string' },
        json: { type: 'boolean' },
        name: { type: 'string' },
        replace: { type: 'boolean' },
        base: { type: 'string' },
        platform: { type: 'string' },
        compression: { type: 'string' },
        mtime: { type: 'string' },
        'chunk-min': { type: 'string' },
        'chunk-avg': { type: 'string' },
        'chunk-max': { type: 'string' },
        'inline-max': { type: 'string' },
        offset: { type: 'string' },
        length: { type: 'string' },
        devices: { type: 'boolean' },
        repair: { type: 'boolean' },
        prefetch: { type: 'boolean' },
        suid: { type: 'boolean' },
        dev: { type: 'boolean' },
        host: { type: 'string' },
        port: { type: 'string' },
        auth: { type: 'string' },
        'hash-password': { type: 'boolean' },
        'max-manifest-bytes': { type: 'string' },
        'max-upload-bytes': { type: 'string' },
        help: { type: 'boolean', short: 'h' }
      }
    })
  } catch (err) {
    process.stderr.write(`tessera: ${(err as Error).message}\n${USAGE}\n`)
    return 2
  }
  const [command, ...positionals] = parsed.positionals
  if (parsed.values.help === true || command === undefined || command === 'help') {
    process.stdout.write(USAGE + '\n')
    return command === undefined && parsed.values.help !== true ? 2 : 0
  }
  const run = COMMANDS[command as keyof typeof COMMANDS]
  if (run === undefined) {
    process.stderr.write(`tessera: unknown command ${JSON.stringify(command)}\n${USAGE}\n`)
    return 2
  }
  const storeDir = (parsed.values.store as string | undefined) ?? process.env.TESSERA_STORE ?? './.tessera'
  const args: CommandArgs = {
    positionals,
    values: parsed.values as CommandArgs['values'],
    interactive: process.stderr.isTTY === true && parsed.values.json !== true,
    storeDir
  }
  let store
  try {
    if (command === 'serve' && parsed.values['hash-password'] === true) return await hashPasswordCommand()
    store = await openStore(storeDir)
    return await run(store, args)
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'EPIPE') return 0
    const code = err instanceof TesseraError || (err instanceof Error && 'code' in err && typeof err.code === 'string' && err.code.startsWith('ERR_'))
      ? (err as { code: string }).code
      : undefined
    const message = err instanceof Error ? err.message : String(err)
    process.stderr.write(`tessera: ${code !== undefined ? `${code}: ` : ''}${message}\n`)
    if (process.env.TESSERA_DEBUG !== undefined && err instanceof Error) process.stderr.write(`${err.stack ?? ''}\n`)
    return err instanceof InvalidArgumentError ? 2 : 1
  } finally {
    await store?.close().catch(() => {})
  }
}
