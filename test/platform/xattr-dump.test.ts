/**
 * The getfattr/setfattr dump format, without running the tools: quoting,
 * the streaming parser, the record formatter.
 */
import { test } from 'node:test'
import assert from 'node:assert/strict'
import fc from 'fast-check'
import { DumpParser, formatDumpRecord, quote, unquote, type DumpRecord } from '../../src/platform/xattr-dump.js'
import { LineSplitter } from '../../src/platform/tool.js'

const b = (s: string): Buffer => Buffer.from(s, 'latin1')

function parseAll (text: Buffer, chunkSize = text.length): DumpRecord[] {
  const records: DumpRecord[] = []
  const parser = new DumpParser(r => records.push(r))
  const splitter = new LineSplitter(line => parser.line(line))
  for (let i = 0; i < text.length; i += chunkSize) splitter.push(text.subarray(i, i + chunkSize))
  splitter.end()
  parser.end()
  return records
}

test('quote escapes backslash, newline, carriage return (and = in names) as \\ooo, nothing else', () => {
  assert.equal(quote(b('a\\b\nc\rd=e f\xff'), 'path').toString('latin1'), 'a\\134b\\012c\\015d=e f\xff')
  assert.equal(quote(b('user.a=b\\'), 'name').toString('latin1'), 'user.a\\075b\\134')
  const plainBytes = b('nothing/special here')
  assert.equal(quote(plainBytes, 'path'), plainBytes)
})

test('unquote decodes any \\ooo (also the older quoting of spaces and high bytes) and keeps stray backslashes', () => {
  assert.deepEqual(unquote(b('a\\134b\\012\\040\\377')), b('a\\b\n \xff'))
  assert.deepEqual(unquote(b('x\\9y\\12')), b('x\\9y\\12'))
  assert.deepEqual(unquote(b('\\777')), b('\xff'))
})

test('unquote(quote(x)) is x for any bytes without NUL', () => {
  fc.assert(fc.property(fc.uint8Array({ maxLength: 64 }), fc.constantFrom<'path' | 'name'>('path', 'name'), (arr, what) => {
    const bytes = Buffer.from(arr.filter(x => x !== 0))
    const quoted = quote(bytes, what)
    assert.ok(!quoted.includes(0x0a) && !quoted.includes(0x0d))
    if (what === 'name') assert.ok(!quoted.includes(0x3d))
    assert.deepEqual(unquote(quoted), bytes)
  }))
})

test('the parser reads records as getfattr prints them, in any chunking', () => {
  const text = b([
    '# file: /proc/self/fd/3/./c\\134d',
    'user.nl\\012x=0x31',
    '',
    '# file: /proc/self/fd/3/./x\xffy',
    'user.k=0x00ff3d0a',
    'user.empty=0x',
    '',
    '# file: /proc/self/fd/3/./sp ace',
    'user.a\\075b=0xABcd',
    '# file: not a header inside a block=0x00',
    '',
    ''
  ].join('\n'))
  for (const size of [1, 2, 7, text.length]) {
    const records = parseAll(text, size)
    assert.deepEqual(records, [
      { path: b('/proc/self/fd/3/./c\\d'), xattrs: [[b('user.nl\nx'), b('1')]] },
      { path: b('/proc/self/fd/3/./x\xffy'), xattrs: [[b('user.k'), b('\x00\xff=\n')], [b('user.empty'), b('')]] },
      { path: b('/proc/self/fd/3/./sp ace'), xattrs: [[b('user.a=b'), b('\xab\xcd')], [b('# file: not a header inside a block'), b('\x00')]] }
    ])
  }
})

test('the parser delivers a last record that has no blank line after it', () => {
  assert.deepEqual(parseAll(b('# file: p\nuser.a=0x01')), [{ path: b('p'), xattrs: [[b('user.a'), b('\x01')]] }])
  assert.deepEqual(parseAll(b('')), [])
})

test('the parser rejects what getfattr -d -e hex never prints', () => {
  for (const bad of ['user.a=0x01\n', '# file: p\nuser.a\n', '# file: p\n=0x00\n', '# file: p\nuser.a="text"\n', '# file: p\nuser.a=0x123\n', '# file: p\nuser.a=0xzz\n']) {
    assert.throws(() => parseAll(b(bad)), { code: 'ERR_PLATFORM' }, JSON.stringify(bad))
  }
})

test('formatDumpRecord writes what the parser reads back', () => {
  const path = b('dir/new\nline\\and\r\xff')
  const xattrs: Array<[Buffer, Buffer]> = [[b('user.=\n\\'), b('\x00\x01')], [b('trusted.t'), b('')]]
  const text = formatDumpRecord(path, xattrs)
  assert.equal(text.toString('latin1'), '# file: dir/new\\012line\\134and\\015\xff\nuser.\\075\\012\\134=0x0001\ntrusted.t=0x\n\n')
  assert.deepEqual(parseAll(text), [{ path, xattrs }])
})
