// Renders the OpenAPI document from the route schemas with the default
// configuration, exactly as /docs/yaml serves it. No database is needed.
import { buildApp } from './app.ts'
import { loadConfig } from './config.ts'

export async function renderOpenApiYaml(): Promise<string> {
  const app = await buildApp(loadConfig({ AUTH_DISABLED: 'true', LOG_LEVEL: 'silent' }), { storage: false })
  try {
    await app.ready()
    return app.swagger({ yaml: true })
  } finally {
    await app.close()
  }
}
