// Copies one user's stored chunks from a source provider to a target provider
// (docs/architecture.md#migration). No HTTP, no Fastify: the admin API, the gateway's background runner
// and the CLI all use this through MigrationRunner.
//
// Per user:
//  1. batches, each under the user's named lock (user-locks.ts):
//       scan(source, after checkpoint, batch_size) -> target.upsert(batch, insertOnly)
//       -> save the checkpoint (last key copied) and the progress.
//     Memory holds one batch. Insert-only: a key the target already holds (a live
//     write, or an earlier run of this migration) is left alone. A crash between
//     the write and the checkpoint only means the batch is copied again, harmlessly.
//  2. verification, under the lock: every key the source holds must be in the
//     target with a version at least as new. Keys that live writes to the source
//     added behind the checkpoint (or whose stale target copy the router removed)
//     are copied now ("reconciled"); anything still missing fails the user with
//     the number of missing keys. Exact counts of both sides are recorded. The
//     target may hold MORE than the source: live writes that went to the target
//     (and removed the source copy) are the newest data, not an error.
//  3. with delete_source, the user's chunks are deleted from the source, still
//     under the same lock, and only after a successful verification.
// A failing batch is retried (3 attempts); while a provider is unreachable the
// engine waits for it instead of failing users. A user that still fails is
// marked failed with the reason and the runner goes on with the next user.
import type { Pool } from 'mariadb'
import { causeChain, isProviderDown } from '../errors.ts'
import {
  keyOf,
  type ChunkRecord,
  type KeyInfo,
  type ProviderName,
  type VectorProvider
} from '../providers/vector-provider.ts'
import type { Logger } from '../observability/logger.ts'
import { keysBehind } from './keys-behind.ts'
import type { MigrationRow, MigrationStore, UserRow } from './migration-store.ts'
import { withUserLock, type LockNames } from './user-locks.ts'

export interface RunControl {
  /** the lease owner this run writes as */
  readonly owner: string
  /** true when the run must stop before its next step (pause, cancel, lost lease, shutdown) */
  shouldStop(): Promise<boolean>
  /** waits ms, returning early when the run is being stopped */
  wait(ms: number): Promise<void>
}

export interface MigrationEngineOptions {
  pool: Pool
  locks: LockNames
  store: MigrationStore
  providers: Map<ProviderName, VectorProvider>
  logger?: Pick<Logger, 'info' | 'warn'>
  /** seconds a batch waits for live mutations to release the user (default 30) */
  lockTimeoutS?: number
  /** attempts per batch before the user is failed (default 3) */
  maxAttempts?: number
  /** pause before retrying a failed batch, times the attempt number (default 250 ms) */
  retryDelayMs?: number
  /** pause between checks while a provider is unreachable (default 2 s) */
  downPollMs?: number
  /** removals of older copies not done yet (src/cleanup): a user with any is not verified */
  pendingRemovals?: { countForUser(userId: number): Promise<number> }
  /** how long verification waits for a user's pending removals before failing the user (default 30 s) */
  pendingWaitMs?: number
}

type UserOutcome = 'completed' | 'failed' | 'stopped'

type Attempt<T> = { ok: true; value: T } | { ok: false; error: Error } | { stopped: true }

export class MigrationEngine {
  private readonly lockTimeoutS: number
  private readonly maxAttempts: number
  private readonly retryDelayMs: number
  private readonly downPollMs: number

  constructor(private readonly options: MigrationEngineOptions) {
    this.lockTimeoutS = options.lockTimeoutS ?? 30
    this.maxAttempts = options.maxAttempts ?? 3
    this.retryDelayMs = options.retryDelayMs ?? 250
    this.downPollMs = options.downPollMs ?? 2000
  }

  /** The providers this process can migrate between. */
  configured(): ProviderName[] {
    return [...this.options.providers.keys()]
  }

  provider(name: ProviderName): VectorProvider {
    const p = this.options.providers.get(name)
    if (p === undefined) throw new Error(`provider ${name} is not configured here (set QDRANT_URL)`)
    return p
  }

