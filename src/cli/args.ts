/**
 * Parsing a command line against option tables: `--name VALUE`,
 * `--name=VALUE`, flags, skopeo's booleans (`--tls-verify`,
 * `--tls-verify=false`), `-h`, and `--` ending the options. An option
 * that takes a value takes the next argument whatever it looks like
 * (`--offset -1` is the value `-1`, refused as not a non-negative
 * integer), as getopt does. Every problem is a {@link UsageError}
 * (`ERR_USAGE`) or, for a value of the wrong type,
 * {@link InvalidArgumentError} (`ERR_INVALID_ARGUMENT`), both exit status 2.
 *
 * @module
 */
import { InvalidArgumentError, UsageError } from '../errors.js'
import type { OptionSpec, OptionTable } from './command.js'

/** Options and operands parsed from a slice of the command line. */
export interface ParsedArgs {
  /** Option values by long name (converted to their type). */
  values: Record<string, string | number | boolean>
  operands: string[]
}

/** The words Go's `strconv.ParseBool` accepts, as skopeo reads `--tls-verify=VALUE`. */
const BOOLEAN_WORDS: Readonly<Record<string, boolean>> = {
  1: true, t: true, T: true, true: true, TRUE: true, True: true,
  0: false, f: false, F: false, false: false, FALSE: false, False: false
}

/** Options of `table` by short name. */
function shorts (table: OptionTable): Map<string, string> {
  const map = new Map<string, string>()
  for (const [name, spec] of Object.entries(table)) if (spec.short !== undefined) map.set(spec.short, name)
  return map
}

/** Convert and check an option's text value. */
function convert (name: string, spec: OptionSpec, raw: string): string | number {
  switch (spec.type) {
    case 'integer': {
      const n = Number(raw)
      if (!/^\d+$/.test(raw) || !Number.isSafeInteger(n)) throw new InvalidArgumentError(`--${name} takes a non-negative integer, got ${JSON.stringify(raw)}`)
      if (spec.max !== undefined && n > spec.max) throw new InvalidArgumentError(`--${name} takes 0 to ${spec.max}, got ${n}`)
      return n
    }
    case 'number': {
      if (!/^\d+(\.\d+)?$/.test(raw)) throw new InvalidArgumentError(`--${name} takes a non-negative number, got ${JSON.stringify(raw)}`)
      return Number(raw)
    }
    case 'string':
      if (spec.choices !== undefined && !spec.choices.includes(raw)) throw new InvalidArgumentError(`--${name} takes ${spec.choices.join(', ')}, got ${JSON.stringify(raw)}`)
      return raw
    default:
      throw new UsageError(`option --${name} takes no value`)
  }
}

/**
 * Parse `args` against `table`. With `stopAtOperand`, parsing stops at the
 * first operand, which is returned with everything after it unparsed in
 * `rest` (the global options before a command name). `context` names the
 * command in messages (`tessera cat`).
 */
export function parseArgs (args: readonly string[], table: OptionTable, context: string, stopAtOperand = false): ParsedArgs & { rest: string[] } {
  const values: Record<string, string | number | boolean> = {}
  const operands: string[] = []
  const byShort = shorts(table)
  const hint = `${context} --help lists the options`
  for (let i = 0; i < args.length; i++) {
    const arg = args[i]!
    if (arg === '--') {
      operands.push(...args.slice(i + 1))
      break
    }
    let name: string | undefined
    let inline: string | undefined
    if (arg.startsWith('--')) {
      const eq = arg.indexOf('=')
      name = eq < 0 ? arg.slice(2) : arg.slice(2, eq)
      if (eq >= 0) inline = arg.slice(eq + 1)
      if (!Object.hasOwn(table, name)) throw new UsageError(`unknown option --${name} (${hint})`)
    } else if (arg.startsWith('-') && arg.length > 1) {
      name = byShort.get(arg.slice(1))
      if (name === undefined) throw new UsageError(`unknown option ${arg} (${hint})`)
    } else {
      if (stopAtOperand) return { values, operands: [arg], rest: args.slice(i + 1) }
      operands.push(arg)
      continue
    }
    const spec = table[name]!
    if (spec.type === 'boolean') {
      if (inline !== undefined) throw new UsageError(`option --${name} takes no value`)
      values[name] = true
      continue
    }
    if (spec.type === 'optional-boolean') {
      const value = inline === undefined ? true : BOOLEAN_WORDS[inline]
      if (value === undefined) throw new InvalidArgumentError(`--${name} takes true or false (--${name}=false), got ${JSON.stringify(inline)}`)
      values[name] = value
      continue
    }
    let raw = inline
    if (raw === undefined) {
      if (i + 1 >= args.length) throw new UsageError(`option --${name} needs a value (${spec.value})`)
      raw = args[++i]!
    }
    values[name] = convert(name, spec, raw)
  }
  return { values, operands, rest: [] }
}

/** Whether `-h` or `--help` appears before any `--`. */
export function asksForHelp (args: readonly string[]): boolean {
  for (const arg of args) {
    if (arg === '--') return false
    if (arg === '--help' || arg === '-h') return true
  }
  return false
}
