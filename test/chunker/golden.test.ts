/**
 * Golden vector G1 of docs/FORMAT.md §8: the chunker's output on a fixed
 * 1 MiB pseudo-random input with the default parameters. If this test
 * fails, chunk boundaries changed and every stored snapshot would change its
 * root digest: that is a format change, not a bug fix.
 */
import { test } from 'node:test'
import assert from 'node:assert/strict'
import { createHash } from 'node:crypto'
import { chunkBuffer, chunkStream, DEFAULT_CHUNKER_PARAMS } from '../../src/chunker/index.js'

/**
 * The G1 input: `x_0 = 1`, `x_{i+1} = (1103515245·x_i + 12345) mod 2^31`,
 * byte `i` = `(x_{i+1} >> 16) & 0xff`, for `i = 0 … 2^20 − 1`.
 * (`Math.imul` keeps the low 32 bits exactly, which is all `mod 2^31` needs.)
 */
function g1Input (): Uint8Array {
  const out = new Uint8Array(1 << 20)
  let x = 1
  for (let i = 0; i < out.length; i++) {
    x = (Math.imul(x, 1103515245) + 12345) & 0x7fffffff
    out[i] = (x >>> 16) & 0xff
  }
  return out
}

const sha256 = (bytes: Uint8Array): string => createHash('sha256').update(bytes).digest('hex')

/** sha256 of the whole G1 input (pins the generator). */
const G1_INPUT_SHA256 = '3dbac2f942957e365de60b4316ada461206b725f9446456bc85be911fb542ce8'

/** G1 chunk lengths with the default parameters (19 chunks). */
const G1_LENGTHS = [
  78076, 19631, 52045, 71131, 41863, 51255, 37570, 29493, 24547, 92826,
  65361, 79920, 47010, 66201, 27549, 57911, 97397, 44242, 64548
]

/** sha256 of each G1 chunk, in order. */
const G1_CHUNK_SHA256 = [
  'e2f0d5e535559e8c096e7331bb279fe9a5fa5f0945f5de052589d7ba73c60ba4',
  '7578e296883715b00daac875f6a4fb79c0609be2a1d0d0bdadcdccf8acef0e28',
  'a10548633f219e82acce366a45d48a8cb9f469092c48ab96c893baaf3929b61e',
  '5f6147e3996de4f6d63bc48cbbfb3e091fdd74722ed0ea8fe81497b454bb8b63',
  'c8e1953716eb0b18723e03cb80a171839d43a685e01956abf0d06301b5397f8e',
  'e95bfaa4ac59440f0e7b656b2aec37424443d6d9ff9923e9f89c054e50e31063',
  '7b66614e07e65cbb7112ef7c5eff94a31ad1d5f162defc127dd3fa1569c5d1cc',
  'dbd367ba9227a3c65b08508662ccd4d9eb5bd48e04769053ee794498b62ebaaa',
  '1b491fe58df3eab08a9090fd8174f811670dc3b6fccdf6814dd0525b12040a7f',
  '88f48064e1e88d745f6025ee8ef12f57e026cdc3f825c26864e3aaf66e888d87',
  '99300f4d778b33fb8283bb73cff94d3b0b38023f2cd2dfac7facdea997e604e0',
  '26c572a2ee2d85c1d71bb465f596bb5434bd355e90ce71f9cd0dd6ede1e27c6a',
  '4b851574dc036603aa7c5af5b50632c15724ae2bbea444741b60bf786db5c553',
  'e386d8b73377fc13f3ed8273d7f62273e9fc56ef62e8c7f9dbee0c4accb8f183',
  'a29b91cbfe6fa6d10a0fd9754ee0263e2e6bd5549095c959f434d45a22ab6b17',
  '50af7fa5b6ea15a655c5bfe44972204c499574310a6779311dc16b82ac213867',
  'f9f786d226a455514057a25b1a85be56c22b7a5f2133aa59f24a0f874ce1d58d',
  '7d3ac7a1cf3783503ab2a32c1d576567955cf2e74c2f5388ffea0fee3ec1508d',
  'eae827a8e93a81e2daf94b8f47671212f9cde0c20c811d64db062cd0feae2a7c'
]

test('G1 input: the LCG bytes', () => {
  const input = g1Input()
  assert.deepEqual([...input.subarray(0, 8)], [198, 126, 129, 107, 75, 251, 226, 251])
  // cross-check the Math.imul shortcut against exact BigInt arithmetic
  let x = 1n
  for (let i = 0; i < 4096; i++) {
    x = (x * 1103515245n + 12345n) % (1n << 31n)
    assert.equal(input[i], Number((x >> 16n) & 0xffn))
  }
  assert.equal(sha256(input), G1_INPUT_SHA256)
})

test('G1: chunk lengths and chunk digests with the default parameters', () => {
  const input = g1Input()
  assert.deepEqual(DEFAULT_CHUNKER_PARAMS, { min: 16384, avg: 65536, max: 262144 })
  const lengths = chunkBuffer(input)
  assert.equal(G1_LENGTHS.reduce((a, b) => a + b, 0), input.length)
  assert.deepEqual(lengths, G1_LENGTHS)
  let pos = 0
  const digests = lengths.map(n => sha256(input.subarray(pos, (pos += n))))
  assert.deepEqual(digests, G1_CHUNK_SHA256)
})

test('G1: streamed in odd reads gives the same chunks', async () => {
  const input = g1Input()
  function * reads (): Generator<Uint8Array> {
    for (let pos = 0, n = 1; pos < input.length; pos += n, n = (n * 7 + 13) % 150001) yield input.subarray(pos, pos + n)
  }
  const digests: string[] = []
  for await (const chunk of chunkStream(reads(), { windowSize: DEFAULT_CHUNKER_PARAMS.max })) digests.push(sha256(chunk))
  assert.deepEqual(digests, G1_CHUNK_SHA256)
})
