// Configuration comes from the environment only (docs/architecture.md#configuration). env-schema validates it
// against a TypeBox schema with every error collected, so one start-up message
// names every bad variable.
import envSchema from 'env-schema'
import { Type, type Static } from 'typebox'
import { ConfigError } from './errors.ts'
import { PROVIDER_NAMES } from './providers/vector-provider.ts'

const Provider = Type.Enum(PROVIDER_NAMES)

export const ConfigSchema = Type.Object({
  PORT: Type.Integer({ minimum: 0, maximum: 65535, default: 8090 }),
  HOST: Type.String({ minLength: 1, default: '0.0.0.0' }),
  API_KEY: Type.Optional(Type.String({ minLength: 8 })),
  ADMIN_API_KEY: Type.Optional(Type.String({ minLength: 8 })),
  AUTH_DISABLED: Type.Boolean({ default: false }),
  MARIADB_URL: Type.String({ pattern: '^mariadb://', default: 'mariadb://root@127.0.0.1:3307/vector_gateway' }),
  MARIADB_TABLE: Type.String({ pattern: '^[A-Za-z_][A-Za-z0-9_]{0,40}$', default: 'BRAG' }),
  MARIADB_POOL_SIZE: Type.Integer({ minimum: 1, maximum: 200, default: 10 }),
  /** The operator's statement that every gateway writes to ONE Galera node (see server-topology.ts). */
  MARIADB_GALERA_SINGLE_WRITER: Type.Boolean({ default: false }),
  QDRANT_URL: Type.Optional(Type.String({ pattern: '^https?://' })),
  QDRANT_API_KEY: Type.Optional(Type.String({ minLength: 1 })),
  QDRANT_COLLECTION: Type.String({ pattern: '^[A-Za-z0-9_-]{1,255}$', default: 'user_documents' }),
  QDRANT_TIMEOUT_MS: Type.Integer({ minimum: 100, maximum: 300000, default: 5000 }),
  // Collection settings for a Qdrant cluster and large data (collection-settings.ts):
  // unset = not sent, Qdrant's own default applies; bounds are Qdrant's OpenAPI ones.
  QDRANT_SHARD_NUMBER: Type.Optional(Type.Integer({ minimum: 1, maximum: 65536 })),
  QDRANT_REPLICATION_FACTOR: Type.Optional(Type.Integer({ minimum: 1, maximum: 65536 })),
  QDRANT_WRITE_CONSISTENCY_FACTOR: Type.Optional(Type.Integer({ minimum: 1, maximum: 65536 })),
  QDRANT_VECTORS_ON_DISK: Type.Optional(Type.Boolean()),
  QDRANT_HNSW_ON_DISK: Type.Optional(Type.Boolean()),
  QDRANT_HNSW_M: Type.Optional(Type.Integer({ minimum: 0, maximum: 65536 })),
  QDRANT_HNSW_EF_CONSTRUCT: Type.Optional(Type.Integer({ minimum: 4, maximum: 65536 })),
  QDRANT_SCALAR_QUANTIZATION: Type.Optional(Type.Boolean()),
  QDRANT_QUANTIZATION_QUANTILE: Type.Optional(Type.Number({ minimum: 0.5, maximum: 1 })),
  QDRANT_QUANTIZATION_ALWAYS_RAM: Type.Optional(Type.Boolean()),
  /** Search-time: replicas a query reads (a number, majority, quorum or all) and the HNSW beam size. */
  QDRANT_READ_CONSISTENCY: Type.Optional(Type.String({ pattern: '^([1-9][0-9]{0,4}|majority|quorum|all)$' })),
  QDRANT_HNSW_EF: Type.Optional(Type.Integer({ minimum: 1, maximum: 65536 })),
  VECTOR_DIMENSION: Type.Integer({ minimum: 1, maximum: 16000, default: 1024 }),
  VECTOR_STORAGE_PROVIDER: Type.Optional(Provider),
  SETTINGS_CACHE_MS: Type.Integer({ minimum: 0, maximum: 600000, default: 1000 }),
  MIGRATION_BATCH_SIZE: Type.Integer({ minimum: 1, maximum: 10000, default: 500 }),
  /** Users a migration copies at the same time, each under its own lock (2 pool connections each while copying). */
  MIGRATION_USER_CONCURRENCY: Type.Integer({ minimum: 1, maximum: 16, default: 2 }),
  /** How long a migration's lease lasts without renewal (a crashed runner's migration waits this long). */
  MIGRATION_LEASE_MS: Type.Integer({ minimum: 1000, maximum: 3600000, default: 10000 }),
  /** How often each replica's runner looks for a migration to take over. */
  MIGRATION_POLL_MS: Type.Integer({ minimum: 10, maximum: 600000, default: 1000 }),
  /** On SIGTERM, how long in-flight requests and the migration batch in flight may take before they are cut. */
  SHUTDOWN_TIMEOUT_MS: Type.Integer({ minimum: 0, maximum: 600000, default: 10000 }),
  /** Pending removals of older copies (src/cleanup): first retry delay and poll interval, backoff ceiling. */
  CLEANUP_RETRY_BASE_MS: Type.Integer({ minimum: 10, maximum: 600000, default: 1000 }),
  CLEANUP_RETRY_MAX_MS: Type.Integer({ minimum: 10, maximum: 3600000, default: 60000 }),
  /** How long a migration's verification waits for a user's pending removals before failing that user. */
  MIGRATION_PENDING_WAIT_MS: Type.Integer({ minimum: 0, maximum: 3600000, default: 30000 }),
  /** Filters selecting at most this many rows are always searched with the exact plan. */
  MARIADB_EXACT_SEARCH_MAX_ROWS: Type.Integer({ minimum: 0, default: 2000 }),
  /** mhnsw_ef_search floors of index-plan walks (widened by the share rule; 10000 is MariaDB's maximum). */
  MARIADB_EF_SEARCH: Type.Integer({ minimum: 1, maximum: 10000, default: 100 }),
  MARIADB_EF_SEARCH_FILTERED: Type.Integer({ minimum: 1, maximum: 10000, default: 200 }),
  /** Widest walk the planner asks for; filters whose share would need more are searched exactly. */
  MARIADB_EF_SEARCH_MAX: Type.Integer({ minimum: 1, maximum: 10000, default: 1000 }),
  /** Expected filter rows among the walk's candidates per row fetched. */
  MARIADB_INDEX_SAFETY: Type.Number({ minimum: 1, maximum: 100, default: 16 }),
  /** Recall@k the index plan must reach where the shadow check measures it. */
  MARIADB_RECALL_TARGET: Type.Number({ minimum: 0, maximum: 1, default: 0.99 }),
  /** Share of index-plan searches re-run exactly in the background to measure recall (0 = off). */
  MARIADB_RECALL_SAMPLE_RATE: Type.Number({ minimum: 0, maximum: 1, default: 0 }),
  /** measured: a share of the table gets the index plan once background probes measured its recall; share-rule: at once. */
  MARIADB_INDEX_TRUST: Type.Enum(['measured', 'share-rule'], { default: 'measured' }),
  /** OpenTelemetry traces are exported (OTLP/HTTP) only when this is set; see observability/tracing.ts. */
  OTEL_EXPORTER_OTLP_ENDPOINT: Type.Optional(Type.String({ pattern: '^https?://' })),
  OTEL_SERVICE_NAME: Type.Optional(Type.String({ minLength: 1 })),
  LOG_LEVEL: Type.Enum(['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'], { default: 'info' })
})

