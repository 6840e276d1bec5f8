// Migration state in MariaDB (tables vg_migrations and vg_migration_users, schema
// step 2 in src/store/gateway-schema.ts). Every replica and the CLI read and write
// the same rows, so a migration started anywhere is visible and resumable
// everywhere. Times that only MariaDB compares (the lease) use NOW(6); times shown
// to people are written from the client clock, like the settings store does.
// Over 400 lines on purpose: it is every SQL statement on those two tables (lease,
// checkpoints, counts, views) in one place, so the state machine's storage can be
// read, and its locking order checked, without jumping between files.
import { inTransaction, transactionOn } from '../store/transaction.ts'
import { withNamedLock } from '../store/named-lock.ts'
import type { Pool, PoolConnection, UpsertResult } from 'mariadb'
import { InvalidStateError, MigrationConflictError, NotFoundError } from '../errors.ts'
import type { ChunkKey, ProviderName } from '../providers/vector-provider.ts'
import {
  describeRefusal,
  nextState,
  FINISHED_STATES,
  OCCUPYING_STATES,
  type MigrationAction,
  type MigrationState,
  type UserMigrationState
} from './state-machine.ts'
import type { LockNames } from './user-locks.ts'

export interface MigrationRow {
  id: number
  from: ProviderName
  to: ProviderName
  /** null: every user holding data in the source when the migration was planned */
  userIds: number[] | null
  batchSize: number
  deleteSource: boolean
  status: MigrationState
  planned: boolean
  error: string | null
  createdBy: string | null
  createdAt: Date
  startedAt: Date | null
  completedAt: Date | null
  /** chunks read from the source and written (or found) in the target, over every run */
  copiedChunks: number
  /** milliseconds spent copying, over every run: the rate is copiedChunks / activeMs */
  activeMs: number
  leaseOwner: string | null
  leaseExpiresAt: Date | null
  /** a runner holds the lease now (by MariaDB's clock) */
  leaseActive: boolean
}

export interface UserRow {
  migrationId: number
  userId: number
  status: UserMigrationState
  totalChunks: number
  migratedChunks: number
  startedAt: Date | null
  completedAt: Date | null
  error: string | null
  checkpoint: ChunkKey | null
  sourceCount: number | null
  targetCount: number | null
  reconciledChunks: number | null
  sourceDeleted: number | null
  attempts: number
}

export interface UserTotals {
  totalUsers: number
  completedUsers: number
  inProgressUsers: number
  pendingUsers: number
  failedUsers: number
  totalChunks: number
  migratedChunks: number
  /** chunks still to copy for users that are not finished */
  remainingChunks: number
}

export interface NewMigration {
  from: ProviderName
  to: ProviderName
  userIds: number[] | null
  batchSize: number
  deleteSource: boolean
  createdBy: string
}

export interface Coverage {
  /** true when a migration over every user is running (or its runner still holds the lease) */
  all: boolean
  users: Set<number>
}

const CREATE_LOCK_TIMEOUT_S = 10
/** Every column, plus whether the lease is held now by MariaDB's clock (client clocks may differ). */
/** The run writing a user row still holds the migration's lease (params: migration id, owner). */
const LEASED = 'EXISTS (SELECT 1 FROM vg_migrations m WHERE m.id = ? AND m.lease_owner = ?)'
const MIGRATION_COLUMNS = '*, (lease_owner IS NOT NULL AND lease_expires_at > NOW(6)) AS lease_active'

type Row = Record<string, unknown>

function num(v: unknown): number {
  return Number(v)
}

function numOrNull(v: unknown): number | null {
  return v === null || v === undefined ? null : Number(v)
}

function dateOrNull(v: unknown): Date | null {
  return v === null || v === undefined ? null : new Date(v as string | Date)
}

