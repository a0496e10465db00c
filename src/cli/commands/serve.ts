/**
 * `tessera serve`: an OCI distribution-spec registry on the store, until
 * SIGINT or SIGTERM; `serve --hash-password` hashes a password for the
 * auth file and opens no store.
 *
 * @module
 */
import { join } from 'node:path'
import { InvalidArgumentError } from '../../errors.js'
import { defineCommand } from '../command.js'
import { out } from '../output.js'

/** Read all of stdin as text, without the trailing newline. */
async function readStdin (): Promise<string> {
  const parts: Buffer[] = []
  for await (const piece of process.stdin) parts.push(piece as Buffer)
  return Buffer.concat(parts).toString('utf8').replace(/\r?\n$/, '')
}

export const serveCommand = defineCommand({
  name: 'serve',
  summary: 'run an OCI registry on the store',
  usage: [
    'serve [--host 127.0.0.1] [--port 5000] [--auth FILE] [--max-manifest-bytes N] [--max-upload-bytes N] [--offer-on-push]',
    'serve --hash-password'
  ],
  description: 'Run an OCI distribution-spec v1.1 registry on the store until SIGINT or SIGTERM. Prints its URL on\n' +
    'stdout and one line per request on stderr; upload sessions live in <store>/uploads. Tessera images pushed\n' +
    'to it keep their chunks once; images pushed as layers are also offered in tessera\'s format, as referrers.\n' +
    '--hash-password reads a password on stdin and prints its hash for the --auth file (it opens no store).',
  operands: [0, 0],
  store: 'create',
  options: {
    host: { type: 'string', value: 'ADDRESS', help: 'the address to listen on (default 127.0.0.1)' },
    port: { type: 'integer', value: 'PORT', max: 65535, help: 'the port (default 5000; 0: any free port)' },
    auth: { type: 'string', value: 'FILE', help: 'require the credentials of this JSON file (docs/CLI.md)' },
    'max-manifest-bytes': { type: 'integer', value: 'N', help: 'largest manifest accepted (default 4 MiB)' },
    'max-upload-bytes': { type: 'integer', value: 'N', help: 'largest blob upload accepted (default 16 GiB)' },
    'offer-on-push': { type: 'boolean', help: 'build the tessera form of each image pushed at once, in the background (default: on first request)' },
    'hash-password': { type: 'boolean', help: 'print the hash of the password read on stdin, and exit' }
  },
  async run (context) {
    const { options } = context
    if (options['hash-password']) {
      const { hashPassword } = await import('../../registry/server/index.js')
      const password = await readStdin()
      if (password === '') throw new InvalidArgumentError('give the password on stdin (e.g. `printf %s PASSWORD | tessera serve --hash-password`)')
      out(await hashPassword(password))
      return 0
    }
    const [{ openRegistryStore }, { createRegistryServer, loadAuthConfig }, { createSnapshotOffers }] = await Promise.all([
      import('../../registry/backend/index.js'), import('../../registry/server/index.js'), import('../../registry/offer/index.js')
    ])
    const maxManifestBytes = options['max-manifest-bytes']
    const maxUploadBytes = options['max-upload-bytes']
    const auth = options.auth !== undefined ? await loadAuthConfig(options.auth) : undefined
    const uploads = join(context.storeDir, 'uploads')
    const store = await context.store()
    const registry = await openRegistryStore(store, { tempDirectory: uploads, ...(maxManifestBytes !== undefined ? { maxManifestBytes } : {}) })
    const log = (line: string): void => { process.stderr.write(`tessera serve: ${line}\n`) }
    const server = await createRegistryServer(registry, {
      uploadDirectory: uploads,
      offers: createSnapshotOffers(registry, store, { onLog: log }),
      offerOnPush: options['offer-on-push'] === true,
      ...(auth !== undefined ? { auth } : {}),
      limits: { ...(maxManifestBytes !== undefined ? { maxManifestBytes } : {}), ...(maxUploadBytes !== undefined ? { maxUploadBytes } : {}) },
      onLog: log
    })
    let stop: (signal: string) => void = () => {}
    const stopped = new Promise<string>((resolve) => { stop = resolve })
    const onSignal = (signal: NodeJS.Signals): void => { stop(signal) }
    process.once('SIGINT', onSignal)
    process.once('SIGTERM', onSignal)
    try {
      const url = await server.listen({ host: options.host ?? '127.0.0.1', port: options.port ?? 5000 })
      out(url)
      process.stderr.write(`tessera serve: listening on ${url}${auth !== undefined ? ' (authentication required)' : ''}\n`)
      const signal = await stopped
      process.stderr.write(`tessera serve: ${signal}, shutting down\n`)
    } finally {
      process.off('SIGINT', onSignal)
      process.off('SIGTERM', onSignal)
      await server.close()
    }
    return 0
  }
})
