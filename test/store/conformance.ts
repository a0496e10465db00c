/**
 * The store conformance suite, as abstract-level's is for its databases:
 * it takes an implementation's harness (how to open one holding given
 * objects, how to damage one) and `supports` flags, and runs the cases
 * every implementation of those capabilities must pass. The local store
 * runs it on classic-level and memory-level (`classic.test.ts`,
 * `memory.test.ts`), a read-only map-backed source runs its reading half
 * (`other-source.test.ts`); the remote reader is meant to run it too.
 *
 *   storeConformance('my-store', harness, { writes: true, packs: true })
 */
import { test } from 'node:test'
import assert from 'node:assert/strict'
import { randomBytes } from 'node:crypto'
import { readSync } from 'node:fs'
import { SnapshotReader } from '../../src/exporter/snapshot-reader.js'
import type { Entry } from '../../src/format/entry.js'
import { DEFAULT_SNAPSHOT_PARAMS, encodeSnapshot } from '../../src/format/snapshot.js'
import { encodeTree } from '../../src/format/tree.js'
import type { RefRecord } from '../../src/format/ref.js'
import { sha256 } from '../../src/hash/index.js'
import { hasEncodedChunkWrites, hasPackAccess, hasRecords, hasSessions, hasStoredChunkReads } from '../../src/store/capability-guards.js'
import type { GcPins, ObjectStore, SnapshotSource } from '../../src/store/index.js'
import { checkRecord } from '../../src/store/pack/index.js'
import { decodeStored, encodeStored, MAX_CHUNK_BYTES } from '../../src/store/stored-object.js'

/** Objects a store under test is opened with. */
export interface Contents {
  chunks: Array<{ digest: Uint8Array, bytes: Uint8Array }>
  trees: Array<{ digest: Uint8Array, bytes: Uint8Array }>
  snapshots: Array<{ digest: Uint8Array, bytes: Uint8Array, name?: string, record: Omit<RefRecord, 'snapshot'> }>
}

/** How the suite opens and damages the implementation under test. */
export interface StoreHarness<S extends SnapshotSource = SnapshotSource> {
  /**
   * A store holding `contents` (written however the implementation can:
   * a writable store is written through its own API, a remote reader's
   * registry is pushed to first). `options` are the local store's, for
   * implementations that have them.
   */
  open: (contents: Contents, options?: { batchBytes?: number }) => Promise<S>
  /** Release the store (close it). */
  close: (store: S) => Promise<void>
  /**
   * Change the stored payload of a chunk or tree so that it still decodes
   * (stored raw: the codec byte stays) but hashes to another digest: the
   * read's digest check is then what must fail. Resolves to the store to
   * read from: `store`, or one reopened on the damaged storage (as damage
   * from outside the process is met). Absent when the implementation
   * cannot be damaged from outside.
   */
  corruptPayload?: (store: S, kind: 'chunk' | 'tree', digest: Uint8Array) => Promise<S>
}

/** Which capabilities the implementation has; cases of the others are skipped. */
export interface Supports {
  /** `ObjectStore`'s writes: puts, commits, ref deletes, flush, stats, close. */
  writes?: boolean
  /** `SessionSource`, with the pins of `GcPins`. */
  sessions?: boolean
  /** `StoredChunkReader` and `PackAccess` (the export's worker reads). */
  packs?: boolean
  /** `EncodedChunkWriter`. */
  encodedChunks?: boolean
  /** `RecordStore`. */
  records?: boolean
}

const assertBytes = (a: Uint8Array, b: Uint8Array, what = 'bytes'): void => {
  assert.ok(Buffer.from(a).equals(Buffer.from(b)), `${what} differ: ${Buffer.from(a).toString('hex').slice(0, 40)} vs ${Buffer.from(b).toString('hex').slice(0, 40)}`)
}
const expectCode = (code: string, message?: RegExp) => (err: unknown): boolean => {
  assert.equal((err as { code?: string }).code, code, String(err))
  if (message !== undefined) assert.match((err as Error).message, message)
  return true
}
const snap = (n: number): { digest: Uint8Array, bytes: Uint8Array } => {
  const bytes = new Uint8Array([0x92, 0x02, n])
  return { digest: sha256.digest(bytes), bytes }
}
const record = { createdNs: 1n, files: 3, logicalBytes: 100 }
const EMPTY: Contents = { chunks: [], trees: [], snapshots: [] }
const attrs = { mode: 0o644, uid: 0, gid: 0, mtimeNs: 0n, xattrs: [] }
const obj = (bytes: Uint8Array): { digest: Uint8Array, bytes: Uint8Array } => ({ digest: sha256.digest(bytes), bytes })

