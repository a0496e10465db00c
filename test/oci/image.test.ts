/**
 * Issue-level checks of image import and export against the real tools:
 * umoci builds the images and unpacks them for comparison, skopeo converts
 * them to docker archives and inspects what tessera exports.
 */
import { test } from 'node:test'
import assert from 'node:assert/strict'
import { execFileSync, spawnSync } from 'node:child_process'
import { mkdtemp, mkdir, rm, writeFile, chmod, chown, link, symlink } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { describeTree } from '../helpers/describe-tree.js'
import { skipUnless } from '../helpers/tools.js'
import { lcgBytes } from '../helpers/fixture.js'

const bin = fileURLToPath(new URL('../../../bin/tessera', import.meta.url))
const craftScript = fileURLToPath(new URL('../../../test/helpers/craft_tar.py', import.meta.url))
// craft_tar.py makes layers, describe_tree.py compares trees.
const skip = skipUnless(['umoci', 'skopeo', 'python3'], process.getuid?.() !== 0 && 'needs root')

const root = await mkdtemp(join(tmpdir(), 'tessera-oci-'))
test.after(async () => { await rm(root, { recursive: true, force: true }) })
const store = join(root, 'store')
const policy = join(root, 'policy.json')
const layout = join(root, 'layout')

function tessera (...args: string[]): { code: number | null, stdout: string, stderr: string } {
  const r = spawnSync(bin, ['--store', store, ...args], { maxBuffer: 64 * 1024 * 1024 })
  return { code: r.status, stdout: r.stdout.toString(), stderr: r.stderr.toString() }
}
const json = (...args: string[]): Record<string, unknown> => {
  const r = tessera(...args, '--json')
  assert.equal(r.code, 0, r.stderr)
  return JSON.parse(r.stdout)
}
const sh = (cmd: string, args: string[]): string => execFileSync(cmd, args, { maxBuffer: 64 * 1024 * 1024 }).toString()

/** The image: a base layer made by umoci from a real tree, and a crafted upper layer. */
async function buildImage (): Promise<void> {
  await writeFile(policy, JSON.stringify({ default: [{ type: 'insecureAcceptAnything' }] }))
  sh('umoci', ['init', '--layout', layout])
  sh('umoci', ['new', '--image', `${layout}:base`])
  const bundle = join(root, 'bundle')
  sh('umoci', ['unpack', '--image', `${layout}:base`, bundle])
  const rf = join(bundle, 'rootfs')
  await mkdir(join(rf, 'etc', 'conf.d'), { recursive: true })
  await mkdir(join(rf, 'usr', 'bin'), { recursive: true })
  await mkdir(join(rf, 'var', 'cache', 'old'), { recursive: true })
  await writeFile(join(rf, 'etc', 'passwd'), 'root:x:0:0::/root:/bin/sh\n')
  await writeFile(join(rf, 'etc', 'deleted'), 'to be whited out\n')
  await writeFile(join(rf, 'etc', 'conf.d', 'a.conf'), 'a\n')
  await writeFile(join(rf, 'etc', 'replaced'), 'lower version\n')
  await writeFile(join(rf, 'usr', 'bin', 'busybox'), lcgBytes(2 * 1024 * 1024, 11))
  await chmod(join(rf, 'usr', 'bin', 'busybox'), 0o4755)
  await writeFile(join(rf, 'var', 'cache', 'old', 'x'), 'x')
  await writeFile(join(rf, 'var', 'cache', 'y'), 'y')
  await symlink('busybox', join(rf, 'usr', 'bin', 'sh'))
  await link(join(rf, 'etc', 'passwd'), join(rf, 'etc', 'passwd-'))
  await chown(join(rf, 'etc', 'conf.d', 'a.conf'), 1000, 1000)
  sh('setfattr', ['-n', 'user.origin', '-v', 'base', join(rf, 'etc', 'passwd')])
  sh('umoci', ['repack', '--image', `${layout}:base`, bundle])
  await rm(bundle, { recursive: true })
  const upper = join(root, 'upper.tar')
  execFileSync('python3', [craftScript, upper], {
    input: JSON.stringify([
      { name: 'etc/.wh.deleted' },
      { name: 'etc/replaced', data: 'upper version\n', mode: 0o600 },
      { name: 'var/cache/.wh..wh..opq' },
      { name: 'var/cache/fresh', data: 'fresh\n' },
      { name: 'usr/bin/ls', type: 'hardlink', link: 'usr/bin/busybox' },
      { name: 'etc/new', data: 'new file\n', uid: 33 }
    ])
  })
  sh('umoci', ['raw', 'add-layer', '--image', `${layout}:base`, '--tag', 'app', upper])
}

