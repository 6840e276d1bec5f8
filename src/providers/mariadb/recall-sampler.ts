// Recall of the index plan, measured in production (MARIADB_RECALL_SAMPLE_RATE).
//
// One index-plan search in 1/rate is re-run with the exact plan in the background,
// after its answer has gone out: at most one such shadow query is in flight, a
// sample drawn while one runs is dropped (counted), so the check never queues work
// behind the answers and never uses more than one connection. recall@k of the
// answer against the exact result goes to an observer (the /metrics histogram) and
// into a per-share-band window the planner reads (search-planner.ts): a band
// measured below the target is searched exactly, and so is every smaller share.
// Samples expire after `retryMs`, so a demoted band gets the index again later
// and is measured afresh.
import { shareBand } from './search-planner.ts'

export interface RecallObserver {
  /** recall@k of one sampled search, by the plan that answered it */
  observe(plan: 'index', recall: number): void
  /** a sample drawn while a shadow query was still running, skipped */
  dropped(plan: 'index'): void
}

export interface RecallSamplerOptions {
  /** 0..1: share of index-plan searches checked; 0 = off */
  rate: number
  /** recall below this, over `minSamples` samples of a band, demotes that band */
  target: number
  minSamples?: number
  /** samples kept per band (the most recent) */
  window?: number
  /** samples older than this are forgotten (default 10 min) */
  retryMs?: number
  observer?: RecallObserver
  onError?: (err: unknown) => void
  random?: () => number
  now?: () => number
}

/** One ranked result: a row id and its score (cosine similarity). */
export interface RankedId {
  id: number
  score: number
}

/**
 * recall@k of `answered` against the exact top-k `truth` (k = truth.length),
 * counting a hit whose score ties the k-th exact score as found: with equal
 * distances either row is a correct answer. undefined when truth is empty.
 */
export function recallAtK(answered: RankedId[], truth: RankedId[]): number | undefined {
  const k = truth.length
  if (k === 0) return undefined
  const ids = new Set(truth.map(t => t.id))
  const kth = Math.min(...truth.map(t => t.score))
  let found = 0
  for (const a of answered.slice(0, k)) if (ids.has(a.id) || a.score >= kth - 1e-6) found++
  return Math.min(1, found / k)
}

export class RecallSampler {
  readonly rate: number
  readonly target: number
  private readonly minSamples: number
  private readonly window: number
  private readonly retryMs: number
  private readonly observer?: RecallObserver
  private readonly onError?: (err: unknown) => void
  private readonly random: () => number
  private readonly now: () => number
  /** band -> recent samples */
  private readonly bands = new Map<number, Array<{ recall: number; at: number }>>()
  private running: Promise<void> | undefined

  constructor(o: RecallSamplerOptions) {
    if (!(o.rate >= 0 && o.rate <= 1)) throw new Error(`recall sample rate must be within 0..1, not ${o.rate}`)
    this.rate = o.rate
    this.target = o.target
    this.minSamples = o.minSamples ?? 5
    this.window = o.window ?? 20
    this.retryMs = o.retryMs ?? 600_000
    this.observer = o.observer
    this.onError = o.onError
    this.random = o.random ?? Math.random
    this.now = o.now ?? Date.now
  }

  /** Shadow queries in flight (0 or 1). */
  get inFlight(): number {
    return this.running === undefined ? 0 : 1
  }

  /** Resolves when no shadow query runs. */
  async idle(): Promise<void> {
    while (this.running !== undefined) await this.running
  }

  /**
   * Called after an index-plan search has its answer. Maybe starts the shadow
   * check `exact` (which must give the exact top-k) without waiting for it.
   */
  sample(share: number, answered: RankedId[], exact: () => Promise<RankedId[]>): void {
    if (this.rate <= 0 || this.random() >= this.rate) return
    if (this.running !== undefined) {
      this.observer?.dropped('index')
      return
    }
    const run = (async () => {
      try {
        const recall = recallAtK(answered, await exact())
        if (recall === undefined) return
        this.record(share, recall)
        this.observer?.observe('index', recall)
      } catch (err) {
        this.onError?.(err)
      } finally {
        this.running = undefined
      }
    })()
    this.running = run
  }

  /** Adds a measurement for a share (also usable without a shadow query, e.g. by tests and the bench). */
  record(share: number, recall: number): void {
    const band = shareBand(share)
    let samples = this.bands.get(band)
    if (samples === undefined) this.bands.set(band, (samples = []))
    samples.push({ recall, at: this.now() })
    if (samples.length > this.window) samples.splice(0, samples.length - this.window)
  }

  /**
   * What the planner should know for a search of this share: the first band, from
   * the largest shares down to this one, measured below the target; else this
   * band's own measurement when it has enough samples; else nothing.
   */
  measured(share: number): { mean: number; samples: number; band: number } | undefined {
    const own = shareBand(share)
    let mine: { mean: number; samples: number; band: number } | undefined
    for (let band = 0; band <= own; band++) {
      const samples = this.fresh(band)
      if (samples.length < this.minSamples) continue
      const mean = samples.reduce((s, x) => s + x.recall, 0) / samples.length
      if (mean < this.target) return { mean, samples: samples.length, band }
      if (band === own) mine = { mean, samples: samples.length, band }
    }
    return mine
  }

  private fresh(band: number): Array<{ recall: number; at: number }> {
    const samples = this.bands.get(band)
    if (samples === undefined) return []
    const cutoff = this.now() - this.retryMs
    while (samples.length > 0 && samples[0].at < cutoff) samples.shift()
    return samples
  }
}
