// Runs migrations in the background. Every gateway process (and the CLI) has one
// runner; they coordinate through a lease on the migration row:
// - every pollMs a runner looks for a migration in state `running` whose lease is
//   free or expired, and claims it with one conditional UPDATE (only one wins);
// - while it works it renews the lease every renewMs (UPDATE ... WHERE
//   lease_owner = me); a runner that cannot renew has lost it and stops before
//   its next batch;
// - a process that dies (even kill -9) stops renewing: after leaseMs another
//   runner, or the restarted one, claims the migration and resumes each user from
//   its checkpoint. A runner that stops cleanly releases the lease at once.
// Pause and cancel are checked between batches.
//
// Users are copied `concurrency` at a time (MIGRATION_USER_CONCURRENCY): while one
// user's batch waits for the target, another user's batch reads the source. Each
// user is still copied by one worker under its own named lock, batch after batch,
// exactly as with one worker (docs/architecture.md, "Migration speed").
import { hostname } from 'node:os'
import { randomUUID } from 'node:crypto'
import type { Logger } from '../observability/logger.ts'
import type { MigrationEngine, RunControl } from './migration-engine.ts'
import type { MigrationRow, MigrationStore } from './migration-store.ts'

export interface MigrationRunnerOptions {
  store: MigrationStore
  engine: MigrationEngine
  /** wait after claiming before the first batch: SETTINGS_CACHE_MS + 250, so every replica's guard sees the migration */
  startDelayMs: number
  pollMs?: number
  leaseMs?: number
  renewMs?: number
  /** users copied at the same time, each under its own lock (default 1) */
  concurrency?: number
  /** users counted per round while planning */
  planChunk?: number
  logger?: Logger
  /** for tests and tools: a recognisable lease owner */
  owner?: string
}

const DEFAULT_LEASE_MS = 10000
export const DEFAULT_RENEW_MS = 3000

export class MigrationRunner {
  readonly owner: string
  private readonly pollMs: number
  private readonly leaseMs: number
  private readonly renewMs: number
  private readonly planChunk: number
  private readonly concurrency: number
  private pollTimer: NodeJS.Timeout | null = null
  private current: Promise<void> | null = null
  private currentId: number | null = null
  private stopping = false
  private readonly waiters = new Set<() => void>()

  constructor(private readonly options: MigrationRunnerOptions) {
    this.owner = options.owner ?? `${hostname()}:${process.pid}:${randomUUID().slice(0, 8)}`
    this.pollMs = options.pollMs ?? 1000
    this.leaseMs = options.leaseMs ?? DEFAULT_LEASE_MS
    this.renewMs = options.renewMs ?? DEFAULT_RENEW_MS
    this.planChunk = options.planChunk ?? 100
    this.concurrency = Math.max(1, options.concurrency ?? 1)
  }

  start(): void {
    if (this.pollTimer !== null || this.stopping) return
    this.pollTimer = setInterval(() => {
      this.poke()
    }, this.pollMs)
    this.pollTimer.unref()
    this.poke()
  }

  /** Looks for work now (after this replica created or resumed a migration). */
  poke(): void {
    if (this.stopping || this.current !== null) return
    this.current = this.tick().finally(() => {
      this.current = null
      this.currentId = null
    })
  }

  /** The migration this runner works on, if any. */
  get running(): number | null {
    return this.currentId
  }

  /** Stops after the batch in flight and releases the lease. */
  async stop(): Promise<void> {
    this.stopping = true
    if (this.pollTimer !== null) clearInterval(this.pollTimer)
    this.pollTimer = null
    this.wakeAll()
    await this.current?.catch(() => {})
  }

  private async tick(): Promise<void> {
    let id: number | null
    try {
      id = await this.options.store.claim(this.owner, this.leaseMs, this.options.engine.configured())
    } catch (err) {
      this.options.logger?.warn({ err }, 'migration runner could not look for work')
      return
    }
    if (id === null) return
    this.currentId = id
    await this.run(id)
  }

