// The composition root: builds the whole domain graph from the configuration, in
// one place, for the HTTP service (plugins/gateway.ts decorates the app with it),
// the CLI (cli.ts) and the tests. No Fastify here.
//
//   pool ─ gateway schema ─ providers (+ metrics wrapper, + tracing wrapper when on)
//        ├ settings store, pending-removal store
//        ├ migration store ─ guard ─ router (built with its guard)
//        ├ migration engine ─ runner, migration service
//        └ removal retrier
//
// Every path (router, migration engine and service, index admin, status, archive,
// removal retrier) gets the same wrapped providers, so /metrics and traces see
// migration and cleanup traffic too. `providers.mariadb` / `providers.qdrant` are
// wrapped as well (proxies: same class, same properties).
//
// Lifecycle: start() starts the background work (migration runner, removal
// retrier); stopBackground() stops it (the runner after its batch in flight,
// releasing its lease); close() does that first, then closes the guard's lock
// connection, the providers and, last, the pool.
import type { Tracer } from '@opentelemetry/api'
import type { Pool } from 'mariadb'
import type { BaseLogger } from 'pino'
import { PendingRemovalStore } from './cleanup/pending-removals.ts'
import { RemovalRetrier } from './cleanup/removal-retrier.ts'
import type { Config } from './config.ts'
import { isProviderDown } from './errors.ts'
import { MigrationEngine } from './migration/migration-engine.ts'
import { MigrationGuard } from './migration/migration-guard.ts'
import { DEFAULT_RENEW_MS, MigrationRunner } from './migration/migration-runner.ts'
import { MigrationService } from './migration/migration-service.ts'
import { MigrationStore } from './migration/migration-store.ts'
import { topologyCheck } from './migration/server-topology.ts'
import { lockNamesFor } from './migration/user-locks.ts'
import { instrumentProvider, recallObserver } from './observability/instrument-provider.ts'
import type { GatewayMetrics } from './observability/metrics.ts'
import { traceProvider } from './observability/trace-provider.ts'
import { createProviders, type ConfiguredProviders } from './providers/create-providers.ts'
import type { ProviderName, VectorProvider } from './providers/vector-provider.ts'
import { SettingsStore } from './routing/settings-store.ts'
import { VectorRouter } from './routing/vector-router.ts'
import { migrateGatewaySchema } from './store/gateway-schema.ts'
import { createMariaDbPool, pingMariaDb } from './store/mariadb-pool.ts'

/** Margin on top of SETTINGS_CACHE_MS before a migration's first batch (see migration-guard.ts). */
export const GUARD_PROPAGATION_MARGIN_MS = 250

/** How often a provider unreachable at start is set up again, in the background. */
export const PROVIDER_SETUP_RETRY_MS = 5000

/** What the graph logs through: a pino logger (the CLI) or the app's (Fastify's is pino's). */
export type GatewayLogger = Pick<BaseLogger, 'info' | 'warn' | 'error'>

export interface GatewayOptions {
  logger: GatewayLogger
  /** when given, every provider call is timed in it (and MariaDB's recall samples are recorded) */
  metrics?: GatewayMetrics
  /** when given (tracing on), every provider call runs in a span */
  tracer?: Tracer | null
  /** the settings store's cache (default SETTINGS_CACHE_MS; the CLI reads fresh: 0) */
  settingsCacheMs?: number
  /** how often this process's migration runner looks for work (default MIGRATION_POLL_MS) */
  migrationPollMs?: number
  /** told when a provider other than MariaDB is unreachable at start (default: a warning in the log) */
  onProviderUnreachable?: (provider: ProviderName, err: unknown) => void
}

export interface Gateway {
  config: Config
  pool: Pool
  /** the wrapped providers (metrics, tracing) every path uses */
  providers: ConfiguredProviders
  settings: SettingsStore
  pendingRemovals: PendingRemovalStore
  router: VectorRouter
  migrationStore: MigrationStore
  migrationEngine: MigrationEngine
  migrationRunner: MigrationRunner
  migrations: MigrationService
  removalRetrier: RemovalRetrier
  /** Starts the migration runner and the removal retrier. */
  start(): void
  /**
   * Stops the background work: the runner after its batch in flight (releasing its
   * lease) and the retrier after its round. Idempotent: later calls share the first.
   */
  stopBackground(): Promise<void>
  /** stopBackground(), then the guard's lock connection, the providers, the pool. */
  close(): Promise<void>
}

