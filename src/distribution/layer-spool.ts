/**
 * Layers of an ordinary remote image downloaded once: flattening reads a
 * layer twice (a scan of its headers, then a store pass over the layers
 * whose content survives; src/flatten), and a registry must not be asked
 * for the same blob twice. The first read of a layer streams it from the
 * registry and writes the compressed bytes, as they pass, to a file in a
 * private temporary directory; once that read ends with the blob verified
 * (the client checks size and digest at the end), later reads come from
 * the file, verified again against the descriptor as they are read.
 *
 * A first read that fails or is abandoned part way removes its file, so a
 * later read goes to the registry again. {@link LayerSpool.close} removes
 * the directory. Disk used: at most the compressed size of the image's
 * layers, under `os.tmpdir()` (`TMPDIR`) unless a directory is given.
 *
 * @module
 */
import { mkdtemp, open, rm, type FileHandle } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { openRegularFile, readRange, verifiedStream } from '../oci/blob.js'
import type { LayerSource } from '../oci/types.js'

/** A set of spooled layers sharing one temporary directory. */
export class LayerSpool {
  readonly #parent: string
  #dir: Promise<string> | undefined
  #closed = false
  #next = 0

  /** @param parent - where the private directory is made (default `os.tmpdir()`) */
  constructor (parent: string = tmpdir()) {
    this.#parent = parent
  }

  /** `layer` read from its source the first time, from the spool after a complete, verified first read. */
  wrap (layer: LayerSource): LayerSource {
    const index = this.#next++
    let spooled: string | undefined
    const spool = async (): Promise<{ path: string, handle: FileHandle }> => {
      this.#dir ??= mkdtemp(join(this.#parent, 'tessera-layers-'))
      const path = join(await this.#dir, `layer-${index}`)
      return { path, handle: await open(path, 'w', 0o600) }
    }
    const fromSource = async function * (o: { signal?: AbortSignal }): AsyncGenerator<Uint8Array> {
      const file = await spool()
      let complete = false
      try {
        for await (const chunk of layer.open(o)) {
          await file.handle.write(chunk)
          yield chunk
        }
        complete = true
      } finally {
        await file.handle.close()
        if (complete) spooled = file.path
        else await rm(file.path, { force: true })
      }
    }
    const fromSpool = async function * (path: string, o: { signal?: AbortSignal }): AsyncGenerator<Uint8Array> {
      const what = `layer ${layer.descriptor.digest} (spooled)`
      const { handle, size } = await openRegularFile(path, what)
      try {
        yield * verifiedStream(readRange(handle, 0, size, o.signal), layer.descriptor, what, o.signal !== undefined ? { signal: o.signal } : {})
      } finally {
        await handle.close()
      }
    }
    return {
      descriptor: layer.descriptor,
      open: (o: { signal?: AbortSignal } = {}) => this.#checked(() => spooled !== undefined ? fromSpool(spooled, o) : fromSource(o))
    }
  }

  async * #checked (read: () => AsyncIterable<Uint8Array>): AsyncGenerator<Uint8Array> {
    if (this.#closed) throw new Error('a layer was read after its image was closed')
    yield * read()
  }

  /** Remove the spool directory and everything in it. */
  async close (): Promise<void> {
    this.#closed = true
    const dir = this.#dir
    this.#dir = undefined
    const path = await dir?.catch(() => undefined) // a failed mkdtemp made nothing
    if (path !== undefined) await rm(path, { recursive: true, force: true })
  }
}