test('an image with whiteouts, an opaque dir, a replaced file and a cross-layer hard link matches umoci unpack', { skip }, async () => {
  await buildImage()
  const imported = json('import', `oci:${layout}:app`, '--name', 'app')
  assert.match(String(imported.root), /^sha256:/)
  const ours = join(root, 'ours')
  assert.equal(tessera('export', 'app', `dir:${ours}`).code, 0)
  const theirs = join(root, 'theirs')
  sh('umoci', ['unpack', '--image', `${layout}:app`, theirs])
  const a = describeTree(ours, { root: false })
  const b = describeTree(join(theirs, 'rootfs'), { root: false })
  assert.deepEqual(a, b)
  const hex = (s: string): string => Buffer.from(s).toString('hex')
  assert.ok(!(hex('etc/deleted') in a), 'whited-out file is gone')
  assert.deepEqual(Object.keys(a).filter((k) => Buffer.from(k, 'hex').toString().startsWith('var/cache/')).map((k) => Buffer.from(k, 'hex').toString()), ['var/cache/fresh'])
  assert.equal(a[hex('usr/bin/ls')]!.link_group, a[hex('usr/bin/busybox')]!.link_group)
  assert.ok(!Object.keys(a).some((k) => Buffer.from(k, 'hex').toString().includes('.wh.')), 'no whiteout file in the result')
  // The snapshot keeps the image config for export.
  const ls = JSON.parse(tessera('ls', 'app', 'etc', '--json').stdout) as Array<{ name: string }>
  assert.ok(ls.some((e) => e.name === 'new'))
})

test('export oci: unpacks with umoci to the same tree, skopeo inspects it, and the layer is reproducible', { skip }, async () => {
  const out = join(root, 'exported')
  const e1 = json('export', 'app', `oci:${out}:flat`)
  const e2 = json('export', 'app', `oci:${join(root, 'exported-again')}:flat`)
  assert.equal(e1.layer, e2.layer)
  assert.equal(e1.manifest, e2.manifest)
  const unpacked = join(root, 'unpacked-export')
  sh('umoci', ['unpack', '--image', `${out}:flat`, unpacked])
  const theirs = join(root, 'theirs', 'rootfs')
  assert.deepEqual(describeTree(join(unpacked, 'rootfs'), { root: false }), describeTree(theirs, { root: false }))
  const inspect = JSON.parse(sh('skopeo', ['--policy', policy, 'inspect', `oci:${out}:flat`]))
  assert.equal(inspect.Layers.length, 1)
  assert.equal(inspect.Digest, e1.manifest)
  // The flattened image imports back to the same root.
  const again = json('import', `oci:${out}:flat`, '--name', 'app-again')
  const first = JSON.parse(tessera('snapshots', '--json').stdout).find((s: { name: string }) => s.name === 'app')
  assert.equal(again.root, first.root)
})

test('skopeo copy to a docker archive, then import docker-archive:, gives the same root as import oci:', { skip }, async () => {
  const archive = join(root, 'app.tar')
  sh('skopeo', ['--policy', policy, 'copy', `oci:${layout}:app`, `docker-archive:${archive}:example.com/app:1`])
  const fromArchive = json('import', `docker-archive:${archive}`, '--name', 'from-archive')
  const fromLayout = JSON.parse(tessera('snapshots', '--json').stdout).find((s: { name: string }) => s.name === 'app')
  assert.equal(fromArchive.root, fromLayout.root)
  const byRef = json('import', `docker-archive:${archive}:example.com/app:1`, '--name', 'by-ref')
  assert.equal(byRef.root, fromLayout.root)
})

test('the same rootfs from a directory, a layer stack and an image has one root digest', { skip }, async () => {
  const flat = join(root, 'theirs', 'rootfs')
  const fromDir = json('import', `dir:${flat}`, '--name', 'as-dir', '--mtime', 'zero')
  const fromImage = json('import', `oci:${layout}:app`, '--name', 'as-image', '--mtime', 'zero')
  assert.equal(fromDir.root, fromImage.root)
})

test('bad image input: unknown tag lists the tags, a corrupted blob fails and commits nothing', { skip }, async () => {
  const r = tessera('import', `oci:${layout}:nope`, '--name', 'x')
  assert.equal(r.code, 1)
  assert.match(r.stderr, /^tessera: ERR_OCI_REFERENCE_NOT_FOUND: .*app/)
  const amb = tessera('import', `oci:${layout}`, '--name', 'x')
  assert.match(amb.stderr, /^tessera: ERR_OCI_AMBIGUOUS_REFERENCE: .*base.*app|^tessera: ERR_OCI_AMBIGUOUS_REFERENCE: .*app.*base/)
  // Flip one byte in the upper layer blob (the last layer of app).
  const manifest = JSON.parse(sh('skopeo', ['--policy', policy, 'inspect', '--raw', `oci:${layout}:app`]))
  const blob = join(layout, 'blobs', 'sha256', manifest.layers[manifest.layers.length - 1].digest.slice(7))
  const bytes = execFileSync('cat', [blob])
  const flipped = Buffer.from(bytes)
  const mid = flipped.length >> 1
  flipped[mid] = flipped[mid]! ^ 0x10
  await chmod(blob, 0o644)
  await writeFile(blob, flipped)
  const bad = tessera('import', `oci:${layout}:app`, '--name', 'corrupt')
  assert.equal(bad.code, 1)
  assert.match(bad.stderr, /^tessera: ERR_/)
  assert.ok(!tessera('snapshots').stdout.includes('corrupt'), 'no ref committed')
  await writeFile(blob, bytes)
})
