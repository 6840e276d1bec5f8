// The router's MutationGuard while migrations exist (docs/architecture.md#migration-live-traffic "safe under live
// traffic"). For a user a running migration covers, a write, replace, group
// change or delete runs while holding that user's named lock, the same lock the
// migration takes around each batch (read from the source, insert-only write to
// the target, checkpoint). So a live mutation happens either entirely before a
// batch reads the user's chunks or entirely after the batch wrote them:
// - a delete before the read is not copied; one after it reaches the copy too;
// - a write to the target is never overwritten (the copy is insert-only);
// - a write to the source after its key was copied removes the stale target copy
//   (the router's removeOlderCopies); the per-user verification copies it again.
//
// Which users are covered comes from MariaDB, cached for SETTINGS_CACHE_MS like
// the provider settings; a runner waits SETTINGS_CACHE_MS + 250 ms after a
// migration starts or resumes before its first batch, so every replica's guard
// sees it by then. Users no running migration covers pass straight through.
//
// All locks of this replica live on ONE dedicated connection (MariaDB lets a
// connection hold many named locks, and re-taking one it holds just nests). The
// lock is requested with a zero timeout and retried, so a user waiting for a
// batch never holds up other users' requests queued on the same connection.
import { setTimeout as sleep } from 'node:timers/promises'
import type { Pool, PoolConnection } from 'mariadb'
import { MigrationBusyError, ProviderDownError } from '../errors.ts'
import type { MutationGuard } from '../routing/mutation-guard.ts'
import type { Coverage, MigrationStore } from './migration-store.ts'
import type { LockNames } from './user-locks.ts'
import { RefreshingValue } from '../store/refreshing-value.ts'

export interface MigrationGuardOptions {
  pool: Pool
  store: Pick<MigrationStore, 'coverage'>
  locks: LockNames
  /** how long the cached view of running migrations is trusted (SETTINGS_CACHE_MS) */
  cacheMs: number
  /** how long a mutation waits for a batch to release the user (default 10 s) */
  lockTimeoutMs?: number
  /** pause between two attempts at a busy lock */
  retryMs?: number
  onError?: (err: unknown) => void
}

export class MigrationGuard implements MutationGuard {
  private readonly cache: RefreshingValue<Coverage>
  private conn: Promise<PoolConnection> | null = null
  private closed = false
  private readonly lockTimeoutMs: number
  private readonly retryMs: number

  constructor(private readonly options: MigrationGuardOptions) {
    this.lockTimeoutMs = options.lockTimeoutMs ?? 10000
    this.retryMs = options.retryMs ?? 10
    // MariaDB unreachable: the last view serves if there is one; without one the
    // mutation cannot know whether it is safe, and MariaDB is down anyway.
    this.cache = new RefreshingValue({
      load: async () => await options.store.coverage(),
      ttlMs: options.cacheMs,
      onStale: options.onError,
      unavailable: err =>
        new ProviderDownError(
          'Cannot check for running migrations: vector provider mariadb is unavailable; retry later',
          {
            cause: err
          }
        )
    })
  }

  async run<T>(userIds: number[], fn: () => Promise<T>): Promise<T> {
    const coverage = await this.coverage()
    const covered = [...new Set(userIds.filter(u => coverage.all || coverage.users.has(u)))].sort((a, b) => a - b)
    if (covered.length === 0) return await fn()
    const held: number[] = []
    try {
      // sorted order: two requests over overlapping users cannot wait for each other
      const deadline = Date.now() + this.lockTimeoutMs
      for (const userId of covered) {
        await this.acquire(userId, deadline)
        held.push(userId)
      }
      return await fn()
    } finally {
      for (const userId of held.reverse()) await this.release(userId)
    }
  }

  /** Forgets the cached view (this replica just created or resumed a migration). */
  invalidate(): void {
    this.cache.invalidate()
  }

  async close(): Promise<void> {
    this.closed = true
    const conn = this.conn
    this.conn = null
    // a pooled connection must not keep named locks: drop them before giving it back
    if (conn !== null) {
      await conn
        .then(async c => {
          try {
            await c.query('SELECT RELEASE_ALL_LOCKS()')
            await c.release()
          } catch {
            c.destroy()
          }
        })
        .catch(() => {})
    }
  }

  /** Which users a running migration covers, at most cacheMs old. */
  async coverage(): Promise<Coverage> {
    return await this.cache.get()
  }

  private async acquire(userId: number, deadline: number): Promise<void> {
    const name = this.options.locks.user(userId)
    for (;;) {
      const ok = await this.query('SELECT GET_LOCK(?, 0) AS ok', [name])
      if (Number(ok) === 1) return
      if (Date.now() >= deadline) {
        throw new MigrationBusyError(
          `User ${userId} is being copied by a migration and stayed locked for ${this.lockTimeoutMs} ms; nothing was changed, retry`
        )
      }
      await sleep(this.retryMs)
    }
  }

  private async release(userId: number): Promise<void> {
    await this.query('SELECT RELEASE_LOCK(?) AS ok', [this.options.locks.user(userId)]).catch(err => {
      this.options.onError?.(err)
    })
  }

  /** One query on the dedicated lock connection; a broken connection is replaced on the next call. */
  private async query(sql: string, params: unknown[]): Promise<unknown> {
    if (this.closed) throw new ProviderDownError('The gateway is shutting down')
    this.conn ??= this.options.pool.getConnection()
    const pending = this.conn
    try {
      const conn = await pending
      const [row] = (await conn.query(sql, params)) as Array<{ ok: unknown }>
      return row?.ok
    } catch (err) {
      if (this.conn === pending) {
        this.conn = null
        // the locks it held are gone with it: in-flight mutations finish unguarded (logged)
        await pending
          .then(c => {
            c.destroy()
          })
          .catch(() => {})
      }
      this.options.onError?.(err)
      throw new ProviderDownError(
        'Cannot take the migration lock: vector provider mariadb is unavailable; retry later',
        { cause: err }
      )
    }
  }
}