function toMigration(r: Row): MigrationRow {
  return {
    id: num(r.id),
    from: r.from_provider as ProviderName,
    to: r.to_provider as ProviderName,
    userIds: r.user_ids === null || r.user_ids === undefined ? null : (JSON.parse(String(r.user_ids)) as number[]),
    batchSize: num(r.batch_size),
    deleteSource: num(r.delete_source) === 1,
    status: r.status as MigrationState,
    planned: num(r.planned) === 1,
    error: (r.error ?? null) as string | null,
    createdBy: (r.created_by ?? null) as string | null,
    createdAt: new Date(r.created_at as Date),
    startedAt: dateOrNull(r.started_at),
    completedAt: dateOrNull(r.completed_at),
    copiedChunks: num(r.copied_chunks),
    activeMs: num(r.active_ms),
    leaseOwner: (r.lease_owner ?? null) as string | null,
    leaseExpiresAt: dateOrNull(r.lease_expires_at),
    leaseActive: num(r.lease_active) === 1
  }
}

function toUser(r: Row): UserRow {
  const file = numOrNull(r.checkpoint_file_id)
  const chunk = numOrNull(r.checkpoint_chunk_index)
  return {
    migrationId: num(r.migration_id),
    userId: num(r.user_id),
    status: r.status as UserMigrationState,
    totalChunks: num(r.total_chunks),
    migratedChunks: num(r.migrated_chunks),
    startedAt: dateOrNull(r.started_at),
    completedAt: dateOrNull(r.completed_at),
    error: (r.error ?? null) as string | null,
    checkpoint: file === null || chunk === null ? null : { file_id: file, chunk_index: chunk },
    sourceCount: numOrNull(r.source_count),
    targetCount: numOrNull(r.target_count),
    reconciledChunks: numOrNull(r.reconciled_chunks),
    sourceDeleted: numOrNull(r.source_deleted),
    attempts: num(r.attempts)
  }
}

/** Keeps error texts within what a TEXT column and a JSON answer comfortably hold. */
function clip(message: string, max = 2000): string {
  return message.length <= max ? message : `${message.slice(0, max - 1)}…`
}

export class MigrationStore {
  constructor(
    readonly pool: Pool,
    readonly locks: LockNames
  ) {}

  // ---------------------------------------------------------------- creation and admin actions

  /**
   * Creates a running migration, unless another one is running or paused (409).
   * A named lock makes the check and the insert atomic across replicas and the CLI.
   */
  async create(m: NewMigration): Promise<number> {
    return await this.exclusively(async conn => {
      await this.assertNoneOccupying(conn, null)
      const res: UpsertResult = await conn.query(
        `INSERT INTO vg_migrations (from_provider, to_provider, user_ids, batch_size, delete_source, status, created_by, created_at, started_at, updated_at)
         VALUES (?, ?, ?, ?, ?, 'running', ?, ?, ?, ?)`,
        [
          m.from,
          m.to,
          m.userIds === null ? null : JSON.stringify(m.userIds),
          m.batchSize,
          m.deleteSource ? 1 : 0,
          m.createdBy,
          new Date(),
          new Date(),
          new Date()
        ]
      )
      return Number(res.insertId)
    })
  }

