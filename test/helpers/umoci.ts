/**
 * OCI image layouts built by umoci for tests, a layer at a time: each
 * layer is the rootfs of the image so far, unpacked, changed by the test,
 * and repacked (umoci writes the layer, its whiteouts, the config and the
 * manifest). Needs `umoci` (skip with `missingTools('umoci')`).
 *
 * ```ts
 * umociInit(layout, 'app')
 * await umociLayer(layout, 'app', work, async (rootfs) => { await projectTree(rootfs) })
 * ```
 *
 * @module
 */
import { execFileSync } from 'node:child_process'
import { cp, mkdir, rm, writeFile } from 'node:fs/promises'
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { lcgBytes } from './fixture.js'

const repoRoot = fileURLToPath(new URL('../../../', import.meta.url))

function umoci (...args: string[]): void {
  execFileSync('umoci', args, { maxBuffer: 64 * 1024 * 1024, stdio: ['ignore', 'pipe', 'pipe'] })
}

/** A new layout (created when absent) with an empty image under `tag`. */
export function umociInit (layout: string, tag: string, create = true): void {
  if (create) umoci('init', '--layout', layout)
  umoci('new', '--image', `${layout}:${tag}`)
}

/** Add a layer to image `tag`: its rootfs unpacked under `work`, changed by `edit`, repacked. */
export async function umociLayer (layout: string, tag: string, work: string, edit: (rootfs: string) => Promise<void>): Promise<void> {
  const bundle = join(work, `bundle-${process.pid}`)
  umoci('unpack', '--image', `${layout}:${tag}`, bundle)
  try {
    await edit(join(bundle, 'rootfs'))
    umoci('repack', '--image', `${layout}:${tag}`, bundle)
  } finally {
    await rm(bundle, { recursive: true, force: true })
  }
}

/** Tag the image `tag` also as `other`. */
export function umociTag (layout: string, tag: string, other: string): void {
  umoci('tag', '--image', `${layout}:${tag}`, other)
}

/** A real tree for a base layer: this project's sources and docs, and a 3 MiB binary `usr/bin/tool`. */
export async function projectTree (rootfs: string): Promise<void> {
  await cp(join(repoRoot, 'src'), join(rootfs, 'usr', 'src', 'tessera'), { recursive: true })
  await cp(join(repoRoot, 'docs'), join(rootfs, 'usr', 'share', 'doc', 'tessera'), { recursive: true })
  await mkdir(join(rootfs, 'usr', 'bin'), { recursive: true })
  await writeFile(join(rootfs, 'usr', 'bin', 'tool'), lcgBytes(3 * 1024 * 1024, 77))
}
