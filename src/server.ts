// Entry point: configuration -> app -> listen, with a graceful close on signals.
import closeWithGrace from 'close-with-grace'
import { buildApp } from './app.ts'
import { loadConfig } from './config.ts'

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

closeWithGrace({ delay: 10000 }, async ({ err }) => {
  if (err !== undefined) app.log.error({ err }, 'closing after an error')
  await app.close()
})

await app.listen({ port: config.PORT, host: config.HOST })
