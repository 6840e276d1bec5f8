// MariaDB named locks (GET_LOCK/RELEASE_LOCK) held around a piece of work. A named
// lock belongs to a connection, so the work runs on one pooled connection of its
// own; MariaDB drops the lock when that connection ends, so a process killed with
// -9 cannot leave it held.
import type { Pool, PoolConnection } from 'mariadb'

/**
 * Runs fn on one connection while holding the named lock `name`, waiting at most
 * timeoutS for it; when it stays taken, throws what `busy()` makes (fn never runs).
 * A connection that may still hold the lock (its release failed, or it broke) is
 * destroyed instead of going back to the pool.
 */
export async function withNamedLock<T>(
  pool: Pool,
  name: string,
  timeoutS: number,
  busy: () => Error,
  fn: (conn: PoolConnection) => Promise<T>
): Promise<T> {
  const conn = await pool.getConnection()
  let healthy = true
  let refused: Error | null = null
  try {
    const [{ ok }] = (await conn.query('SELECT GET_LOCK(?, ?) AS ok', [name, timeoutS])) as Array<{ ok: unknown }>
    if (Number(ok) !== 1) {
      refused = busy()
      throw refused
    }
    try {
      return await fn(conn)
    } finally {
      await conn.query('SELECT RELEASE_LOCK(?)', [name]).catch(() => {
        healthy = false
      })
    }
  } catch (err) {
    if (err !== refused && !conn.isValid()) healthy = false
    throw err
  } finally {
    if (healthy) await conn.release()
    else conn.destroy()
  }
}
