// Retries the pending removals of older copies (pending-removals.ts) in the
// background until each is done, with exponential backoff per row. Several
// replicas may run one each: rows are claimed with a lease, and every removal is
// conditional on the version ("older than"), so a copy written after the recorded
// version is never removed, whoever retries and however often. No Fastify in here.
import type { ProviderName, VectorProvider } from '../providers/vector-provider.ts'
import type { Logger } from '../observability/logger.ts'
import type { PendingRemoval, PendingRemovalStore } from './pending-removals.ts'

export interface RemovalRetrierOptions {
  store: PendingRemovalStore
  providers: Map<ProviderName, VectorProvider>
  /** first retry delay, and how often due rows are looked for */
  baseDelayMs: number
  /** backoff ceiling */
  maxDelayMs: number
  /** rows claimed per round (default 500) */
  batchSize?: number
  /** how long a claim keeps other replicas off a row (default 30 s) */
  leaseMs?: number
  logger?: Pick<Logger, 'info' | 'warn'>
}

export class RemovalRetrier {
  private running = false
  private loop: Promise<void> | null = null
  private wake: (() => void) | null = null
  private storeDown = false

  constructor(private readonly options: RemovalRetrierOptions) {}

  start(): void {
    if (this.running) return
    this.running = true
    this.loop = this.run()
  }

  /** Look for due rows now (after new ones were recorded). */
  poke(): void {
    this.wake?.()
  }

  /** Stops after the round in flight. */
  async stop(): Promise<void> {
    this.running = false
    this.wake?.()
    await this.loop
    this.loop = null
  }

  /** Backoff after `attempts` failed tries: base, 2x, 4x, ... up to the ceiling. */
  delayAfter(attempts: number): number {
    return Math.min(this.options.maxDelayMs, this.options.baseDelayMs * 2 ** Math.min(attempts, 30))
  }

  /** One round: claims due rows and removes the older copies they name. Returns how many rows were done. */
  async runOnce(): Promise<number> {
    const { store, providers } = this.options
    let claimed: PendingRemoval[]
    try {
      claimed = await store.claimDue(this.options.batchSize ?? 500, this.options.leaseMs ?? 30_000)
      if (this.storeDown) this.options.logger?.info({}, 'pending removals: MariaDB reachable again')
      this.storeDown = false
    } catch (err) {
      if (!this.storeDown)
        this.options.logger?.warn({ err }, 'pending removals: cannot read them from MariaDB; retrying')
      this.storeDown = true
      return 0
    }
    let done = 0
    for (const rows of groupRows(claimed)) {
      const { provider: name, userId } = rows[0]
      const provider = providers.get(name)
      try {
        if (provider === undefined) throw new Error(`provider ${name} is not configured on this gateway`)
        const removed = await provider.deleteOlderKeys(
          userId,
          rows.map(r => ({ file_id: r.file_id, chunk_index: r.chunk_index, version: r.version }))
        )
        await store.done(rows)
        done += rows.length
        this.options.logger?.info({ provider: name, userId, keys: rows.length, removed }, 'pending removals done')
      } catch (err) {
        const attempts = Math.min(...rows.map(r => r.attempts))
        await store.failed(rows, (err as Error).message, this.delayAfter(attempts)).catch(() => {})
        if (attempts === 0)
          this.options.logger?.warn(
            { provider: name, userId, keys: rows.length, err },
            'pending removals failed; retrying with backoff'
          )
      }
    }
    return done
  }

  private async run(): Promise<void> {
    while (this.running) {
      const done = await this.runOnce()
      if (!this.running) break
      // a full round may have left more due rows: go on at once
      if (done >= (this.options.batchSize ?? 500)) continue
      await new Promise<void>(resolve => {
        const timer = setTimeout(resolve, this.options.baseDelayMs)
        timer.unref()
        this.wake = () => {
          clearTimeout(timer)
          resolve()
        }
      })
      this.wake = null
    }
  }
}

/** Rows per (provider, user): one conditional delete each. */
function groupRows(rows: PendingRemoval[]): PendingRemoval[][] {
  const groups = new Map<string, PendingRemoval[]>()
  for (const r of rows) {
    const id = `${r.provider}:${r.userId}`
    const g = groups.get(id)
    if (g === undefined) groups.set(id, [r])
    else g.push(r)
  }
  return [...groups.values()]
}
