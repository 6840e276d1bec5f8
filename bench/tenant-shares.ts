// Section F: search quality by tenant share (issue 12). For each data shape
// (clustered topics, and unclustered random unit vectors) one table of
// `shareRows` rows, tenants owning 50%, 10%, 1% and 0.1% of it plus filler users,
// rows interleaved, a cosine vector index built after the load; then per tenant,
// interleaved query by query:
//   gateway   POST /search to a gateway with the default settings (MARIADB_INDEX_TRUST=measured:
//             the index plan only for shares measured at the target) and
//             MARIADB_RECALL_SAMPLE_RATE = --recall-sample-rate (default 0)
//   rule      POST /search to a gateway with MARIADB_INDEX_TRUST=share-rule (the share/cost rule alone)
//   exact     the exact plan issued with the driver (IGNORE INDEX the vector index): the truth
//   plain     the same query without hints: MariaDB's own plan (its default ef_search)
// recall@10 of each against exact, PASS/MISS of the gateway against 0.99.
// A method that has used up its time budget in a cell stops there (n says how many ran).
import { loadConfig } from '../src/config.ts'
import { createProviders } from '../src/providers/create-providers.ts'
import { VECTOR_INDEX } from '../src/providers/mariadb/mariadb-schema.ts'
import {
  ClusterModel,
  Rng,
  UniformModel,
  layoutRows,
  queryVectors,
  vectorBytes,
  type TenantLayout,
  type VectorModel
} from './data.ts'
import { createDatabase, dataHeaders, httpRequest, log, startGateway, type Gateway } from './harness.ts'
import { insertParams, timedDirectInsert } from './ingest.ts'
import { batchesOf } from './mariadb-search.ts'
import type { BenchOptions } from './options.ts'
import { summarize, type Summary } from './stats.ts'
import { explainSearch } from '../test/helpers/mariadb-explain.ts'

export type Shape = 'clustered' | 'unclustered'
export type ShareMethod = 'gateway' | 'rule' | 'exact' | 'plain'
const METHODS: ShareMethod[] = ['gateway', 'rule', 'exact', 'plain']
export const SHARES = [0.5, 0.1, 0.01, 0.001]
const FILLER_USERS = 50
const FILLER_BASE = 5001
const LIMIT = 10
export const RECALL_TARGET = 0.99
const TABLE = 'BRAG'

export interface ShareCell {
  shape: Shape
  share: number
  userId: number
  rows: number
  methods: Partial<Record<ShareMethod, { latency: Summary; recall: number }>>
  /** the share/cost rule's plan (the rule gateway's), and why */
  rulePlan: string
  /** recall checks (probes and shadow checks) the default gateway completed in this cell (warm-up included), and their mean */
  recallSamples: number
  recallSampleMean: number
  plainPlan: string
}

export interface ShareSectionResult {
  rows: number
  dimension: number
  recallSampleRate: number
  queries: number
  warmup: number
  learnMs: number
  budgetMs: number
  shapes: Array<{ shape: Shape; loadMs: number; indexMs: number }>
  cells: ShareCell[]
}

function layoutOf(rows: number): TenantLayout {
  const users = SHARES.map((share, i) => ({ userId: i + 1, rows: Math.max(1, Math.round(rows * share)) }))
  const rest = rows - users.reduce((s, u) => s + u.rows, 0)
  for (let i = 0; i < FILLER_USERS; i++) {
    const n = Math.floor(rest / FILLER_USERS) + (i < rest % FILLER_USERS ? 1 : 0)
    if (n > 0) users.push({ userId: FILLER_BASE + i, rows: n })
  }
  return { users, chunksPerFile: 20, groups: 10 }
}

function recallOf(got: string[][], truth: string[][]): number {
  let hit = 0
  let total = 0
  got.forEach((keys, i) => {
    const expected = new Set(truth[i])
    total += expected.size
    for (const k of keys.slice(0, LIMIT)) if (expected.has(k)) hit++
  })
  return total === 0 ? Number.NaN : hit / total
}