  private async run(id: number): Promise<void> {
    const { store, engine, logger } = this.options
    let leaseLost = false
    const renew = setInterval(() => {
      store.renew(id, this.owner, this.leaseMs).then(
        held => {
          if (!held) {
            leaseLost = true
            this.wakeAll()
          }
        },
        err => {
          logger?.warn({ err, migration: id }, 'could not renew the migration lease')
        }
      )
    }, this.renewMs)
    renew.unref()
    const claimedAt = Date.now()
    const ctl: RunControl = {
      owner: this.owner,
      shouldStop: async () => {
        if (this.stopping || leaseLost) return true
        // one primary-key read per batch: pause and cancel act between batches
        return (await store.get(id))?.status !== 'running'
      },
      wait: async ms => {
        await this.sleep(ms)
      }
    }
    try {
      let m = await store.get(id)
      if (m === null || m.status !== 'running') return
      logger?.info({ migration: id, from: m.from, to: m.to, owner: this.owner }, 'migration runner took the migration')
      if (!m.planned) {
        if (!(await this.plan(m, ctl))) return
        m = { ...m, planned: true }
      }
      const waitMore = claimedAt + this.options.startDelayMs - Date.now()
      if (waitMore > 0) await this.sleep(waitMore)
      const planned = m
      // users some worker holds (in progress here): never handed to a second worker
      const busy = new Set<number>()
      let halted = false
      let picking: Promise<unknown> = Promise.resolve()
      const pick = async (): Promise<Awaited<ReturnType<MigrationStore['nextUser']>>> => {
        // one pick at a time, so two workers cannot take the same user
        const next = picking.then(async () => {
          const user = await store.nextUser(id, [...busy])
          if (user !== null) busy.add(user.userId)
          return user
        })
        picking = next.catch(() => {})
        return await next
      }
      const worker = async (): Promise<void> => {
        while (!halted) {
          if (await ctl.shouldStop()) {
            halted = true
            return
          }
          const user = await pick()
          if (user === null) return
          const outcome = await engine.migrateUser(planned, user, ctl)
          if (outcome === 'stopped') {
            halted = true // the user stays in progress (and busy): it resumes from its checkpoint next run
            return
          }
          busy.delete(user.userId)
        }
      }
      const workers = await Promise.allSettled(Array.from({ length: this.concurrency }, worker))
      const crashed = workers.find(w => w.status === 'rejected')
      if (crashed !== undefined) throw crashed.reason
      if (halted || (await ctl.shouldStop())) return
      const failed = await store.failedUserCount(id)
      const finished =
        failed === 0
          ? await store.finish(id, 'complete', null)
          : await store.finish(id, 'fail', `${failed} user(s) failed; see the per-user rows, then POST .../retry`)
      if (finished)
        logger?.info(
          { migration: id, failed },
          failed === 0 ? 'migration completed' : 'migration finished with failed users'
        )
    } catch (err) {
      // MariaDB trouble and the like: keep the state, let this or another runner pick it up again
      logger?.error({ err, migration: id }, 'migration run interrupted; it will be resumed from its checkpoints')
      await store.setError(id, `run interrupted: ${(err as Error).message}`).catch(() => {})
    } finally {
      clearInterval(renew)
      if (!leaseLost) await store.release(id, this.owner).catch(() => {})
    }
  }

  /** Creates the per-user rows: the requested users, or every user of the source, each with its chunk count. */
  private async plan(m: MigrationRow, ctl: RunControl): Promise<boolean> {
    const { store, engine } = this.options
    const source = engine.provider(m.from)
    const userIds = m.userIds ?? (await source.users())
    const known = await store.plannedUsers(m.id)
    const todo = userIds.filter(u => !known.has(u))
    for (let i = 0; i < todo.length; i += this.planChunk) {
      if (await ctl.shouldStop()) return false
      const slice = todo.slice(i, i + this.planChunk)
      const counts = await Promise.all(
        slice.map(async userId => ({ userId, totalChunks: await source.count({ user_id: userId }) }))
      )
      await store.addUsers(m.id, counts)
    }
    await store.markPlanned(m.id)
    return true
  }

  private async sleep(ms: number): Promise<void> {
    if (this.stopping) return
    await new Promise<void>(resolve => {
      const done = (): void => {
        clearTimeout(timer)
        this.waiters.delete(done)
        resolve()
      }
      const timer = setTimeout(done, ms)
      timer.unref()
      this.waiters.add(done)
    })
  }

  private wakeAll(): void {
    for (const w of [...this.waiters]) w()
  }
}
