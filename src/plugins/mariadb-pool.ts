// The MariaDB pool shared by the MariaDB provider, the settings store and the
// migration state. Pinged at start so a wrong MARIADB_URL fails fast.
import fp from 'fastify-plugin'
import mariadb, { type Pool } from 'mariadb'
import type { Config } from '../config.ts'

declare module 'fastify' {
  interface FastifyInstance {
    mariadb: Pool
  }
}

export function createMariaDbPool(config: Pick<Config, 'MARIADB_URL' | 'MARIADB_POOL_SIZE'>): Pool {
  const url = new URL(config.MARIADB_URL)
  return mariadb.createPool({
    host: url.hostname,
    port: url.port === '' ? 3306 : Number(url.port),
    user: decodeURIComponent(url.username),
    password: decodeURIComponent(url.password),
    database: url.pathname.replace(/^\//, '') || undefined,
    connectionLimit: config.MARIADB_POOL_SIZE,
    acquireTimeout: 3000,
    connectTimeout: 2000,
    bigIntAsNumber: true,
    insertIdAsNumber: true,
    decimalAsNumber: true,
    checkDuplicate: false
  })
}

export default fp(
  async (fastify, opts: { config: Config }) => {
    const pool = createMariaDbPool(opts.config)
    try {
      await pool.query('SELECT 1')
    } catch (err) {
      await pool.end()
      throw new Error(`Cannot reach MariaDB at ${redact(opts.config.MARIADB_URL)}: ${(err as Error).message}`, {
        cause: err
      })
    }
    fastify.addHook('onClose', async () => {
      await pool.end()
    })
    fastify.decorate('mariadb', pool)
  },
  { name: 'mariadb-pool' }
)

export function redact(url: string): string {
  const u = new URL(url)
  if (u.password !== '') u.password = '***'
  return u.toString()
}
