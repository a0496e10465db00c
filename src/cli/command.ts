/**
 * What a CLI command declares: its usage lines, its options (with their
 * types and help text), how it uses the store, and its run function. Each
 * command is one module in `./commands/`; `main.ts` parses the command
 * line against the declaration and dispatches.
 *
 * A command module loads only light code when it is imported (this file,
 * `output.ts`, types): everything heavy (importers, OCI, the registry) is
 * loaded inside `run`, so that a `cat` of one range starts fast.
 *
 * @module
 */
import type { openStore } from '../store/open.js'

/** A flag: present or absent. */
export interface BooleanOption {
  type: 'boolean'
  help: string
  short?: string
}

/**
 * A boolean that is true given bare and may be given a value after `=`
 * (`--tls-verify`, `--tls-verify=false`), as skopeo's boolean options
 * (Go's pflag): the value is a word of Go's `strconv.ParseBool` (`true`,
 * `false`, `1`, `0`, `t`, `f`, ...). The next argument is never its value:
 * `--tls-verify false` is `--tls-verify` and an operand `false`.
 * Undefined when not given (the command knows its default).
 */
export interface OptionalBooleanOption {
  type: 'optional-boolean'
  help: string
  short?: string
}

/** An option that takes a text value (`--name NAME`, `--name=NAME`). */
export interface StringOption {
  type: 'string'
  /** The value's placeholder in the help (`NAME`). */
  value: string
  help: string
  /** The only values accepted, if any (checked before the command runs). */
  choices?: readonly string[]
  /** The command needs it: a usage error (`ERR_USAGE`) when it is not given. */
  required?: boolean
  short?: string
}

/** An option that takes a non-negative integer (`--offset N`). */
export interface IntegerOption {
  type: 'integer'
  value: string
  help: string
  /** The largest value accepted. */
  max?: number
  short?: string
}

/** An option that takes a non-negative decimal number (`--lock-wait SECONDS`). */
export interface NumberOption {
  type: 'number'
  value: string
  help: string
  short?: string
}

/** One option of a command. */
export type OptionSpec = BooleanOption | OptionalBooleanOption | StringOption | IntegerOption | NumberOption

/** A command's options, by long name (without the leading `--`). */
export type OptionTable = Record<string, OptionSpec>

/** The parsed value of each option: flags are booleans, others (optional booleans too) undefined when not given. */
export type OptionValues<O extends OptionTable> = {
  [K in keyof O]: O[K] extends BooleanOption ? boolean : O[K] extends OptionalBooleanOption ? boolean | undefined : O[K] extends IntegerOption | NumberOption ? number | undefined : string | undefined
}

/**
 * How a command opens the store: `existing` refuses a missing store
 * (`ERR_STORE_NOT_FOUND`; commands that read, and `rm`, `gc`, `fsck`),
 * `create` creates one if needed (`import`, `serve`), `none` opens none.
 * Commands that open a store take `--lock-wait SECONDS`.
 */
export type StoreUse = 'existing' | 'create' | 'none'

/** The store the CLI opens (the one place the concrete store is named). */
export type CliStore = Awaited<ReturnType<typeof openStore>>

/** What a running command is given. */
export interface CommandContext<O extends OptionTable = OptionTable> {
  /** The operands (positional arguments) after the command name. */
  operands: string[]
  /** The command's options, parsed and checked against their types. */
  options: OptionValues<O>
  /** Progress may be shown: stderr is a terminal and `--json` is off. */
  interactive: boolean
  /** The store's directory (`--store`, `$TESSERA_STORE`, `./.tessera`). */
  storeDir: string
  /**
   * The store, opened on the first call (as `store` says, waiting up to
   * `--lock-wait` seconds for another process to release it) and closed
   * by `main` when the command ends. `create` creates a missing store
   * whatever the command declares (a remote read caches into it, as
   * `pull` does). A command that reads only remote snapshots without a
   * cache never calls it.
   */
  store: (create?: boolean) => Promise<CliStore>
}

/** A command of the CLI. */
export interface Command<O extends OptionTable = OptionTable> {
  /** The word after `tessera`. */
  name: string
  /** One line for `tessera --help`. */
  summary: string
  /** Usage lines without the leading `tessera ` (`cat NAME PATH [--offset N] [--length N]`). */
  usage: readonly string[]
  /** More text for `tessera CMD --help`, after the usage. */
  description?: string
  /** The number of operands taken: at least `[0]`, at most `[1]` (default: any). */
  operands: readonly [number, number?]
  options: O
  store: StoreUse
  /**
   * Its NAME operands are snapshots, resolved by `./snapshot-arg.ts` (the
   * help says what they may be): `true` when a `docker://` image may be
   * one too (the read commands), `local` when only the store's may.
   */
  snapshotOperands?: true | 'local'
  /** Exit status for an error (default 1; `diff` uses 2, like diff(1)). */
  errorStatus?: number
  /** Run; resolves to the exit status. */
  run: (context: CommandContext<O>) => Promise<number>
}

/** Declare a command (the identity function, for type inference of its options). */
export function defineCommand<O extends OptionTable> (command: Command<O>): Command<O> {
  return command
}

/** `--json`, which many commands take. */
export const JSON_OPTION = { type: 'boolean', help: 'print JSON instead of text' } as const satisfies BooleanOption
