// The MariaDB pool shared by the MariaDB provider, the settings store, the
// migration state and the pending removals. MARIADB_URL goes to the `mariadb`
// driver as its documented connection string (`mariadb://user:password@host:port/
// database?option=value`: percent-encoded user and password, driver options in
// the query); the gateway's own pool options are added to its query and win over
// the same names in the URL.
import mariadb, { type Pool } from 'mariadb'
import type { Config } from '../config.ts'

/** Driver options the gateway relies on (numbers as JS numbers, fast failure when MariaDB is gone). */
const POOL_OPTIONS = {
  acquireTimeout: 3000,
  connectTimeout: 2000,
  bigIntAsNumber: true,
  insertIdAsNumber: true,
  decimalAsNumber: true,
  checkDuplicate: false
}

export function createMariaDbPool(config: Pick<Config, 'MARIADB_URL' | 'MARIADB_POOL_SIZE'>): Pool {
  const url = poolUrl(config)
  try {
    return mariadb.createPool(url)
  } catch (err) {
    // the driver's parse errors quote the whole URL, password included
    throw new Error(`MARIADB_URL is not a valid MariaDB connection string: ${redact(url)}`, { cause: err })
  }
}

/** MARIADB_URL with the pool options in its query string: what the driver parses. */
export function poolUrl(config: Pick<Config, 'MARIADB_URL' | 'MARIADB_POOL_SIZE'>): string {
  let url: URL
  try {
    url = new URL(config.MARIADB_URL)
  } catch {
    throw new Error('MARIADB_URL is not a URL: expected mariadb://user:password@host:port/database')
  }
  if (url.pathname.replace(/^\//, '') === '')
    throw new Error(
      `MARIADB_URL names no database: expected mariadb://user:password@host:port/database, got ${redact(config.MARIADB_URL)}`
    )
  const options: Record<string, string | number | boolean> = {
    ...POOL_OPTIONS,
    connectionLimit: config.MARIADB_POOL_SIZE
  }
  // appended by hand: URLSearchParams would re-encode the caller's options (spaces as '+',
  // which the driver does not decode)
  const kept = url.search
    .slice(1)
    .split('&')
    .filter(pair => pair !== '' && !Object.hasOwn(options, pair.split('=')[0]))
  const ours = Object.entries(options).map(([name, value]) => `${name}=${encodeURIComponent(String(value))}`)
  url.search = [...kept, ...ours].join('&')
  return url.toString()
}

/** Connects once, so a wrong MARIADB_URL fails at start with a message that names it (without its password). */
export async function pingMariaDb(pool: Pool, url: string): Promise<void> {
  try {
    await pool.query('SELECT 1')
  } catch (err) {
    throw new Error(`Cannot reach MariaDB at ${redact(url)}: ${(err as Error).message}`, { cause: err })
  }
}

export function redact(url: string): string {
  const u = new URL(url)
  if (u.password !== '') u.password = '***'
  return u.toString()
}
