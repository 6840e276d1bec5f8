// Which provider is active, globally and per user, and the read mode. Stored in
// MariaDB so every replica agrees; each replica caches a snapshot for
// SETTINGS_CACHE_MS, which bounds how long a switch takes to reach it.
import type { Pool } from 'mariadb'
import { providerDown } from '../errors.ts'
import { RefreshingValue } from '../store/refreshing-value.ts'
import { inTransaction } from '../store/transaction.ts'
import type { ProviderName } from '../providers/vector-provider.ts'
import type { ProviderChange } from '../schemas/admin.ts'

export const READ_MODES = ['merged', 'active'] as const
export type ReadMode = (typeof READ_MODES)[number]
/** Where the global provider comes from: the settings table, else the environment, else the default (mariadb). */
export const GLOBAL_PROVIDER_SOURCES = ['settings', 'env', 'default'] as const
/** ... and for one user, their own override first. */
export const PROVIDER_SOURCES = ['user', ...GLOBAL_PROVIDER_SOURCES] as const
export type ProviderSource = (typeof PROVIDER_SOURCES)[number]

export interface SettingsSnapshot {
  provider: ProviderName
  source: (typeof GLOBAL_PROVIDER_SOURCES)[number]
  readMode: ReadMode
  changedAt: Date | null
  changedBy: string | null
  overrides: Map<number, ProviderName>
}

export interface ResolvedProvider {
  provider: ProviderName
  source: ProviderSource
}

export interface SettingsStoreOptions {
  envProvider?: ProviderName
  cacheMs: number
  onRefreshError?: (err: unknown) => void
}

export class SettingsStore {
  private readonly cache: RefreshingValue<SettingsSnapshot>

  constructor(
    private readonly pool: Pool,
    private readonly options: SettingsStoreOptions
  ) {
    this.cache = new RefreshingValue({
      load: async () => await this.load(),
      ttlMs: options.cacheMs,
      onStale: options.onRefreshError,
      unavailable: err => providerDown('mariadb', err)
    })
  }

  /** The current settings, at most cacheMs old. A failed refresh keeps serving the last snapshot. */
  async snapshot(): Promise<SettingsSnapshot> {
    return await this.cache.get()
  }

  /** The provider used when the settings table names none. */
  fallbackProvider(): ProviderName {
    return this.options.envProvider ?? 'mariadb'
  }

  /** docs/architecture.md#active-provider: the user's override, else the settings table, else the environment, else mariadb. */
  async resolve(userId: number): Promise<ResolvedProvider> {
    const s = await this.snapshot()
    const override = s.overrides.get(userId)
    return override !== undefined ? { provider: override, source: 'user' } : { provider: s.provider, source: s.source }
  }

  /** Forgets the cached snapshot so the next read sees this replica's own change at once. */
  invalidate(): void {
    this.cache.invalidate()
  }

  async setProvider(provider: ProviderName, actor: string): Promise<{ previous: ProviderName; changedAt: Date }> {
    return await this.change('global', null, 'provider', provider, actor, async (conn, now) => {
      await conn.query('UPDATE vg_settings SET provider = ?, changed_by = ?, changed_at = ? WHERE id = 1', [
        provider,
        actor,
        now
      ])
    })
  }

  async setReadMode(readMode: ReadMode, actor: string): Promise<{ previous: ReadMode; changedAt: Date }> {
    return await this.change('global', null, 'read_mode', readMode, actor, async (conn, now) => {
      await conn.query('UPDATE vg_settings SET read_mode = ?, changed_by = ?, changed_at = ? WHERE id = 1', [
        readMode,
        actor,
        now
      ])
    })
  }

  async setUserProvider(userId: number, provider: ProviderName | null, actor: string): Promise<void> {
    await this.change('user', userId, 'provider', provider, actor, async (conn, now) => {
      if (provider === null) {
        await conn.query('DELETE FROM vg_user_providers WHERE user_id = ?', [userId])
      } else {
        await conn.query(
          `INSERT INTO vg_user_providers (user_id, provider, changed_by, changed_at) VALUES (?, ?, ?, ?)
          ON DUPLICATE KEY UPDATE provider = VALUES(provider), changed_by = VALUES(changed_by), changed_at = VALUES(changed_at)`,
          [userId, provider, actor, now]
        )
      }
    })
  }

  async changes(limit: number): Promise<ProviderChange[]> {
    const rows: ProviderChange[] = await this.pool.query(
      'SELECT id, scope, user_id, setting, previous_value, new_value, changed_by, changed_at FROM vg_provider_changes ORDER BY id DESC LIMIT ?',
      [limit]
    )
    return rows.map(r => ({ ...r, changed_at: new Date(r.changed_at).toISOString() }))
  }

  /** Reads the previous value, applies the change and logs it, in one transaction. */
  private async change<T extends string>(
    scope: 'global' | 'user',
    userId: number | null,
    setting: 'provider' | 'read_mode',
    value: T | null,
    actor: string,
    write: (conn: import('mariadb').PoolConnection, now: Date) => Promise<void>
  ): Promise<{ previous: T; changedAt: Date }> {
    const result = await inTransaction(this.pool, async conn => {
      const before = await this.loadWith(conn, true)
      const previous = (
        scope === 'user'
          ? (before.overrides.get(userId as number) ?? null)
          : setting === 'provider'
            ? before.provider
            : before.readMode
      ) as T
      const now = new Date()
      await write(conn, now)
      await conn.query(
        `INSERT INTO vg_provider_changes (scope, user_id, setting, previous_value, new_value, changed_by, changed_at)
        VALUES (?, ?, ?, ?, ?, ?, ?)`,
        [scope, userId, setting, previous, value, actor, now]
      )
      return { previous, changedAt: now }
    })
    this.invalidate()
    return result
  }

  private async load(): Promise<SettingsSnapshot> {
    const conn = await this.pool.getConnection()
    try {
      return await this.loadWith(conn, false)
    } finally {
      await conn.release()
    }
  }

  private async loadWith(conn: import('mariadb').PoolConnection, forUpdate: boolean): Promise<SettingsSnapshot> {
    const lock = forUpdate ? ' FOR UPDATE' : ''
    const [row] = await conn.query(
      `SELECT provider, read_mode, changed_by, changed_at FROM vg_settings WHERE id = 1${lock}`
    )
    const overrides: Array<{ user_id: number; provider: ProviderName }> = await conn.query(
      'SELECT user_id, provider FROM vg_user_providers'
    )
    const stored = (row?.provider ?? null) as ProviderName | null
    const [provider, source] =
      stored !== null
        ? [stored, 'settings' as const]
        : this.options.envProvider !== undefined
          ? [this.options.envProvider, 'env' as const]
          : ['mariadb' as const, 'default' as const]
    return {
      provider,
      source,
      readMode: (row?.read_mode ?? 'merged') as ReadMode,
      changedAt: row?.changed_at != null ? new Date(row.changed_at) : null,
      changedBy: row?.changed_by ?? null,
      overrides: new Map(overrides.map(o => [Number(o.user_id), o.provider]))
    }
  }
}
