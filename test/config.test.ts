import t from 'tap'
import { loadConfig } from '../src/config.ts'

t.test('defaults', async t => {
  const c = loadConfig({ API_KEY: 'k'.repeat(16) })
  t.match(c, {
    PORT: 8090,
    HOST: '0.0.0.0',
    MARIADB_TABLE: 'BRAG',
    QDRANT_COLLECTION: 'user_documents',
    VECTOR_DIMENSION: 1024,
    SETTINGS_CACHE_MS: 1000,
    MIGRATION_BATCH_SIZE: 500,
    LOG_LEVEL: 'info',
    AUTH_DISABLED: false
  })
  t.equal(c.QDRANT_URL, undefined, 'Qdrant not configured by default')
  t.equal(c.VECTOR_STORAGE_PROVIDER, undefined)
})

t.test('one message names every bad variable', async t => {
  let error: (Error & { code?: string }) | undefined
  try {
    loadConfig({
      API_KEY: 'k'.repeat(16),
      PORT: 'eighty',
      VECTOR_DIMENSION: '0',
      LOG_LEVEL: 'loud',
      MARIADB_URL: 'mysql://x',
      VECTOR_STORAGE_PROVIDER: 'pg',
      SETTINGS_CACHE_MS: '-1',
      QDRANT_URL: 'qdrant:6333'
    })
  } catch (err) {
    error = err as Error & { code?: string }
  }
  t.equal(error?.code, 'VG_CONFIG_INVALID')
  for (const name of [
    'PORT',
    'VECTOR_DIMENSION',
    'LOG_LEVEL',
    'MARIADB_URL',
    'VECTOR_STORAGE_PROVIDER',
    'SETTINGS_CACHE_MS',
    'QDRANT_URL'
  ]) {
    t.match(error?.message, name, `names ${name}`)
  }
})

t.test('refuses to start without API_KEY unless AUTH_DISABLED', async t => {
  t.throws(() => loadConfig({}), /API_KEY is required/)
  t.equal(loadConfig({ AUTH_DISABLED: 'true' }).AUTH_DISABLED, true)
  t.throws(() => loadConfig({ API_KEY: 'same-key-123', ADMIN_API_KEY: 'same-key-123' }), /ADMIN_API_KEY must differ/)
  t.throws(() => loadConfig({ API_KEY: 'k'.repeat(16), VECTOR_STORAGE_PROVIDER: 'qdrant' }), /QDRANT_URL is not set/)
})

t.test('search planner and recall sampling settings are validated', async t => {
  const c = loadConfig({ API_KEY: 'k'.repeat(16) })
  t.match(
    c,
    {
      MARIADB_EF_SEARCH_MAX: 1000,
      MARIADB_INDEX_SAFETY: 16,
      MARIADB_RECALL_TARGET: 0.99,
      MARIADB_RECALL_SAMPLE_RATE: 0,
      MARIADB_INDEX_TRUST: 'measured'
    },
    'sampling off by default; the index serves a share once measured'
  )
  t.equal(loadConfig({ API_KEY: 'k'.repeat(16), MARIADB_INDEX_TRUST: 'share-rule' }).MARIADB_INDEX_TRUST, 'share-rule')
  t.equal(loadConfig({ API_KEY: 'k'.repeat(16), MARIADB_RECALL_SAMPLE_RATE: '0.05' }).MARIADB_RECALL_SAMPLE_RATE, 0.05)
  let message = ''
  try {
    loadConfig({
      API_KEY: 'k'.repeat(16),
      MARIADB_RECALL_SAMPLE_RATE: '1.5',
      MARIADB_EF_SEARCH_MAX: '20000',
      MARIADB_INDEX_SAFETY: '0',
      MARIADB_RECALL_TARGET: 'high',
      MARIADB_INDEX_TRUST: 'always'
    })
  } catch (err) {
    message = (err as Error).message
  }
  for (const name of [
    'MARIADB_RECALL_SAMPLE_RATE',
    'MARIADB_EF_SEARCH_MAX',
    'MARIADB_INDEX_SAFETY',
    'MARIADB_RECALL_TARGET',
    'MARIADB_INDEX_TRUST'
  ])
    t.match(message, name, `names ${name}`)
})
