// Builds a real gateway for a test: a fresh database on the MariaDB 11.8 test
// server and, when asked, a Qdrant emulator (or the real Qdrant at QDRANT_URL).
import type { FastifyInstance, FastifyServerOptions } from 'fastify'
import { buildApp } from '../../src/app.ts'
import { loadConfig, type Config } from '../../src/config.ts'
import { createTestDatabase, type TestDatabase } from './mariadb.ts'
import { startQdrantEmulator, type QdrantEmulator } from '@vector-gateway/qdrant-emulator'

export const TEST_DIMENSION = 8
export const DATA_KEY = 'test-data-key-0123456789'
export const ADMIN_KEY = 'test-admin-key-0123456789'

interface Teardown {
  teardown(fn: () => unknown): void
}

export interface TestGateway {
  app: FastifyInstance
  config: Config
  db: TestDatabase
  qdrant?: QdrantEmulator
  /** headers for the data API and the admin API */
  data: Record<string, string>
  admin: Record<string, string>
}

export interface TestGatewayOptions {
  qdrant?: boolean | QdrantEmulator
  env?: Record<string, string>
  db?: TestDatabase
  /** Fastify logger options (e.g. a stream to capture the log lines); silent by default. */
  logger?: FastifyServerOptions['logger']
}

/** Starts an emulator (or points at QDRANT_URL) and returns the URL to configure. */
export async function testQdrant(t: Teardown): Promise<{ url: string; emulator?: QdrantEmulator }> {
  if (process.env.QDRANT_URL !== undefined) return { url: process.env.QDRANT_URL }
  const emulator = await startQdrantEmulator()
  t.teardown(async () => {
    await emulator.close()
  })
  return { url: emulator.url, emulator }
}

export function uniqueName(prefix: string): string {
  return `${prefix}_${process.pid}_${Math.random().toString(36).slice(2, 8)}`
}

/** The test keys as a gateway's environment: DATA_KEY for the data API, ADMIN_KEY for the admin API. */
export const KEYS_ENV = { API_KEY: DATA_KEY, ADMIN_API_KEY: ADMIN_KEY }

/**
 * A test gateway's stores as environment: the database at `db`, Qdrant at `qdrant` with a fresh
 * collection named `<collectionPrefix>_…`, vectors of TEST_DIMENSION.
 */
export function storesEnv(
  db: { url: string },
  qdrant: { url: string },
  collectionPrefix: string
): { MARIADB_URL: string; QDRANT_URL: string; QDRANT_COLLECTION: string; VECTOR_DIMENSION: string } {
  return {
    MARIADB_URL: db.url,
    QDRANT_URL: qdrant.url,
    QDRANT_COLLECTION: uniqueName(collectionPrefix),
    VECTOR_DIMENSION: String(TEST_DIMENSION)
  }
}

export async function buildTestGateway(t: Teardown, options: TestGatewayOptions = {}): Promise<TestGateway> {
  const db = options.db ?? (await createTestDatabase(t))
  let qdrant: QdrantEmulator | undefined
  let qdrantUrl: string | undefined
  if (options.qdrant === true) {
    const q = await testQdrant(t)
    qdrant = q.emulator
    qdrantUrl = q.url
  } else if (options.qdrant !== undefined && options.qdrant !== false) {
    qdrant = options.qdrant
    qdrantUrl = options.qdrant.url
  }
  const config = loadConfig({
    API_KEY: DATA_KEY,
    ADMIN_API_KEY: ADMIN_KEY,
    MARIADB_URL: db.url,
    VECTOR_DIMENSION: String(TEST_DIMENSION),
    SETTINGS_CACHE_MS: '0',
    LOG_LEVEL: 'silent',
    QDRANT_TIMEOUT_MS: '2000',
    ...(qdrantUrl !== undefined ? { QDRANT_URL: qdrantUrl, QDRANT_COLLECTION: uniqueName('vgt') } : {}),
    ...options.env
  })
  const app = await buildApp(config, options.logger !== undefined ? { logger: options.logger } : {})
  await app.ready()
  t.teardown(async () => {
    await app.close()
  })
  return { app, config, db, qdrant, data: { 'x-api-key': DATA_KEY }, admin: { 'x-api-key': ADMIN_KEY } }
}
