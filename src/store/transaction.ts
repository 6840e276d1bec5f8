// One pool connection, one transaction: commit when fn resolves, roll back when it
// throws. Used by the settings store, the migration state and the MariaDB provider.
//
// Write conflicts are retried here, in one place. Two transactions writing the same
// rows at once make MariaDB abort one of them: 1213 (deadlock), 1020 ("Record has
// changed since last read": 11.8 runs innodb_snapshot_isolation=ON, so a row changed
// after the transaction's first read cannot be locked by it). The aborted transaction
// is rolled back whole, so running fn again on a fresh transaction is safe; after
// `attempts` the conflict is thrown for the caller to translate (the MariaDB provider
// answers a retryable 503). 1205 (lock wait timeout) is a conflict too, but is not
// retried: the statement already waited innodb_lock_wait_timeout (50 s by default).
import { setTimeout as sleep } from 'node:timers/promises'
import type { Pool, PoolConnection } from 'mariadb'

const ER_CHECKREAD = 1020
const ER_LOCK_WAIT_TIMEOUT = 1205
const ER_LOCK_DEADLOCK = 1213
const WRITE_CONFLICTS = new Set([ER_CHECKREAD, ER_LOCK_WAIT_TIMEOUT, ER_LOCK_DEADLOCK])
const RETRIED = new Set([ER_CHECKREAD, ER_LOCK_DEADLOCK])

export interface ConflictRetry {
  /** attempts in all, the first one included (default 12: worst case about 1.3 s of backoff in all) */
  attempts?: number
  /** backoff before the second attempt; doubles each time, with full jitter (default 5 ms) */
  baseDelayMs?: number
  /** cap on one backoff (default 200 ms) */
  maxDelayMs?: number
  /** told about every conflict that is retried (attempt = the one that failed, from 1) */
  onRetry?: (err: unknown, attempt: number) => void
}

export interface TransactionOptions extends ConflictRetry {
  /**
   * READ COMMITTED for this transaction only (the session keeps its level). For keyed
   * writes that read little: no snapshot is kept across statements, so concurrent
   * writers of the same rows wait for each other's row locks instead of failing with
   * 1020, and no gap locks are taken by its reads.
   */
  readCommitted?: boolean
}

/** A server error that aborted the statement or transaction because of a concurrent one. */
export function isWriteConflict(err: unknown): boolean {
  const errno = (err as { errno?: unknown } | null)?.errno
  return typeof errno === 'number' && WRITE_CONFLICTS.has(errno)
}

function isRetried(err: unknown): boolean {
  const errno = (err as { errno?: unknown } | null)?.errno
  return typeof errno === 'number' && RETRIED.has(errno)
}

/**
 * Runs fn, running it again while it fails with a write conflict, at most
 * `attempts` times in all, sleeping a random time up to an exponentially growing
 * bound in between (so the racing writers spread out instead of colliding again).
 * fn must be safe to repeat: a whole transaction, or one autocommit statement.
 */
export async function retryWriteConflicts<T>(fn: () => Promise<T>, options: ConflictRetry = {}): Promise<T> {
  const attempts = Math.max(1, options.attempts ?? 12)
  const base = options.baseDelayMs ?? 5
  const cap = options.maxDelayMs ?? 200
  for (let attempt = 1; ; attempt++) {
    try {
      return await fn()
    } catch (err) {
      if (!isRetried(err) || attempt >= attempts) throw err
      options.onRetry?.(err, attempt)
      await sleep(Math.random() * Math.min(cap, base * 2 ** (attempt - 1)))
    }
  }
}

export async function inTransaction<T>(
  pool: Pool,
  fn: (conn: PoolConnection) => Promise<T>,
  options: TransactionOptions = {}
): Promise<T> {
  // the connection goes back to the pool between attempts: a backoff holds nothing
  return await retryWriteConflicts(async () => {
    const conn = await pool.getConnection()
    try {
      return await transactionOnce(conn, fn, options.readCommitted === true)
    } finally {
      await conn.release().catch(() => {})
    }
  }, options)
}

/**
 * The same on a connection the caller holds (for example one holding a named lock:
 * a rollback leaves named locks alone, and the retries are bounded, so the lock is
 * held at most for `attempts` short backoffs longer).
 */
export async function transactionOn<T>(
  conn: PoolConnection,
  fn: (conn: PoolConnection) => Promise<T>,
  options: TransactionOptions = {}
): Promise<T> {
  return await retryWriteConflicts(async () => await transactionOnce(conn, fn, options.readCommitted === true), options)
}

async function transactionOnce<T>(
  conn: PoolConnection,
  fn: (conn: PoolConnection) => Promise<T>,
  readCommitted: boolean
): Promise<T> {
  // applies to the next transaction only
  if (readCommitted) await conn.query('SET TRANSACTION ISOLATION LEVEL READ COMMITTED')
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
