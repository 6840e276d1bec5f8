// Runs a search: always `WHERE BUID = ?` (+ group, + files) and
// `ORDER BY VEC_DISTANCE_COSINE(BEMBED, ?) LIMIT n`; score = 1 - distance. Two plans:
//  - exact: FORCE INDEX on our (user, file, chunk) / (user, group) indexes, the
//    filter first then a sort of the distances. Exact, and fast for small filters.
//  - index: FORCE INDEX on the cosine VECTOR index with mhnsw_ef_search set for the
//    statement; MariaDB walks the HNSW graph and filters afterwards. Fast for big
//    filters, approximate, and it may starve on selective filters: when it yields
//    fewer than `limit` hits >= min_score, the exact plan answers instead, so a user
//    never gets fewer results than the exact plan would give.
// The plan follows the filter's SHARE of the table and the cost of both plans
// (search-planner.ts), from cached counts (count-cache.ts), and what background
// checks (recall-sampler.ts) measured of the index plan's recall at that share:
// an unmeasured share is answered exactly and probes the index plan afterwards.
import { trace } from '@opentelemetry/api'
import type { Pool } from 'mariadb'
import { compareHits, type SearchHit, type SearchQuery } from '../vector-provider.ts'
import { checkVector, COLUMNS, num, toView, whereOf, type Row } from './brag-rows.ts'
import type { CountCache } from './count-cache.ts'
import type { LegacyKeys } from './legacy-keys.ts'
import { call, errnoOf, translateError } from './mariadb-errors.ts'
import { GROUP_INDEX, KEY_INDEX, quoteTable } from './mariadb-schema.ts'
import type { RankedId, RecallSampler } from './recall-sampler.ts'
import { choosePlan, shareOf, type PlannerSettings } from './search-planner.ts'
import { encodeVector } from './vector-codec.ts'
import type { VectorIndexAdmin } from './vector-index.ts'

export type SearchPlanKind = 'exact' | 'index'

export interface SearchPlan {
  kind: SearchPlanKind
  /** why this plan: the filter's share and the walk it would need, or the missing index */
  reason: string
  /** rows the filter selects (from the count cache), when it was needed */
  rows?: number
  /** rows of the table and the filter's share of it, when they were needed */
  tableRows?: number
  share?: number
  /** the SELECT (without the SET STATEMENT prefix) and its parameters */
  sql: string
  params: unknown[]
  /** rows fetched: `limit` for the exact plan, more for the index plan */
  fetch: number
  /** mhnsw_ef_search for the index plan */
  efSearch?: number
  /** an exact plan of an unmeasured share: the index plan to measure against its answer */
  probe?: SearchPlan
}

export interface SearchStats {
  exact: number
  index: number
  /** index-plan searches answered by the exact plan because the index gave too few hits */
  indexFallbacks: number
}

const ER_KEY_DOES_NOT_EXIST = 1176

export interface SearchExecutorOptions {
  pool: Pool
  table: string
  dimension: number
  planner: PlannerSettings
  recall: RecallSampler
  counts: CountCache
  index: VectorIndexAdmin
  legacy: LegacyKeys
}

export class SearchExecutor {
  readonly stats: SearchStats = { exact: 0, index: 0, indexFallbacks: 0 }
  /** the pool the plans run on (an EXPLAIN of plan() runs there too) */
  readonly pool: Pool
  private readonly t: string

  constructor(private readonly o: SearchExecutorOptions) {
    this.pool = o.pool
    this.t = quoteTable(o.table)
  }

  async search(query: SearchQuery): Promise<SearchHit[]> {
    if ((query.file_ids !== undefined && query.file_ids.length === 0) || query.limit <= 0) return []
    checkVector(query.vector, this.o.dimension)
    try {
      return await this.searchOnce(query)
    } catch (err) {
      if (errnoOf(err) !== ER_KEY_DOES_NOT_EXIST) return translateError(err)
    }
    // an index named in FORCE INDEX was dropped meanwhile (by another replica or an admin)
    this.o.index.forget()
    return await call(async () => await this.searchOnce(query))
  }

  /** The plan search() would use for `query` (untranslated errors: callers wrap it). */
  async plan(query: SearchQuery): Promise<SearchPlan> {
    const index = await this.o.index.cached()
    if (!index.exists || !index.usable || index.name === undefined) {
      return this.exactPlan(
        query,
        undefined,
        index.exists ? `the VECTOR index uses DISTANCE=${index.distance}, not cosine` : 'no VECTOR index'
      )
    }
    const { counts, planner, recall } = this.o
    const rows = await counts.filterRows(query)
    const tableRows = rows <= planner.exactMaxRows ? rows : await counts.tableRows()
    const share = shareOf(rows, tableRows)
    const filtered = query.group_key !== undefined || query.file_ids !== undefined
    const decision = choosePlan(planner, {
      filterRows: rows,
      tableRows,
      limit: query.limit,
      filtered,
      recall: recall.verdict(share)
    })
    if (decision.kind === 'index') return { ...this.indexPlan(query, index.name, decision), rows, tableRows, share }
    const probe = decision.probe && {
      ...this.indexPlan(query, index.name, { ...decision.probe, reason: 'probe' }),
      share
    }
    return { ...this.exactPlan(query, rows, decision.reason), tableRows, share, probe }
  }