/**
 * A small snapshot named `sample`: `big` (three chunks: two random, one
 * compressible), `etc/os-release` (inline) and a symlink, with the bytes
 * each file must read back as. Random, so each call is new to any store.
 */
export function sampleContents (): { contents: Contents, files: Map<string, Uint8Array> } {
  const pieces = [new Uint8Array(randomBytes(20000)), new Uint8Array(Buffer.from('compressible '.repeat(3000))), new Uint8Array(randomBytes(7000))]
  const chunks = pieces.map(obj)
  const big = new Uint8Array(Buffer.concat(pieces))
  const release = new Uint8Array(Buffer.from(`ID=${randomBytes(4).toString('hex')}\n`))
  const etcEntries: Entry[] = [
    { kind: 'file', name: Buffer.from('os-release'), ...attrs, size: release.length, content: release },
    { kind: 'symlink', name: Buffer.from('release'), ...attrs, mode: 0o777, target: Buffer.from('os-release') }
  ]
  const etc = encodeTree(etcEntries)
  const root = encodeTree([
    { kind: 'file', name: Buffer.from('big'), ...attrs, size: big.length, content: chunks.map((c) => ({ digest: c.digest, length: c.bytes.length })) },
    { kind: 'dir', name: Buffer.from('etc'), ...attrs, mode: 0o755, tree: etc.digest }
  ])
  const snapshot = encodeSnapshot({ params: { ...DEFAULT_SNAPSHOT_PARAMS }, root: { ...attrs, mode: 0o755, tree: root.digest }, annotations: [] })
  return {
    contents: {
      chunks,
      trees: [etc, root],
      snapshots: [{ ...snapshot, name: 'sample', record: { createdNs: 1n, files: 4, logicalBytes: big.length + release.length } }]
    },
    files: new Map([['big', big], ['etc/os-release', release]])
  }
}

/** Write `contents` through a store's own writes (for harnesses of writable stores). */
export async function writeContents (store: Pick<ObjectStore, 'putChunk' | 'putTree' | 'commitSnapshot' | 'flush'>, contents: Contents): Promise<void> {
  for (const c of contents.chunks) await store.putChunk(c.digest, c.bytes)
  for (const t of contents.trees) await store.putTree(t.digest, t.bytes)
  for (const s of contents.snapshots) {
    if (s.name !== undefined) await store.commitSnapshot(s.name, s, s.record, { replace: true })
  }
  await store.flush()
}

async function collect (source: AsyncIterable<Uint8Array>): Promise<Uint8Array> {
  const parts: Uint8Array[] = []
  for await (const p of source) parts.push(p)
  return new Uint8Array(Buffer.concat(parts))
}