  /** Copies, verifies and (with delete_source) cleans up one user. */
  async migrateUser(m: MigrationRow, user: UserRow, ctl: RunControl): Promise<UserOutcome> {
    const { store } = this.options
    const source = this.provider(m.from)
    const target = this.provider(m.to)
    const userId = user.userId
    if (!(await store.startUser(m.id, userId, ctl.owner))) return 'stopped'
    let after = user.checkpoint

    for (;;) {
      if (await ctl.shouldStop()) return 'stopped'
      const started = performance.now()
      const batch = await this.attempt(
        m,
        ctl,
        async () =>
          await this.withLock(userId, async () => {
            const chunks = await source.scan(userId, after, m.batchSize)
            if (chunks.length === 0) return null
            await target.upsert(chunks, { insertOnly: true })
            const last = chunks[chunks.length - 1]
            const key = { file_id: last.file_id, chunk_index: last.chunk_index }
            const held = await store.saveBatch(m.id, userId, ctl.owner, key, chunks.length, performance.now() - started)
            return { key, n: chunks.length, held }
          })
      )
      if ('stopped' in batch) return 'stopped'
      if (!batch.ok) {
        await store.failUser(
          m.id,
          userId,
          ctl.owner,
          `copy after ${after === null ? 'the start' : `key ${keyOf(after)}`} failed: ${causeChain(batch.error)}`
        )
        return 'failed'
      }
      if (batch.value === null) break
      if (!batch.value.held) return 'stopped' // the lease went to another runner: it carries on
      after = batch.value.key
      if (batch.value.n < m.batchSize) break
    }

    if (await ctl.shouldStop()) return 'stopped'
    if (await this.waitForPendingRemovals(userId, ctl)) return 'stopped'
    const started = performance.now()
    const verified = await this.attempt(
      m,
      ctl,
      async () => await this.withLock(userId, async () => await this.verify(m, userId, source, target))
    )
    await store.addActiveTime(m.id, performance.now() - started)
    if ('stopped' in verified) return 'stopped'
    if (!verified.ok) {
      await store.failUser(m.id, userId, ctl.owner, `verification failed: ${causeChain(verified.error)}`)
      return 'failed'
    }
    const v = verified.value
    if (v.missing > 0) {
      await store.failUser(
        m.id,
        userId,
        ctl.owner,
        `verification failed: ${v.missing} of the ${v.sourceKeys} chunks in ${m.from} are missing in ${m.to} ` +
          `(exact counts: ${m.from} ${v.sourceCount}, ${m.to} ${v.targetCount})`,
        v
      )
      return 'failed'
    }
    if (!(await store.completeUser(m.id, userId, ctl.owner, v))) return 'stopped'
    this.options.logger?.info({ migration: m.id, userId, ...v }, 'user migrated and verified')
    return 'completed'
  }

  /**
   * Under the user's lock: copies what the source holds and the target lacks (or
   * holds in an older version), then checks key by key and counts exactly. With
   * delete_source, deletes the source's chunks once everything is there.
   */
  private async verify(m: MigrationRow, userId: number, source: VectorProvider, target: VectorProvider) {
    // a stale copy still waiting for its removal could be counted as migrated: not verified yet
    const pending = (await this.options.pendingRemovals?.countForUser(userId)) ?? 0
    if (pending > 0) {
      throw new Error(
        `${pending} removal(s) of older copies of user ${userId} are still pending (retried in the background while both providers are up); retry the migration once they are done`
      )
    }
    const sourceKeys = await source.keys({ user_id: userId })
    const behind = await this.behind(sourceKeys, target, userId)
    let reconciled = 0
    if (behind.size > 0) reconciled = await this.reconcile(userId, behind, source, target)
    const missing = reconciled > 0 ? (await this.behind(sourceKeys, target, userId)).size : behind.size
    const [sourceCount, targetCount] = await Promise.all([
      source.count({ user_id: userId }),
      target.count({ user_id: userId })
    ])
    let sourceDeleted: number | null = null
    if (missing === 0 && m.deleteSource) sourceDeleted = await source.delete({ user_id: userId })
    return { sourceKeys: sourceKeys.length, missing, sourceCount, targetCount, reconciled, sourceDeleted }
  }

  /** Source keys the target lacks, or holds in an older version, with the source's version. */
  private async behind(sourceKeys: KeyInfo[], target: VectorProvider, userId: number): Promise<Map<string, KeyInfo>> {
    return keysBehind(sourceKeys, await target.keys({ user_id: userId }))
  }

