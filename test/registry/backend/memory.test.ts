import { test } from 'node:test'
import { MemoryLevel } from 'memory-level'
import { registryStoreConformance } from './conformance.js'
import { removeTempDirs } from './helpers.js'

test.after(removeTempDirs)
registryStoreConformance('memory-level', async () => new MemoryLevel<Uint8Array, Uint8Array>({ keyEncoding: 'view', valueEncoding: 'view' }) as any)