  /**
   * Applies an admin action through the state machine: 404 for an unknown id, 409
   * VG_INVALID_STATE when the action is not allowed from the current state, 409
   * VG_MIGRATION_CONFLICT when it would make a second migration run.
   */
  async transition(id: number, action: MigrationAction, error: string | null = null): Promise<MigrationRow> {
    return await this.exclusively(async conn => {
      const [row] = (await conn.query(`SELECT ${MIGRATION_COLUMNS} FROM vg_migrations WHERE id = ? FOR UPDATE`, [
        id
      ])) as Row[]
      if (row === undefined) throw new NotFoundError(`No migration ${id}`)
      const current = toMigration(row)
      const to = nextState(current.status, action)
      if (to === null) throw new InvalidStateError(describeRefusal(id, current.status, action))
      if (OCCUPYING_STATES.includes(to) && !OCCUPYING_STATES.includes(current.status))
        await this.assertNoneOccupying(conn, id)
      if (action === 'retry') {
        await conn.query(
          `UPDATE vg_migration_users SET status = 'pending', error = NULL, checkpoint_file_id = NULL,
          checkpoint_chunk_index = NULL, migrated_chunks = 0, completed_at = NULL, source_count = NULL, target_count = NULL,
          reconciled_chunks = NULL WHERE migration_id = ? AND status = 'failed'`,
          [id]
        )
      }
      const finished = FINISHED_STATES.includes(to)
      await conn.query(
        `UPDATE vg_migrations SET status = ?, error = ?, completed_at = ?, updated_at = ? WHERE id = ? AND status = ?`,
        [to, error === null ? null : clip(error), finished ? new Date() : null, new Date(), id, current.status]
      )
      return { ...current, status: to, error, completedAt: finished ? new Date() : null }
    })
  }

  /** Runner-side transition that loses quietly when an admin changed the state first. */
  async finish(id: number, action: 'complete' | 'fail', error: string | null): Promise<boolean> {
    try {
      await this.transition(id, action, error)
      return true
    } catch (err) {
      if (err instanceof InvalidStateError) return false
      throw err
    }
  }

  // ---------------------------------------------------------------- reads

  async get(id: number): Promise<MigrationRow | null> {
    const [row] = (await this.pool.query(`SELECT ${MIGRATION_COLUMNS} FROM vg_migrations WHERE id = ?`, [id])) as Row[]
    return row === undefined ? null : toMigration(row)
  }

  async list(limit: number, offset = 0): Promise<MigrationRow[]> {
    const rows = (await this.pool.query(
      `SELECT ${MIGRATION_COLUMNS} FROM vg_migrations ORDER BY id DESC LIMIT ? OFFSET ?`,
      [limit, offset]
    )) as Row[]
    return rows.map(toMigration)
  }

  async countAll(): Promise<number> {
    const [row] = (await this.pool.query('SELECT COUNT(*) AS n FROM vg_migrations')) as Row[]
    return num(row.n)
  }

  /** The running or paused migration, else the most recent one, else null. */
  async current(): Promise<MigrationRow | null> {
    const [row] = (await this.pool.query(
      `SELECT ${MIGRATION_COLUMNS} FROM vg_migrations ORDER BY status IN (${OCCUPYING_STATES.map(() => '?').join(', ')}) DESC, id DESC LIMIT 1`,
      [...OCCUPYING_STATES]
    )) as Row[]
    return row === undefined ? null : toMigration(row)
  }

  async lastCompleted(from: ProviderName, to: ProviderName): Promise<MigrationRow | null> {
    const [row] = (await this.pool.query(
      `SELECT ${MIGRATION_COLUMNS} FROM vg_migrations WHERE from_provider = ? AND to_provider = ? AND status = 'completed' ORDER BY id DESC LIMIT 1`,
      [from, to]
    )) as Row[]
    return row === undefined ? null : toMigration(row)
  }

  async occupying(): Promise<MigrationRow | null> {
    const [row] = (await this.pool.query(
      `SELECT ${MIGRATION_COLUMNS} FROM vg_migrations WHERE status IN (${OCCUPYING_STATES.map(() => '?').join(', ')}) ORDER BY id LIMIT 1`,
      [...OCCUPYING_STATES]
    )) as Row[]
    return row === undefined ? null : toMigration(row)
  }

