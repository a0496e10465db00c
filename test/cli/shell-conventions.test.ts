/**
 * What a shell user expects of the CLI from diff(1), tar, cat and skopeo:
 * a reader that closes the pipe early (`| head`) ends the command quietly
 * with status 141, as SIGPIPE does; skopeo's boolean `--tls-verify`;
 * options that mean nothing for the operands given, and missing required
 * options, are usage errors; help that says only what is true; an empty
 * listing.
 */
import { test } from 'node:test'
import assert from 'node:assert/strict'
import { spawnSync } from 'node:child_process'
import { mkdir, mkdtemp, rm, stat, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { openStore } from '../../src/store/open.js'
import { importDirectory } from '../../src/importer/directory.js'
import { runTessera, TESSERA_BIN } from '../helpers/cli.js'
import { lcgBytes } from '../helpers/fixture.js'
import { startRegistry } from '../helpers/registry.js'
import { requireTool } from '../helpers/tools.js'

const root = await mkdtemp(join(tmpdir(), 'tessera-shell-'))
test.after(async () => { await rm(root, { recursive: true, force: true }) })
const store = join(root, 'store')
const run = (...args: string[]): ReturnType<typeof runTessera> => runTessera(args, { store, env: { TESSERA_DEBUG: '' } })

// `big` holds more than any pipe buffer can (64 KiB by default, 1 MiB at
// most): 4 MiB of content, and 6000 files whose `diff` lines take 300 KB.
const big = join(root, 'big')
await mkdir(big)
await writeFile(join(big, 'content'), lcgBytes(4 * 1024 * 1024, 7))
for (let i = 0; i < 6000; i++) await writeFile(join(big, `a-file-with-a-rather-long-name-${String(i).padStart(5, '0')}`), `${i}\n`)
const empty = join(root, 'empty')
await mkdir(empty)
{
  const s = await openStore(store)
  await importDirectory(s, big, { name: 'big', xattrs: false })
  await importDirectory(s, empty, { name: 'empty', xattrs: false })
  await s.close()
}

/**
 * Run `tessera ARGS | head -c 1` in bash (a real pipe, as a shell user
 * has: 64 KiB, so outputs above that certainly meet a closed pipe), and
 * give tessera's exit status (PIPESTATUS) and its stderr.
 */
function closedEarly (args: string[]): { status: number, read: number, stderr: string } {
  const quoted = [TESSERA_BIN, ...args].map((a) => `'${a.replaceAll("'", "'\\''")}'`).join(' ')
  const r = spawnSync('bash', ['-c', `${quoted} | head -c 1; echo " \${PIPESTATUS[0]}" >&3`], {
    env: { ...process.env, TESSERA_STORE: store, TESSERA_DEBUG: '' },
    stdio: ['ignore', 'pipe', 'pipe', 'pipe']
  })
  const status = Number((r.output[3] as Buffer).toString().trim())
  return { status, read: r.stdout.length, stderr: r.stderr.toString() }
}

test('a reader that closes the pipe early ends export tar:- and diff quietly with status 141, as SIGPIPE does', () => {
  const tar = closedEarly(['export', 'big', 'tar:-'])
  assert.equal(tar.read, 1, 'head got its byte')
  assert.equal(tar.status, 141, 'export tar:- | head -c 1')
  assert.equal(tar.stderr, '', 'no error line, no stack')
  const diff = closedEarly(['diff', 'empty', 'big'])
  assert.equal(diff.read, 1)
  assert.equal(diff.status, 141, 'diff A B | head -c 1 is not "equal" (0)')
  assert.equal(diff.stderr, '')
  // Read to the end, the same commands succeed (diff: 1, the snapshots differ).
  assert.equal(run('export', 'big', 'tar:-').code, 0)
  assert.equal(run('diff', 'empty', 'big').code, 1)
})

test('push --help says NAME is a snapshot of the store, and push refuses a docker:// NAME with a usage status', () => {
  const help = run('push', '--help')
  assert.equal(help.code, 0, help.stderr)
  const note = help.stdout.toString().trimEnd().split('\n\n').at(-1)!
  assert.match(note, /^NAME is a snapshot name, a snapshot digest/)
  assert.ok(!note.includes('docker://'), `the note about NAME offers no registry image: ${note}`)
  assert.match(run('ls', '--help').stdout.toString(), /or an image in a registry, docker:\/\//, 'the read commands do read one')
  const r = run('push', 'docker://127.0.0.1:9/lib/a:1', 'docker://127.0.0.1:9/lib/b:1')
  assert.equal(r.code, 2, r.stderr)
  assert.match(r.stderr, /^tessera: ERR_INVALID_ARGUMENT: push sends a snapshot of the store, got "docker:\/\/127\.0\.0\.1:9\/lib\/a:1": pull it first/)
})

test('a missing --name is a usage error (ERR_USAGE, exit 2) that creates no store; an empty one is an invalid name', async () => {
  const fresh = join(root, 'never-created')
  for (const args of [['import', `dir:${empty}`], ['pull', 'docker://127.0.0.1:9/lib/a:1', '--tls-verify=false'], ['import', 'docker://127.0.0.1:9/lib/a:1']]) {
    const r = runTessera(args, { store: fresh })
    assert.equal(r.code, 2, `${args.join(' ')}: ${r.stderr}`)
    assert.match(r.stderr, new RegExp(`^tessera: ERR_USAGE: missing option --name NAME: usage: tessera ${args[0]} .* \\(tessera ${args[0]} --help\\)\\n$`))
    assert.equal(r.stdout.length, 0)
  }
  await assert.rejects(stat(fresh), { code: 'ENOENT' }, 'nothing was created')
  const bad = run('import', `dir:${empty}`, '--name', '')
  assert.equal(bad.code, 1)
  assert.match(bad.stderr, /^tessera: ERR_INVALID_REF_NAME: invalid snapshot name ""/)
})

test('--tls-verify is a boolean as skopeo\'s: bare is true, =false (or 0, f, ...) is false, and a separate false is an operand', requireTool('docker-registry'), async (t) => {
  const registry = await startRegistry()
  t.after(async () => { await registry.stop() })
  const image = `docker://${registry.host}/lib/empty:1`
  const pushed = run('push', 'empty', image, '--tls-verify=false')
  assert.equal(pushed.code, 0, pushed.stderr)
  for (const off of ['--tls-verify=false', '--tls-verify=0', '--tls-verify=F']) {
    const r = run('ls', image, off, '--no-cache', '--json')
    assert.equal(r.code, 0, `${off}: ${r.stderr}`)
    assert.deepEqual(JSON.parse(r.stdout.toString()), [])
  }
  // The registry speaks plain HTTP: verifying TLS (bare, =true, or by default) cannot reach it.
  for (const on of [['--tls-verify'], ['--tls-verify=true'], []]) {
    const r = run('ls', image, ...on, '--no-cache')
    assert.equal(r.code, 1, `${on.join(' ')}: ${r.stderr}`)
    assert.match(r.stderr, /^tessera: ERR_REGISTRY_TLS: .*HTTP response to HTTPS client/, `${on.join(' ')} asks for TLS`)
  }
  const separate = run('cat', image, 'etc/x', '--tls-verify', 'false')
  assert.equal(separate.code, 2)
  assert.match(separate.stderr, /^tessera: ERR_USAGE: unexpected operand "false"/)
  const bad = run('ls', image, '--tls-verify=maybe')
  assert.equal(bad.code, 2)
  assert.match(bad.stderr, /^tessera: ERR_INVALID_ARGUMENT: --tls-verify takes true or false \(--tls-verify=false\), got "maybe"\n$/)
  // diff of a local and a remote snapshot: --no-cache means something there.
  assert.equal(run('diff', 'empty', image, '--tls-verify=false', '--no-cache').code, 0)
})

test('the help shows --tls-verify\'s default once', () => {
  for (const command of ['pull', 'push', 'cat', 'import']) {
    const line = run(command, '--help').stdout.toString().split('\n').find((l) => l.startsWith('  --tls-verify'))!
    assert.match(line, /^ {2}--tls-verify\[=false\] +require HTTPS and verify certificates \(default true\); =false allows plain HTTP and unverified TLS$/, `${command}: ${line}`)
  }
})

test('registry options and --no-cache with no docker:// operand are refused (exit 2); pull --no-cache is an unknown option', () => {
  const cases: Array<[string[], string]> = [
    [['ls', 'big', '--no-cache'], '--no-cache'],
    [['cat', 'big', 'content', '--length', '1', '--no-cache'], '--no-cache'],
    [['diff', 'empty', 'big', '--no-cache'], '--no-cache'],
    [['export', 'big', `dir:${join(root, 'never-exported')}`, '--tls-verify=false'], '--tls-verify'],
    [['stat', 'big', 'content', '--creds', 'a:b'], '--creds'],
    [['import', `dir:${empty}`, '--name', 'never', '--tls-verify'], '--tls-verify']
  ]
  for (const [args, option] of cases) {
    const r = run(...args)
    assert.equal(r.code, 2, `${args.join(' ')}: ${r.stderr}`)
    assert.equal(r.stderr, `tessera: ERR_INVALID_ARGUMENT: ${option} applies to docker:// operands only\n`)
    assert.equal(r.stdout.length, 0)
  }
  const pull = run('pull', 'docker://127.0.0.1:9/lib/a:1', '--name', 'a', '--no-cache')
  assert.equal(pull.code, 2)
  assert.equal(pull.stderr, 'tessera: ERR_USAGE: unknown option --no-cache (tessera pull --help lists the options)\n')
})

test('snapshots on a store without names prints nothing, and --json an empty array', () => {
  const none = join(root, 'no-names')
  assert.equal(runTessera(['import', `dir:${empty}`, '--name', 'gone'], { store: none }).code, 0)
  assert.equal(runTessera(['rm', 'gone'], { store: none }).code, 0)
  const text = runTessera(['snapshots'], { store: none })
  assert.equal(text.code, 0, text.stderr)
  assert.equal(text.stdout.toString(), '', 'no header: a script reading the lines gets none')
  assert.equal(text.stderr, '')
  const json = runTessera(['snapshots', '--json'], { store: none })
  assert.equal(json.code, 0, json.stderr)
  assert.equal(json.stdout.toString(), '[]\n')
  assert.equal(json.stderr, '')
})
