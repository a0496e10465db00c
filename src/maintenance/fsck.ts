/**
 * fsck: re-read and verify every object of a store.
 *
 * - every chunk, tree and snapshot decodes from its stored form and hashes
 *   to its key (`corrupt`);
 * - every tree and snapshot is canonical (`non-canonical`), and every tree
 *   follows the `inlineMax` of each snapshot that reaches it;
 * - everything a ref reaches is present (`missing`), and each chunk has the
 *   length its reference says (`length-mismatch`);
 * - every ref decodes (`bad-ref`) and points at a readable snapshot
 *   (`dangling-ref`), and everything that snapshot reaches is present,
 *   intact and of the stated length (`damaged`, one per ref, naming the
 *   snapshot and what it lacks; the same for a root provider's objects);
 * - the chunk index `x` matches `c` (`index`) and the counters match a
 *   recount (`counters`);
 * - every pack a chunk location names exists (`pack`); each chunk is read
 *   from its pack and its record must hold its digest and lengths
 *   (`corrupt` otherwise). Bytes in packs that no location names (records
 *   of deleted chunks, the torn tail a crash leaves) are not problems:
 *   they are counted in `packs.reclaimableBytes`, which gc reclaims.
 *
 * Objects no ref reaches are not problems (a gc reclaims them); they are
 * counted in `unreferenced`.
 *
 * `repair` drops what cannot be rebuilt and never intact data: refs that
 * do not decode or whose snapshot is missing or corrupt, corrupt objects
 * (so that importing the same content again stores them anew, and
 * including the index entries of chunks whose pack is missing), and it
 * rebuilds the chunk index and the counters. Missing objects stay
 * reported, and so does every snapshot that lacks an object (`damaged`):
 * dropping a corrupt chunk makes it missing, not whole. Only a new import
 * of the same content brings them back, so a repair that drops an object
 * something reaches is never `ok`.
 *
 * @module
 */
import { throwIfAborted } from '../errors.js'
import { decodeRef } from '../format/ref.js'
import { decodeSnapshot } from '../format/snapshot.js'
import { isHole } from '../format/entry.js'
import { decodeTree } from '../format/tree.js'
import { digestToBytes, digestToString } from '../hash/digest.js'
import { declaredLength, type FsckView, MAX_CHUNK_BYTES, MAX_TREE_BYTES, type ObjectKind, type StoreCounters } from '../store/index.js'
import { packFileName, PACK_MAGIC, RECORD_HEADER_BYTES } from '../store/pack/index.js'
import { decodeStored } from '../store/stored-object.js'
import { digestKey } from './mark.js'
import { registeredRootProviders } from './roots.js'

/** Kinds of problem fsck reports. */
export type FsckProblemKind = 'corrupt' | 'non-canonical' | 'missing' | 'length-mismatch' | 'bad-ref' | 'dangling-ref' | 'damaged' | 'index' | 'counters' | 'pack'

/** One problem. */
export interface FsckProblem {
  kind: FsckProblemKind
  /** The object: `chunk sha256:…`, `tree sha256:…`, `snapshot sha256:…`, `ref NAME`, `index`, `counters`, `pack NNNNNNNN.pack`, a root provider's name. */
  object: string
  message: string
  /** The error code reading the object gave, when there was one. */
  code?: string
  /** True when `repair` fixed it. */
  repaired: boolean
}

/** Progress of an fsck. */
export interface FsckProgress {
  phase: 'chunks' | 'trees' | 'snapshots' | 'refs' | 'reachability'
  objects: number
  bytes: number
}

/** Options for {@link fsck}. */
export interface FsckOptions {
  /** Drop refs that cannot be rebuilt and corrupt objects; rebuild the index and counters. */
  repair?: boolean
  signal?: AbortSignal
  onProgress?: (progress: FsckProgress) => void
}

