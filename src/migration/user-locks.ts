// MariaDB named locks that serialise a user's live mutations with a migration's
// batch copy of that user (see migration-guard.ts and migration-engine.ts).
//
// Named locks are server-wide, so the names carry a short hash of the database:
// two gateways on two databases of one server never wait for each other.
// Released automatically by MariaDB when the holding connection ends, so a
// runner killed with -9 cannot leave a user locked.
import { createHash } from 'node:crypto'
import type { Pool } from 'mariadb'
import { withNamedLock } from '../store/named-lock.ts'

export class LockNames {
  constructor(readonly namespace: string) {}

  /** The lock a batch copy and a live mutation of `userId` both take. */
  user(userId: number): string {
    return `vg_mig_${this.namespace}_u_${userId}`
  }

  /** Taken while creating a migration or changing its state (one migration at a time). */
  get create(): string {
    return `vg_mig_${this.namespace}_create`
  }
}

export async function lockNamesFor(pool: Pool): Promise<LockNames> {
  const [row] = (await pool.query('SELECT DATABASE() AS db')) as Array<{ db: string | null }>
  return new LockNames(
    createHash('sha1')
      .update(row?.db ?? '')
      .digest('hex')
      .slice(0, 10)
  )
}

export class UserLockTimeout extends Error {}

/**
 * Runs fn while holding user `userId`'s lock on a connection of its own (waiting
 * at most timeoutS for it). The runner uses this around each batch; the lock
 * stays held if fn throws until it is released here.
 */
export async function withUserLock<T>(
  pool: Pool,
  names: LockNames,
  userId: number,
  timeoutS: number,
  fn: () => Promise<T>
): Promise<T> {
  return await withNamedLock(
    pool,
    names.user(userId),
    timeoutS,
    () => new UserLockTimeout(`could not lock user ${userId} within ${timeoutS}s (live writes hold it)`),
    fn
  )
}
