// Builds the Fastify app: external resources first (pool, metrics, storage),
// then cross-cutting plugins (auth, validation, errors, docs), then the routes.
import Fastify, { type FastifyInstance, type FastifyServerOptions } from 'fastify'
import type { TypeBoxTypeProvider } from '@fastify/type-provider-typebox'
import type { Config } from './config.ts'
import adminUiPlugin from './plugins/admin-ui.ts'
import authPlugin from './plugins/auth.ts'
import drainPlugin from './plugins/drain.ts'
import { clientErrorHandler } from './client-error-handler.ts'
import errorHandlerPlugin from './plugins/error-handler.ts'
import gatewayPlugin from './plugins/gateway.ts'
import jsonBodyPlugin from './plugins/json-body.ts'
import metricsPlugin from './plugins/metrics.ts'
import swaggerPlugin from './plugins/swagger.ts'
import tracingPlugin from './plugins/tracing.ts'
import type { Tracing } from './observability/tracing.ts'
import requestIdPlugin, { requestIdOf } from './plugins/request-id.ts'
import validationPlugin from './plugins/validation.ts'
import routes from '../routes/index.ts'

declare module 'fastify' {
  interface FastifyInstance {
    config: Config
  }
}

export const BODY_LIMIT_BYTES = 64 * 1024 * 1024

export interface BuildOptions {
  /** false builds the routes and docs only (no database), for writing openapi.yaml. */
  storage?: boolean
  logger?: FastifyServerOptions['logger']
  /** tracing set up by the caller (tests); default: from OTEL_EXPORTER_OTLP_ENDPOINT */
  tracing?: Tracing
}

export async function buildApp(config: Config, options: BuildOptions = {}): Promise<FastifyInstance> {
  const app = Fastify({
    logger: options.logger ?? { level: config.LOG_LEVEL },
    bodyLimit: BODY_LIMIT_BYTES,
    // Every body schema rejects unknown fields (a "__proto__" key included), so the
    // prototype-poisoning scan over multi-MiB chunk bodies is pure cost (~20 ms per 1000 chunks).
    onProtoPoisoning: 'ignore',
    onConstructorPoisoning: 'ignore',
    ajv: { customOptions: { removeAdditional: false } },
    // Drain (plugins/drain.ts): close idle keep-alive sockets at once, and serve a
    // request that arrives on a busy one during the close (answered with Connection: close).
    forceCloseConnections: 'idle',
    return503OnClosing: false,
    // genReqId validates the caller's X-Request-Id itself (requestIdHeader would take it unchecked).
    requestIdHeader: false,
    genReqId: requestIdOf,
    clientErrorHandler
  }).withTypeProvider<TypeBoxTypeProvider>()

  app.decorate('config', config)
  await app.register(drainPlugin)
  await app.register(requestIdPlugin)
  await app.register(errorHandlerPlugin)
  await app.register(jsonBodyPlugin)
  await app.register(validationPlugin)
  // auth first: its onRoute hook must see every route (metrics' /metrics included)
  await app.register(authPlugin, { config })
  await app.register(metricsPlugin)
  await app.register(tracingPlugin, { config, tracing: options.tracing })
  await app.register(swaggerPlugin)
  // the domain graph (src/gateway.ts)
  if (options.storage !== false) await app.register(gatewayPlugin, { config })
  await app.register(routes)
  await app.register(adminUiPlugin)
  return app
}
