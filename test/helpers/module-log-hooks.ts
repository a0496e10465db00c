/**
 * Module hooks (see module-log.ts) that append the URL of every module
 * loaded to the file `$TESSERA_MODULE_LOG`.
 */
import { appendFileSync } from 'node:fs'

export async function load (url: string, context: unknown, next: (url: string, context: unknown) => Promise<unknown>): Promise<unknown> {
  const log = process.env.TESSERA_MODULE_LOG
  if (log !== undefined && log !== '') appendFileSync(log, url + '\n')
  return await next(url, context)
}
