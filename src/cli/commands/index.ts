/**
 * The commands of the CLI, in the order `tessera --help` lists them. Each
 * module declares one command (usage, options, how it opens the store,
 * run); a new command is a new module added here.
 *
 * @module
 */
import type { Command } from '../command.js'
import { catCommand } from './cat.js'
import { diffCommand } from './diff.js'
import { exportCommand } from './export.js'
import { fsckCommand } from './fsck.js'
import { gcCommand } from './gc.js'
import { importCommand } from './import.js'
import { lsCommand } from './ls.js'
import { mountCommand } from './mount.js'
import { pullCommand } from './pull.js'
import { pushCommand } from './push.js'
import { rmCommand } from './rm.js'
import { serveCommand } from './serve.js'
import { snapshotsCommand } from './snapshots.js'
import { statCommand } from './stat.js'
import { statsCommand } from './stats.js'

/** Every command. */
export const COMMANDS: ReadonlyArray<Command<any>> = [
  importCommand,
  exportCommand,
  pushCommand,
  pullCommand,
  snapshotsCommand,
  lsCommand,
  statCommand,
  catCommand,
  diffCommand,
  statsCommand,
  rmCommand,
  gcCommand,
  fsckCommand,
  mountCommand,
  serveCommand
]
