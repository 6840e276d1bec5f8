// Configuration comes from the environment only (SPEC §6). env-schema validates it
// against a TypeBox schema with every error collected, so one start-up message
// names every bad variable.
import envSchema from 'env-schema'
import { Type, type Static } from 'typebox'
import { ConfigError } from './errors.ts'

const Provider = Type.Enum(['mariadb', 'qdrant'])

export const ConfigSchema = Type.Object({
  PORT: Type.Integer({ minimum: 0, maximum: 65535, default: 8090 }),
  HOST: Type.String({ minLength: 1, default: '0.0.0.0' }),
  API_KEY: Type.Optional(Type.String({ minLength: 8 })),
  ADMIN_API_KEY: Type.Optional(Type.String({ minLength: 8 })),
  AUTH_DISABLED: Type.Boolean({ default: false }),
  MARIADB_URL: Type.String({ pattern: '^mariadb://', default: 'mariadb://root@127.0.0.1:3307/vector_gateway' }),
  MARIADB_TABLE: Type.String({ pattern: '^[A-Za-z_][A-Za-z0-9_]{0,40}$', default: 'BRAG' }),
  MARIADB_POOL_SIZE: Type.Integer({ minimum: 1, maximum: 200, default: 10 }),
  QDRANT_URL: Type.Optional(Type.String({ pattern: '^https?://' })),
  QDRANT_API_KEY: Type.Optional(Type.String({ minLength: 1 })),
  QDRANT_COLLECTION: Type.String({ pattern: '^[A-Za-z0-9_-]{1,255}$', default: 'user_documents' }),
  QDRANT_TIMEOUT_MS: Type.Integer({ minimum: 100, maximum: 300000, default: 5000 }),
  VECTOR_DIMENSION: Type.Integer({ minimum: 1, maximum: 16000, default: 1024 }),
  VECTOR_STORAGE_PROVIDER: Type.Optional(Provider),
  SETTINGS_CACHE_MS: Type.Integer({ minimum: 0, maximum: 600000, default: 1000 }),
  MIGRATION_BATCH_SIZE: Type.Integer({ minimum: 1, maximum: 10000, default: 500 }),
  /** Pending removals of older copies (src/cleanup): first retry delay and poll interval, backoff ceiling. */
  CLEANUP_RETRY_BASE_MS: Type.Integer({ minimum: 10, maximum: 600000, default: 1000 }),
  CLEANUP_RETRY_MAX_MS: Type.Integer({ minimum: 10, maximum: 3600000, default: 60000 }),
  /** How long a migration's verification waits for a user's pending removals before failing that user. */
  MIGRATION_PENDING_WAIT_MS: Type.Integer({ minimum: 0, maximum: 3600000, default: 30000 }),
  /** Users (or filters) selecting fewer rows than this are searched with the exact plan. */
  MARIADB_EXACT_SEARCH_MAX_ROWS: Type.Integer({ minimum: 0, default: 2000 }),
  MARIADB_EF_SEARCH: Type.Integer({ minimum: 1, maximum: 10000, default: 100 }),
  /** mhnsw_ef_search for index-plan searches filtered by group or files (the walk discards rows outside the filter). */
  MARIADB_EF_SEARCH_FILTERED: Type.Integer({ minimum: 1, maximum: 10000, default: 200 }),
  LOG_LEVEL: Type.Enum(['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'], { default: 'info' })
})

export type Config = Static<typeof ConfigSchema>

/** Reads and validates the configuration; throws one ConfigError naming every bad variable. */
export function loadConfig (env: NodeJS.ProcessEnv = process.env): Config {
  const data = Object.fromEntries(Object.entries(env).filter(([, v]) => v !== ''))
  const problems = crossChecks(data)
  let config: Config | undefined
  try {
    config = envSchema<Config>({ schema: ConfigSchema, data, env: false, dotenv: false })
  } catch (err) {
    problems.unshift(...((err as { errors?: EnvProblem[] }).errors ?? []).map(describe))
  }
  if (problems.length > 0 || config === undefined) throw new ConfigError(`Invalid configuration: ${problems.join('; ')}`)
  return config
}

interface EnvProblem { instancePath: string, message?: string, params: Record<string, unknown> }

function describe (e: EnvProblem): string {
  const name = e.instancePath.replace(/^\//, '').split('/')[0]
  if (name === '') return `${String(e.params.missingProperty ?? 'environment')} is required`
  const values = e.params.allowedValues as unknown[] | undefined
  const allowed = values !== undefined ? ` (${values.join(', ')})` : ''
  return `${name} ${e.message ?? 'is invalid'}${allowed}`
}

/** Rules that span variables, checked on the raw values so they join the schema's errors. */
function crossChecks (env: Record<string, string | undefined>): string[] {
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
  return problems
}
