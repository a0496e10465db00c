/**
 * The `tessera` command line: parses the global options and the command's
 * own (declared by each module of `./commands/`), opens the store lazily
 * as the command says (`--store DIR`, else `$TESSERA_STORE`, else
 * `./.tessera`), runs the command, and turns any error into one line
 * `tessera: ERR_CODE: message` on stderr.
 *
 * Exit status: 0 on success; 1 on an error (2 for `diff`, like diff(1));
 * 2 for a usage error (`ERR_USAGE`: an unknown option, a missing operand
 * or required option; `ERR_INVALID_ARGUMENT`: a bad value); what the
 * command returns otherwise (`diff` 1 when the snapshots differ, `fsck` 1
 * when a problem is left, 130 for an import stopped by SIGINT); 141
 * (128 + SIGPIPE, what a shell reports for diff(1), tar or cat) when the
 * reader of stdout closes it early (`| head`), quietly.
 *
 * @module
 */
import { existsSync, readFileSync } from 'node:fs'
import { rm } from 'node:fs/promises'
import { dirname, resolve } from 'node:path'
import { InvalidArgumentError, UsageError } from '../errors.js'
import { asksForHelp, parseArgs } from './args.js'
import type { CliStore, Command, CommandContext, OptionTable } from './command.js'
import { COMMANDS } from './commands/index.js'
import { commandHelp, GLOBAL_OPTIONS, globalHelp, LOCK_WAIT_OPTION, usageLine } from './help.js'
import { refuseUnusedRemoteOptions } from './remote.js'

/**
 * The exit status when stdout's reader is gone (EPIPE): 128 + SIGPIPE, the
 * status a shell reports for diff(1), tar or cat killed by SIGPIPE. Node
 * ignores SIGPIPE, so the CLI exits with that status itself.
 */
export const BROKEN_PIPE_STATUS = 141

/** The package version, from package.json. */
function version (): string {
  const pkg = JSON.parse(readFileSync(new URL('../../../package.json', import.meta.url), 'utf8')) as { version: string }
  return pkg.version
}

/** The code of an error as the CLI prints it: its own `ERR_` code, `ERR_IO` for an OS error, `ERR_INTERNAL` otherwise. */
export function errorCode (err: unknown): string {
  const code = (err as { code?: unknown } | null)?.code
  if (typeof code === 'string' && code.startsWith('ERR_')) return code
  if (code === 'ABORT_ERR') return 'ERR_ABORTED'
  if (typeof code === 'string' && /^E[A-Z0-9]+$/.test(code)) return 'ERR_IO'
  return 'ERR_INTERNAL'
}

function report (err: unknown): void {
  const message = err instanceof Error ? err.message : String(err)
  process.stderr.write(`tessera: ${errorCode(err)}: ${message.replace(/\s*\n\s*/g, ' ')}\n`)
  if (process.env.TESSERA_DEBUG !== undefined && process.env.TESSERA_DEBUG !== '' && process.env.TESSERA_DEBUG !== '0' && err instanceof Error) process.stderr.write(`${err.stack ?? ''}\n`)
}

/**
 * The topmost of `dir` and its parents that does not exist, or undefined
 * when `dir` exists: what creating the store there would make.
 */
function topMissing (dir: string): string | undefined {
  let top: string | undefined
  for (let at = resolve(dir); !existsSync(at); at = dirname(at)) {
    top = at
    if (dirname(at) === at) break
  }
  return top
}

/**
 * Close the store; when the command failed and the store was created by
 * it and holds nothing (no chunk, tree, snapshot or name), remove what was
 * made for it, so a pull of a mistyped reference leaves no empty store.
 * A store that holds what a failed pull fetched stays: a rerun needs it.
 */
async function closeStore (opened: Promise<CliStore>, made: string | undefined, failed: boolean): Promise<void> {
  const store = await opened.catch(() => undefined)
  if (store === undefined) return
  let empty = false
  if (failed && made !== undefined) {
    const stats = await store.stats().catch(() => undefined)
    empty = stats !== undefined && stats.chunks === 0 && stats.metadataObjects === 0 && stats.snapshots === 0
  }
  await store.close().catch(() => {})
  if (empty) await rm(made!, { recursive: true, force: true }).catch(() => {})
}

