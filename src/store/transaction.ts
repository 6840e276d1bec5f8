// One pool connection, one transaction: commit when fn resolves, roll back when it
// throws. Used by the settings store, the migration state and the MariaDB provider.
import type { Pool, PoolConnection } from 'mariadb'

export async function inTransaction<T> (pool: Pool, fn: (conn: PoolConnection) => Promise<T>): Promise<T> {
  const conn = await pool.getConnection()
  try {
    return await transactionOn(conn, fn)
  } finally {
    await conn.release().catch(() => {})
  }
}

/** The same on a connection the caller holds (for example one holding a named lock). */
export async function transactionOn<T> (conn: PoolConnection, fn: (conn: PoolConnection) => Promise<T>): Promise<T> {
  await conn.beginTransaction()
  try {
    const result = await fn(conn)
    await conn.commit()
    return result
  } catch (err) {
    await conn.rollback().catch(() => {})
    throw err
  }
}
