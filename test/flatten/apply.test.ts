import { test } from 'node:test'
import assert from 'node:assert/strict'
import { applyLayer, type LayerEntryHeader } from '../../src/flatten/apply.js'
import { LayeredTree, type TreeNode } from '../../src/flatten/tree.js'

const B = (s: string): Uint8Array => new Uint8Array(Buffer.from(s, 'latin1'))
const names = (p: string): Uint8Array[] => p.split('/').filter(Boolean).map(B)
const expectCode = (code: string) => (err: unknown): boolean => { assert.equal((err as { code?: string }).code, code); return true }

let counter = 0
function h (path: string, type: LayerEntryHeader['type'] = 'file', extra: Partial<LayerEntryHeader> = {}): LayerEntryHeader {
  return { index: counter++, path: B(path), type, mode: type === 'directory' ? 0o755 : 0o644, uid: 0, gid: 0, mtimeNs: 0n, size: type === 'file' ? 1 : 0, xattrs: [], ...extra }
}
const layer = (tree: LayeredTree, n: number, entries: LayerEntryHeader[]): void => { counter = 0; applyLayer(tree, n, entries.map((e, i) => ({ ...e, index: i }))) }
const get = (tree: LayeredTree, p: string): TreeNode | undefined => tree.get(names(p))
const ls = (tree: LayeredTree, p: string): string[] => {
  const d = get(tree, p)
  assert.equal(d?.kind, 'dir', `${p} is a directory`)
  return [...(d as { children: Map<string, unknown> }).children.keys()].sort()
}

test('a whiteout deletes from lower layers, a later entry replaces, whiteouts never appear', () => {
  const t = new LayeredTree()
  layer(t, 0, [h('etc/', 'directory'), h('etc/a'), h('etc/b'), h('etc/c'), h('etc/sub/', 'directory'), h('etc/sub/x')])
  layer(t, 1, [h('etc/.wh.a'), h('etc/b', 'file', { mode: 0o600 }), h('etc/.wh.sub')])
  assert.deepEqual(ls(t, 'etc'), ['b', 'c'])
  assert.equal((get(t, 'etc/b') as { mode: number }).mode, 0o600)
})

test('a whiteout never hides an entry of its own layer, in either order', () => {
  const t = new LayeredTree()
  layer(t, 0, [h('d/', 'directory'), h('d/f')])
  layer(t, 1, [h('d/f', 'file', { mode: 0o700 }), h('d/.wh.f'), h('d/g'), h('d/.wh.g')])
  assert.deepEqual(ls(t, 'd'), ['f', 'g'])
  assert.equal((get(t, 'd/f') as { mode: number }).mode, 0o700)
})

test('an opaque directory hides everything below it from lower layers, not its own layer', () => {
  const t = new LayeredTree()
  layer(t, 0, [h('d/', 'directory'), h('d/old'), h('d/sub/', 'directory'), h('d/sub/deep'), h('other')])
  layer(t, 1, [h('d/new'), h('d/sub/', 'directory'), h('d/.wh..wh..opq'), h('d/sub/fresh')])
  assert.deepEqual(ls(t, 'd'), ['new', 'sub'])
  assert.deepEqual(ls(t, 'd/sub'), ['fresh'])
  assert.ok(get(t, 'other') !== undefined)
})

test('hard links share the inode of a lower layer file and keep it when the name is replaced', () => {
  const t = new LayeredTree()
  layer(t, 0, [h('bin/', 'directory'), h('bin/busybox', 'file', { size: 100 })])
  layer(t, 1, [h('bin/sh', 'hardlink', { linkname: B('bin/busybox') }), h('usr/bin/ls', 'hardlink', { linkname: B('/bin/busybox') })])
  assert.equal(get(t, 'bin/sh'), get(t, 'bin/busybox'))
  assert.equal(get(t, 'usr/bin/ls'), get(t, 'bin/busybox'))
  const old = get(t, 'bin/busybox')
  layer(t, 2, [h('bin/busybox', 'file', { size: 5 })])
  assert.notEqual(get(t, 'bin/busybox'), old)
  assert.equal(get(t, 'bin/sh'), old)
  assert.throws(() => layer(t, 3, [h('x', 'hardlink', { linkname: B('nope') })]), expectCode('ERR_INVALID_PATH'))
  assert.throws(() => layer(t, 3, [h('x', 'hardlink', { linkname: B('bin') })]), expectCode('ERR_INVALID_PATH'))
  assert.throws(() => layer(t, 3, [h('x', 'hardlink', { linkname: B('../etc/passwd') })]), expectCode('ERR_INVALID_PATH'))
})

test('paths with .. are refused; leading / and ./ are normalized inside the rootfs', () => {
  const t = new LayeredTree()
  for (const bad of ['../evil', 'a/../../evil', '..', 'a/..']) {
    assert.throws(() => layer(t, 0, [h(bad)]), expectCode('ERR_INVALID_PATH'), bad)
  }
  layer(t, 0, [h('/abs/file'), h('./dot/file'), h('a//b/./c')])
  assert.ok(get(t, 'abs/file') && get(t, 'dot/file') && get(t, 'a/b/c'))
  layer(t, 1, [h('./', 'directory', { mode: 0o700 })])
  assert.equal(t.root.mode, 0o700)
})

test('a parent that is a symlink resolves inside the rootfs, never outside it', () => {
  const t = new LayeredTree()
  layer(t, 0, [
    h('usr/lib/', 'directory'),
    h('lib', 'symlink', { linkname: B('usr/lib') }),
    h('escape', 'symlink', { linkname: B('../../../../tmp') }),
    h('abs', 'symlink', { linkname: B('/usr/lib') })
  ])
  layer(t, 1, [h('lib/libc.so'), h('escape/owned'), h('abs/x')])
  assert.ok(get(t, 'usr/lib/libc.so'), 'written through lib -> usr/lib')
  assert.ok(get(t, 'usr/lib/x'), 'absolute target is relative to the rootfs root')
  assert.ok(get(t, 'tmp/owned'), '.. is clamped at the rootfs root: escape/owned lands in /tmp/owned of the rootfs')
  assert.equal(get(t, 'lib')?.kind, 'symlink', 'the link itself is kept')
})

test('a symlink loop in a parent is ERR_INVALID_PATH, not a hang', () => {
  const t = new LayeredTree()
  layer(t, 0, [h('a', 'symlink', { linkname: B('b') }), h('b', 'symlink', { linkname: B('a') }), h('self', 'symlink', { linkname: B('self/x') })])
  assert.throws(() => layer(t, 1, [h('a/file')]), expectCode('ERR_INVALID_PATH'))
  assert.throws(() => layer(t, 1, [h('self/file')]), expectCode('ERR_INVALID_PATH'))
})

test('a file replaces a directory and a directory replaces a file; a directory entry over a directory keeps its children', () => {
  const t = new LayeredTree()
  layer(t, 0, [h('x/', 'directory'), h('x/child'), h('y')])
  layer(t, 1, [h('x'), h('y/', 'directory'), h('y/inner')])
  assert.equal(get(t, 'x')?.kind, 'file')
  assert.deepEqual(ls(t, 'y'), ['inner'])
  layer(t, 2, [h('y/', 'directory', { mode: 0o700 })])
  assert.deepEqual(ls(t, 'y'), ['inner'])
  assert.equal((get(t, 'y') as { mode: number }).mode, 0o700)
})