/** What fsck found. */
export interface FsckReport {
  /** No problem is left (none found, or all repaired). */
  ok: boolean
  /** Objects read, per kind, and refs. */
  objects: { chunks: number, trees: number, snapshots: number, refs: number }
  /** Objects no ref reaches (not a problem). */
  unreferenced: { chunks: number, trees: number, snapshots: number }
  /** Stored bytes read. */
  bytesRead: number
  /** Pack files: how many, their bytes, and the bytes in them no chunk location names (gc reclaims them; not a problem). */
  packs: { files: number, bytes: number, reclaimableBytes: number }
  problems: FsckProblem[]
}

interface TreeInfo {
  subtrees: Uint8Array[]
  chunks: Array<{ digest: Uint8Array, length: number }>
  /** Largest inline file, -1 if none. */
  maxInline: number
  /** Smallest chunked file, Infinity if none. */
  minChunked: number
}

const codeOf = (err: unknown): string | undefined => (err as { code?: unknown }).code as string | undefined
const problemKind = (err: unknown): FsckProblemKind => codeOf(err) === 'ERR_NON_CANONICAL' ? 'non-canonical' : 'corrupt'

/** Verify every object of `store`; see the module documentation. */
export async function fsck (store: FsckView, options: FsckOptions = {}): Promise<FsckReport> {
  const { signal, onProgress } = options
  const repair = options.repair === true
  const problems: FsckProblem[] = []
  const report = (p: Omit<FsckProblem, 'repaired'>): FsckProblem => { const full = { ...p, repaired: false }; problems.push(full); return full }
  await store.flush()
  const counted: StoreCounters = { chunks: 0, chunkBytes: 0, chunkStored: 0, trees: 0, treeBytes: 0, treeStored: 0, snapshots: 0 }
  let bytesRead = 0
  /** Objects to drop on repair, with the lengths the store counted them with. */
  const broken: Array<{ kind: ObjectKind, digest: Uint8Array, problem: FsckProblem, storedLength: number, length: number }> = []

  // Chunks: digests and lengths, read from their packs.
  const chunkLength = new Map<string, number>()
  const badChunks = new Set<string>()
  /** Per pack: bytes of the records chunk locations name, and how many. */
  const packLive = new Map<number, { bytes: number, chunks: number }>()
  for await (const record of store.listChunkRecords()) {
    const { digest } = record
    bytesRead += record.storedLength
    counted.chunks++
    counted.chunkStored += record.storedLength
    if (record.location !== undefined) {
      const live = packLive.get(record.location.pack) ?? { bytes: 0, chunks: 0 }
      live.bytes += RECORD_HEADER_BYTES + record.location.storedLength
      live.chunks++
      packLive.set(record.location.pack, live)
    }
    try {
      if (record.error !== undefined) throw record.error
      const bytes = decodeStored(record.stored!, digest, 'chunk', MAX_CHUNK_BYTES)
      chunkLength.set(digestKey(digest), bytes.length)
      counted.chunkBytes += bytes.length
    } catch (err) {
      counted.chunkBytes += record.length
      badChunks.add(digestKey(digest))
      broken.push({ kind: 'chunk', digest, storedLength: record.storedLength, length: record.length, problem: report({ kind: problemKind(err), object: `chunk ${digestToString(digest)}`, message: (err as Error).message, ...(codeOf(err) !== undefined ? { code: codeOf(err) } : {}) }) })
    }
    if (counted.chunks % 1024 === 0) { throwIfAborted(signal); onProgress?.({ phase: 'chunks', objects: counted.chunks, bytes: bytesRead }) }
  }

  // Packs: those locations name must exist; the rest of their bytes is reclaimable.
  const packFiles = await store.listPacks()
  const packSize = new Map(packFiles.map((p) => [p.pack, p.size]))
  const packProblems: FsckProblem[] = []
  for (const [pack, live] of packLive) {
    if (!packSize.has(pack)) packProblems.push(report({ kind: 'pack', object: `pack ${packFileName(pack)}`, message: `missing from ${store.packsDescription}; ${live.chunks} chunks point at it` }))
  }
  let reclaimableBytes = 0
  for (const { pack, size } of packFiles) {
    const live = packLive.get(pack)
    reclaimableBytes += live === undefined ? size : Math.max(0, size - PACK_MAGIC.length - live.bytes)
  }
  const packs = { files: packFiles.length, bytes: packFiles.reduce((n, p) => n + p.size, 0), reclaimableBytes }

  // The chunk index must list exactly the chunks.
  const indexed = new Set<string>()
  const orphanIndex: Uint8Array[] = []
  for await (const digest of store.listDigests('chunk-index')) {
    const k = digestKey(digest)
    indexed.add(k)
    if (!chunkLength.has(k) && !badChunks.has(k)) orphanIndex.push(digest)
  }
  const unindexed: Uint8Array[] = []
  for (const k of [...chunkLength.keys(), ...badChunks]) if (!indexed.has(k)) unindexed.push(new Uint8Array(Buffer.from(k, 'latin1')))
  indexed.clear()
  const indexProblem = orphanIndex.length + unindexed.length > 0
    ? report({ kind: 'index', object: 'index', message: `the chunk index lists ${orphanIndex.length} chunks that are not stored and misses ${unindexed.length} that are` })
    : undefined

  // Trees: canonical, and what they reference.
  const trees = new Map<string, TreeInfo>()
  const badTrees = new Set<string>()
  for await (const [digest, stored] of store.listStored('tree')) {
    bytesRead += stored.length
    counted.trees++
    counted.treeStored += stored.length
    try {
      const bytes = decodeStored(stored, digest, 'tree', MAX_TREE_BYTES)
      counted.treeBytes += bytes.length
      const info: TreeInfo = { subtrees: [], chunks: [], maxInline: -1, minChunked: Infinity }
      for (const e of decodeTree(bytes)) {
        if (e.kind === 'dir') info.subtrees.push(e.tree)
        else if (e.kind === 'file') {
          if (e.content instanceof Uint8Array) info.maxInline = Math.max(info.maxInline, e.size)
          else { info.minChunked = Math.min(info.minChunked, e.size); for (const c of e.content) if (!isHole(c)) info.chunks.push({ digest: c.digest, length: c.length }) }
        }
      }
      trees.set(digestKey(digest), info)
    } catch (err) {
      counted.treeBytes += declaredLength(stored)
      badTrees.add(digestKey(digest))
      broken.push({ kind: 'tree', digest, storedLength: stored.length, length: declaredLength(stored), problem: report({ kind: problemKind(err), object: `tree ${digestToString(digest)}`, message: (err as Error).message, ...(codeOf(err) !== undefined ? { code: codeOf(err) } : {}) }) })
    }
    if (counted.trees % 1024 === 0) { throwIfAborted(signal); onProgress?.({ phase: 'trees', objects: counted.trees, bytes: bytesRead }) }
  }

  // Snapshots.
  const snapshots = new Map<string, { root: Uint8Array, inlineMax: number }>()
  const badSnapshots = new Set<string>()
  for await (const [digest, stored] of store.listStored('snapshot')) {
    bytesRead += stored.length
    counted.snapshots++
    counted.treeStored += stored.length
    counted.treeBytes += declaredLength(stored)
    try {
      const snapshot = decodeSnapshot(decodeStored(stored, digest, 'snapshot', MAX_TREE_BYTES))
      snapshots.set(digestKey(digest), { root: snapshot.root.tree, inlineMax: snapshot.params.inlineMax })
    } catch (err) {
      badSnapshots.add(digestKey(digest))
      broken.push({ kind: 'snapshot', digest, storedLength: stored.length, length: declaredLength(stored), problem: report({ kind: problemKind(err), object: `snapshot ${digestToString(digest)}`, message: (err as Error).message, ...(codeOf(err) !== undefined ? { code: codeOf(err) } : {}) }) })
    }
  }
  onProgress?.({ phase: 'snapshots', objects: counted.snapshots, bytes: bytesRead })

  // Refs, and everything they reach.
  const reached = { chunk: new Set<string>(), tree: new Set<string>(), snapshot: new Set<string>() }
  const checkedUnder = new Set<string>()
  const missingReported = new Set<string>()
  const droppable: Array<{ name: string, problem: FsckProblem }> = []
  const walked: Array<{ name: string, snapshot: Uint8Array, root: Uint8Array }> = []
  let refs = 0
  for await (const [name, raw] of store.listRawRefs()) {
    refs++
    let snapshotDigest: Uint8Array
    try {
      snapshotDigest = decodeRef(raw).snapshot
    } catch (err) {
      droppable.push({ name, problem: report({ kind: 'bad-ref', object: `ref ${name}`, message: (err as Error).message, ...(codeOf(err) !== undefined ? { code: codeOf(err) } : {}) }) })
      continue
    }
    const sk = digestKey(snapshotDigest)
    const snapshot = snapshots.get(sk)
    if (snapshot === undefined) {
      const why = badSnapshots.has(sk) ? 'is corrupt' : 'is not in the store'
      droppable.push({ name, problem: report({ kind: 'dangling-ref', object: `ref ${name}`, message: `its snapshot ${digestToString(snapshotDigest)} ${why}` }) })
      continue
    }
    reached.snapshot.add(sk)
    walked.push({ name, snapshot: snapshotDigest, root: snapshot.root })
    // Walk the trees under this snapshot's inlineMax (iteratively: trees may nest deep).
    const stack: Array<{ digest: Uint8Array, from: string }> = [{ digest: snapshot.root, from: `snapshot ${digestToString(snapshotDigest)}` }]
    while (stack.length > 0) {
      const { digest, from } = stack.pop()!
      const tk = digestKey(digest)
      const under = `${snapshot.inlineMax}:${tk}`
      if (checkedUnder.has(under)) continue
      checkedUnder.add(under)
      reached.tree.add(tk)
      const info = trees.get(tk)
      if (info === undefined) {
        if (!badTrees.has(tk) && !missingReported.has('t' + tk)) {
          missingReported.add('t' + tk)
          report({ kind: 'missing', object: `tree ${digestToString(digest)}`, message: `referenced by ${from} (ref ${name}) but not in the store` })
        }
        continue
      }
      if (info.maxInline > snapshot.inlineMax || info.minChunked <= snapshot.inlineMax) {
        report({ kind: 'non-canonical', object: `tree ${digestToString(digest)}`, message: `its files are not inline exactly up to the inlineMax ${snapshot.inlineMax} of snapshot ${digestToString(snapshotDigest)} (ref ${name})` })
      }
      for (const sub of info.subtrees) stack.push({ digest: sub, from: `tree ${digestToString(digest)}` })
      for (const c of info.chunks) {
        const ck = digestKey(c.digest)
        reached.chunk.add(ck)
        const length = chunkLength.get(ck)
        if (length === undefined) {
          if (!badChunks.has(ck) && !missingReported.has('c' + ck)) {
            missingReported.add('c' + ck)
            report({ kind: 'missing', object: `chunk ${digestToString(c.digest)}`, message: `referenced by tree ${digestToString(digest)} (ref ${name}) but not in the store` })
          }
        } else if (length !== c.length) {
          if (!missingReported.has('l' + ck)) {
            missingReported.add('l' + ck)
            report({ kind: 'length-mismatch', object: `chunk ${digestToString(c.digest)}`, message: `tree ${digestToString(digest)} says ${c.length} bytes, the chunk has ${length}` })
          }
        }
      }
    }
    throwIfAborted(signal)
    onProgress?.({ phase: 'reachability', objects: refs, bytes: bytesRead })
  }
  // Every snapshot a ref names must be whole: a corrupt object under it
  // (which repair drops) or a missing one damages it until a new import of
  // the same content stores the object again.
  const damage = new DamageFinder(trees, chunkLength, badChunks, badTrees, repair)
  for (const { name, snapshot, root } of walked) {
    const lacks = damage.lacking(root)
    if (lacks !== undefined) report({ kind: 'damaged', object: `ref ${name}`, message: `its snapshot ${digestToString(snapshot)} lacks ${lacks}: importing the same content again heals it` })
  }

  // What the registered root providers keep (the registry's blob records,
  // for one): reached, and must be present.
  for (const provider of registeredRootProviders()) {
    const corrupt = { chunk: 0, tree: 0, snapshot: 0 }
    try {
      for await (const root of provider.roots(store)) {
        const digest = digestToBytes(root.digest)
        const k = digestKey(digest)
        const [have, bad, tag] = root.kind === 'chunk' ? [chunkLength, badChunks, 'c'] : root.kind === 'tree' ? [trees, badTrees, 't'] : [snapshots, badSnapshots, 's']
        reached[root.kind].add(k)
        if (bad.has(k) && !missingReported.has(tag + k)) {
          missingReported.add(tag + k)
          corrupt[root.kind]++
        } else if (!have.has(k) && !bad.has(k) && !missingReported.has(tag + k)) {
          missingReported.add(tag + k)
          report({ kind: 'missing', object: `${root.kind} ${root.digest}`, message: `kept by ${provider.name} but not in the store` })
        }
      }
    } catch (err) {
      report({ kind: problemKind(err), object: provider.name, message: (err as Error).message, ...(codeOf(err) !== undefined ? { code: codeOf(err) } : {}) })
    }
    const counts = (['chunk', 'tree', 'snapshot'] as const).filter((kind) => corrupt[kind] > 0).map((kind) => plural(corrupt[kind], kind))
    const one = corrupt.chunk + corrupt.tree + corrupt.snapshot === 1
    if (counts.length > 0) report({ kind: 'damaged', object: provider.name, message: `it keeps ${counts.join(', ')} that ${repair ? `${one ? 'was' : 'were'} corrupt (dropped by this repair)` : `${one ? 'is' : 'are'} corrupt`}: storing the same content again heals it` })
  }

  const stored = store.counters()
  const countersDiffer = (Object.keys(counted) as Array<keyof StoreCounters>).some((k) => counted[k] !== stored[k])

  if (repair) {
    for (const { name, problem } of droppable) { await store.deleteRawRef(name); problem.repaired = true }
    if (broken.length > 0) {
      await store.deleteObjects(broken.map(({ kind, digest }) => ({ kind, digest })))
      for (const b of broken) {
        b.problem.repaired = true
        if (b.kind === 'chunk') { counted.chunks--; counted.chunkStored -= b.storedLength; counted.chunkBytes -= b.length } else {
          if (b.kind === 'tree') counted.trees--; else counted.snapshots--
          counted.treeStored -= b.storedLength
          counted.treeBytes -= b.length
        }
      }
    }
    // The chunks pointing at a missing pack were corrupt ones, deleted above.
    for (const problem of packProblems) problem.repaired = true
    if (indexProblem !== undefined) {
      const deletedChunks = new Set(broken.filter((b) => b.kind === 'chunk').map((b) => digestKey(b.digest)))
      await store.fixChunkIndex(unindexed.filter((d) => !deletedChunks.has(digestKey(d))), orphanIndex)
      indexProblem.repaired = true
    }
  }
  const after = store.counters()
  if ((Object.keys(counted) as Array<keyof StoreCounters>).some((k) => counted[k] !== after[k]) || countersDiffer) {
    const problem = countersDiffer
      ? report({ kind: 'counters', object: 'counters', message: `the stored counters ${JSON.stringify(stored)} differ from a recount ${JSON.stringify(counted)}` })
      : undefined
    if (repair) {
      await store.setCounters(counted)
      if (problem !== undefined) problem.repaired = true
    }
  }

  return {
    ok: problems.every((p) => p.repaired),
    objects: { chunks: chunkLength.size + badChunks.size, trees: trees.size + badTrees.size, snapshots: snapshots.size + badSnapshots.size, refs },
    unreferenced: {
      chunks: chunkLength.size + badChunks.size - reached.chunk.size + [...reached.chunk].filter((k) => !chunkLength.has(k) && !badChunks.has(k)).length,
      trees: trees.size + badTrees.size - reached.tree.size + [...reached.tree].filter((k) => !trees.has(k) && !badTrees.has(k)).length,
      snapshots: snapshots.size + badSnapshots.size - reached.snapshot.size
    },
    bytesRead,
    packs,
    problems
  }
}

