// Decorates the app with the domain graph built by createGateway (src/gateway.ts):
// the pool, the wrapped providers, settings, router, migrations and pending
// removals. Starts the background work once the app is ready and closes the
// graph on close.
import fp from 'fastify-plugin'
import type { Pool } from 'mariadb'
import type { PendingRemovalStore } from '../cleanup/pending-removals.ts'
import type { RemovalRetrier } from '../cleanup/removal-retrier.ts'
import type { Config } from '../config.ts'
import { createGateway, type Gateway } from '../gateway.ts'
import { pendingRemovalsGauge } from '../observability/pending-removals-metric.ts'
import type { MigrationRunner } from '../migration/migration-runner.ts'
import type { MigrationService } from '../migration/migration-service.ts'
import type { ConfiguredProviders } from '../providers/create-providers.ts'
import type { SettingsStore } from '../routing/settings-store.ts'
import type { VectorRouter } from '../routing/vector-router.ts'

declare module 'fastify' {
  interface FastifyInstance {
    gateway: Gateway
    mariadb: Pool
    providers: ConfiguredProviders
    settings: SettingsStore
    router: VectorRouter
    pendingRemovals: PendingRemovalStore
    migrations: MigrationService
    migrationRunner: MigrationRunner
    removalRetrier: RemovalRetrier
  }
}

export default fp(
  async (fastify, opts: { config: Config }) => {
    const gateway = await createGateway(opts.config, {
      logger: fastify.log,
      metrics: fastify.metrics,
      tracer: fastify.tracer
    })
    pendingRemovalsGauge(fastify.metrics.registry, async () => await gateway.pendingRemovals.count())
    fastify.decorate('gateway', gateway)
    fastify.decorate('mariadb', gateway.pool)
    fastify.decorate('providers', gateway.providers)
    fastify.decorate('settings', gateway.settings)
    fastify.decorate('router', gateway.router)
    fastify.decorate('pendingRemovals', gateway.pendingRemovals)
    fastify.decorate('migrations', gateway.migrations)
    fastify.decorate('migrationRunner', gateway.migrationRunner)
    fastify.decorate('removalRetrier', gateway.removalRetrier)

    fastify.addHook('onReady', async () => {
      gateway.start()
    })
    // The background work stops as the close begins (in parallel with the HTTP
    // drain, plugins/drain.ts) so the migration lease is released after the batch
    // in flight, not after the last request; onClose waits for it before the
    // pools close.
    fastify.addHook('preClose', async () => {
      // awaited (and its failure reported) by close()
      gateway.stopBackground().catch(() => {})
    })
    fastify.addHook('onClose', async () => {
      await gateway.close()
    })
  },
  { name: 'gateway', dependencies: ['metrics', 'tracing'] }
)
