/**
 * Chunker parameters (docs/FORMAT.md §2): their type, defaults and the
 * rules they must satisfy. Kept apart from `index.ts` so that the strategy
 * module (`fastcdc.ts`) can use them without an import cycle; `index.ts`
 * re-exports everything here.
 *
 * @module
 */
import { InvalidChunkerParamsError } from '../errors.js'

/**
 * The three FastCDC sizes, in bytes. They are part of every snapshot
 * (FORMAT.md §5): other parameters give other chunks and another root digest.
 */
export interface ChunkerParams {
  /** Smallest chunk length (only the last chunk of a file may be shorter). */
  readonly min: number
  /** Target ("normal") chunk length; selects the FastCDC masks. */
  readonly avg: number
  /** Largest chunk length; a chunk is cut here if no boundary was found before. */
  readonly max: number
}

/** Smallest allowed `min` (FORMAT.md §2; also fastcdc-rs `MINIMUM_MIN`). */
export const CHUNKER_MIN_MIN = 64
/** Smallest allowed `avg` (FORMAT.md §2; also fastcdc-rs `AVERAGE_MIN`). */
export const CHUNKER_AVG_MIN = 256
/** Smallest allowed `max` (FORMAT.md §2; also fastcdc-rs `MAXIMUM_MIN`). */
export const CHUNKER_MAX_MIN = 1024
/** Largest allowed `max`: 64 MiB (FORMAT.md §2; stricter than fastcdc-rs). */
export const CHUNKER_MAX_MAX = 64 * 1024 * 1024

/** The default parameters: 16 KiB / 64 KiB / 256 KiB (FORMAT.md §2, §7). */
export const DEFAULT_CHUNKER_PARAMS: Readonly<ChunkerParams> = Object.freeze({
  min: 16384,
  avg: 65536,
  max: 262144
})

/**
 * Check chunker parameters against FORMAT.md §2: every value an integer,
 * `64 ≤ min ≤ avg ≤ max`, `256 ≤ avg`, `1024 ≤ max ≤ 64 MiB`, `min < max`.
 *
 * Call it before anything reaches `fastcdc-wasm`, which traps (and may leave
 * its memory in a bad state) on parameters outside its own bounds.
 *
 * @param p - the parameters to check (any value is accepted and checked).
 * @returns a frozen copy holding only `min`, `avg` and `max`.
 * @throws {@link InvalidChunkerParamsError} (a `RangeError`, code
 *   `ERR_INVALID_CHUNKER_PARAMS`) if a rule is broken.
 */
export function validateChunkerParams (p: ChunkerParams): Readonly<ChunkerParams> {
  if (typeof p !== 'object' || p === null) {
    throw new InvalidChunkerParamsError('chunker params must be an object { min, avg, max }')
  }
  const { min, avg, max } = p
  for (const [name, value] of [['min', min], ['avg', avg], ['max', max]] as const) {
    if (!Number.isSafeInteger(value)) {
      throw new InvalidChunkerParamsError(`chunker param ${name} must be an integer, got ${String(value)}`)
    }
  }
  const fail = (rule: string): never => {
    throw new InvalidChunkerParamsError(`invalid chunker params min=${min} avg=${avg} max=${max}: ${rule}`)
  }
  if (min < CHUNKER_MIN_MIN) fail(`min must be at least ${CHUNKER_MIN_MIN}`)
  if (avg < CHUNKER_AVG_MIN) fail(`avg must be at least ${CHUNKER_AVG_MIN}`)
  if (max < CHUNKER_MAX_MIN) fail(`max must be at least ${CHUNKER_MAX_MIN}`)
  if (max > CHUNKER_MAX_MAX) fail(`max must be at most ${CHUNKER_MAX_MAX} (64 MiB)`)
  if (min > avg) fail('min must not exceed avg')
  if (avg > max) fail('avg must not exceed max')
  if (min >= max) fail('min must be less than max')
  return Object.freeze({ min, avg, max })
}
