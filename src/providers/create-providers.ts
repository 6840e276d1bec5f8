// Builds the configured providers from the configuration: MariaDB always, Qdrant
// when QDRANT_URL is set. Used by the app, the CLI and the benchmarks alike.
import type { Pool } from 'mariadb'
import type { Config } from '../config.ts'
import { MariaDbProvider } from './mariadb/mariadb-provider.ts'
import type { RecallObserver } from './mariadb/recall-sampler.ts'
import { QdrantProvider } from './qdrant/qdrant-provider.ts'
import { collectionSettingsFromConfig, searchSettingsFromConfig } from './qdrant/collection-settings.ts'
import type { ProviderName, VectorProvider } from './vector-provider.ts'

export interface ConfiguredProviders {
  mariadb: MariaDbProvider
  qdrant?: QdrantProvider
  all: Map<ProviderName, VectorProvider>
}

/** Where providers report: warn for non-fatal findings, error for loud events (a lost collection). */
export interface ProviderLog {
  warn(msg: string): void
  error(msg: string): void
}

export interface CreateProvidersOptions {
  /** receives the providers' non-fatal findings and loud events (the app passes its logger; default console) */
  log?: ProviderLog
  /** where the MariaDB provider's sampled recall checks report */
  recallObserver?: RecallObserver
}

export function createProviders(config: Config, pool: Pool, options: CreateProvidersOptions = {}): ConfiguredProviders {
  const { log } = options
  const mariadb = new MariaDbProvider({
    pool,
    table: config.MARIADB_TABLE,
    dimension: config.VECTOR_DIMENSION,
    exactSearchMaxRows: config.MARIADB_EXACT_SEARCH_MAX_ROWS,
    efSearch: config.MARIADB_EF_SEARCH,
    efSearchFiltered: config.MARIADB_EF_SEARCH_FILTERED,
    efSearchMax: config.MARIADB_EF_SEARCH_MAX,
    indexSafety: config.MARIADB_INDEX_SAFETY,
    recallTarget: config.MARIADB_RECALL_TARGET,
    recallSampleRate: config.MARIADB_RECALL_SAMPLE_RATE,
    indexTrust: config.MARIADB_INDEX_TRUST,
    recallObserver: options.recallObserver
  })
  const qdrant =
    config.QDRANT_URL === undefined
      ? undefined
      : new QdrantProvider({
          url: config.QDRANT_URL,
          apiKey: config.QDRANT_API_KEY,
          collection: config.QDRANT_COLLECTION,
          dimension: config.VECTOR_DIMENSION,
          timeoutMs: config.QDRANT_TIMEOUT_MS,
          collectionSettings: collectionSettingsFromConfig(config),
          searchSettings: searchSettingsFromConfig(config),
          ...(log !== undefined
            ? {
                warn: (msg: string) => {
                  log.warn(msg)
                },
                error: (msg: string) => {
                  log.error(msg)
                }
              }
            : {})
        })
  const all = new Map<ProviderName, VectorProvider>([['mariadb', mariadb]])
  if (qdrant !== undefined) all.set('qdrant', qdrant)
  return { mariadb, qdrant, all }
}
