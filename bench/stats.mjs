// Figures over repeated runs, shared by the bench scripts.

/** The median of `xs` (the mean of the middle two for an even count); null when empty. */
export function median (xs) {
  const s = [...xs].sort((a, b) => a - b)
  if (s.length === 0) return null
  const m = s.length >> 1
  return s.length % 2 === 1 ? s[m] : (s[m - 1] + s[m]) / 2
}

/** The median, min and max of `xs`. */
export function spread (xs) {
  return { median: median(xs), min: Math.min(...xs), max: Math.max(...xs) }
}
