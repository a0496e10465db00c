/**
 * The Debian tools tests use as real peers and oracles, and what a test
 * does when one is missing: it skips, naming the tool and the package
 * (`needs getfattr (apt-get install attr)`), never fails.
 *
 * ```ts
 * test('reads what setfattr wrote', requireTool('setfattr'), async () => { ... })
 * ```
 *
 * With `TESSERA_REQUIRE_TOOLS=1` (set by `.ci/run`, which installs every
 * tool) a missing tool is an error instead of a skip, so CI cannot pass
 * with a test skipped for want of a tool. Every skip reason made here
 * contains `(apt-get install `, which `.ci/run` also looks for.
 *
 * A tool counts as present when running it with `--version` does not fail
 * to start (ENOENT, or exit status 127 as a shell reports a missing
 * command): tools hidden by a PATH without them, or by a stub bound over
 * them, are both missing.
 */
import { spawnSync } from 'node:child_process'

/** The Debian package of each tool the tests run. */
export const TOOL_PACKAGES = {
  getfattr: 'attr',
  setfattr: 'attr',
  tar: 'tar',
  gzip: 'gzip',
  zstd: 'zstd',
  python3: 'python3',
  umoci: 'umoci',
  skopeo: 'skopeo',
  podman: 'podman',
  'docker-registry': 'docker-registry',
  fusermount3: 'fuse3',
  findmnt: 'util-linux',
  'mkfs.erofs': 'erofs-utils',
  'fsck.erofs': 'erofs-utils',
  'dump.erofs': 'erofs-utils',
  fsverity: 'fsverity',
  go: 'golang-go',
  restic: 'restic',
  borg: 'borgbackup',
  casync: 'casync',
  strace: 'strace',
  debootstrap: 'debootstrap',
  mkfifo: 'coreutils',
  mknod: 'coreutils',
  script: 'bsdutils',
  openssl: 'openssl',
  perl: 'perl-base'
} as const satisfies Record<string, string>

/** A tool the tests know the package of. */
export type Tool = keyof typeof TOOL_PACKAGES

const known = new Map<string, boolean>()

/** Whether `tool` can be run here (cached). */
export function haveTool (tool: Tool | string): boolean {
  let present = known.get(tool)
  if (present === undefined) {
    const r = spawnSync(tool, ['--version'], { stdio: 'ignore', timeout: 30_000 })
    present = r.error === undefined ? r.status !== 127 : (r.error as NodeJS.ErrnoException).code !== 'ENOENT'
    known.set(tool, present)
  }
  return present
}

/** The skip reason for missing tools: `needs getfattr (apt-get install attr)`, `needs umoci, skopeo (apt-get install umoci skopeo)`. */
export function missingToolReason (...tools: Tool[]): string {
  const packages = [...new Set(tools.map((t) => TOOL_PACKAGES[t]))]
  return `needs ${tools.join(', ')} (apt-get install ${packages.join(' ')})`
}

/** Whether a missing tool must fail the run instead of skipping (`TESSERA_REQUIRE_TOOLS=1`, as in CI). */
export function toolsRequired (): boolean {
  const v = process.env.TESSERA_REQUIRE_TOOLS
  return v !== undefined && v !== '' && v !== '0'
}

/**
 * The skip reason when one of `tools` is missing (naming every missing one
 * and its package), else false. Throws instead with `TESSERA_REQUIRE_TOOLS=1`.
 */
export function missingTools (...tools: Tool[]): string | false {
  const missing = tools.filter((t) => !haveTool(t))
  if (missing.length === 0) return false
  const reason = missingToolReason(...missing)
  if (toolsRequired()) throw new Error(`TESSERA_REQUIRE_TOOLS is set and a tool is missing: ${reason}`)
  return reason
}

/** Test options that skip the test when one of `tools` is missing: `test(name, requireTool('umoci'), fn)`. */
export function requireTool (...tools: Tool[]): { skip?: string } {
  const reason = missingTools(...tools)
  return reason === false ? {} : { skip: reason }
}

/**
 * Combine a tool requirement with another skip condition (`needs root`):
 * the first reason that applies, else false.
 */
export function skipUnless (tools: readonly Tool[], ...others: Array<string | false | undefined>): string | false {
  for (const other of others) if (typeof other === 'string' && other !== '') return other
  return missingTools(...tools)
}

/**
 * `stderr` of a CLI run without the warnings a missing optional tool
 * causes (`getfattr is not installed ...`), so a test that expects no
 * other output passes on a machine without it. Where the tool is
 * installed nothing is removed: the output must then be exactly as expected.
 */
export function withoutToolWarnings (stderr: string): string {
  if (haveTool('getfattr')) return stderr
  return stderr.split('\n').filter((line) => !/^tessera: warning: getfattr is not installed/.test(line)).join('\n')
}
