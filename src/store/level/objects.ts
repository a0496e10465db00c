/**
 * Objects by digest: presence, writes that store each object once, and
 * verified reads, each seeing the queue first (what is queued is present),
 * then the database, checked again after every await against a gc that
 * may have condemned the object meanwhile. Every touch pins the object
 * while a session is open.
 *
 * @module
 */
import { NotFoundError } from '../../errors.js'
import { digestToString } from '../../hash/digest.js'
import type { PutResult } from '../index.js'
import { decodeStored } from '../stored-object.js'
import { resolveChunk } from './chunk-reads.js'
import type { StoreCore } from './core.js'
import { type Bytes, keyOf, type Sub } from './keyspaces.js'

/** True when the object is stored or queued (and not condemned or being deleted). */
export async function hasObject (core: StoreCore, sublevel: Sub, tag: string, digest: Bytes): Promise<boolean> {
  const { queue, pins } = core
  const k = tag + keyOf(digest)
  if (queue.pending.has(k) || queue.inflight.has(k)) { pins.touch(k); return true }
  if (core.gone(k)) return false
  const found = await core.index.exists(sublevel, digest)
  // Checked again after the await: a gc may have condemned it meanwhile.
  if (!found || core.gone(k)) return queue.pending.has(k)
  pins.touch(k)
  return true
}

/**
 * Store `bytes` under `digest` unless present: encoded (possibly on a
 * worker), then queued for the next batch, with the counters. Concurrent
 * puts of one digest store it once.
 */
export async function putObject (core: StoreCore, sublevel: Sub, tag: 'c' | 't', digest: Bytes, length: number, encode: () => Promise<Bytes>): Promise<PutResult> {
  core.assertOpen()
  const { queue, pins } = core
  const k = tag + keyOf(digest)
  pins.touch(k)
  if (queue.pending.has(k) || queue.inflight.has(k)) return 'present'
  // Condemned by a running gc but not deleted yet: rescued by this write.
  if (pins.condemned.delete(k)) return 'present'
  let settle!: () => void
  const done = new Promise<void>((resolve) => { settle = resolve })
  queue.inflight.set(k, done)
  try {
    const filter = await core.index.filterOf(sublevel, tag)
    if (!queue.deleting.has(k) && filter.mayHave(digest) && await core.index.exists(sublevel, digest)) {
      if (pins.condemned.delete(k) || !queue.deleting.has(k)) return 'present'
    }
    filter.add(digest)
    const stored = await encode()
    queue.queueObject(sublevel, tag, digest, stored, length)
    const c = core.counters
    if (tag === 'c') { c.chunks++; c.chunkBytes += length; c.chunkStored += stored.length } else { c.trees++; c.treeBytes += length; c.treeStored += stored.length }
  } finally {
    queue.inflight.delete(k)
    settle()
  }
  await core.maybeFlush()
  return 'stored'
}

/** The object's bytes, verified against `digest` (`ERR_INTEGRITY`); `ERR_NOT_FOUND` when absent. */
export async function getObject (core: StoreCore, sublevel: Sub, tag: string, digest: Bytes, what: string, max: number): Promise<Bytes> {
  core.assertOpen()
  if (digest.length !== 32) throw new NotFoundError(`${what}: a digest has 32 bytes`)
  const { queue } = core
  const k = tag + keyOf(digest)
  await queue.inflight.get(k)
  let stored = queue.pending.get(k)
  if (stored === undefined && !core.gone(k)) {
    stored = (await core.index.getterOf(sublevel).getMany([digest]))[0]
    if (core.gone(k)) stored = queue.pending.get(k)
    else if (stored !== undefined && sublevel === core.keys.chunks) stored = await resolveChunk(core, digest, stored)
  }
  if (stored === undefined) throw new NotFoundError(`${what} ${digestToString(digest)} is not in the store`)
  const bytes = decodeStored(stored, digest, what, max)
  core.pins.touch(k)
  return bytes
}
