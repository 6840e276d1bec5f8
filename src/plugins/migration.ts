// Background migrations (SPEC §5): installs the MigrationGuard as the router's
// mutation guard, starts this replica's MigrationRunner once the app is ready and
// stops it (after its batch in flight, releasing the lease) on close. Decorates
// the app with `migrations` (the service the admin routes use).
import fp from 'fastify-plugin'
import type { Config } from '../config.ts'
import { MigrationEngine } from '../migration/migration-engine.ts'
import { MigrationGuard } from '../migration/migration-guard.ts'
import { MigrationRunner } from '../migration/migration-runner.ts'
import { MigrationService } from '../migration/migration-service.ts'
import { MigrationStore } from '../migration/migration-store.ts'
import { lockNamesFor } from '../migration/user-locks.ts'

declare module 'fastify' {
  interface FastifyInstance {
    migrations: MigrationService
    migrationRunner: MigrationRunner
  }
}

/** Margin on top of SETTINGS_CACHE_MS before a migration's first batch (see migration-guard.ts). */
export const GUARD_PROPAGATION_MARGIN_MS = 250

export default fp(async (fastify, opts: { config: Config }) => {
  const { config } = opts
  const pool = fastify.mariadb
  const locks = await lockNamesFor(pool)
  const store = new MigrationStore(pool, locks)
  const guard = new MigrationGuard({
    pool,
    store,
    locks,
    cacheMs: config.SETTINGS_CACHE_MS,
    onError: err => { fastify.log.warn({ err }, 'migration guard: lock connection or refresh failed') }
  })
  fastify.router.guard = guard

  const engine = new MigrationEngine({
    pool, locks, store, providers: fastify.providers.all, logger: fastify.log,
    pendingRemovals: fastify.pendingRemovals, pendingWaitMs: config.MIGRATION_PENDING_WAIT_MS
  })
  const runner = new MigrationRunner({
    store,
    engine,
    startDelayMs: config.SETTINGS_CACHE_MS + GUARD_PROPAGATION_MARGIN_MS,
    logger: fastify.log
  })
  const service = new MigrationService({
    store,
    providers: fastify.providers.all,
    defaultBatchSize: config.MIGRATION_BATCH_SIZE,
    onChange: () => { guard.invalidate(); runner.poke() }
  })

  fastify.decorate('migrations', service)
  fastify.decorate('migrationRunner', runner)
  fastify.addHook('onReady', async () => { runner.start() })
  fastify.addHook('onClose', async () => {
    await runner.stop()
    await guard.close()
  })
}, { name: 'migration', dependencies: ['mariadb-pool', 'vector-storage'] })
