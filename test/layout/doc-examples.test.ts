/**
 * The TypeScript examples of docs/API.md and the README compile against the package's
 * declarations (`import ... from 'tessera'`, as a user writes it) with the
 * strictest options a user may have: `strict`, `exactOptionalPropertyTypes`
 * and `noUncheckedIndexedAccess`. Each ```ts block is a module of its own;
 * the variables the prose takes as given (`store`, `signal`, `digest`...)
 * are declared once for all blocks, and a block that declares or imports
 * one of them shadows it.
 */
import { test } from 'node:test'
import assert from 'node:assert/strict'
import { mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'
import ts from 'typescript'

const repo = fileURLToPath(new URL('../../../', import.meta.url))

/** What the examples take as given, declared as globals. */
const GIVEN = `import type * as T from 'tessera'
declare global {
  const store: T.LocalObjectStore
  const signal: AbortSignal
  const digest: string
  const size: number
  const mediaType: string
  const bytes: Uint8Array
  const stream: AsyncIterable<Uint8Array>
  const onProgress: (progress: T.FsckProgress) => void
  const SnapshotReader: typeof T.SnapshotReader
  const importDirectory: typeof T.importDirectory
  const exportDirectory: typeof T.exportDirectory
  const exportTar: typeof T.exportTar
}
export {}
`

/** The ```ts blocks of a Markdown file, with the line each starts on. */
function tsBlocks (markdown: string): Array<{ line: number, code: string }> {
  const blocks: Array<{ line: number, code: string }> = []
  const lines = markdown.split('\n')
  for (let i = 0; i < lines.length; i++) {
    if (lines[i]!.trim() !== '```ts') continue
    const start = i + 1
    let end = start
    while (end < lines.length && lines[end]!.trim() !== '```') end++
    blocks.push({ line: start + 1, code: lines.slice(start, end).join('\n') })
    i = end
  }
  return blocks
}

test('the ```ts examples of docs/API.md and README.md type-check under exactOptionalPropertyTypes', () => {
  const blocks = ['docs/API.md', 'README.md'].flatMap((doc) => tsBlocks(readFileSync(join(repo, doc), 'utf8')).map((b) => ({ ...b, doc })))
  assert.ok(blocks.filter((b) => b.doc === 'docs/API.md').length >= 5 && blocks.some((b) => b.doc === 'README.md'), `found ${blocks.length} blocks`)
  // Inside the package, so that 'tessera' resolves to its own exports (dist/src/index.d.ts).
  const dir = join(repo, 'dist', `doc-examples-${process.pid}`)
  mkdirSync(dir, { recursive: true })
  try {
    const files = blocks.map((b, i) => {
      const file = join(dir, `block-${i + 1}.ts`)
      writeFileSync(file, `${b.code}\nexport {}\n`)
      return file
    })
    const given = join(dir, 'given.d.ts')
    writeFileSync(given, GIVEN)
    const program = ts.createProgram([given, ...files], {
      target: ts.ScriptTarget.ES2022,
      module: ts.ModuleKind.NodeNext,
      moduleResolution: ts.ModuleResolutionKind.NodeNext,
      lib: ['lib.es2022.d.ts'],
      types: ['node'],
      typeRoots: [join(repo, 'node_modules', '@types')],
      strict: true,
      exactOptionalPropertyTypes: true,
      noUncheckedIndexedAccess: true,
      skipLibCheck: true,
      noEmit: true
    })
    const problems = ts.getPreEmitDiagnostics(program).map((d) => {
      const text = ts.flattenDiagnosticMessageText(d.messageText, '\n')
      if (d.file === undefined || d.start === undefined) return text
      const { line } = d.file.getLineAndCharacterOfPosition(d.start)
      const block = blocks[files.indexOf(d.file.fileName)]
      return `${block !== undefined ? `${block.doc}:${block.line + line}` : d.file.fileName}: ${text}`
    })
    assert.deepEqual(problems, [])
  } finally {
    rmSync(dir, { recursive: true, force: true })
  }
})

test('every error class in API.md\'s table is exported from the package root, with the code the table gives', async () => {
  const api = readFileSync(join(repo, 'docs/API.md'), 'utf8')
  const rows = [...api.matchAll(/^\| `(ERR_[A-Z0-9_]+)` \| `([A-Za-z]+Error)`/gm)].map((m) => [m[1]!, m[2]!] as const)
  assert.ok(rows.length >= 25, `found ${rows.length} rows`)
  const root = await import('../../src/index.js') as Record<string, unknown>
  const missing = rows.filter(([, name]) => typeof root[name] !== 'function').map(([, name]) => name)
  assert.deepEqual(missing, [], 'classes the table names but the package does not export')
  for (const [code, name] of rows) assert.equal((root[name] as { code?: string }).code, code, name)
})