/** Run the CLI with `argv` (without node and script); resolves to the exit status. */
export async function main (argv: string[]): Promise<number> {
  // A reader that stops early (`| head`): end at once and quietly, as a
  // process killed by SIGPIPE does (a pending write would wait forever).
  process.stdout.on('error', (err: NodeJS.ErrnoException) => {
    if (err.code === 'EPIPE') process.exit(BROKEN_PIPE_STATUS)
  })
  let command: Command<any> | undefined
  let opened: Promise<CliStore> | undefined
  // What opening the store made (a new store's directory), and whether the command failed.
  let made: string | undefined
  let failed = true
  try {
    const global = parseArgs(argv, GLOBAL_OPTIONS, 'tessera', true)
    if (global.values.version === true) { process.stdout.write(`tessera ${version()}\n`); return 0 }
    const name = global.operands[0]
    if (name === undefined || name === 'help') {
      const about = COMMANDS.find((c) => c.name === global.rest[0])
      const text = about !== undefined ? commandHelp(about) : globalHelp(COMMANDS)
      // `tessera` alone is a usage error: the help goes to stderr.
      const asked = name === 'help' || global.values.help === true
      ;(asked ? process.stdout : process.stderr).write(text + '\n')
      return asked ? 0 : 2
    }
    command = COMMANDS.find((c) => c.name === name)
    if (command === undefined) throw new UsageError(`unknown command ${JSON.stringify(name)} (tessera --help lists the commands)`)
    if (global.values.help === true || asksForHelp(global.rest)) {
      process.stdout.write(commandHelp(command) + '\n')
      return 0
    }
    const table: OptionTable = { ...GLOBAL_OPTIONS, ...command.options, ...(command.store !== 'none' ? LOCK_WAIT_OPTION : {}) }
    const parsed = parseArgs(global.rest, table, `tessera ${command.name}`)
    const values: Record<string, unknown> = { ...global.values, ...parsed.values }
    if (values.version === true) { process.stdout.write(`tessera ${version()}\n`); return 0 }
    for (const [key, spec] of Object.entries(command.options as OptionTable)) if (spec.type === 'boolean') values[key] ??= false
    const [min, max] = command.operands
    const count = parsed.operands.length
    if (count < min || (max !== undefined && count > max)) {
      const problem = count < min ? 'missing operand' : `unexpected operand ${JSON.stringify(parsed.operands[max!])}`
      throw new UsageError(`${problem}: usage: ${usageLine(command)} (tessera ${command.name} --help)`)
    }
    for (const [key, spec] of Object.entries(command.options as OptionTable)) {
      if (spec.type === 'string' && spec.required === true && values[key] === undefined) throw new UsageError(`missing option --${key} ${spec.value}: usage: ${usageLine(command)} (tessera ${command.name} --help)`)
    }
    if (command.snapshotOperands === true) refuseUnusedRemoteOptions(values, parsed.operands)
    const storeDir = (values.store as string | undefined) ?? process.env.TESSERA_STORE ?? './.tessera'
    const use = command.store
    const context: CommandContext = {
      operands: parsed.operands,
      options: values as CommandContext['options'],
      interactive: process.stderr.isTTY === true && values.json !== true,
      storeDir,
      store: async (create = false) => {
        if (use === 'none') throw new Error(`tessera ${command!.name} opens no store`)
        if (opened === undefined) {
          const { openCliStore } = await import('./open-store.js')
          if (create || use === 'create') made = topMissing(storeDir)
          opened = openCliStore(storeDir, create ? 'create' : use, values['lock-wait'] as number | undefined)
        }
        return await opened
      }
    }
    const status = await command.run(context)
    failed = status !== 0
    return status
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'EPIPE') return BROKEN_PIPE_STATUS
    report(err)
    if (err instanceof UsageError || err instanceof InvalidArgumentError) return 2
    return command?.errorStatus ?? 1
  } finally {
    if (opened !== undefined) await closeStore(opened, made, failed)
  }
}
