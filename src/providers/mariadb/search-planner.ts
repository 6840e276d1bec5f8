// Chooses between the exact plan and the cosine VECTOR index plan for one search.
// Pure: counts and measured recall come in, a decision goes out.
//
// Why share, not rows. MariaDB walks the HNSW graph over the WHOLE table and
// applies the BUID / group / file filter afterwards. A walk of beam width ef
// meets about `ef` candidates; of those, about `share * ef` belong to the filter
// (share = rows the filter selects / rows of the table). For the filter's true
// top-k to be among them, that expected count must exceed the rows we fetch by a
// safety factor. So the walk needs
//     ef >= safety * fetch / share
// and when that is wider than `efMax` the index cannot be trusted: exact plan.
// share * ef is the beam the walk effectively has for the filter's rows; on
// clustered 1024-d data a beam of 60 (share 50%, ef 120) gave recall@10 0.96, so
// the default safety is 16 (a beam of 240 for 15 rows fetched). A 9,000-row user
// in a 39,000-row table (share 0.23) then needs ef ~ 1,040; a 5,000-row user in
// 10 million rows (share 0.0005) would need ef ~ 480,000.
//
// Cost. Where the index is trustworthy it is used only if its walk is cheaper
// than scanning the filter's rows: an exact search costs about one distance per
// selected row, a walk about INDEX_ROWS_PER_EF row-distances per unit of ef
// (MariaDB 11.8 here, 1024-d, 20,000 random rows: ~10 us per exact row, 30-140 us
// per unit of ef; a filtered walk over a 1% share took 4.4 s at ef 1,000 against
// 4.5 ms exact, because MariaDB keeps walking until LIMIT rows pass the filter).
// Filters of at most `exactMaxRows` rows are always exact (cheap, and exact).
//
// Measured recall. The share rule assumes the index finds a point's neighbours
// when it walks past them (true for embeddings; not for uniformly random vectors,
// where even an unfiltered walk of ef 10,000 reached recall@10 0.95 here, and a
// 50% tenant got 0.49 at ef 480). So by default (trust 'measured') the share rule
// only says where the index MAY serve: a band of shares (within a factor of 2)
// gets the index plan once background checks (recall-sampler.ts) measured it at
// or above the target; until then its searches are answered exactly and each one
// probes the index plan afterwards. A band measured below the target gets a walk
// twice as wide, measured afresh, up to 8x (and never beyond efSearchMax); below
// the target even then, it and every smaller share are searched exactly. Trust
// 'share-rule' skips the wait (the index serves where the rule allows until a
// measurement says otherwise).

import type { RecallVerdict } from './recall-sampler.ts'

/** Largest mhnsw_ef_search MariaDB 11.8 accepts. */
export const MARIADB_MAX_EF_SEARCH = 10_000
/** Row-distances of an exact scan that one unit of ef costs in an index walk (the default of indexRowsPerEf). */
export const INDEX_ROWS_PER_EF = 10
/** LIMIT of the index plan never exceeds this. */
const MAX_FETCH = 1000

export interface PlannerSettings {
  /** filters of at most this many rows are always searched exactly */
  exactMaxRows: number
  /** mhnsw_ef_search of a walk for a whole user (the floor; widened by the share rule) */
  efSearch: number
  /** the same for walks narrowed by group or files */
  efSearchFiltered: number
  /** the widest walk the planner will ask for; a filter needing more is searched exactly */
  efSearchMax: number
  /** expected filter rows among the walk's candidates / rows fetched, at least */
  safety: number
  /** recall@k the index plan must reach (measured recall below it demotes a band to exact) */
  recallTarget: number
  /** 'measured': a share band gets the index plan only once measured at the target; 'share-rule': at once */
  trust: 'measured' | 'share-rule'
  /** cost of one unit of ef in exact-row distances (default INDEX_ROWS_PER_EF; 0 = ignore cost) */
  indexRowsPerEf?: number
}

export interface PlanInput {
  /** rows the filter selects */
  filterRows: number
  /** rows of the whole table */
  tableRows: number
  limit: number
  /** narrowed by group or files (not only by user) */
  filtered: boolean
  /** what measurements say of the index plan at this share (none: as if unmeasured) */
  recall?: RecallVerdict
}