  private indexPlan(
    query: SearchQuery,
    indexName: string,
    walk: { efSearch: number; fetch: number; reason: string }
  ): SearchPlan {
    // The walk yields rows in distance order and applies the WHERE as it goes, so a
    // small margin over limit suffices (rows can come slightly out of order with a
    // filter); a short answer falls back to the exact plan anyway.
    const where = whereOf(query)
    return {
      kind: 'index',
      reason: walk.reason,
      sql:
        `SELECT ${COLUMNS}, VEC_DISTANCE_COSINE(BEMBED, ?) AS d FROM ${this.t} FORCE INDEX (\`${indexName.replace(/`/g, '``')}\`) ` +
        `WHERE ${where.sql} ORDER BY d LIMIT ${walk.fetch}`,
      params: [encodeVector(query.vector), ...where.params],
      fetch: walk.fetch,
      efSearch: walk.efSearch
    }
  }

  private async searchOnce(query: SearchQuery): Promise<SearchHit[]> {
    const plan = await this.plan(query)
    // the plan on the trace span of this call (a no-op unless tracing is on)
    trace.getActiveSpan()?.setAttributes({
      'vg.search.plan': plan.kind,
      'vg.search.plan_reason': plan.reason,
      'vg.search.fetch': plan.fetch,
      ...(plan.rows !== undefined ? { 'vg.search.filter_rows': plan.rows } : {}),
      ...(plan.efSearch !== undefined ? { 'vg.search.ef_search': plan.efSearch } : {})
    })
    let rows = await this.runPlan(plan)
    let passing = rows.filter(r => scoreOf(r) >= query.min_score)
    if (plan.kind === 'index') {
      this.stats.index++
      if (passing.length < query.limit) {
        // the filtered index walk came back short: the exact plan decides
        this.stats.indexFallbacks++
        trace.getActiveSpan()?.setAttribute('vg.search.fallback', 'exact')
        rows = await this.runPlan(this.exactPlan(query, plan.rows, 'index plan gave fewer hits than limit'))
        passing = rows.filter(r => scoreOf(r) >= query.min_score)
      } else {
        this.sampleRecall(query, plan, passing)
      }
    } else {
      this.stats.exact++
      if (plan.probe !== undefined) this.probeIndex(query, plan.probe, passing)
    }
    const indexes = await this.o.legacy.chunkIndexes(this.o.pool, query.user_id, passing)
    return passing
      .map(r => ({ chunk: toView(r, indexes.get(num(r.BID))!, false), score: scoreOf(r) }))
      .sort(compareHits)
      .slice(0, query.limit)
  }

  /** Maybe re-runs an index-plan search exactly in the background to measure its recall (never awaited). */
  private sampleRecall(query: SearchQuery, plan: SearchPlan, passing: Row[]): void {
    this.o.recall.sample(plan.share ?? 1, ranked(passing, query), async () => {
      const rows = await this.runPlan(this.exactPlan(query, plan.rows, 'recall shadow check'))
      return ranked(rows, query)
    })
  }

  /** Runs the index plan an unmeasured share would get, after its exact answer, to measure it (never awaited). */
  private probeIndex(query: SearchQuery, probe: SearchPlan, exactPassing: Row[]): void {
    this.o.recall.probe(probe.share ?? 1, ranked(exactPassing, query), async () =>
      ranked(await this.runPlan(probe), query)
    )
  }

  private async runPlan(plan: SearchPlan): Promise<Row[]> {
    const sql =
      plan.kind === 'index'
        ? `SET STATEMENT mhnsw_ef_search = ${plan.efSearch ?? this.o.planner.efSearch} FOR ${plan.sql}`
        : plan.sql
    // prepared (binary protocol): no text parsing of the 4 KiB vector parameter per search
    const rows: Row[] = await this.o.pool.execute(sql, plan.params)
    return rows.filter(r => r.d === null || !Number.isNaN(Number(r.d)))
  }

  private exactPlan(query: SearchQuery, rows: number | undefined, reason: string): SearchPlan {
    const where = whereOf(query)
    return {
      kind: 'exact',
      reason,
      rows,
      sql:
        `SELECT ${COLUMNS}, VEC_DISTANCE_COSINE(BEMBED, ?) AS d FROM ${this.t} FORCE INDEX (${KEY_INDEX}, ${GROUP_INDEX}) ` +
        `WHERE ${where.sql} ORDER BY d, BMID, BCHUNK, BSTART, BID LIMIT ${query.limit}`,
      params: [encodeVector(query.vector), ...where.params],
      fetch: query.limit
    }
  }
}

/** The top `limit` of rows passing min_score, as ids and scores, best first: what recall compares. */
function ranked(rows: Row[], query: SearchQuery): RankedId[] {
  return rows
    .map(r => ({ id: num(r.BID), score: scoreOf(r) }))
    .filter(r => r.score >= query.min_score)
    .sort((a, b) => b.score - a.score)
    .slice(0, query.limit)
}

function scoreOf(r: Row): number {
  // a NULL distance (an all-zero stored vector) never matches
  return r.d === null || r.d === undefined ? Number.NEGATIVE_INFINITY : 1 - Number(r.d)
}
