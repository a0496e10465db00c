/**
 * `WWW-Authenticate` challenges (RFC 9110 §11.6.1): `Bearer
 * realm="…",service="…",scope="…"` and `Basic realm="…"`. Several
 * challenges may share one header, separated by commas; auth-params are
 * `name=token` or `name="quoted string"`. Parsing is bounded (the header
 * is cut at 16 KiB, at most 16 challenges of 32 params) and anything that
 * does not parse ends the list: a malformed header gives fewer challenges,
 * never an exception.
 *
 * @module
 */

/** One challenge: its scheme in lowercase and its params (names in lowercase). */
export interface Challenge {
  scheme: string
  params: Record<string, string>
}

const MAX_HEADER = 16 * 1024
const MAX_CHALLENGES = 16
const MAX_PARAMS = 32
const TOKEN = /^[!#$%&'*+.^_`|~0-9A-Za-z-]+/

/** Parse every challenge of one or more `WWW-Authenticate` header values. */
export function parseChallenges (values: string | string[] | undefined): Challenge[] {
  if (values === undefined) return []
  const out: Challenge[] = []
  for (const value of Array.isArray(values) ? values : [values]) {
    parseInto(value.slice(0, MAX_HEADER), out)
    if (out.length >= MAX_CHALLENGES) break
  }
  return out.slice(0, MAX_CHALLENGES)
}

function parseInto (header: string, out: Challenge[]): void {
  let s = header
  const skip = (re: RegExp): void => { s = s.replace(re, '') }
  skip(/^[\s,]+/)
  while (s !== '' && out.length < MAX_CHALLENGES) {
    const scheme = TOKEN.exec(s)?.[0]
    if (scheme === undefined) return
    s = s.slice(scheme.length)
    const challenge: Challenge = { scheme: scheme.toLowerCase(), params: Object.create(null) as Record<string, string> }
    out.push(challenge)
    skip(/^[ \t]+/)
    // params until the next challenge (a token not followed by `=`)
    let count = 0
    for (;;) {
      skip(/^[\s,]+/)
      const m = /^([!#$%&'*+.^_`|~0-9A-Za-z-]+)[ \t]*=[ \t]*/.exec(s)
      if (m === null) break
      const name = m[1]!.toLowerCase()
      s = s.slice(m[0].length)
      let value: string
      if (s.startsWith('"')) {
        let i = 1
        value = ''
        while (i < s.length && s[i] !== '"') {
          if (s[i] === '\\' && i + 1 < s.length) i++
          value += s[i]
          i++
        }
        if (i >= s.length) return // unterminated quoted string
        s = s.slice(i + 1)
      } else {
        const t = TOKEN.exec(s)?.[0]
        if (t === undefined) return
        value = t
        s = s.slice(t.length)
      }
      if (count++ < MAX_PARAMS && !(name in challenge.params)) challenge.params[name] = value
      skip(/^[ \t]+/)
      if (s !== '' && !s.startsWith(',')) return
    }
  }
}
