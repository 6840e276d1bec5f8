// Row counts the search planner needs, cached: never a COUNT per search.
//  - per filter (user, group, files): TTL countCacheMs (default 5 s), dropped for
//    a user on this provider's own writes to that user;
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
}

/** Entries above which the per-filter cache is emptied (bounded memory). */
const MAX_USERS = 10_000

export class CountCache {
  /** user -> filter key -> { rows, at } */
  private readonly counts = new Map<number, Map<string, { rows: number; at: number }>>()
  private tableCount?: { rows: number; at: number }
  private tableCountRefresh?: Promise<number>

  constructor(private readonly o: CountCacheOptions) {}

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
    if (cached !== undefined && Date.now() - cached.at < this.o.tableCountCacheMs) return cached.rows
    const refresh = (this.tableCountRefresh ??= this.o
      .count()
      .then(rows => {
        this.tableCount = { rows, at: Date.now() }
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
  }

  clear(): void {
    this.counts.clear()
  }

  private async cachedCount(filter: ChunkFilter): Promise<number> {
    const key = `${filter.group_key ?? ''}|${filter.file_ids === undefined ? '' : [...filter.file_ids].sort((a, b) => a - b).join(',')}`
    const now = Date.now()
    let perUser = this.counts.get(filter.user_id)
    const hit = perUser?.get(key)
    if (hit !== undefined && now - hit.at < this.o.countCacheMs) return hit.rows
    const rows = await this.o.count(filter)
    if (this.counts.size > MAX_USERS) this.counts.clear()
    if (perUser === undefined) this.counts.set(filter.user_id, (perUser = new Map()))
    perUser.set(key, { rows, at: now })
    return rows
  }
}
