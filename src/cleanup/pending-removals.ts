// vg_pending_removals (gateway schema step 3): older copies of chunk keys that the
// router could not remove from a provider right after a newer write (that provider
// was down or failing). Each row says "in `provider`, the copy of this key is stale
// if its version is older than `version`"; the retrier removes such copies, merged
// reads hide them meanwhile. No Fastify in here.
import { randomUUID } from 'node:crypto'
import type { Pool } from 'mariadb'
import { keyOf, type ProviderName, type VersionedKey } from '../providers/vector-provider.ts'

/** A key and the version of the write that made older copies of it stale. */
export interface PendingRemoval extends VersionedKey {
  userId: number
  provider: ProviderName
  attempts: number
}

/** What the router and the migration need: record, count, and look up per user. */
export interface PendingRemovalLog {
  record(provider: ProviderName, userId: number, keys: VersionedKey[]): Promise<void>
  count(): Promise<number>
  countForUser(userId: number): Promise<number>
  /** Pending rows of one user per provider holding the stale copy, optionally only for some files. */
  forUser(userId: number, fileIds?: number[]): Promise<PendingRemoval[]>
}

const ROWS_PER_STATEMENT = 500

export class PendingRemovalStore implements PendingRemovalLog {
  constructor(
    private readonly pool: Pool,
    private readonly firstDelayMs = 1000
  ) {}

  /**
   * Records (or raises to a newer version) one removal per key. Runs before the
   * write is acknowledged: if it throws, the caller must not acknowledge.
   */
  async record(provider: ProviderName, userId: number, keys: VersionedKey[]): Promise<void> {
    const newest = new Map<string, VersionedKey>()
    for (const k of keys) {
      const id = keyOf(k)
      const seen = newest.get(id)
      if (seen === undefined || seen.version < k.version) newest.set(id, k)
    }
    const rows = [...newest.values()]
    for (let i = 0; i < rows.length; i += ROWS_PER_STATEMENT) {
      const part = rows.slice(i, i + ROWS_PER_STATEMENT)
      await this.pool.query(
        `INSERT INTO vg_pending_removals (user_id, provider, file_id, chunk_index, version, next_attempt_at)
         VALUES ${part.map(() => '(?, ?, ?, ?, ?, NOW(6) + INTERVAL ? MICROSECOND)').join(', ')}
         ON DUPLICATE KEY UPDATE version = GREATEST(version, VALUES(version)), attempts = 0,
           next_attempt_at = VALUES(next_attempt_at), claimed_by = NULL`,
        part.flatMap(k => [userId, provider, k.file_id, k.chunk_index, k.version, this.firstDelayMs * 1000])
      )
    }
  }

  async count(): Promise<number> {
    const [row] = await this.pool.query('SELECT COUNT(*) AS n FROM vg_pending_removals')
    return Number(row.n)
  }

  async countForUser(userId: number): Promise<number> {
    const [row] = await this.pool.query('SELECT COUNT(*) AS n FROM vg_pending_removals WHERE user_id = ?', [userId])
    return Number(row.n)
  }

  /** Users with at least one pending removal, ascending, at most `limit`. */
  async users(limit = 1000): Promise<number[]> {
    const rows: Array<{ user_id: unknown }> = await this.pool.query(
      `SELECT DISTINCT user_id FROM vg_pending_removals ORDER BY user_id LIMIT ${Math.max(1, Math.floor(limit))}`
    )
    return rows.map(r => Number(r.user_id))
  }

  async forUser(userId: number, fileIds?: number[]): Promise<PendingRemoval[]> {
    if (fileIds !== undefined && fileIds.length === 0) return []
    const files = fileIds === undefined ? '' : ` AND file_id IN (${fileIds.map(() => '?').join(', ')})`
    const rows: Row[] = await this.pool.query(
      `SELECT user_id, provider, file_id, chunk_index, version, attempts FROM vg_pending_removals WHERE user_id = ?${files}`,
      [userId, ...(fileIds ?? [])]
    )
    return rows.map(toRemoval)
  }

  /**
   * Claims up to `limit` due rows for `leaseMs` (one atomic UPDATE), so replicas
   * do not retry the same rows at once. A claimer that dies only delays its rows
   * by the lease. Removals are conditional on the version anyway, so a row done
   * twice is harmless.
   */
  async claimDue(limit: number, leaseMs: number): Promise<PendingRemoval[]> {
    const token = randomUUID()
    const res = await this.pool.query(
      `UPDATE vg_pending_removals SET claimed_by = ?, next_attempt_at = NOW(6) + INTERVAL ? MICROSECOND
       WHERE next_attempt_at <= NOW(6) ORDER BY next_attempt_at LIMIT ${Math.max(1, Math.floor(limit))}`,
      [token, leaseMs * 1000]
    )
    if (Number(res.affectedRows) === 0) return []
    const rows: Row[] = await this.pool.query(
      'SELECT user_id, provider, file_id, chunk_index, version, attempts FROM vg_pending_removals WHERE claimed_by = ?',
      [token]
    )
    return rows.map(toRemoval)
  }

  /** The removal succeeded: forget it, unless a newer version was recorded meanwhile. */
  async done(rows: PendingRemoval[]): Promise<void> {
    await this.eachGroup(rows, async (where, params) => {
      await this.pool.query(`DELETE FROM vg_pending_removals WHERE ${where}`, params)
    })
  }

  /** The removal failed: try again after `delayMs`. */
  async failed(rows: PendingRemoval[], error: string, delayMs: number): Promise<void> {
    await this.eachGroup(rows, async (where, params) => {
      await this.pool.query(
        `UPDATE vg_pending_removals SET attempts = attempts + 1, last_error = ?, claimed_by = NULL,
           next_attempt_at = NOW(6) + INTERVAL ? MICROSECOND WHERE ${where}`,
        [error.slice(0, 2000), Math.round(delayMs * 1000), ...params]
      )
    })
  }

  /** One statement per (user, provider) and slice of rows, each row matched at its claimed version. */
  private async eachGroup(
    rows: PendingRemoval[],
    fn: (where: string, params: unknown[]) => Promise<void>
  ): Promise<void> {
    const groups = new Map<string, PendingRemoval[]>()
    for (const r of rows) {
      const id = `${r.userId}:${r.provider}`
      const group = groups.get(id)
      if (group === undefined) groups.set(id, [r])
      else group.push(r)
    }
    for (const group of groups.values()) {
      for (let i = 0; i < group.length; i += ROWS_PER_STATEMENT) {
        const part = group.slice(i, i + ROWS_PER_STATEMENT)
        await fn(
          `user_id = ? AND provider = ? AND (${part.map(() => '(file_id = ? AND chunk_index = ? AND version = ?)').join(' OR ')})`,
          [part[0].userId, part[0].provider, ...part.flatMap(r => [r.file_id, r.chunk_index, r.version])]
        )
      }
    }
  }
}

interface Row {
  user_id: unknown
  provider: string
  file_id: unknown
  chunk_index: unknown
  version: unknown
  attempts: unknown
}

function toRemoval(r: Row): PendingRemoval {
  return {
    userId: Number(r.user_id),
    provider: r.provider as ProviderName,
    file_id: Number(r.file_id),
    chunk_index: Number(r.chunk_index),
    version: Number(r.version),
    attempts: Number(r.attempts)
  }
}