  async totals(id: number): Promise<UserTotals> {
    const rows = (await this.pool.query(
      `SELECT status, COUNT(*) AS users, COALESCE(SUM(total_chunks), 0) AS total, COALESCE(SUM(migrated_chunks), 0) AS migrated,
         COALESCE(SUM(GREATEST(total_chunks - migrated_chunks, 0)), 0) AS remaining
       FROM vg_migration_users WHERE migration_id = ? GROUP BY status`,
      [id]
    )) as Row[]
    const t: UserTotals = {
      totalUsers: 0,
      completedUsers: 0,
      inProgressUsers: 0,
      pendingUsers: 0,
      failedUsers: 0,
      totalChunks: 0,
      migratedChunks: 0,
      remainingChunks: 0
    }
    for (const r of rows) {
      const users = num(r.users)
      t.totalUsers += users
      t.totalChunks += num(r.total)
      t.migratedChunks += num(r.migrated)
      if (r.status === 'completed') t.completedUsers += users
      else if (r.status === 'failed') t.failedUsers += users
      else {
        if (r.status === 'in_progress') t.inProgressUsers += users
        else t.pendingUsers += users
        t.remainingChunks += num(r.remaining)
      }
    }
    return t
  }

  async users(
    id: number,
    opts: { limit: number; offset: number; status?: UserMigrationState }
  ): Promise<{ rows: UserRow[]; total: number }> {
    const where = opts.status === undefined ? 'migration_id = ?' : 'migration_id = ? AND status = ?'
    const params: unknown[] = opts.status === undefined ? [id] : [id, opts.status]
    const rows = (await this.pool.query(
      `SELECT * FROM vg_migration_users WHERE ${where} ORDER BY user_id LIMIT ? OFFSET ?`,
      [...params, opts.limit, opts.offset]
    )) as Row[]
    const [count] = (await this.pool.query(
      `SELECT COUNT(*) AS n FROM vg_migration_users WHERE ${where}`,
      params
    )) as Row[]
    return { rows: rows.map(toUser), total: num(count.n) }
  }

  async user(id: number, userId: number): Promise<UserRow | null> {
    const [row] = (await this.pool.query('SELECT * FROM vg_migration_users WHERE migration_id = ? AND user_id = ?', [
      id,
      userId
    ])) as Row[]
    return row === undefined ? null : toUser(row)
  }

  /** Users whose copy was verified in migration `id`. */
  async completedUsers(id: number): Promise<Set<number>> {
    const rows = (await this.pool.query(
      "SELECT user_id FROM vg_migration_users WHERE migration_id = ? AND status = 'completed'",
      [id]
    )) as Row[]
    return new Set(rows.map(r => num(r.user_id)))
  }

  /** Which users a running migration covers (or one whose runner still holds its lease, finishing a batch). */
  async coverage(): Promise<Coverage> {
    const rows = (await this.pool.query(
      "SELECT user_ids FROM vg_migrations WHERE status = 'running' OR (lease_owner IS NOT NULL AND lease_expires_at > NOW(6))"
    )) as Row[]
    const users = new Set<number>()
    let all = false
    for (const r of rows) {
      if (r.user_ids === null || r.user_ids === undefined) all = true
      else for (const u of JSON.parse(String(r.user_ids)) as number[]) users.add(u)
    }
    return { all, users }
  }

  // ---------------------------------------------------------------- runner: lease

  /** Claims a running migration between providers this runner has, whose lease is free or expired; returns its id or null. */
  async claim(owner: string, leaseMs: number, providers: readonly ProviderName[]): Promise<number | null> {
    if (providers.length === 0) return null
    const names = providers.map(() => '?').join(', ')
    const candidates = (await this.pool.query(
      `SELECT id FROM vg_migrations WHERE status = 'running' AND (lease_owner IS NULL OR lease_expires_at < NOW(6))
       AND from_provider IN (${names}) AND to_provider IN (${names}) ORDER BY id LIMIT 5`,
      [...providers, ...providers]
    )) as Row[]
    for (const c of candidates) {
      const res: UpsertResult = await this.pool.query(
        `UPDATE vg_migrations SET lease_owner = ?, lease_expires_at = NOW(6) + INTERVAL ? MICROSECOND, updated_at = ?
         WHERE id = ? AND status = 'running' AND (lease_owner IS NULL OR lease_expires_at < NOW(6))`,
        [owner, leaseMs * 1000, new Date(), c.id]
      )
      if (res.affectedRows === 1) return num(c.id)
    }
    return null
  }

