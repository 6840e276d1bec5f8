// Row counts the search planner needs, cached: never a COUNT per search.
//  - per filter (user, group, files): TTL countCacheMs (default 5 s), dropped for
//    a user on this provider's own writes to that user. Past half its TTL a count is
//    refreshed in the background while it is still answered, so a filter searched
//    steadily never waits for a COUNT; one past its TTL is never answered;
//  - the whole table: TTL tableCountCacheMs (default 60 s), refreshed in the
//    background once stale (a COUNT of a big table is not free).
// Other replicas' writes are seen within the TTLs.
import type { ChunkFilter } from '../vector-provider.ts'

export interface CountCacheOptions {
  /** runs the COUNT (the whole table without a filter) */
  count: (filter?: ChunkFilter) => Promise<number>
  /** a user with at most this many rows is searched exactly: no narrower count needed */
  exactMaxRows: number
  countCacheMs: number
  tableCountCacheMs: number
  log?: { warn: (msg: string) => void }
  /** the clock (tests move it) */
  now?: () => number
}

interface CountRefresh {
  rows: Promise<number>
  /** set by forget(): the COUNT may predate this provider's write, so its answer is not kept */
  void: boolean
}

/** Entries above which the per-filter cache is emptied (bounded memory). */
const MAX_USERS = 10_000

export class CountCache {
  /** user -> filter key -> { rows, at } */
  private readonly counts = new Map<number, Map<string, { rows: number; at: number }>>()
  private tableCount?: { rows: number; at: number }
  private tableCountRefresh?: Promise<number>
  /** user -> filter key -> the COUNT running for it */
  private readonly refreshing = new Map<number, Map<string, CountRefresh>>()
  private readonly now: () => number

  constructor(private readonly o: CountCacheOptions) {
    this.now = o.now ?? Date.now
  }

  /** Rows the filter selects. */
  async filterRows(filter: ChunkFilter): Promise<number> {
    const userRows = await this.cachedCount({ user_id: filter.user_id })
    // the user's total bounds any narrower filter
    if (userRows <= this.o.exactMaxRows || (filter.group_key === undefined && filter.file_ids === undefined))
      return userRows
    return await this.cachedCount(filter)
  }

  /** Rows of the whole table (stale values are answered while a refresh runs). */
  async tableRows(): Promise<number> {
    const cached = this.tableCount
    if (cached !== undefined && this.now() - cached.at < this.o.tableCountCacheMs) return cached.rows
    const refresh = (this.tableCountRefresh ??= this.o
      .count()
      .then(rows => {
        this.tableCount = { rows, at: this.now() }
        return rows
      })
      .finally(() => {
        this.tableCountRefresh = undefined
      }))
    if (cached === undefined) return await refresh
    refresh.catch(err => {
      this.o.log?.warn(`table row count failed: ${(err as Error).message}`)
    })
    return cached.rows
  }

  /** Drops a user's counts (after this provider wrote to that user). */
  forget(userId: number): void {
    this.counts.delete(userId)
    this.voidRefreshes(this.refreshing.get(userId))
    this.refreshing.delete(userId)
  }

  clear(): void {
    this.counts.clear()
    for (const perUser of this.refreshing.values()) this.voidRefreshes(perUser)
    this.refreshing.clear()
  }

  private async cachedCount(filter: ChunkFilter): Promise<number> {
    const key = `${filter.group_key ?? ''}|${filter.file_ids === undefined ? '' : [...filter.file_ids].sort((a, b) => a - b).join(',')}`
    const hit = this.counts.get(filter.user_id)?.get(key)
    const age = hit === undefined ? Number.POSITIVE_INFINITY : this.now() - hit.at
    if (hit === undefined || age >= this.o.countCacheMs) return await this.refresh(filter, key)
    if (age >= this.o.countCacheMs / 2) {
      this.refresh(filter, key).catch((err: unknown) => {
        this.o.log?.warn(`row count of user ${filter.user_id} failed: ${(err as Error).message}`)
      })
    }
    return hit.rows
  }

  /** Counts the filter (joining a COUNT already running for it) and keeps the answer unless forget() voided it. */
  private async refresh(filter: ChunkFilter, key: string): Promise<number> {
    let perUser = this.refreshing.get(filter.user_id)
    const running = perUser?.get(key)
    if (running !== undefined) return await running.rows
    const at = this.now()
    const refresh: CountRefresh = { rows: this.o.count(filter), void: false }
    if (perUser === undefined) this.refreshing.set(filter.user_id, (perUser = new Map()))
    perUser.set(key, refresh)
    try {
      const rows = await refresh.rows
      if (!refresh.void) this.store(filter.user_id, key, rows, at)
      return rows
    } finally {
      if (perUser.get(key) === refresh) perUser.delete(key)
      if (perUser.size === 0 && this.refreshing.get(filter.user_id) === perUser) this.refreshing.delete(filter.user_id)
    }
  }

  private store(userId: number, key: string, rows: number, at: number): void {
    if (this.counts.size > MAX_USERS) this.counts.clear()
    let perUser = this.counts.get(userId)
    if (perUser === undefined) this.counts.set(userId, (perUser = new Map()))
    perUser.set(key, { rows, at })
  }

  private voidRefreshes(perUser: Map<string, CountRefresh> | undefined): void {
    for (const refresh of perUser?.values() ?? []) refresh.void = true
  }
}
