// Background migrations (SPEC §5): installs the MigrationGuard as the router's
// mutation guard, starts this replica's MigrationRunner once the app is ready and
// stops it (after its batch in flight, releasing the lease) on close. Decorates
// the app with `migrations` (the service the admin routes use).
import fp from 'fastify-plugin'
import type { Config } from '../config.ts'
import { MigrationEngine } from '../migration/migration-engine.ts'
import { MigrationGuard } from '../migration/migration-guard.ts'
import { DEFAULT_RENEW_MS, MigrationRunner } from '../migration/migration-runner.ts'
import { MigrationService } from '../migration/migration-service.ts'
import { MigrationStore } from '../migration/migration-store.ts'
import { lockNamesFor } from '../migration/user-locks.ts'
import { topologyCheck } from '../migration/server-topology.ts'

declare module 'fastify' {
  interface FastifyInstance {
    migrations: MigrationService
    migrationRunner: MigrationRunner
  }
}

/** Margin on top of SETTINGS_CACHE_MS before a migration's first batch (see migration-guard.ts). */
export const GUARD_PROPAGATION_MARGIN_MS = 250

export default fp(
  async (fastify, opts: { config: Config }) => {
    const { config } = opts
    const pool = fastify.mariadb
    const locks = await lockNamesFor(pool)
    const store = new MigrationStore(pool, locks)
    const guard = new MigrationGuard({
      pool,
      store,
      locks,
      cacheMs: config.SETTINGS_CACHE_MS,
      onError: err => {
        fastify.log.warn({ err }, 'migration guard: lock connection or refresh failed')
      }
    })
    fastify.router.guard = guard

    const engine = new MigrationEngine({
      pool,
      locks,
      store,
      providers: fastify.providers.all,
      logger: fastify.log,
      pendingRemovals: fastify.pendingRemovals,
      pendingWaitMs: config.MIGRATION_PENDING_WAIT_MS
    })
    const runner = new MigrationRunner({
      store,
      engine,
      startDelayMs: config.SETTINGS_CACHE_MS + GUARD_PROPAGATION_MARGIN_MS,
      leaseMs: config.MIGRATION_LEASE_MS,
      pollMs: config.MIGRATION_POLL_MS,
      concurrency: config.MIGRATION_USER_CONCURRENCY,
      renewMs: Math.min(DEFAULT_RENEW_MS, Math.floor(config.MIGRATION_LEASE_MS / 3)),
      logger: fastify.log
    })
    const service = new MigrationService({
      store,
      providers: fastify.providers.all,
      defaultBatchSize: config.MIGRATION_BATCH_SIZE,
      checkTopology: topologyCheck(pool, { galeraSingleWriter: config.MARIADB_GALERA_SINGLE_WRITER }),
      onChange: () => {
        guard.invalidate()
        runner.poke()
      }
    })

    fastify.decorate('migrations', service)
    fastify.decorate('migrationRunner', runner)
    fastify.addHook('onReady', async () => {
      runner.start()
    })
    // Stopping starts as the close begins (in parallel with the HTTP drain) so the
    // lease is released after the batch in flight, not after the last request;
    // onClose waits for it, before the pools close.
    let stopped: Promise<void> | undefined
    fastify.addHook('preClose', async () => {
      stopped = runner.stop()
    })
    fastify.addHook('onClose', async () => {
      await (stopped ?? runner.stop())
      await guard.close()
    })
  },
  { name: 'migration', dependencies: ['mariadb-pool', 'vector-storage'] }
)