export type PlanDecision =
  /** probe: the index walk the rule would allow, to be measured against this exact answer */
  | { kind: 'exact'; reason: string; share: number; probe?: { efSearch: number; fetch: number } }
  | { kind: 'index'; reason: string; share: number; efSearch: number; fetch: number }

/** The share of the table a filter selects (0..1]; a filter never exceeds the table it counts in. */
export function shareOf(filterRows: number, tableRows: number): number {
  if (filterRows <= 0) return 0
  return filterRows / Math.max(filterRows, tableRows)
}

/**
 * Band of a share for recall bookkeeping: 0 for shares above 1/2, 1 for (1/4, 1/2],
 * ... ; shares within a factor of 2 share a band.
 */
export function shareBand(share: number): number {
  if (share <= 0) return 64
  return Math.min(64, Math.max(0, Math.ceil(-Math.log2(share)) - 1))
}

/** Rows the index plan fetches: a margin over limit, since a filtered walk returns rows slightly out of order. */
export function indexFetch(limit: number, filtered: boolean): number {
  return Math.min(MAX_FETCH, filtered ? limit * 2 : limit + 5)
}

function pct(share: number): string {
  return share >= 0.1 ? `${(share * 100).toFixed(0)}%` : `${(share * 100).toPrecision(2)}%`
}

export function choosePlan(s: PlannerSettings, input: PlanInput): PlanDecision {
  const share = shareOf(input.filterRows, input.tableRows)
  if (input.filterRows <= s.exactMaxRows) {
    return { kind: 'exact', share, reason: `${input.filterRows} rows: at most exactMaxRows ${s.exactMaxRows}` }
  }
  const rowsOf = `${input.filterRows} of ${input.tableRows} rows (${pct(share)})`
  const fetch = indexFetch(input.limit, input.filtered)
  const needed = Math.ceil((s.safety * fetch) / share)
  const efMax = Math.min(s.efSearchMax, MARIADB_MAX_EF_SEARCH)
  if (needed > efMax) {
    return {
      kind: 'exact',
      share,
      reason: `${rowsOf}: the walk would need ef ${needed} > efSearchMax ${efMax} to meet ${s.safety}x${fetch} of its rows`
    }
  }
  const recall = input.recall ?? { state: 'unmeasured', samples: 0, minSamples: 0, band: -1, widen: 0 }
  if (recall.state === 'below') {
    return {
      kind: 'exact',
      share,
      reason: `${rowsOf}: index recall measured ${recall.mean.toFixed(3)} < ${s.recallTarget} over ${recall.samples} samples (share band ${recall.band})`
    }
  }
  const ruleEf = Math.min(efMax, Math.max(input.filtered ? s.efSearchFiltered : s.efSearch, fetch, needed))
  // a band measured below the target walks 2^widen times as wide (recall-sampler.ts)
  const efSearch = ruleEf * 2 ** recall.widen
  if (efSearch > efMax) {
    return {
      kind: 'exact',
      share,
      reason: `${rowsOf}: index recall measured below ${s.recallTarget} up to ef ${efSearch / 2}; a walk ${2 ** recall.widen}x as wide needs ef ${efSearch} > efSearchMax ${efMax}`
    }
  }
  if (efSearch * (s.indexRowsPerEf ?? INDEX_ROWS_PER_EF) >= input.filterRows) {
    return { kind: 'exact', share, reason: `${rowsOf}: exact is cheaper than a walk of ef ${efSearch}` }
  }
  if (recall.state === 'unmeasured' && s.trust === 'measured') {
    return {
      kind: 'exact',
      share,
      probe: { efSearch, fetch },
      reason: `${rowsOf}: index recall not measured yet for this share (${recall.samples} of ${recall.minSamples} checks)`
    }
  }
  return {
    kind: 'index',
    share,
    efSearch,
    fetch,
    reason:
      `${rowsOf}: walk of ef ${efSearch} meets ~${Math.floor(share * efSearch)} rows of the filter for ${fetch} fetched` +
      (recall.widen > 0 ? `; widened ${2 ** recall.widen}x after recall measured below ${s.recallTarget}` : '')
  }
}