export type Config = Static<typeof ConfigSchema>

/** Reads and validates the configuration; throws one ConfigError naming every bad variable. */
export function loadConfig(env: NodeJS.ProcessEnv = process.env): Config {
  const data = Object.fromEntries(Object.entries(env).filter(([, v]) => v !== ''))
  const problems = crossChecks(data)
  let config: Config | undefined
  try {
    config = envSchema<Config>({ schema: ConfigSchema, data, env: false, dotenv: false })
  } catch (err) {
    problems.unshift(...((err as { errors?: EnvProblem[] }).errors ?? []).map(describe))
  }
  if (problems.length > 0 || config === undefined)
    throw new ConfigError(`Invalid configuration: ${problems.join('; ')}`)
  return config
}

interface EnvProblem {
  instancePath: string
  message?: string
  params: Record<string, unknown>
}

function describe(e: EnvProblem): string {
  const name = e.instancePath.replace(/^\//, '').split('/')[0]
  if (name === '') return `${String(e.params.missingProperty ?? 'environment')} is required`
  const values = e.params.allowedValues as unknown[] | undefined
  const allowed = values !== undefined ? ` (${values.join(', ')})` : ''
  return `${name} ${e.message ?? 'is invalid'}${allowed}`
}

/** Rules that span variables, checked on the raw values so they join the schema's errors. */
function crossChecks(env: Record<string, string | undefined>): string[] {
  const problems: string[] = []
  const authDisabled = env.AUTH_DISABLED === 'true' || env.AUTH_DISABLED === '1'
  if (env.API_KEY === undefined && !authDisabled) {
    problems.push('API_KEY is required (or set AUTH_DISABLED=true to run without authentication)')
  }
  if (env.ADMIN_API_KEY !== undefined && env.ADMIN_API_KEY === env.API_KEY) {
    problems.push('ADMIN_API_KEY must differ from API_KEY')
  }
  if (env.VECTOR_STORAGE_PROVIDER === 'qdrant' && env.QDRANT_URL === undefined) {
    problems.push('VECTOR_STORAGE_PROVIDER is qdrant but QDRANT_URL is not set')
  }
  const number = (name: string): number => Number(env[name])
  if (
    env.QDRANT_WRITE_CONSISTENCY_FACTOR !== undefined &&
    env.QDRANT_REPLICATION_FACTOR !== undefined &&
    number('QDRANT_WRITE_CONSISTENCY_FACTOR') > number('QDRANT_REPLICATION_FACTOR')
  ) {
    problems.push(
      'QDRANT_WRITE_CONSISTENCY_FACTOR must not exceed QDRANT_REPLICATION_FACTOR (writes would need more replicas than exist)'
    )
  }
  const quantization = env.QDRANT_SCALAR_QUANTIZATION === 'true' || env.QDRANT_SCALAR_QUANTIZATION === '1'
  for (const name of ['QDRANT_QUANTIZATION_QUANTILE', 'QDRANT_QUANTIZATION_ALWAYS_RAM']) {
    if (env[name] !== undefined && !quantization) problems.push(`${name} needs QDRANT_SCALAR_QUANTIZATION=true`)
  }
  return problems
}
