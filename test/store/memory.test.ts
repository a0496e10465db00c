import { MemoryLevel } from 'memory-level'
import { storeConformance } from './conformance.js'

storeConformance('memory-level', async () => new MemoryLevel<Uint8Array, Uint8Array>({ keyEncoding: 'view', valueEncoding: 'view' }) as any)
