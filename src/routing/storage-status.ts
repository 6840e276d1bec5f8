// The admin view of the storage: active provider and where that comes from, read
// mode, each provider's state and size. Shared by the admin API and the CLI.
import type { Config } from '../config.ts'
import type { ConfiguredProviders } from '../providers/create-providers.ts'
import type { StatusReply } from '../schemas/admin.ts'
import type { MigrationSummary } from '../schemas/migration.ts'
import type { SettingsStore } from './settings-store.ts'
import { providerStates } from './provider-states.ts'
import type { VectorRouter } from './vector-router.ts'

export interface MigrationSummarySource {
  /** the running or paused migration, else the last one, else null */
  summary(): Promise<MigrationSummary | null>
}

export async function storageStatus(deps: {
  config: Config
  settings: SettingsStore
  router: VectorRouter
  providers: ConfiguredProviders
  migrations?: MigrationSummarySource
  /** removals of older copies still to retry (src/cleanup) */
  pendingRemovals?: { count(): Promise<number> }
}): Promise<StatusReply> {
  const { config, settings, router, providers } = deps
  const snapshot = await settings.snapshot()
  const states = await providerStates(router)
  const whenConnected = async <T>(status: string, fn: () => Promise<T>, fallback: T): Promise<T> =>
    status === 'connected' ? await fn().catch(() => fallback) : fallback
  const [mariadbChunks, vectorIndex, warnings, qdrantChunks, migration, pendingRemovals] = await Promise.all([
    whenConnected(states.mariadb.status, async () => await providers.mariadb.count(), null),
    whenConnected(states.mariadb.status, async () => await providers.mariadb.vectorIndexInfo(), undefined),
    whenConnected(states.mariadb.status, async () => await providers.mariadb.capacityWarnings(), []),
    whenConnected(states.qdrant.status, async () => (await providers.qdrant?.count()) ?? null, null),
    deps.migrations?.summary().catch(() => null) ?? null,
    whenConnected(states.mariadb.status, async () => (await deps.pendingRemovals?.count()) ?? null, null)
  ])
  return {
    current_provider: snapshot.provider,
    qdrant_configured: providers.qdrant !== undefined,
    source: snapshot.source,
    env_provider: config.VECTOR_STORAGE_PROVIDER ?? null,
    read_mode: snapshot.readMode,
    changed_at: snapshot.changedAt?.toISOString() ?? null,
    changed_by: snapshot.changedBy,
    providers: {
      mariadb: {
        ...states.mariadb,
        table: config.MARIADB_TABLE,
        vector_index: vectorIndex,
        chunks: mariadbChunks,
        warnings
      },
      qdrant: {
        ...states.qdrant,
        collection: providers.qdrant !== undefined ? config.QDRANT_COLLECTION : null,
        chunks: qdrantChunks,
        config_drift: providers.qdrant?.configDrift ?? [],
        // a collection found missing and recreated by this replica (its points were lost)
        collection_recreations: providers.qdrant?.collectionRecreations.count ?? 0,
        collection_recreated_at: providers.qdrant?.collectionRecreations.lastAt?.toISOString() ?? null
      }
    },
    user_overrides: snapshot.overrides.size,
    pending_removals: pendingRemovals,
    migration
  }
}