  /** Extends the lease; false when this runner no longer holds it (it expired and someone else took it). */
  async renew(id: number, owner: string, leaseMs: number): Promise<boolean> {
    const res: UpsertResult = await this.pool.query(
      'UPDATE vg_migrations SET lease_expires_at = NOW(6) + INTERVAL ? MICROSECOND WHERE id = ? AND lease_owner = ?',
      [leaseMs * 1000, id, owner]
    )
    return res.affectedRows === 1
  }

  async release(id: number, owner: string): Promise<void> {
    await this.pool.query(
      'UPDATE vg_migrations SET lease_owner = NULL, lease_expires_at = NULL WHERE id = ? AND lease_owner = ?',
      [id, owner]
    )
  }

  async setError(id: number, error: string | null): Promise<void> {
    await this.pool.query('UPDATE vg_migrations SET error = ?, updated_at = ? WHERE id = ?', [
      error === null ? null : clip(error),
      new Date(),
      id
    ])
  }

  // ---------------------------------------------------------------- runner: planning and progress

  /** Adds user rows (existing ones are kept: planning again after a crash is harmless). */
  async addUsers(id: number, users: Array<{ userId: number; totalChunks: number }>): Promise<void> {
    if (users.length === 0) return
    await this.pool.query(
      `INSERT IGNORE INTO vg_migration_users (migration_id, user_id, total_chunks) VALUES ${users.map(() => '(?, ?, ?)').join(', ')}`,
      users.flatMap(u => [id, u.userId, u.totalChunks])
    )
  }

  async plannedUsers(id: number): Promise<Set<number>> {
    const rows = (await this.pool.query('SELECT user_id FROM vg_migration_users WHERE migration_id = ?', [id])) as Row[]
    return new Set(rows.map(r => num(r.user_id)))
  }

  async markPlanned(id: number): Promise<void> {
    await this.pool.query('UPDATE vg_migrations SET planned = 1, updated_at = ? WHERE id = ?', [new Date(), id])
  }

  /**
   * The next user to work on: one left in progress by a previous run first, then the
   * pending ones, by user id; `except` are the users the runner's other workers hold.
   */
  async nextUser(id: number, except: readonly number[] = []): Promise<UserRow | null> {
    const skip = except.length === 0 ? '' : ` AND user_id NOT IN (${except.map(() => '?').join(', ')})`
    const [row] = (await this.pool.query(
      `SELECT * FROM vg_migration_users WHERE migration_id = ? AND status IN ('in_progress', 'pending')${skip}
       ORDER BY status = 'in_progress' DESC, user_id LIMIT 1`,
      [id, ...except]
    )) as Row[]
    return row === undefined ? null : toUser(row)
  }

  // User-row writes of a run carry its lease: a runner that lost the lease (it
  // stalled past leaseMs and another took over) cannot overwrite the new runner's
  // checkpoints or verdicts. They return false when the lease is not held.

  async startUser(id: number, userId: number, owner: string): Promise<boolean> {
    const res: UpsertResult = await this.pool.query(
      `UPDATE vg_migration_users SET status = 'in_progress', started_at = COALESCE(started_at, ?), attempts = attempts + 1
      WHERE migration_id = ? AND user_id = ? AND ${LEASED}`,
      [new Date(), id, userId, id, owner]
    )
    return res.affectedRows > 0
  }

