/**
 * The help texts: `tessera --help` (every command, one line each) and
 * `tessera CMD --help` (that command's usage and options only), both made
 * from the commands' declarations.
 *
 * @module
 */
import type { Command, OptionTable } from './command.js'

/** Options every command takes: given before or after the command name. */
export const GLOBAL_OPTIONS = {
  store: { type: 'string', value: 'DIR', help: 'the store (default: $TESSERA_STORE, else ./.tessera)' },
  help: { type: 'boolean', short: 'h', help: 'print help: tessera COMMAND --help prints that command\'s' },
  version: { type: 'boolean', help: 'print the version' }
} as const satisfies OptionTable

/** The option of every command that opens a store. */
export const LOCK_WAIT_OPTION = {
  'lock-wait': { type: 'number', value: 'SECONDS', help: 'wait up to SECONDS for another process to release the store (default 0: fail at once with ERR_STORE_LOCKED)' }
} as const satisfies OptionTable

const LOCAL_SNAPSHOT_NOTE = 'NAME is a snapshot name, a snapshot digest (sha256:...) or a unique prefix of one, as `tessera snapshots` prints it'
const SNAPSHOT_NOTE = `${LOCAL_SNAPSHOT_NOTE},\n` +
  'or an image in a registry, docker://HOST[:PORT]/REPO[:TAG|@DIGEST], read remotely (what is fetched is kept in the store unless --no-cache).'

function optionLines (table: OptionTable): string[] {
  const rows = Object.entries(table).map(([name, spec]) => {
    const value = spec.type === 'boolean' ? '' : spec.type === 'optional-boolean' ? '[=false]' : ` ${spec.value}`
    const flag = `${spec.short !== undefined ? `-${spec.short}, ` : ''}--${name}${value}`
    const choices = spec.type === 'string' && spec.choices !== undefined ? ` (${spec.choices.join(', ')})` : ''
    return [flag, spec.help + choices] as const
  })
  const width = Math.min(28, Math.max(...rows.map(([flag]) => flag.length)))
  return rows.map(([flag, help]) => `  ${flag.length > width ? `${flag}\n  ${''.padEnd(width)}` : flag.padEnd(width)}  ${help}`)
}

/** `tessera --help`. */
export function globalHelp (commands: readonly Command<any>[]): string {
  const width = Math.max(...commands.map((c) => c.name.length))
  return [
    'usage: tessera [--store DIR] COMMAND [OPTIONS] [OPERANDS]',
    '',
    'commands:',
    ...commands.map((c) => `  ${c.name.padEnd(width)}  ${c.summary}`),
    '',
    'global options:',
    ...optionLines(GLOBAL_OPTIONS),
    '',
    SNAPSHOT_NOTE,
    'tessera COMMAND --help prints the usage and options of COMMAND; docs/CLI.md has them all.'
  ].join('\n')
}

/** `tessera CMD --help`: the command's usage lines and its options (with `--lock-wait` if it opens a store). */
export function commandHelp (command: Command<any>): string {
  const options: OptionTable = { ...command.options, ...(command.store !== 'none' ? LOCK_WAIT_OPTION : {}) }
  const lines = command.usage.map((u, i) => `${i === 0 ? 'usage: ' : '       '}tessera ${u}`)
  lines.push('', command.description ?? command.summary)
  if (Object.keys(options).length > 0) lines.push('', 'options:', ...optionLines(options))
  if (command.snapshotOperands === true) lines.push('', SNAPSHOT_NOTE)
  if (command.snapshotOperands === 'local') lines.push('', `${LOCAL_SNAPSHOT_NOTE}.`)
  return lines.join('\n')
}

/** The short usage of a command, for a usage error. */
export function usageLine (command: Command<any>): string {
  return command.usage.map((u) => `tessera ${u}`).join(' | ')
}