export async function runShareSection(o: BenchOptions): Promise<ShareSectionResult> {
  const result: ShareSectionResult = {
    rows: o.shareRows,
    dimension: o.shareDimension,
    recallSampleRate: o.recallSampleRate,
    queries: o.shareQueries,
    warmup: o.shareWarmup,
    learnMs: o.shareLearnMs,
    budgetMs: o.shareBudgetMs,
    shapes: [],
    cells: []
  }
  const layout = layoutOf(o.shareRows)
  for (const shape of ['clustered', 'unclustered'] as Shape[]) {
    const model: VectorModel =
      shape === 'clustered'
        ? new ClusterModel(o.seed, { dimension: o.shareDimension })
        : new UniformModel(o.shareDimension)
    const db = await createDatabase(o.serverUrl, `vgbench_${o.runId}_share_${shape}`, o.keep, 4)
    const gateways: Gateway[] = []
    try {
      const config = loadConfig({
        MARIADB_URL: db.url,
        MARIADB_TABLE: TABLE,
        AUTH_DISABLED: 'true',
        VECTOR_DIMENSION: String(o.shareDimension)
      })
      const provider = createProviders({ ...config, MARIADB_INDEX_TRUST: 'share-rule' }, db.pool).mariadb
      await provider.init()
      log(
        `F ${shape}: loading ${o.shareRows} rows x ${o.shareDimension}-d (tenants ${SHARES.map(s => `${s * 100}%`).join(', ')}, ${FILLER_USERS} fillers, interleaved)`
      )
      const prepared = batchesOf(layoutRows(layout, model, o.seed), 1000).map((b, i) =>
        insertParams(b, Date.now() * 1000 + i * 1000)
      )
      const load = await timedDirectInsert(db.pool, TABLE, prepared, 2)
      prepared.length = 0
      log(`F ${shape}: building the cosine vector index, M=${o.indexM}`)
      const { duration_ms: indexMs } = await provider.createVectorIndex({ m: o.indexM })
      log(`F ${shape}: loaded in ${(load.ms / 1000).toFixed(1)} s, index built in ${(indexMs / 1000).toFixed(1)} s`)
      result.shapes.push({ shape, loadMs: load.ms, indexMs })

      const env = { MARIADB_URL: db.url, VECTOR_DIMENSION: String(o.shareDimension) }
      const gateway = await startGateway({ ...env, MARIADB_RECALL_SAMPLE_RATE: String(o.recallSampleRate) })
      gateways.push(gateway)
      const rule = await startGateway({ ...env, MARIADB_INDEX_TRUST: 'share-rule' })
      gateways.push(rule)
      const queries =
        shape === 'clustered'
          ? queryVectors(model, o.seed + 7, Math.max(o.shareQueries, 20))
          : Array.from({ length: Math.max(o.shareQueries, 20) }, (_, i) =>
              Array.from(model.sample(0, new Rng(o.seed, 0x51, i)))
            )
      const buffers = queries.map(q => vectorBytes(q))

      const run = async (method: ShareMethod, qi: number, userId: number): Promise<string[]> => {
        if (method === 'gateway' || method === 'rule') {
          const gw = method === 'gateway' ? gateway : rule
          const body = JSON.stringify({ user_id: userId, vector: queries[qi], limit: LIMIT, min_score: 0 })
          const answer = await httpRequest(gw.url, 'POST', '/search', body, dataHeaders)
          if (answer.status !== 200)
            throw new Error(`POST /search answered ${answer.status}: ${answer.body.slice(0, 300)}`)
          return (JSON.parse(answer.body) as { results: Array<{ file_id: number; chunk_index: number }> }).results.map(
            r => `${r.file_id}:${r.chunk_index}`
          )
        }
        const hint = method === 'exact' ? ` IGNORE INDEX (${VECTOR_INDEX})` : ''
        const rows: Array<{ BMID: number; BCHUNK: number; d: number }> = await db.pool.query(
          `SELECT BMID, BCHUNK, VEC_DISTANCE_COSINE(BEMBED, ?) AS d FROM ${TABLE}${hint} WHERE BUID = ? ORDER BY d LIMIT ${LIMIT}`,
          [buffers[qi], userId]
        )
        // the gateway is asked for min_score 0: compare with the rows of score >= 0
        return rows.filter(r => 1 - Number(r.d) >= 0).map(r => `${r.BMID}:${r.BCHUNK}`)
      }

      for (const [i, share] of SHARES.entries()) {
        const { userId, rows } = layout.users[i]
        log(
          `F ${shape}: tenant ${userId}, ${rows} rows (${share * 100}%): ${o.shareQueries} queries x ${METHODS.length} methods`
        )
        const before = await recallMetrics(gateway)
        // warm-up: every method, then the default gateway alone for learnMs (its probes measure the index meanwhile)
        for (let w = 0; w < o.shareWarmup; w++) for (const m of METHODS) await run(m, w % queries.length, userId)
        const learnUntil = performance.now() + o.shareLearnMs
        for (let w = 0; performance.now() < learnUntil; w++) await run('gateway', w % queries.length, userId)
        const samples = new Map<ShareMethod, number[]>(METHODS.map(m => [m, []]))
        const keys = new Map<ShareMethod, string[][]>(METHODS.map(m => [m, []]))
        const spent = new Map<ShareMethod, number>(METHODS.map(m => [m, 0]))
        for (let q = 0; q < o.shareQueries; q++) {
          const rotation = q % METHODS.length
          for (const m of [...METHODS.slice(rotation), ...METHODS.slice(0, rotation)]) {
            if (m !== 'exact' && spent.get(m)! > o.shareBudgetMs) continue
            const started = performance.now()
            const got = await run(m, q, userId)
            const ms = performance.now() - started
            spent.set(m, spent.get(m)! + ms)
            samples.get(m)!.push(ms)
            keys.get(m)![q] = got
          }
        }
        const truth = keys.get('exact')!
        const methods: ShareCell['methods'] = {}
        for (const m of METHODS) {
          const got = keys.get(m)!
          const measured = got.map((_, q) => q).filter(q => got[q] !== undefined)
          methods[m] = {
            latency: summarize(samples.get(m)!),
            recall: recallOf(
              measured.map(q => got[q]),
              measured.map(q => truth[q])
            )
          }
        }
        const explainPlain: Array<{ key: string | null }> = await db.pool.query(
          `EXPLAIN SELECT BID, VEC_DISTANCE_COSINE(BEMBED, ?) AS d FROM ${TABLE} WHERE BUID = ? ORDER BY d LIMIT ${LIMIT}`,
          [buffers[0], userId]
        )
        const after = await recallMetrics(gateway)
        const { plan } = await explainSearch(provider, {
          user_id: userId,
          vector: queries[0],
          limit: LIMIT,
          min_score: 0
        })
        const recallSamples = after.count - before.count
        const cell: ShareCell = {
          shape,
          share,
          userId,
          rows,
          methods,
          rulePlan: `${plan.kind}${plan.efSearch !== undefined ? ` ef ${plan.efSearch}` : ''}: ${plan.reason}`,
          recallSamples,
          recallSampleMean: recallSamples > 0 ? (after.sum - before.sum) / recallSamples : Number.NaN,
          plainPlan: explainPlain.map(r => r.key ?? 'no index').join(', ')
        }
        const g = methods.gateway!
        log(
          `   gateway p50 ${g.latency.p50.toFixed(1)} ms recall ${g.recall.toFixed(3)} (${recallSamples} recall checks); rule ${cell.rulePlan}; ` +
            `exact p50 ${methods.exact!.latency.p50.toFixed(1)} ms; ` +
            `plain p50 ${methods.plain!.latency.p50.toFixed(1)} ms recall ${methods.plain!.recall.toFixed(3)}`
        )
        result.cells.push(cell)
      }
    } finally {
      for (const g of gateways) await g.stop().catch(() => {})
      await db.drop()
    }
  }
  return result
}

/** Count and sum of the gateway's vg_search_recall histogram, over both kinds of check. */
async function recallMetrics(gw: Gateway): Promise<{ count: number; sum: number }> {
  const answer = await httpRequest(gw.url, 'GET', '/metrics', undefined, {})
  const total = (series: string): number =>
    [...answer.body.matchAll(new RegExp(`^vg_search_recall_${series}\\{plan="index",check="\\w+"\\} (\\S+)$`, 'gm'))]
      .map(m => Number(m[1]))
      .reduce((a, b) => a + b, 0)
  return { count: total('count'), sum: total('sum') }
}
