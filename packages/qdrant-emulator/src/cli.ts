/**
 * Standalone Qdrant emulator, the package's `qdrant-emulator` command (bin/qdrant-emulator.js):
 *   npx qdrant-emulator [--port 6333] [--host 127.0.0.1] [--api-key KEY]
 *   npm run qdrant:emulator -- [--port 6333] ...   (from the repository root)
 * Prints the URL, stops on SIGINT / SIGTERM.
 */
import { parseArgs } from 'node:util'
import { startQdrantEmulator } from './index.ts'

const { values } = parseArgs({
  options: {
    port: { type: 'string', default: '6333' },
    host: { type: 'string', default: '127.0.0.1' },
    'api-key': { type: 'string' },
    help: { type: 'boolean', short: 'h', default: false }
  },
  strict: true
})

if (values.help) {
  process.stdout.write('usage: qdrant-emulator [--port 6333] [--host 127.0.0.1] [--api-key KEY]\n')
  process.exit(0)
}

const port = Number(values.port)
if (!Number.isInteger(port) || port < 0 || port > 65535) {
  process.stderr.write(`invalid --port: ${values.port}\n`)
  process.exit(2)
}

const emulator = await startQdrantEmulator({ port, host: values.host, apiKey: values['api-key'] })
process.stdout.write(`Qdrant emulator (REST, in-memory) listening on ${emulator.url}\n`)

let stopping = false
const stop = (signal: string): void => {
  if (stopping) return
  stopping = true
  process.stdout.write(`${signal}: stopping Qdrant emulator\n`)
  emulator.close().then(
    () => process.exit(0),
    () => process.exit(1)
  )
}
process.on('SIGINT', () => stop('SIGINT'))
process.on('SIGTERM', () => stop('SIGTERM'))
