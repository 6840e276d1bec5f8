// Test support for the MariaDB provider.
//
// The tests run against a real MariaDB 11.8 (VECTOR type). `npm test` starts one
// from Debian trixie's packages on 127.0.0.1:3307 (scripts/mariadb-local.sh) and
// exports MARIADB_URL; set MARIADB_URL yourself to use another server.
import { randomBytes } from 'node:crypto'
import mariadb from 'mariadb'
import type { Connection, ConnectionConfig, Pool } from 'mariadb'

/** Server (and default database) the tests use. */
export const MARIADB_TEST_URL: string = process.env.MARIADB_URL ?? 'mariadb://root@127.0.0.1:3307/vector_gateway'

/** The system's MariaDB 10.11 (no VECTOR type): the gateway must refuse it. */
export const MARIADB_LEGACY_URL: string = process.env.MARIADB_LEGACY_URL ?? 'mariadb://root@127.0.0.1:3306/test'

export interface TestDatabase {
  /** URL of the server with the new database as its path. */
  url: string
  /** Name of the new database. */
  name: string
  /** Small pool connected to the new database. */
  pool: Pool
  /** Ends the pool and drops the database (safe to call more than once). */
  drop(): Promise<void>
}

/** Returns `url` with its path (the database) replaced by `database`. */
export function withDatabase(url: string, database: string): string {
  const u = new URL(url)
  u.pathname = '/' + encodeURIComponent(database)
  return u.toString()
}

function connectionConfig(url: string): ConnectionConfig {
  const u = new URL(url)
  const config: ConnectionConfig = {
    host: u.hostname.replace(/^\[(.*)\]$/, '$1'),
    port: u.port ? Number(u.port) : 3306,
    user: decodeURIComponent(u.username) || 'root',
    password: decodeURIComponent(u.password),
    connectTimeout: 5000
  }
  const database = decodeURIComponent(u.pathname.replace(/^\//, ''))
  if (database) config.database = database
  return config
}

/**
 * Creates a fresh, uniquely named database on the test server and a small pool on it.
 * With `t`, the pool is ended and the database dropped in t.teardown.
 */
export async function createTestDatabase(t?: { teardown(fn: () => unknown): void }): Promise<TestDatabase> {
  const name = `vgt_${process.pid}_${randomBytes(4).toString('hex')}`
  const admin = { ...connectionConfig(MARIADB_TEST_URL), database: undefined }

  let conn: Connection
  try {
    conn = await mariadb.createConnection(admin)
  } catch (err) {
    throw new Error(
      `cannot connect to the test MariaDB at ${MARIADB_TEST_URL} ` +
        `(start it with "bash scripts/mariadb-local.sh start" or set MARIADB_URL): ${(err as Error).message}`,
      { cause: err }
    )
  }
  try {
    await conn.query(`CREATE DATABASE \`${name}\``)
  } finally {
    await conn.end()
  }

  const url = withDatabase(MARIADB_TEST_URL, name)
  const pool = mariadb.createPool({
    ...connectionConfig(url),
    connectionLimit: 4,
    bigIntAsNumber: true,
    insertIdAsNumber: true
  })

  let dropped: Promise<void> | undefined
  const drop = (): Promise<void> => {
    dropped ??= (async () => {
      await pool.end().catch(() => {})
      const c = await mariadb.createConnection(admin)
      try {
        await c.query(`DROP DATABASE IF EXISTS \`${name}\``)
      } finally {
        await c.end()
      }
    })()
    return dropped
  }
  t?.teardown(drop)
  return { url, name, pool, drop }
}
