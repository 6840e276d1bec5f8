// A value loaded from MariaDB and trusted for a while (SETTINGS_CACHE_MS): the
// provider settings and the view of running migrations. Concurrent readers share
// one load; a failed refresh keeps serving the last value it had.

export interface RefreshingValueOptions<T> {
  load: () => Promise<T>
  /** how long a loaded value is served without asking again */
  ttlMs: number
  /** a refresh failed and the last value was served instead */
  onStale?: (err: unknown) => void
  /** a load failed with no earlier value to fall back on: the error to throw */
  unavailable: (err: unknown) => Error
}

export class RefreshingValue<T> {
  private cached: { value: T; loadedAt: number } | null = null
  private loading: Promise<T> | null = null

  constructor(private readonly options: RefreshingValueOptions<T>) {}

  async get(): Promise<T> {
    const cached = this.cached
    if (cached !== null && Date.now() - cached.loadedAt < this.options.ttlMs) return cached.value
    this.loading ??= this.options
      .load()
      .then(value => {
        this.cached = { value, loadedAt: Date.now() }
        return value
      })
      .finally(() => {
        this.loading = null
      })
    try {
      return await this.loading
    } catch (err) {
      if (cached === null) throw this.options.unavailable(err)
      this.options.onStale?.(err)
      return cached.value
    }
  }

  /** Forgets the value, so the next get() loads (this replica just changed what it caches). */
  invalidate(): void {
    this.cached = null
  }
}
