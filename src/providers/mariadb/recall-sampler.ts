// Recall of the index plan, measured in production, in two kinds of check:
//  - probe: while a share band is unmeasured (MARIADB_INDEX_TRUST=measured, the
//    default), its searches are answered by the exact plan, and after the answer
//    the index plan runs the same query in the background; its recall@k against
//    the exact answer just given is one sample. A probe costs one index walk.
//  - shadow: one index-plan answer in 1/rate (MARIADB_RECALL_SAMPLE_RATE) is re-run
//    with the exact plan in the background. A band whose samples grow old gets a
//    shadow check of its next index answer whatever the rate, so a measured band
//    stays measured without going back to exact answers.
// At most one check is in flight: a check due while one runs is dropped (counted),
// so checks never queue work behind the answers and never use more than one
// connection. Samples go to an observer (the /metrics histogram) and into a
// per-share-band window the planner reads (search-planner.ts): a band measured
// below the target is searched exactly, and so is every smaller share. Samples
// expire after `retryMs`, so a demoted band is probed again later.
import { shareBand } from './search-planner.ts'

/** probe: an exact answer's index plan run afterwards; shadow: an index answer re-run exactly */
export type RecallCheck = 'probe' | 'shadow'

export interface RecallObserver {
  /** recall@k of the index plan measured by one check */
  observe(plan: 'index', recall: number, check: RecallCheck): void
  /** a check due while another was still running, skipped */
  dropped(plan: 'index', check: RecallCheck): void
}

/**
 * What the samples of a share band (and the bands of larger shares) say. widen: the
 * band's walks are 2^widen times as wide as the share rule asks (a band measured
 * below the target is widened, up to `maxWiden`, before it is judged 'below').
 */
export type RecallVerdict =
  | { state: 'below' | 'met'; mean: number; samples: number; band: number; widen: number }
  | { state: 'unmeasured'; samples: number; minSamples: number; band: number; widen: number }

export interface RecallSamplerOptions {
  /** 0..1: share of index-plan searches checked; 0 = off */
  rate: number
  /** recall below this, over `minSamples` samples of a band, widens its walk, and at `maxWiden` demotes it */
  target: number
  /** how often a band's walk may be doubled before it is judged below the target (default 3: 8x) */
  maxWiden?: number
  /** samples needed to judge a band either way (default 5) */
  minSamples?: number
  /** samples kept per band (the most recent) */
  window?: number
  /** samples older than this are forgotten (default 10 min); a band's newest one older than half of it asks for a shadow check */
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
  readonly minSamples: number
  private readonly window: number
  private readonly retryMs: number
  private readonly observer?: RecallObserver
  private readonly onError?: (err: unknown) => void
  private readonly random: () => number
  private readonly now: () => number
  private readonly maxWiden: number
  /** band -> recent samples, and how often its walk was doubled (since when) */
  private readonly bands = new Map<number, BandState>()
  private running: Promise<void> | undefined

  constructor(o: RecallSamplerOptions) {
    if (!(o.rate >= 0 && o.rate <= 1)) throw new Error(`recall sample rate must be within 0..1, not ${o.rate}`)
    this.rate = o.rate
    this.target = o.target
    this.minSamples = o.minSamples ?? 5
    this.maxWiden = o.maxWiden ?? 3
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
   * Called after an index-plan search has its answer. Starts the shadow check
   * `exact` (which must give the exact top-k) without waiting for it, for 1 in
   * 1/rate searches and whenever the band's samples are growing old.
   */
  sample(share: number, answered: RankedId[], exact: () => Promise<RankedId[]>): void {
    if (!(this.random() < this.rate || this.aging(share))) return
    this.check('shadow', share, async () => recallAtK(answered, await exact()))
  }

  /**
   * Called after an unmeasured band's search was answered exactly: runs `index`
   * (the index plan's top-k for the same query) in the background and measures it
   * against `truth`, the answer given.
   */
  probe(share: number, truth: RankedId[], index: () => Promise<RankedId[]>): void {
    this.check('probe', share, async () => recallAtK(await index(), truth))
  }

  private check(kind: RecallCheck, share: number, measure: () => Promise<number | undefined>): void {
    if (this.running !== undefined) {
      this.observer?.dropped('index', kind)
      return
    }
    this.running = (async () => {
      try {
        const recall = await measure()
        if (recall === undefined) return
        this.record(share, recall)
        this.observer?.observe('index', recall, kind)
      } catch (err) {
        this.onError?.(err)
      } finally {
        this.running = undefined
      }
    })()
  }

  /**
   * Adds a measurement for a share (also usable without a check, e.g. by tests and
   * the bench). A band whose samples fall below the target is widened (its walk
   * doubled) and measured afresh, until `maxWiden`; there it stays below.
   */
  record(share: number, recall: number): void {
    const state = this.state(shareBand(share))
    state.samples.push({ recall, at: this.now() })
    if (state.samples.length > this.window) state.samples.splice(0, state.samples.length - this.window)
    const mean = meanOf(state.samples)
    if (state.samples.length >= this.minSamples && mean < this.target && state.widen < this.maxWiden) {
      state.widen++
      state.samples = []
      state.since = this.now()
    }
  }

  /**
   * What the planner should know for a search of this share: the first band, from
   * the largest shares down to this one, measured below the target ('below'); else
   * this band's own mean when it has `minSamples` samples ('met'); else 'unmeasured'.
   */
  verdict(share: number): RecallVerdict {
    const own = shareBand(share)
    for (let band = 0; band < own; band++) {
      const larger = this.summary(band)
      if (larger !== undefined && larger.mean < this.target) return { state: 'below', ...larger }
    }
    const mine = this.summary(own)
    if (mine === undefined) {
      const { samples, widen } = this.state(own)
      return { state: 'unmeasured', samples: samples.length, minSamples: this.minSamples, band: own, widen }
    }
    return { state: mine.mean < this.target ? 'below' : 'met', ...mine }
  }

  /** A band's mean over its fresh samples, when it has enough of them to judge. */
  private summary(band: number): { mean: number; samples: number; band: number; widen: number } | undefined {
    const { samples, widen } = this.state(band)
    if (samples.length < this.minSamples) return undefined
    return { mean: meanOf(samples), samples: samples.length, band, widen }
  }

  /** The band's newest sample is older than half the retry time: measure it again before it expires. */
  private aging(share: number): boolean {
    const { samples } = this.state(shareBand(share))
    return samples.length > 0 && samples[samples.length - 1].at < this.now() - this.retryMs / 2
  }

  /** A band's state with expired samples dropped; a band left without samples for retryMs walks at the rule's width again. */
  private state(band: number): BandState {
    let state = this.bands.get(band)
    if (state === undefined) this.bands.set(band, (state = { samples: [], widen: 0, since: this.now() }))
    const cutoff = this.now() - this.retryMs
    while (state.samples.length > 0 && state.samples[0].at < cutoff) state.samples.shift()
    if (state.samples.length === 0 && state.widen > 0 && state.since < cutoff) state.widen = 0
    return state
  }
}

interface BandState {
  samples: Array<{ recall: number; at: number }>
  widen: number
  since: number
}

function meanOf(samples: Array<{ recall: number }>): number {
  return samples.reduce((s, x) => s + x.recall, 0) / samples.length
}
