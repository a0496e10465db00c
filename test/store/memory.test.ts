import { MemoryLevel } from 'memory-level'
import { storeConformance } from './conformance.js'
import { LOCAL_STORE_SUPPORTS, levelStoreHarness } from './level-harness.js'

storeConformance('memory-level', levelStoreHarness(async () => new MemoryLevel<Uint8Array, Uint8Array>({ keyEncoding: 'view', valueEncoding: 'view' }) as any), LOCAL_STORE_SUPPORTS)
