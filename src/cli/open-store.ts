/**
 * Opening the store for a command: commands that only read refuse a
 * missing store (`ERR_STORE_NOT_FOUND`), commands that write create it;
 * a store another process holds is waited for up to `--lock-wait`
 * seconds (like borg's `--lock-wait`), saying so once on stderr.
 *
 * @module
 */
import { setTimeout as sleep } from 'node:timers/promises'
import { StoreLockedError } from '../errors.js'
import type { CliStore, StoreUse } from './command.js'

/** How often a locked store is tried again while waiting. */
const RETRY_MS = 100

/** Open the store in `dir` for a command that uses it as `use`, waiting up to `lockWaitSeconds` for a lock. */
export async function openCliStore (dir: string, use: Exclude<StoreUse, 'none'>, lockWaitSeconds = 0): Promise<CliStore> {
  const { openStore } = await import('../store/open.js')
  const deadline = Date.now() + lockWaitSeconds * 1000
  let told = false
  for (;;) {
    try {
      return await openStore(dir, { create: use === 'create' })
    } catch (err) {
      if (!(err instanceof StoreLockedError)) throw err
      const left = deadline - Date.now()
      if (left <= 0) {
        throw lockWaitSeconds > 0
          ? new StoreLockedError(`the store ${dir} is still in use by another process after waiting ${lockWaitSeconds} s`, { cause: err })
          : new StoreLockedError(`${err.message} (--lock-wait SECONDS waits for it)`, { cause: err })
      }
      if (!told) process.stderr.write(`tessera: the store ${dir} is in use by another process; waiting up to ${lockWaitSeconds} s\n`)
      told = true
      await sleep(Math.min(RETRY_MS, left))
    }
  }
}
