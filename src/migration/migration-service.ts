// What the admin API and the CLI do with migrations: create, list, show,
// pause/resume/cancel/retry, and the API view of a migration (totals, rate, ETA,
// per-user rows). No HTTP here: routes/admin/migrations.ts and src/cli.ts call it.
import { setTimeout as sleep } from 'node:timers/promises'
import { BadRequestError, NotFoundError, ProviderUnavailableError } from '../errors.ts'
import type { ProviderName, VectorProvider } from '../providers/vector-provider.ts'
import type { MigrationRow, MigrationStore, UserRow, UserTotals } from './migration-store.ts'
import type { AdminAction, UserMigrationState } from './state-machine.ts'
import type { CreateMigrationBody, MigrationDetail, MigrationSummary, MigrationUser } from '../schemas/migration.ts'

export interface UserPage {
  /** 1-based page (page/per_page) or offset/limit, whichever the caller used */
  page?: number
  per_page?: number
  offset?: number
  limit?: number
  status?: UserMigrationState
}

export interface MigrationServiceOptions {
  store: MigrationStore
  providers: Map<ProviderName, VectorProvider>
  defaultBatchSize: number
  /** how long pause and cancel wait for the runner to stop after its batch in flight (default 5 s) */
  stopWaitMs?: number
  /** called after a change that gives runners work (this replica's runner looks at once) */
  onChange?: () => void
  /** throws (409 VG_UNSAFE_TOPOLOGY) when the MariaDB topology cannot serialise migrations; see server-topology.ts */
  checkTopology?: () => Promise<void>
}

const iso = (d: Date | null): string | null => (d === null ? null : d.toISOString())

export class MigrationService {
  constructor(private readonly options: MigrationServiceOptions) {}

  get store(): MigrationStore {
    return this.options.store
  }

  /** Validates and creates a running migration (202 in the API); 409 while another one runs. */
  async create(input: CreateMigrationBody, actor: string): Promise<MigrationSummary> {
    const { from, to } = input
    if (from === to)
      throw new BadRequestError(`from and to are both ${from}: a migration copies from one provider to the other`)
    for (const name of [from, to]) {
      const provider = this.options.providers.get(name)
      if (provider === undefined)
        throw new ProviderUnavailableError(
          `Cannot migrate ${from} -> ${to}: ${name} is not configured on this gateway (set QDRANT_URL)`
        )
      const health = await provider.health()
      if (health.status !== 'connected')
        throw new ProviderUnavailableError(
          `Cannot migrate ${from} -> ${to}: ${name} is not reachable (${health.error ?? 'disconnected'})`
        )
    }
    const userIds = input.user_ids === undefined ? null : [...new Set(input.user_ids)].sort((a, b) => a - b)
    if (userIds !== null && userIds.length === 0)
      throw new BadRequestError('user_ids is empty: leave it out to migrate every user')
    await this.options.checkTopology?.()
    const id = await this.options.store.create({
      from,
      to,
      userIds,
      batchSize: input.batch_size ?? this.options.defaultBatchSize,
      deleteSource: input.delete_source ?? false,
      createdBy: actor
    })
    this.options.onChange?.()
    return await this.view(id)
  }

  async list(limit = 50, offset = 0): Promise<{ migrations: MigrationSummary[]; total: number }> {
    const rows = await this.options.store.list(limit, offset)
    return {
      migrations: await Promise.all(rows.map(async r => await this.toView(r))),
      total: await this.options.store.countAll()
    }
  }

  async view(id: number): Promise<MigrationSummary> {
    const row = await this.options.store.get(id)
    if (row === null) throw new NotFoundError(`No migration ${id}`)
    return await this.toView(row)
  }

  /** The single view: the summary plus one page of per-user rows. */
  async detail(id: number, page: UserPage = {}): Promise<MigrationDetail> {
    const view = await this.view(id)
    const usesOffset = page.offset !== undefined || page.limit !== undefined
    const limit = usesOffset ? (page.limit ?? 100) : (page.per_page ?? 100)
    const offset = usesOffset ? (page.offset ?? 0) : ((page.page ?? 1) - 1) * limit
    const { rows, total } = await this.options.store.users(id, { limit, offset, status: page.status })
    const pagination: MigrationDetail['pagination'] = usesOffset
      ? { offset, limit, total }
      : { page: page.page ?? 1, per_page: limit, total, pages: Math.max(1, Math.ceil(total / limit)) }
    return { ...view, users: rows.map(toUserView), pagination }
  }

  /** pause | resume | cancel | retry, through the state machine (409 VG_INVALID_STATE otherwise). */
  async control(id: number, action: AdminAction): Promise<MigrationSummary> {
    await this.options.store.transition(id, action)
    if (action === 'resume' || action === 'retry') this.options.onChange?.()
    if (action === 'pause' || action === 'cancel') await this.untilReleased(id)
    return await this.view(id)
  }

  /**
   * After pause or cancel, waits (bounded) for the runner to finish its batch in
   * flight and give the lease back, so that when the answer arrives nothing moves.
   */
  private async untilReleased(id: number): Promise<void> {
    const deadline = Date.now() + (this.options.stopWaitMs ?? 5000)
    for (;;) {
      const m = await this.options.store.get(id)
      if (m === null || !m.leaseActive) return
      if (Date.now() >= deadline) return
      await sleep(25)
    }
  }

  /** The running or paused migration, else the last one: the `migration` field of the admin status. */
  async summary(): Promise<MigrationSummary | null> {
    const row = await this.options.store.current()
    return row === null ? null : await this.toView(row)
  }

  async toView(m: MigrationRow): Promise<MigrationSummary> {
    const t = await this.options.store.totals(m.id)
    const rate = m.activeMs > 0 ? m.copiedChunks / (m.activeMs / 1000) : null
    return {
      id: m.id,
      from: m.from,
      to: m.to,
      status: m.status,
      user_ids: m.userIds,
      batch_size: m.batchSize,
      delete_source: m.deleteSource,
      planned: m.planned,
      total_users: t.totalUsers,
      completed_users: t.completedUsers,
      in_progress_users: t.inProgressUsers,
      pending_users: t.pendingUsers + t.inProgressUsers,
      failed_users: t.failedUsers,
      total_chunks: t.totalChunks,
      migrated_chunks: t.migratedChunks,
      chunks_per_second: rate === null ? null : Math.round(rate * 10) / 10,
      eta_seconds: eta(m, t, rate),
      created_by: m.createdBy,
      created_at: m.createdAt.toISOString(),
      started_at: iso(m.startedAt),
      completed_at: iso(m.completedAt),
      error: m.error,
      runner: m.leaseActive ? m.leaseOwner : null
    }
  }
}

function eta(m: MigrationRow, t: UserTotals, rate: number | null): number | null {
  if (m.status === 'completed') return 0
  if (m.status !== 'running' || !m.planned) return null
  if (t.remainingChunks === 0) return 0
  if (rate === null || rate <= 0) return null
  return Math.ceil(t.remainingChunks / rate)
}

function toUserView(u: UserRow): MigrationUser {
  return {
    user_id: u.userId,
    status: u.status,
    total_chunks: u.totalChunks,
    migrated_chunks: u.migratedChunks,
    started_at: iso(u.startedAt),
    completed_at: iso(u.completedAt),
    error: u.error,
    checkpoint: u.checkpoint,
    source_count: u.sourceCount,
    target_count: u.targetCount,
    reconciled_chunks: u.reconciledChunks,
    source_deleted: u.sourceDeleted,
    attempts: u.attempts
  }
}
