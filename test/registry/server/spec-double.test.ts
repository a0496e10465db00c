/** The spec suite against the in-memory test double of the store contract. */
import { specSuite } from './spec-suite.js'
import { MemoryRegistry } from './memory-registry.js'

specSuite('test double', async () => {
  const registry = new MemoryRegistry()
  return {
    registry,
    dump: async () => ({
      blobs: [...registry.blobs.bytes.keys()].sort(),
      links: [...registry.links].map(([r, s]) => [r, [...s].sort()]),
      manifests: [...registry.manifests].map(([r, m]) => [r, [...m.keys()].sort()]),
      tags: [...registry.tags].map(([r, m]) => [r, [...m]])
    }),
    close: async () => {}
  }
})
