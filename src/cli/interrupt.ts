/**
 * SIGINT for commands that talk to a registry (`push`, `pull`): the first
 * SIGINT aborts the operation through its `AbortSignal`; whatever it then
 * fails with, one line says what was left, and the exit status is 130. A
 * second SIGINT ends the process at once.
 *
 * @module
 */

/** The exit status of a command stopped by SIGINT (128 + 2, as shells report it). */
export const INTERRUPTED_STATUS = 130

/** Run `task` with a signal SIGINT aborts; resolves to its result, or to undefined once interrupted (after printing `message`). */
export async function interruptible<T> (task: (signal: AbortSignal) => Promise<T>, message: string): Promise<T | undefined> {
  const interrupt = new AbortController()
  const onSigint = (): void => { interrupt.abort() }
  process.once('SIGINT', onSigint)
  try {
    return await task(interrupt.signal)
  } catch (err) {
    if (!interrupt.signal.aborted) throw err
    process.stderr.write(`tessera: interrupted: ${message}\n`)
    return undefined
  } finally {
    process.off('SIGINT', onSigint)
  }
}
