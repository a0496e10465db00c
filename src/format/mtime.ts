/**
 * The mtime policy of imports (docs/FORMAT.md §5, reproducible timestamps).
 *
 * @module
 */

/** `'keep'` the recorded mtimes, `'zero'` them, or set every one to a number of seconds since the epoch. */
export type MtimePolicy = 'keep' | 'zero' | number

/** Apply the policy to one mtime in nanoseconds. */
export function normalizeMtime (mtimeNs: bigint, policy: MtimePolicy): bigint {
  if (policy === 'keep') return mtimeNs
  if (policy === 'zero') return 0n
  if (!Number.isSafeInteger(policy)) throw new RangeError(`mtime must be 'keep', 'zero' or whole seconds, got ${String(policy)}`)
  return BigInt(policy) * 1_000_000_000n
}
