// Entry point: configuration -> app -> listen, with a graceful drain on signals
// (plugins/drain.ts): exit 0 after a clean drain, 1 when requests had to be cut
// after SHUTDOWN_TIMEOUT_MS or the close failed.
import closeWithGrace from 'close-with-grace'
import { buildApp } from './app.ts'
import { loadConfig } from './config.ts'

/** Time the cleanup (runner stop, pool close) may take after the drain, before close-with-grace gives up. */
const CLEANUP_MARGIN_MS = 5000

let config
try {
  config = loadConfig()
} catch (err) {
  console.error((err as Error).message)
  process.exit(1)
}

const app = await buildApp(config).catch((err: Error) => {
  console.error(`vector-gateway cannot start: ${err.message}`)
  process.exit(1)
})

closeWithGrace({ delay: config.SHUTDOWN_TIMEOUT_MS + CLEANUP_MARGIN_MS }, async ({ err, signal }) => {
  if (err !== undefined) app.log.error({ err }, 'closing after an error')
  else app.log.info(`${String(signal ?? 'close')} received: draining`)
  // close-with-grace exits 0 when this resolves (1 after an error or when it throws)
  if (!(await app.drain(config.SHUTDOWN_TIMEOUT_MS)))
    throw new Error(`requests were cut after SHUTDOWN_TIMEOUT_MS (${config.SHUTDOWN_TIMEOUT_MS} ms)`)
})

await app.listen({ port: config.PORT, host: config.HOST })