export async function createGateway(config: Config, options: GatewayOptions): Promise<Gateway> {
  const { logger } = options
  const pool = createMariaDbPool(config)
  // undone in reverse order when the start fails half-way, and by close()
  const closers: Array<() => Promise<void>> = [
    async () => {
      await pool.end()
    }
  ]
  const closeAll = async (): Promise<void> => {
    // every step runs even when an earlier one failed (the pool is always ended); the first error is thrown
    let failure: { err: unknown } | undefined
    for (const close of closers.splice(0).reverse()) {
      try {
        await close()
      } catch (err) {
        failure ??= { err }
      }
    }
    if (failure !== undefined) throw failure.err
  }
  try {
    await pingMariaDb(pool, config.MARIADB_URL)
    await migrateGatewaySchema(pool)

    const raw = createProviders(config, pool, {
      log: logger,
      recallObserver: options.metrics !== undefined ? recallObserver(options.metrics) : undefined
    })
    closers.push(async () => {
      await Promise.all([...raw.all.values()].map(async p => await p.close()))
    })
    options.metrics?.mirrorSearchPlans(() => raw.mariadb.stats)
    await raw.mariadb.init()
    if (raw.qdrant !== undefined) {
      const failure = await tryInit(raw.qdrant)
      if (failure !== null) {
        if (options.onProviderUnreachable !== undefined) options.onProviderUnreachable(raw.qdrant.name, failure)
        else
          logger.warn(
            { err: failure },
            `${raw.qdrant.name} is unreachable at start; retrying its setup every ${PROVIDER_SETUP_RETRY_MS} ms`
          )
        const stop = initInBackground(raw.qdrant, logger)
        closers.push(async () => {
          stop()
        })
      }
    }
    const providers = wrapProviders(raw, options)

    const settings = new SettingsStore(pool, {
      envProvider: config.VECTOR_STORAGE_PROVIDER,
      cacheMs: options.settingsCacheMs ?? config.SETTINGS_CACHE_MS,
      onRefreshError: err => {
        logger.warn({ err }, 'settings refresh failed; serving the last known settings')
      }
    })
    await settings.snapshot() // fail fast on a broken settings table, and start warm
    const pendingRemovals = new PendingRemovalStore(pool, config.CLEANUP_RETRY_BASE_MS)

    const locks = await lockNamesFor(pool)
    const migrationStore = new MigrationStore(pool, locks)
    const guard = new MigrationGuard({
      pool,
      store: migrationStore,
      locks,
      cacheMs: config.SETTINGS_CACHE_MS,
      onError: err => {
        logger.warn({ err }, 'migration guard: lock connection or refresh failed')
      }
    })
    closers.push(async () => {
      await guard.close()
    })
    const router = new VectorRouter({ providers: providers.all, settings, logger, pendingRemovals, guard })

    const migrationEngine = new MigrationEngine({
      pool,
      locks,
      store: migrationStore,
      providers: providers.all,
      logger,
      pendingRemovals,
      pendingWaitMs: config.MIGRATION_PENDING_WAIT_MS
    })
    const migrationRunner = new MigrationRunner({
      store: migrationStore,
      engine: migrationEngine,
      startDelayMs: config.SETTINGS_CACHE_MS + GUARD_PROPAGATION_MARGIN_MS,
      leaseMs: config.MIGRATION_LEASE_MS,
      pollMs: options.migrationPollMs ?? config.MIGRATION_POLL_MS,
      concurrency: config.MIGRATION_USER_CONCURRENCY,
      renewMs: Math.min(DEFAULT_RENEW_MS, Math.floor(config.MIGRATION_LEASE_MS / 3)),
      logger
    })
    const migrations = new MigrationService({
      store: migrationStore,
      providers: providers.all,
      defaultBatchSize: config.MIGRATION_BATCH_SIZE,
      checkTopology: topologyCheck(pool, { galeraSingleWriter: config.MARIADB_GALERA_SINGLE_WRITER }),
      onChange: () => {
        guard.invalidate()
        migrationRunner.poke()
      }
    })
    const removalRetrier = new RemovalRetrier({
      store: pendingRemovals,
      providers: providers.all,
      baseDelayMs: config.CLEANUP_RETRY_BASE_MS,
      maxDelayMs: config.CLEANUP_RETRY_MAX_MS,
      logger
    })

    let stopping: Promise<void> | undefined
    const stopBackground = async (): Promise<void> => {
      stopping ??= Promise.all([migrationRunner.stop(), removalRetrier.stop()]).then(() => {})
      await stopping
    }
    closers.push(stopBackground)
    let closing: Promise<void> | undefined
    return {
      config,
      pool,
      providers,
      settings,
      pendingRemovals,
      router,
      migrationStore,
      migrationEngine,
      migrationRunner,
      migrations,
      removalRetrier,
      start: () => {
        migrationRunner.start()
        removalRetrier.start()
      },
      stopBackground,
      close: async () => {
        closing ??= closeAll()
        await closing
      }
    }
  } catch (err) {
    await closeAll().catch(() => {})
    throw err
  }
}

/** The same providers behind the metrics wrapper and, when tracing is on, the tracing wrapper. */
function wrapProviders(raw: ConfiguredProviders, options: GatewayOptions): ConfiguredProviders {
  const wrap = <P extends VectorProvider>(provider: P): P => {
    const timed = options.metrics !== undefined ? instrumentProvider(provider, options.metrics) : provider
    return options.tracer !== undefined && options.tracer !== null ? traceProvider(timed, options.tracer) : timed
  }
  const mariadb = wrap(raw.mariadb)
  const qdrant = raw.qdrant !== undefined ? wrap(raw.qdrant) : undefined
  const all = new Map<ProviderName, VectorProvider>([['mariadb', mariadb]])
  if (qdrant !== undefined) all.set('qdrant', qdrant)
  return { mariadb, qdrant, all }
}

/** A provider other than MariaDB being down at start must not keep the gateway from serving MariaDB users. */
async function tryInit(provider: VectorProvider): Promise<unknown> {
  try {
    await provider.init()
    return null
  } catch (err) {
    if (!isProviderDown(err)) throw err
    return err
  }
}

/** Retries the provider's setup until it succeeds (or fails for good); returns what stops it. */
function initInBackground(provider: VectorProvider, logger: GatewayLogger): () => void {
  const timer = setInterval(() => {
    tryInit(provider).then(
      err => {
        if (err === null) {
          clearInterval(timer)
          logger.info(`${provider.name} set up`)
        }
      },
      (err: unknown) => {
        clearInterval(timer)
        logger.error({ err }, `${provider.name} cannot be used`)
      }
    )
  }, PROVIDER_SETUP_RETRY_MS)
  timer.unref()
  return () => {
    clearInterval(timer)
  }
}