  /** Records a copied batch: the checkpoint (last key copied) and the progress, in one transaction. */
  async saveBatch(
    id: number,
    userId: number,
    owner: string,
    last: ChunkKey,
    chunks: number,
    activeMs: number
  ): Promise<boolean> {
    let held = false
    await inTransaction(this.pool, async conn => {
      // the migration row first (it carries the lease): with several users copied at
      // once, every checkpoint takes the row locks in the same order (no deadlock)
      const lease: UpsertResult = await conn.query(
        'UPDATE vg_migrations SET copied_chunks = copied_chunks + ?, active_ms = active_ms + ?, updated_at = ? WHERE id = ? AND lease_owner = ?',
        [chunks, Math.round(activeMs), new Date(), id, owner]
      )
      if (lease.affectedRows === 0) return
      const res: UpsertResult = await conn.query(
        `UPDATE vg_migration_users SET checkpoint_file_id = ?, checkpoint_chunk_index = ?, migrated_chunks = migrated_chunks + ?
        WHERE migration_id = ? AND user_id = ?`,
        [last.file_id, last.chunk_index, chunks, id, userId]
      )
      held = res.affectedRows > 0
      if (!held) throw new Error(`migration ${id} has no row for user ${userId}`)
    })
    return held
  }

  async addActiveTime(id: number, activeMs: number): Promise<void> {
    await this.pool.query('UPDATE vg_migrations SET active_ms = active_ms + ? WHERE id = ?', [Math.round(activeMs), id])
  }

  async completeUser(
    id: number,
    userId: number,
    owner: string,
    v: { sourceCount: number; targetCount: number; reconciled: number; sourceDeleted: number | null }
  ): Promise<boolean> {
    const res: UpsertResult = await this.pool.query(
      `UPDATE vg_migration_users SET status = 'completed', completed_at = ?, error = NULL, source_count = ?, target_count = ?,
      reconciled_chunks = ?, source_deleted = ? WHERE migration_id = ? AND user_id = ? AND ${LEASED}`,
      [new Date(), v.sourceCount, v.targetCount, v.reconciled, v.sourceDeleted, id, userId, id, owner]
    )
    return res.affectedRows > 0
  }

  async failUser(
    id: number,
    userId: number,
    owner: string,
    error: string,
    counts?: { sourceCount: number; targetCount: number }
  ): Promise<boolean> {
    const res: UpsertResult = await this.pool.query(
      `UPDATE vg_migration_users SET status = 'failed', completed_at = ?, error = ?,
      source_count = COALESCE(?, source_count), target_count = COALESCE(?, target_count) WHERE migration_id = ? AND user_id = ? AND ${LEASED}`,
      [new Date(), clip(error), counts?.sourceCount ?? null, counts?.targetCount ?? null, id, userId, id, owner]
    )
    return res.affectedRows > 0
  }

  async failedUserCount(id: number): Promise<number> {
    const [row] = (await this.pool.query(
      "SELECT COUNT(*) AS n FROM vg_migration_users WHERE migration_id = ? AND status = 'failed'",
      [id]
    )) as Row[]
    return num(row.n)
  }

  // ---------------------------------------------------------------- internals

  private async assertNoneOccupying(conn: PoolConnection, except: number | null): Promise<void> {
    const rows = (await conn.query(
      `SELECT id, status, from_provider, to_provider FROM vg_migrations WHERE status IN (${OCCUPYING_STATES.map(() => '?').join(', ')}) AND id <> ?`,
      [...OCCUPYING_STATES, except ?? 0]
    )) as Row[]
    if (rows.length > 0) {
      const r = rows[0]
      throw new MigrationConflictError(
        `Migration ${String(r.id)} (${String(r.from_provider)} -> ${String(r.to_provider)}) is ${String(r.status)}: ` +
          'only one migration runs at a time; wait for it, or cancel it first'
      )
    }
  }

  /** Runs fn on one connection holding the migration-creation named lock, in a transaction. */
  private async exclusively<T>(fn: (conn: PoolConnection) => Promise<T>): Promise<T> {
    const busy = (): Error => new MigrationConflictError('Another migration change is in progress; retry in a moment')
    return await withNamedLock(
      this.pool,
      this.locks.create,
      CREATE_LOCK_TIMEOUT_S,
      busy,
      async conn => await transactionOn(conn, fn)
    )
  }
}