const plural = (n: number, what: string): string => `${n} ${what}${n === 1 ? '' : 's'}`

/**
 * Which objects a snapshot lacks: those under its root tree that are
 * missing, corrupt or of another length than their tree states. Whether a
 * tree's closure is whole is worked out once per tree (the trees form a
 * DAG shared between snapshots); only the trees that are not whole are
 * walked again to name what each snapshot lacks.
 */
class DamageFinder {
  readonly #whole = new Map<string, boolean>()
  constructor (
    private readonly trees: ReadonlyMap<string, TreeInfo>,
    private readonly chunkLength: ReadonlyMap<string, number>,
    private readonly badChunks: ReadonlySet<string>,
    private readonly badTrees: ReadonlySet<string>,
    private readonly repair: boolean
  ) {}

  #chunkWhole (c: { digest: Uint8Array, length: number }): boolean {
    return this.chunkLength.get(digestKey(c.digest)) === c.length
  }

  /** Whether everything under tree `root` is present and intact (iterative post-order: trees may nest deep). */
  #isWhole (root: string): boolean {
    const stack: Array<{ key: string, next: number }> = [{ key: root, next: 0 }]
    while (stack.length > 0) {
      const top = stack[stack.length - 1]!
      const info = this.trees.get(top.key)
      if (this.#whole.has(top.key) || info === undefined) {
        if (info === undefined) this.#whole.set(top.key, false)
        stack.pop()
        continue
      }
      while (top.next < info.subtrees.length && this.#whole.has(digestKey(info.subtrees[top.next]!))) top.next++
      if (top.next < info.subtrees.length) {
        // A tree cannot reach itself (it would hold its own digest), so this ends.
        stack.push({ key: digestKey(info.subtrees[top.next]!), next: 0 })
        continue
      }
      this.#whole.set(top.key, info.subtrees.every((t) => this.#whole.get(digestKey(t)) === true) && info.chunks.every((c) => this.#chunkWhole(c)))
      stack.pop()
    }
    return this.#whole.get(root)!
  }

  /** What the snapshot with root tree `root` lacks, in words, or undefined when it is whole. */
  lacking (root: Uint8Array): string | undefined {
    if (this.#isWhole(digestKey(root))) return undefined
    const trees = { corrupt: new Set<string>(), missing: new Set<string>() }
    const chunks = { corrupt: new Set<string>(), missing: new Set<string>(), length: new Set<string>() }
    const seen = new Set<string>()
    const stack = [digestKey(root)]
    while (stack.length > 0) {
      const key = stack.pop()!
      if (seen.has(key) || this.#whole.get(key) === true) continue
      seen.add(key)
      const info = this.trees.get(key)
      if (info === undefined) { (this.badTrees.has(key) ? trees.corrupt : trees.missing).add(key); continue }
      for (const t of info.subtrees) stack.push(digestKey(t))
      for (const c of info.chunks) {
        if (this.#chunkWhole(c)) continue
        const ck = digestKey(c.digest)
        if (this.chunkLength.has(ck)) chunks.length.add(ck)
        else (this.badChunks.has(ck) ? chunks.corrupt : chunks.missing).add(ck)
      }
    }
    const corrupt = this.repair ? 'corrupt, dropped by this repair' : 'corrupt'
    const parts: string[] = []
    for (const [what, sets] of [['chunk', chunks], ['tree', trees]] as const) {
      const total = sets.corrupt.size + sets.missing.size + ('length' in sets ? sets.length.size : 0)
      if (total === 0) continue
      const why = [
        sets.corrupt.size > 0 ? `${sets.corrupt.size === total ? '' : `${sets.corrupt.size} `}${corrupt}` : '',
        sets.missing.size > 0 ? `${sets.missing.size === total ? '' : `${sets.missing.size} `}not in the store` : '',
        'length' in sets && sets.length.size > 0 ? `${sets.length.size === total ? '' : `${sets.length.size} `}of another length than its tree states` : ''
      ].filter((w) => w !== '')
      parts.push(`${plural(total, what)} (${why.join('; ')})`)
    }
    return parts.join(' and ')
  }
}