/** Run the suite against the implementation `harness` opens, for the capabilities `supports` names. */
export function storeConformance<S extends SnapshotSource> (label: string, harness: StoreHarness<S>, supports: Supports = {}): void {
  const withStore = async (contents: Contents, body: (store: S) => Promise<void>, options?: { batchBytes?: number }): Promise<void> => {
    const store = await harness.open(contents, options)
    try {
      await body(store)
    } finally {
      await harness.close(store)
    }
  }
  const writable = (store: S): S & ObjectStore => store as S & ObjectStore

  // --- reading: every implementation -------------------------------------------

  test(`${label}: chunks, trees, snapshots and refs read back as written`, async () => {
    const { contents } = sampleContents()
    await withStore(contents, async (store) => {
      for (const c of contents.chunks) assertBytes(await store.getChunk(c.digest), c.bytes, 'chunk')
      for (const t of contents.trees) assertBytes(await store.getTree(t.digest), t.bytes, 'tree')
      const s = contents.snapshots[0]!
      assertBytes(await store.getSnapshot(s.digest), s.bytes, 'snapshot')
      const ref = await store.getRef('sample')
      assert.ok(ref !== undefined)
      assertBytes(ref.snapshot, s.digest, 'ref')
      assert.equal(await store.getRef('absent'), undefined)
    })
  })

  test(`${label}: a missing object is ERR_NOT_FOUND`, async () => {
    await withStore(EMPTY, async (store) => {
      const absent = sha256.digest(randomBytes(8))
      await assert.rejects(store.getChunk(absent), expectCode('ERR_NOT_FOUND'))
      await assert.rejects(store.getTree(absent), expectCode('ERR_NOT_FOUND'))
      await assert.rejects(store.getSnapshot(absent), expectCode('ERR_NOT_FOUND'))
    })
  })

  test(`${label}: SnapshotReader lists, stats and reads files (whole and ranges) over it`, async () => {
    const { contents, files } = sampleContents()
    await withStore(contents, async (store) => {
      const reader = await SnapshotReader.open(store, 'sample')
      const paths: string[] = []
      for await (const { path } of reader.walk()) paths.push(Buffer.from(path).toString())
      assert.deepEqual(paths, ['big', 'etc', 'etc/os-release', 'etc/release'])
      for (const [path, bytes] of files) {
        assertBytes(await collect(reader.readFile(path)), bytes, path)
        const entry = await reader.stat(path)
        assert.equal(entry.kind === 'file' && entry.size, bytes.length)
      }
      const big = files.get('big')!
      assertBytes(await collect(reader.readFile('big', { offset: 19990, length: 40000 })), big.subarray(19990, 59990), 'range across chunks')
    })
  })

  if (harness.corruptPayload !== undefined) {
    const corrupt = harness.corruptPayload
    test(`${label}: a chunk or tree whose payload changed fails its digest check with ERR_INTEGRITY`, async () => {
      // Random bytes are stored raw (zstd would not make them smaller): the
      // damaged payload still decodes, so only the digest check can fail.
      const chunk = obj(new Uint8Array(randomBytes(5000)))
      const tree = obj(new Uint8Array(randomBytes(300)))
      let store = await harness.open({ chunks: [chunk], trees: [tree], snapshots: [] })
      try {
        assertBytes(await store.getChunk(chunk.digest), chunk.bytes)
        assertBytes(await store.getTree(tree.digest), tree.bytes)
        store = await corrupt(store, 'chunk', chunk.digest)
        store = await corrupt(store, 'tree', tree.digest)
        const digestCheck = /is corrupt: its bytes hash to sha256:/
        await assert.rejects(store.getChunk(chunk.digest), expectCode('ERR_INTEGRITY', digestCheck))
        await assert.rejects(store.getTree(tree.digest), expectCode('ERR_INTEGRITY', digestCheck))
        if (supports.packs === true && hasStoredChunkReads(store)) {
          // The stored form comes back unverified; decoding it is where the check fails.
          const [stored] = await store.readStoredChunks([chunk.digest])
          assert.throws(() => decodeStored(stored!, chunk.digest, 'chunk', MAX_CHUNK_BYTES), expectCode('ERR_INTEGRITY', digestCheck))
        }
      } finally {
        await harness.close(store)
      }
    })
  }

  // --- writing -----------------------------------------------------------------

  if (supports.writes === true) {
    test(`${label}: a chunk round trips, is stored once, and compresses when it helps`, async () => {
      await withStore(EMPTY, async (s) => {
        const store = writable(s)
        const text = new Uint8Array(Buffer.from('tessera '.repeat(5000)))
        const d = sha256.digest(text)
        assert.equal(await store.hasChunk(d), false)
        assert.equal(await store.putChunk(d, text), 'stored')
        assert.equal(await store.putChunk(d, text), 'present')
        assert.equal(await store.hasChunk(d), true)
        assertBytes(await store.getChunk(d), text)
        await store.flush()
        assert.equal(await store.putChunk(d, text), 'present')
        assertBytes(await store.getChunk(d), text)
        const random = randomBytes(10000)
        const r = sha256.digest(random)
        await store.putChunk(r, random)
        await store.flush()
        const stats = await store.stats()
        assert.equal(stats.chunks, 2)
        assert.equal(stats.chunkBytes, text.length + random.length)
        assert.ok(stats.storedBytes < text.length / 10 + random.length + 2, `compressible chunk stored small: ${stats.storedBytes}`)
        assertBytes(await store.getChunk(r), random)
      })
    })

    test(`${label}: many writes across batches read back`, async () => {
      await withStore(EMPTY, async (s) => {
        const store = writable(s)
        const items = Array.from({ length: 300 }, (_, i) => new Uint8Array(randomBytes(1000 + i)))
        await Promise.all(items.map(async (b) => await store.putChunk(sha256.digest(b), b)))
        for (const b of items) assertBytes(await store.getChunk(sha256.digest(b)), b)
        await store.flush()
        for (const b of items) assertBytes(await store.getChunk(sha256.digest(b)), b)
        assert.equal((await store.stats()).chunks, 300)
      }, { batchBytes: 64 * 1024 })
    })

    test(`${label}: refs are committed atomically, refuse overwrite unless replaced, list and delete`, async () => {
      await withStore(EMPTY, async (s) => {
        const store = writable(s)
        await store.commitSnapshot('b', snap(1), record)
        await store.commitSnapshot('a/x:1', snap(2), record)
        await assert.rejects(store.commitSnapshot('b', snap(3), record), expectCode('ERR_REF_EXISTS'))
        assertBytes((await store.getRef('b'))!.snapshot, snap(1).digest)
        await store.commitSnapshot('b', snap(3), record, { replace: true })
        assertBytes((await store.getRef('b'))!.snapshot, snap(3).digest)
        assertBytes(await store.getSnapshot(snap(3).digest), snap(3).bytes)
        const names: string[] = []
        for await (const [name] of store.listRefs()) names.push(name)
        assert.deepEqual(names, ['a/x:1', 'b'])
        assert.equal(await store.deleteRef('b'), true)
        assert.equal(await store.deleteRef('b'), false)
        assert.equal(await store.getRef('b'), undefined)
        for (const bad of ['', '-x', '.x', '/x', 'a b', 'a//b', 'x/', 'é']) {
          await assert.rejects(store.commitSnapshot(bad, snap(1), record), expectCode('ERR_INVALID_REF_NAME'), bad)
        }
        const stats = await store.stats()
        assert.equal(stats.snapshots, 1)
        assert.equal(stats.snapshotObjects, 3)
      })
    })

    test(`${label}: a closed store refuses work`, async () => {
      const store = writable(await harness.open(EMPTY))
      await store.close()
      await assert.rejects(store.getChunk(new Uint8Array(32)), expectCode('ERR_STORE'))
      await harness.close(store)
    })
  }

  // --- optional capabilities -----------------------------------------------------

  if (supports.sessions === true) {
    test(`${label}: objects written or read while a session is open are pinned until it ends`, async () => {
      const { contents } = sampleContents()
      await withStore(contents, async (store) => {
        assert.ok(hasSessions(store), 'the store opens sessions')
        const pins = store as unknown as GcPins
        const before = pins.touchSeq
        const session = store.beginSession()
        const fresh = obj(new Uint8Array(randomBytes(3000)))
        await writable(store).putChunk(fresh.digest, fresh.bytes)
        await store.getTree(contents.trees[0]!.digest)
        const pinned = new Set(pins.pinnedSince(before).map((p) => `${p.kind}:${Buffer.from(p.digest).toString('hex')}`))
        assert.ok(pinned.has(`chunk:${Buffer.from(fresh.digest).toString('hex')}`), 'a chunk written is pinned')
        assert.ok(pinned.has(`tree:${Buffer.from(contents.trees[0]!.digest).toString('hex')}`), 'a tree read is pinned')
        session.end()
        session.end()
        assert.equal(session.ended, true)
        assert.deepEqual(pins.pinnedSince(before), [], 'no pins once no session is open')
      })
    })
  }

  if (supports.packs === true) {
    test(`${label}: stored forms and pack sources decode to the chunks, in order`, async () => {
      const { contents } = sampleContents()
      await withStore(contents, async (store) => {
        assert.ok(hasStoredChunkReads(store) && hasPackAccess(store), 'the store has the export fast paths')
        const digests = contents.chunks.map((c) => c.digest)
        const stored = await store.readStoredChunks(digests)
        for (let i = 0; i < digests.length; i++) assertBytes(decodeStored(stored[i]!, digests[i]!, 'chunk', MAX_CHUNK_BYTES), contents.chunks[i]!.bytes)
        await assert.rejects(store.readStoredChunks([digests[0]!, sha256.digest(randomBytes(8))]), expectCode('ERR_NOT_FOUND'))
        const lease = store.leasePacks()
        if (lease === undefined) return // packs in memory: no descriptors to lease
        try {
          const lookup = store.lookupChunkIndex(digests)
          const sources = await store.resolveChunkSources(digests, lease, lookup)
          for (let i = 0; i < sources.length; i++) {
            const source = sources[i]!
            let form: Uint8Array
            if ('stored' in source) {
              form = source.stored
            } else {
              const { location } = source
              const header = 36
              const buf = Buffer.alloc(header + location.storedLength)
              readSync(source.fd, buf, 0, buf.length, location.offset - header)
              form = checkRecord(buf, digests[i]!, location, 'chunk')
            }
            assertBytes(decodeStored(form, digests[i]!, 'chunk', MAX_CHUNK_BYTES), contents.chunks[i]!.bytes)
          }
          await assert.rejects(store.resolveChunkSources(digests.slice(1), lease, store.lookupChunkIndex(digests)), expectCode('ERR_INVALID_ARGUMENT'))
        } finally {
          await lease.close()
        }
      })
    })
  }

  if (supports.encodedChunks === true) {
    test(`${label}: a chunk given in its stored form reads back verified, once`, async () => {
      await withStore(EMPTY, async (store) => {
        assert.ok(hasEncodedChunkWrites(store), 'the store takes encoded chunks')
        const bytes = new Uint8Array(Buffer.from('encoded elsewhere '.repeat(400)))
        const digest = sha256.digest(bytes)
        const filter = await store.chunkFilter()
        assert.equal(filter.mayHave(digest), false)
        assert.equal(await store.putEncodedChunk(digest, bytes.length, encodeStored(bytes, { level: store.compressionLevel })), 'stored')
        assert.equal(await store.putEncodedChunk(digest, bytes.length, encodeStored(bytes, { level: 0 })), 'present')
        assert.equal(filter.mayHave(digest), true, 'the filter learns what is stored')
        assertBytes(await store.getChunk(digest), bytes)
        // A stored form that lies about its bytes is caught on read, not trusted.
        const other = sha256.digest(randomBytes(8))
        await store.putEncodedChunk(other, bytes.length, encodeStored(bytes, { level: 0 }))
        await assert.rejects(store.getChunk(other), expectCode('ERR_INTEGRITY'))
      })
    })
  }

  if (supports.records === true) {
    test(`${label}: record sublevels are committed with the objects queued before them`, async () => {
      await withStore(EMPTY, async (store) => {
        assert.ok(hasRecords(store), 'the store keeps record sublevels')
        for (const own of ['c', 'x', 't', 's', 'r', 'm']) assert.throws(() => store.recordSublevel(own), expectCode('ERR_STORE'))
        const sub = store.recordSublevel('q')
        const chunk = obj(new Uint8Array(randomBytes(2000)))
        await writable(store).putChunk(chunk.digest, chunk.bytes)
        await store.commitRecords([{ type: 'put', sublevel: sub, key: chunk.digest, value: new Uint8Array([1, 2, 3]) }])
        assertBytes((await sub.get(chunk.digest))!, new Uint8Array([1, 2, 3]))
        assertBytes(await store.getChunk(chunk.digest), chunk.bytes)
        await store.commitRecords([{ type: 'del', sublevel: sub, key: chunk.digest }])
        assert.equal(await sub.get(chunk.digest), undefined)
      })
    })
  }
}
