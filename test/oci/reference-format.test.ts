import { test } from 'node:test'
import assert from 'node:assert/strict'
import { formatRepositoryReference, parseDockerReference } from '../../src/oci/reference.js'

test('a repository with a digest is written REPO@DIGEST, with a tag REPO:TAG, as docker and skopeo write them', () => {
  const digest = `sha256:${'ab'.repeat(32)}`
  assert.equal(formatRepositoryReference('lib/app', digest), `lib/app@${digest}`)
  assert.equal(formatRepositoryReference('lib/app', 'v1.2'), 'lib/app:v1.2')
  assert.equal(formatRepositoryReference('lib/app', 'latest'), 'lib/app:latest')
  // What is written parses back to the same repository and reference.
  for (const reference of [digest, 'v1.2']) {
    const parsed = parseDockerReference(`example.com/${formatRepositoryReference('lib/app', reference)}`)
    assert.equal(parsed.name, 'example.com/lib/app')
    assert.equal(parsed.digest ?? parsed.tag, reference)
  }
})
