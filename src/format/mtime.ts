/**
 * The mtime policy of imports (docs/FORMAT.md §5, reproducible timestamps).
 *
 * @module
 */
import { MtimeRangeError } from '../errors.js'

/** `'keep'` the recorded mtimes, `'zero'` them, or set every one to a number of seconds since the epoch. */
export type MtimePolicy = 'keep' | 'zero' | number

/** Smallest mtime a tree holds: −2⁶³ ns (1677-09-21). */
export const MTIME_NS_MIN = -(2n ** 63n)
/** Largest mtime a tree holds: 2⁶³ − 1 ns (2262-04-11). */
export const MTIME_NS_MAX = 2n ** 63n - 1n

/**
 * Apply the policy to one mtime in nanoseconds. A kept mtime must fit the
 * tree format's signed 64-bit nanoseconds.
 *
 * @param what - names the inode in the error message
 * @throws {@link MtimeRangeError} (`ERR_MTIME_OUT_OF_RANGE`) for a kept mtime outside 1677–2262
 */
export function normalizeMtime (mtimeNs: bigint, policy: MtimePolicy, what = 'an entry'): bigint {
  if (policy === 'keep') {
    if (mtimeNs < MTIME_NS_MIN || mtimeNs > MTIME_NS_MAX) {
      const seconds = mtimeNs / 1_000_000_000n
      throw new MtimeRangeError(`the mtime of ${what} (${seconds} s since 1970) is outside what a tree holds (1677 to 2262); import with --mtime zero or --mtime SECONDS to replace it`)
    }
    return mtimeNs
  }
  if (policy === 'zero') return 0n
  if (!Number.isSafeInteger(policy)) throw new RangeError(`mtime must be 'keep', 'zero' or whole seconds, got ${String(policy)}`)
  return BigInt(policy) * 1_000_000_000n
}
