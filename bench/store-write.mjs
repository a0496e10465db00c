// Microbenchmark: CPU and wall time to store N MiB of 24 KiB stored chunk
// values through openStore (putEncodedChunk, already framed: no zstd), and
// the store's size on disk after close. Run with a built tree:
//
//   node bench/store-write.mjs [--mib 234] [--dist dist] [--dir /tmp/x]
//
// --dist points at another build (e.g. of main) to compare store designs.
import { randomBytes } from 'node:crypto'
import { mkdtemp, rm } from 'node:fs/promises'
import { execFileSync } from 'node:child_process'
import { tmpdir } from 'node:os'
import { join, resolve } from 'node:path'
import { parseArgs } from 'node:util'
import { pathToFileURL } from 'node:url'

const { values } = parseArgs({ options: { mib: { type: 'string', default: '234' }, dist: { type: 'string', default: 'dist' }, dir: { type: 'string' } } })
const { openStore } = await import(pathToFileURL(resolve(values.dist, 'src/store/open.js')).href)
const size = 24 * 1024
const count = Math.round(Number(values.mib) * 1024 * 1024 / size)
// A pool of random payloads (incompressible, as zstd frames are), each
// stored under a fresh random digest: every put stores a new value.
const payloads = Array.from({ length: 64 }, () => { const b = randomBytes(size); b[0] = 0; return new Uint8Array(b) })
const dir = values.dir ?? await mkdtemp(join(tmpdir(), 'tessera-bench-store-'))
const store = await openStore(dir, { compressionThreads: 0 })
const cpu0 = process.cpuUsage()
const t0 = process.hrtime.bigint()
for (let i = 0; i < count; i++) await store.putEncodedChunk(new Uint8Array(randomBytes(32)), size - 1, payloads[i % payloads.length])
await store.close()
const wall = Number(process.hrtime.bigint() - t0) / 1e9
const cpu = process.cpuUsage(cpu0)
const du = Number(execFileSync('du', ['-sb', dir]).toString().split('\t')[0])
console.log(JSON.stringify({ dist: values.dist, mib: Number(values.mib), values: count, cpuSeconds: +((cpu.user + cpu.system) / 1e6).toFixed(2), userSeconds: +(cpu.user / 1e6).toFixed(2), systemSeconds: +(cpu.system / 1e6).toFixed(2), wallSeconds: +wall.toFixed(2), diskMiB: +(du / 2 ** 20).toFixed(1) }))
if (values.dir === undefined) await rm(dir, { recursive: true, force: true })