  /** Copies the given keys from the source: missing ones insert-only, older ones overwritten (nothing else writes this user now). */
  private async reconcile(
    userId: number,
    keys: Map<string, KeyInfo>,
    source: VectorProvider,
    target: VectorProvider
  ): Promise<number> {
    const files = [...new Set([...keys.values()].map(k => k.file_id))].sort((a, b) => a - b)
    const targetKeys = new Set((await target.keys({ user_id: userId, file_ids: files })).map(keyOf))
    let copied = 0
    for (const fileId of files) {
      const listed = await source.list(userId, fileId, true)
      const wanted: ChunkRecord[] = listed
        .filter(c => keys.has(keyOf(c)) && c.vector !== undefined)
        .map(c => ({ ...c, vector: c.vector as number[] }))
      const fresh = wanted.filter(c => !targetKeys.has(keyOf(c)))
      const stale = wanted.filter(c => targetKeys.has(keyOf(c)))
      if (fresh.length > 0) await target.upsert(fresh, { insertOnly: true })
      if (stale.length > 0) await target.upsert(stale)
      copied += wanted.length
    }
    if (copied > 0)
      this.options.logger?.info(
        { userId, copied },
        'verification copied chunks written to the source behind the checkpoint'
      )
    return copied
  }

  /** Waits (bounded by pendingWaitMs) for the background retrier to finish the user's pending removals; true when stopped. */
  private async waitForPendingRemovals(userId: number, ctl: RunControl): Promise<boolean> {
    const log = this.options.pendingRemovals
    if (log === undefined) return false
    const until = Date.now() + (this.options.pendingWaitMs ?? 30_000)
    for (;;) {
      // a failed count is left to verify(), which checks again under the lock
      const n = await log.countForUser(userId).catch(() => 0)
      const left = until - Date.now()
      if (n === 0 || left <= 0) return false
      await ctl.wait(Math.min(500, left))
      if (await ctl.shouldStop()) return true
    }
  }

  private async withLock<T>(userId: number, fn: () => Promise<T>): Promise<T> {
    return await withUserLock(this.options.pool, this.options.locks, userId, this.lockTimeoutS, fn)
  }

  /**
   * Runs one step with retries. While the source or the target is unreachable it
   * waits (the migration shows the reason in its error field) rather than failing
   * users one after the other; any other error is retried maxAttempts times.
   */
  private async attempt<T>(m: MigrationRow, ctl: RunControl, fn: () => Promise<T>): Promise<Attempt<T>> {
    let failures = 0
    let waiting = false
    for (;;) {
      try {
        const value = await fn()
        if (waiting) await this.options.store.setError(m.id, null)
        return { ok: true, value }
      } catch (err) {
        const error = err instanceof Error ? err : new Error(String(err))
        const down = await this.unreachable(m)
        if (down !== null) {
          if (!waiting) this.options.logger?.warn({ migration: m.id, err: error }, `migration waits for ${down}`)
          waiting = true
          await this.options.store
            .setError(m.id, `waiting for ${down} to come back: ${causeChain(error)}`)
            .catch(() => {})
          await ctl.wait(this.downPollMs)
          if (await ctl.shouldStop()) return { stopped: true }
          continue
        }
        failures++
        this.options.logger?.warn({ migration: m.id, attempt: failures, err: error }, 'migration step failed')
        if (failures >= this.maxAttempts || !retryable(error)) return { ok: false, error }
        await ctl.wait(this.retryDelayMs * failures)
        if (await ctl.shouldStop()) return { stopped: true }
      }
    }
  }

  /** The provider of this migration that is unreachable right now, if any. */
  private async unreachable(m: MigrationRow): Promise<string | null> {
    for (const name of [m.from, m.to]) {
      const health = await this.provider(name)
        .health()
        .catch(() => ({ status: 'disconnected' as const, error: 'health check failed' }))
      if (health.status !== 'connected') return `${name} (${health.error ?? 'disconnected'})`
    }
    return null
  }
}

function retryable(err: Error): boolean {
  // configuration-like errors will not go away by retrying; everything else may
  return !/not configured/.test(err.message) || isProviderDown(err)
}
