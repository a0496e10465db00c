/**
 * Small facts about the running process and about `stat` results on Linux:
 * whether we are root, and the major/minor numbers packed into `rdev`.
 *
 * `rdev` is glibc's 64-bit `dev_t`: the major number's low 12 bits sit in
 * bits 8–19 and its high 20 bits in bits 44–63; the minor number's low 8
 * bits in bits 0–7 and its high 24 bits in bits 20–43. Read it from
 * `lstat(path, { bigint: true })`: as a plain `number` it is exact only up
 * to 2⁵³ (majors below 512), which covers every real device, but the bigint
 * form is always exact.
 *
 * @module
 */
import { InvalidArgumentError } from '../errors.js'

/** A device's major and minor numbers. */
export interface DeviceNumbers {
  /** Major number (the driver), 0 … 2³²−1. */
  major: number
  /** Minor number (the unit), 0 … 2³²−1. */
  minor: number
}

/** Largest major number the Linux kernel can store (12 bits, `MAJOR()` of a kernel `dev_t`). */
export const LINUX_MAX_MAJOR = 0xfff
/** Largest minor number the Linux kernel can store (20 bits, `MINORBITS`). */
export const LINUX_MAX_MINOR = 0xfffff

/** True when the process runs with effective user id 0 (false where there are no uids, as on Windows). */
export function isRoot (): boolean {
  return process.geteuid?.() === 0
}

/**
 * Split an `rdev` (as from `fs.lstat`, `bigint` or `number`) into major and
 * minor numbers, as glibc's `major()` / `minor()` do.
 */
export function deviceNumbers (rdev: bigint | number): DeviceNumbers {
  if (typeof rdev === 'number' && (!Number.isSafeInteger(rdev) || rdev < 0)) {
    throw new InvalidArgumentError(`rdev must be a non-negative safe integer or a bigint, got ${rdev}`)
  }
  const dev = BigInt.asUintN(64, BigInt(rdev))
  const major = ((dev >> 8n) & 0xfffn) | ((dev >> 32n) & 0xfffff000n)
  const minor = (dev & 0xffn) | ((dev >> 12n) & 0xffffff00n)
  return { major: Number(major), minor: Number(minor) }
}

/** Pack major and minor numbers into an `rdev`, as glibc's `makedev()` does. Inverse of {@link deviceNumbers}. */
export function makeRdev (major: number, minor: number): bigint {
  for (const [what, n] of [['major', major], ['minor', minor]] as const) {
    if (!Number.isInteger(n) || n < 0 || n > 0xffffffff) throw new InvalidArgumentError(`device ${what} must be an integer 0 … 2^32-1, got ${n}`)
  }
  const ma = BigInt(major)
  const mi = BigInt(minor)
  return ((ma & 0xfffn) << 8n) | ((ma & 0xfffff000n) << 32n) | (mi & 0xffn) | ((mi & 0xffffff00n) << 12n)
}
