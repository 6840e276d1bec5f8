// Section A: MariaDB search. Loads docs/environment.md#benchmark-data's table shape (one big user,
// thirty small ones, rows interleaved, clustered 1024-d vectors) with a direct
// binary prepared insert, measures POST /chunks ingest into a second fresh
// database, then for each filter size times, interleaved query by query:
//   gateway  POST /search over real HTTP (keep-alive) to the service on 127.0.0.1
//   bare     the same body to bench/bare-http.ts (Fastify alone, an answer of the gateway's size):
//            issue 9 §1 compares the gateway with best direct plan + bare HTTP, cell by cell
//   exact    the exact plan issued with the driver (IGNORE INDEX the vector index)
//   index    the vector-index plan issued with the driver (FORCE INDEX, the ef_search the gateway's planner picks for the filter)
//   plain    the same query without hints: MariaDB's own plan choice
// first without a vector index, then with a cosine one (M=16) built after the load.
import { loadConfig, type Config } from '../src/config.ts'
import { createProviders } from '../src/providers/create-providers.ts'
import type { MariaDbProvider } from '../src/providers/mariadb/mariadb-provider.ts'
import { VECTOR_INDEX } from '../src/providers/mariadb/mariadb-schema.ts'
import {
  ClusterModel,
  GROUPS,
  LARGE_USER,
  SMALL_USER_BASE,
  layoutRows,
  queryVectors,
  searchLayout,
  vectorBytes,
  type BenchChunk
} from './data.ts'
import {
  CpuMeter,
  adminHeaders,
  createDatabase,
  dataHeaders,
  httpJson,
  httpRequest,
  log,
  searchPlanCounts,
  serverPid,
  serverVariables,
  sleep,
  startBareHttp,
  startGateway,
  type BareHttp,
  type BenchDatabase,
  type Gateway,
  type SearchPlanCounts
} from './harness.ts'
import { gatewayBodies, insertParams, timedDirectInsert, timedGatewayIngest, type IngestResult } from './ingest.ts'
import type { BenchOptions } from './options.ts'
import { profileSearch, type SearchProfile } from './profile.ts'
import { ratio, summarize, type Summary } from './stats.ts'
import { explainSearch } from '../test/helpers/mariadb-explain.ts'

export type Method = 'gateway' | 'bare' | 'exact' | 'index' | 'plain'
export type CellId = 'user-small' | 'user-large' | 'user-large+group'

const TABLE = 'BRAG'
const LIMIT = 10
const COLUMNS = 'BID, BUID, BMID, BCHUNK, BGROUPKEY, BTYPE, BSTART, BEND, BTEXT, BCREATED, BVERSION'

interface Filter {
  user_id: number
  group_key?: string
}

interface CellSpec {
  id: CellId
  label: string
  rows: number
  /** the filter of the i-th query (small users and groups rotate) */
  filter(i: number): Filter
}

export interface MethodStats {
  latency: Summary
  /** the gateway's own took_ms (inside the route handler) */
  took?: Summary
  /** mean number of results */
  results: number
}

export interface CellResult {
  cell: CellId
  label: string
  rows: number
  vectorIndex: boolean
  methods: Partial<Record<Method, MethodStats>>
  /**
   * The faster direct plan (by p50) of those that answer at the gateway's recall target
   * (MARIADB_RECALL_TARGET, 0.99): exact always, index when it measured at the target here.
   */
  best: 'exact' | 'index'
  /** a direct plan faster than `best` but below the recall target, which the gateway may not take */
  fasterBelowTarget?: 'index'
  /** gateway / best direct plan (issue 5's comparison: SQL in-process, no HTTP) */
  ratioP50: number
  ratioP95: number
  /** issue 9 §1: gateway p50 / (best direct p50 + bare HTTP p50) */
  httpRatioP50: number
  /** bytes of the gateway's answer in this cell, which the bare HTTP process answered too */
  responseBytes: number
  /** plan the gateway's provider picks, and why */
  gatewayPlan: string
  /** index MariaDB picks for the plain query (EXPLAIN) */
  plainPlan: string
  /** recall@10 against the exact plan, with the vector index */
  recall?: Partial<Record<Method, number>>
  /** CPU ms the gateway process used per search request (all requests of the cell, its idle CPU rate taken off) */
  gatewayCpuMsPerSearch: number
}

export interface SearchSectionResult {
  layout: {
    rows: number
    largeUserRows: number
    smallUsers: number
    smallUserRows: number
    groupRows: number
    dimension: number
  }
  server: Record<string, string>
  generationMs: number
  /** the main load (all rows of the search table) */
  directIngest: IngestResult
  /** the rows the gateway ingests, inserted directly into fresh tables: same concurrency, and one connection */
  directSame: IngestResult
  directSingle: IngestResult
  gatewayIngest: IngestResult
  /** gateway / directSame (same rows, same concurrency, fresh tables) */
  ingestRatio: number
  indexBuild: { m: number; ms: number; warnings: string[] }
  queries: number
  warmup: number
  cells: CellResult[]
  profile?: SearchProfile
  memory: {
    ingestGatewayPeakRss: number
    searchGatewayPeakRss: number
    searchGatewayIdleRss: number
    ingestGatewayIdleRss: number
  }
  idleGatewayCpuMsPerSecond: number
}

function cells(o: BenchOptions): CellSpec[] {
  return [
    {
      id: 'user-small',
      label: `user ${o.smallUserRows} rows`,
      rows: o.smallUserRows,
      filter: i => ({ user_id: SMALL_USER_BASE + (i % o.smallUsers) })
    },
    {
      id: 'user-large',
      label: `user ${o.largeUserRows} rows`,
      rows: o.largeUserRows,
      filter: () => ({ user_id: LARGE_USER })
    },
    {
      id: 'user-large+group',
      label: `user+group ${Math.round(o.largeUserRows / GROUPS)} rows`,
      rows: Math.round(o.largeUserRows / GROUPS),
      filter: i => ({ user_id: LARGE_USER, group_key: `G${i % GROUPS}` })
    }
  ]
}

export function directSql(
  method: Exclude<Method, 'gateway'>,
  filter: Filter,
  withIndex: boolean,
  efSearch: number
): string {
  const hint =
    method === 'exact' && withIndex
      ? ` IGNORE INDEX (${VECTOR_INDEX})`
      : method === 'index'
        ? ` FORCE INDEX (${VECTOR_INDEX})`
        : ''
  const where = filter.group_key === undefined ? 'BUID = ?' : 'BUID = ? AND BGROUPKEY = ?'
  const select = `SELECT ${COLUMNS}, VEC_DISTANCE_COSINE(BEMBED, ?) AS d FROM ${TABLE}${hint} WHERE ${where} ORDER BY d LIMIT ${LIMIT}`
  return method === 'index' ? `SET STATEMENT mhnsw_ef_search = ${efSearch} FOR ${select}` : select
}

export function directParams(vector: Buffer, filter: Filter): unknown[] {
  return filter.group_key === undefined ? [vector, filter.user_id] : [vector, filter.user_id, filter.group_key]
}

interface RunOutcome {
  ms: number
  keys: string[]
  took?: number
}

export class SearchRunner {
  /** CPU ms per second the gateway uses when idle (timers, settings refresh, migration runner poll) */
  idleCpuMsPerSecond = 0

  constructor(
    readonly gateway: Gateway,
    readonly db: BenchDatabase,
    readonly provider: MariaDbProvider,
    readonly config: Config,
    readonly queries: number[][],
    readonly bare: BareHttp,
    private readonly buffers = queries.map(q => vectorBytes(q))
  ) {}

  searchBody(qi: number, filter: Filter): string {
    return JSON.stringify({
      user_id: filter.user_id,
      vector: this.queries[qi],
      ...(filter.group_key !== undefined ? { group_key: filter.group_key } : {}),
      limit: LIMIT,
      min_score: 0
    })
  }

  async run(method: Method, qi: number, filter: Filter, withIndex: boolean, responseBytes = 0): Promise<RunOutcome> {
    if (method === 'gateway' || method === 'bare') {
      // the same body to either process, timed up to the answer: parsing the answer is not
      // the gateway's time (the bare one is not parsed either)
      const [url, path] =
        method === 'gateway' ? [this.gateway.url, '/search'] : [this.bare.url, `/search?bytes=${responseBytes}`]
      const started = performance.now()
      const answer = await httpRequest(url, 'POST', path, this.searchBody(qi, filter), dataHeaders)
      const ms = performance.now() - started
      if (answer.status !== 200)
        throw new Error(`${method} POST /search answered ${answer.status}: ${answer.body.slice(0, 300)}`)
      if (method === 'bare') return { ms, keys: [] }
      const parsed = JSON.parse(answer.body) as {
        results: Array<{ file_id: number; chunk_index: number }>
        took_ms: number
      }
      return { ms, keys: parsed.results.map(r => `${r.file_id}:${r.chunk_index}`), took: parsed.took_ms }
    }
    const ef = method === 'index' ? await this.plannerEf(filter) : 0
    const sql = directSql(method, filter, withIndex, ef)
    const params = directParams(this.buffers[qi], filter)
    const started = performance.now()
    const rows: Array<{ BMID: number; BCHUNK: number }> = await this.db.pool.query(sql, params)
    const ms = performance.now() - started
    return { ms, keys: rows.map(r => `${r.BMID}:${r.BCHUNK}`) }
  }

  private readonly efs = new Map<string, number>()

  /** The beam the gateway's planner gives this filter's walk (widened by its share), or the configured floor when it would not walk. */
  async plannerEf(filter: Filter): Promise<number> {
    const key = `${filter.user_id}|${filter.group_key ?? ''}`
    let ef = this.efs.get(key)
    if (ef === undefined) {
      const { plan } = await explainSearch(this.provider, {
        ...filter,
        vector: this.queries[0],
        limit: LIMIT,
        min_score: 0
      })
      ef =
        plan.efSearch ??
        (filter.group_key !== undefined ? this.config.MARIADB_EF_SEARCH_FILTERED : this.config.MARIADB_EF_SEARCH)
      this.efs.set(key, ef)
    }
    return ef
  }

  async plainPlan(filter: Filter): Promise<string> {
    const rows: Array<{ key: string | null; type: string; Extra: string }> = await this.db.pool.query(
      `EXPLAIN ${directSql('plain', filter, false, 0)}`,
      directParams(this.buffers[0], filter)
    )
    return rows.map(r => `${r.key ?? 'no index'} (${r.type})`).join(', ')
  }

  /**
   * The plans the gateway used in a cell, from its /metrics counters (before/after),
   * with the share rule's plan and reason; the gateway takes the rule's index plan
   * only once its recall probes measured it at the target.
   */
  async gatewayPlan(filter: Filter, before: SearchPlanCounts, after: SearchPlanCounts): Promise<string> {
    const { plan } = await explainSearch(this.provider, {
      ...filter,
      vector: this.queries[0],
      limit: LIMIT,
      min_score: 0
    })
    const index = after.index - before.index
    const all = index + after.exact - before.exact
    const kind = index === 0 ? 'exact' : index === all ? 'index' : `index ${index}/${all}`
    return `${kind}: share rule: ${plan.kind}: ${plan.reason}`
  }

  /** Every method on every query, round-robin per query with a rotating order. */
  async measureCell(spec: CellSpec, withIndex: boolean, queries: number, warmup: number): Promise<CellResult> {
    const methods: Method[] = withIndex
      ? ['gateway', 'bare', 'exact', 'index', 'plain']
      : ['gateway', 'bare', 'exact', 'plain']
    const probe = await httpRequest(
      this.gateway.url,
      'POST',
      '/search',
      this.searchBody(0, spec.filter(0)),
      dataHeaders
    )
    const responseBytes = Buffer.byteLength(probe.body)
    const samples = new Map<Method, number[]>(methods.map(m => [m, []]))
    const counts = new Map<Method, number>(methods.map(m => [m, 0]))
    const keys = new Map<Method, string[][]>(methods.map(m => [m, []]))
    const took: number[] = []
    const plansBefore = await searchPlanCounts(this.gateway)
    const cpu = new CpuMeter({ gateway: this.gateway.pid })
    const cellStarted = performance.now()
    for (let i = -warmup; i < queries; i++) {
      const qi = (i + this.queries.length) % this.queries.length
      const filter = spec.filter(i + warmup)
      const rotation = (i + warmup) % methods.length
      const order = [...methods.slice(rotation), ...methods.slice(0, rotation)]
      for (const m of order) {
        const r = await this.run(m, qi, filter, withIndex, responseBytes)
        if (i < 0) continue
        samples.get(m)!.push(r.ms)
        counts.set(m, counts.get(m)! + r.keys.length)
        keys.get(m)![i] = r.keys
        if (r.took !== undefined) took.push(r.took)
      }
    }
    const idleMs = (this.idleCpuMsPerSecond * (performance.now() - cellStarted)) / 1000
    const gatewayCpuMsPerSearch = Math.max(0, cpu.stop().gateway * 1000 - idleMs) / (queries + warmup)
    const plansAfter = await searchPlanCounts(this.gateway)
    const stats: Partial<Record<Method, MethodStats>> = {}
    for (const m of methods) {
      stats[m] = {
        latency: summarize(samples.get(m)!),
        results: counts.get(m)! / queries,
        ...(m === 'gateway' ? { took: summarize(took) } : {})
      }
    }
    let recall: CellResult['recall']
    if (withIndex) {
      recall = {}
      const truth = keys.get('exact')!
      for (const m of ['gateway', 'index', 'plain'] as const) {
        let hit = 0
        let total = 0
        keys.get(m)!.forEach((got, i) => {
          const expected = new Set(truth[i])
          total += expected.size
          for (const k of got.slice(0, LIMIT)) if (expected.has(k)) hit++
        })
        recall[m] = total === 0 ? Number.NaN : hit / total
      }
    }
    // the baseline answers as well as the gateway must: an index plan below the recall
    // target is not a plan the gateway may take, so it is not the plan to beat
    const indexFaster = withIndex && stats.index!.latency.p50 < stats.exact!.latency.p50
    const indexMeetsTarget = (recall?.index ?? 0) >= this.config.MARIADB_RECALL_TARGET
    const best: 'exact' | 'index' = indexFaster && indexMeetsTarget ? 'index' : 'exact'
    const filter0 = spec.filter(0)
    return {
      cell: spec.id,
      label: spec.label,
      rows: spec.rows,
      vectorIndex: withIndex,
      methods: stats,
      best,
      ...(indexFaster && !indexMeetsTarget ? { fasterBelowTarget: 'index' as const } : {}),
      ratioP50: ratio(stats.gateway!.latency.p50, stats[best]!.latency.p50),
      ratioP95: ratio(stats.gateway!.latency.p95, stats[best]!.latency.p95),
      httpRatioP50: ratio(stats.gateway!.latency.p50, stats[best]!.latency.p50 + stats.bare!.latency.p50),
      responseBytes,
      gatewayPlan: await this.gatewayPlan(filter0, plansBefore, plansAfter),
      plainPlan: await this.plainPlan(filter0),
      ...(recall !== undefined ? { recall } : {}),
      gatewayCpuMsPerSearch
    }
  }
}

/** `rows` in batches of `size` (the first `limit` of them). */
export function batchesOf(rows: Iterable<BenchChunk>, size: number, limit = Number.POSITIVE_INFINITY): BenchChunk[][] {
  const out: BenchChunk[][] = []
  let current: BenchChunk[] = []
  let n = 0
  for (const r of rows) {
    if (n++ >= limit) break
    current.push(r)
    if (current.length === size) {
      out.push(current)
      current = []
    }
  }
  if (current.length > 0) out.push(current)
  return out
}

export function gatewayConfig(url: string, table = TABLE): Config {
  return loadConfig({ MARIADB_URL: url, MARIADB_TABLE: table, AUTH_DISABLED: 'true' })
}

/** The gateway's configuration for a bench database and its MariaDB provider, initialised (BRAG created as at start). */
export async function initMariadb(db: BenchDatabase): Promise<{ config: Config; provider: MariaDbProvider }> {
  const config = gatewayConfig(db.url)
  // the bench's own provider loads rows and explains plans: the share rule's, unmeasured
  const provider = createProviders({ ...config, MARIADB_INDEX_TRUST: 'share-rule' }, db.pool).mariadb
  await provider.init()
  return { config, provider }
}

export async function runSearchSection(o: BenchOptions): Promise<SearchSectionResult> {
  const layout = searchLayout(o.largeUserRows, o.smallUsers, o.smallUserRows)
  const model = new ClusterModel(o.seed, { dimension: 1024 })
  const server = await serverVariables(o.serverUrl, [
    'version',
    'innodb_buffer_pool_size',
    'mhnsw_max_cache_size',
    'mhnsw_default_m',
    'max_allowed_packet'
  ])

  const db = await createDatabase(o.serverUrl, `vgbench_${o.runId}_search`, o.keep, Math.max(4, o.ingestClients + 1))
  let ingestDb: BenchDatabase | undefined
  let gateway: Gateway | undefined
  let bare: BareHttp | undefined
  try {
    const { config, provider } = await initMariadb(db)

    // --- direct load (generation not timed)
    log(
      `A: generating ${o.searchRows} rows (1 user x ${o.largeUserRows}, ${o.smallUsers} users x ${o.smallUserRows}, interleaved, 1024-d clustered)`
    )
    let t = performance.now()
    const version0 = Date.now() * 1000
    const prepared = batchesOf(layoutRows(layout, model, o.seed), 1000).map((b, i) =>
      insertParams(b, version0 + i * 1000)
    )
    const generationMs = performance.now() - t
    log(`A: direct binary prepared insert, ${o.ingestClients} connections, 1000-row transactions of 500-row statements`)
    const mariadbPid = await serverPid(o.serverUrl)
    let cpu = new CpuMeter({ mariadb: mariadbPid })
    const directIngest = await timedDirectInsert(db.pool, TABLE, prepared, o.ingestClients)
    directIngest.cpu = cpu.stop()
    prepared.length = 0
    log(
      `A: direct ingest ${directIngest.chunks} rows in ${(directIngest.ms / 1000).toFixed(1)} s = ${directIngest.chunksPerSecond.toFixed(0)} chunks/s`
    )

    // --- the gateway's rows, inserted directly into fresh tables, then through the gateway into a fresh database
    ingestDb = await createDatabase(o.serverUrl, `vgbench_${o.runId}_ingest`, o.keep, Math.max(4, o.ingestClients + 1))
    const ingestBatches = batchesOf(layoutRows(layout, model, o.seed + 1), 1000, o.ingestChunks)
    const direct = async (table: string, concurrency: number): Promise<IngestResult> => {
      await createProviders(gatewayConfig(ingestDb!.url, table), ingestDb!.pool).mariadb.init()
      const params = ingestBatches.map((b, i) => insertParams(b, version0 + i * 1000))
      const meter = new CpuMeter({ mariadb: mariadbPid })
      const r = await timedDirectInsert(ingestDb!.pool, table, params, concurrency)
      r.cpu = meter.stop()
      await ingestDb!.pool.query(`DROP TABLE ${table}`)
      log(
        `A: direct insert of the same ${r.chunks} rows, ${concurrency} connection(s): ${r.chunksPerSecond.toFixed(0)} chunks/s`
      )
      return r
    }
    const directSame = await direct('BRAG_DIRECT_SAME', o.ingestClients)
    const directSingle = await direct('BRAG_DIRECT_ONE', 1)
    const ingestGateway = await startGateway({ MARIADB_URL: ingestDb.url })
    const ingestGatewayIdleRss = ingestGateway.memory.peak()
    t = performance.now()
    const bodies = gatewayBodies(ingestBatches)
    ingestBatches.length = 0
    log(
      `A: ${bodies.length} POST /chunks bodies serialised in ${((performance.now() - t) / 1000).toFixed(1)} s ` +
        `(${(bodies.reduce((s, b) => s + b.length, 0) / bodies.length / 1024 / 1024).toFixed(1)} MiB each); sending from ${o.ingestClients} clients`
    )
    ingestGateway.memory.phase = 'ingest'
    cpu = new CpuMeter({ gateway: ingestGateway.pid, mariadb: mariadbPid })
    const gatewayIngest = await timedGatewayIngest(ingestGateway.url, bodies, 1000, o.ingestClients)
    gatewayIngest.cpu = cpu.stop()
    bodies.length = 0
    const ingestGatewayPeakRss = Math.max(ingestGateway.memory.peak(), await ingestGateway.stop())
    const [{ n: ingested }] = await ingestDb.pool.query(`SELECT COUNT(*) AS n FROM ${TABLE}`)
    if (Number(ingested) !== gatewayIngest.chunks)
      throw new Error(`gateway ingest stored ${String(ingested)} rows, expected ${gatewayIngest.chunks}`)
    await ingestDb.drop()
    log(
      `A: gateway ingest ${gatewayIngest.chunks} chunks in ${(gatewayIngest.ms / 1000).toFixed(1)} s = ${gatewayIngest.chunksPerSecond.toFixed(0)} chunks/s ` +
        `(ratio ${(gatewayIngest.chunksPerSecond / directSame.chunksPerSecond).toFixed(2)})`
    )

    // --- searches
    gateway = await startGateway({ MARIADB_URL: db.url })
    const searchGatewayIdleRss = gateway.memory.peak()
    const queries = queryVectors(model, o.seed + 7, Math.max(o.queries, 50))
    // the answer size is set per cell (?bytes=), from the gateway's own answer there
    bare = await startBareHttp(0)
    const runner = new SearchRunner(gateway, db, provider, config, queries, bare)
    await sleep(1000)
    const idle = new CpuMeter({ gateway: gateway.pid })
    await sleep(5000)
    runner.idleCpuMsPerSecond = (idle.stop().gateway * 1000) / 5
    log(`A: idle gateway CPU ${runner.idleCpuMsPerSecond.toFixed(0)} ms/s`)
    const results: CellResult[] = []
    let indexBuild: SearchSectionResult['indexBuild'] = { m: o.indexM, ms: Number.NaN, warnings: [] }
    for (const withIndex of [false, true]) {
      if (withIndex) {
        gateway.memory.phase = 'index-build'
        log(`A: building the cosine vector index, M=${o.indexM}`)
        const { duration_ms: ms } = await provider.createVectorIndex({ m: o.indexM })
        const warnings = await provider.capacityWarnings()
        // the gateway caches the index state: its status view reads it afresh
        const status = await httpJson(gateway.url, 'GET', '/admin/vector-storage/status', undefined, adminHeaders)
        if (status.providers?.mariadb?.vector_index?.usable !== true)
          throw new Error(`gateway does not see the index: ${JSON.stringify(status.providers?.mariadb)}`)
        log(`A: index built in ${(ms / 1000).toFixed(1)} s`)
        indexBuild = { m: o.indexM, ms, warnings }
      }
      gateway.memory.phase = withIndex ? 'search-index' : 'search-noindex'
      for (const spec of cells(o)) {
        log(
          `A: ${spec.label}, ${withIndex ? 'with' : 'without'} vector index: ${o.queries} queries x ${withIndex ? 5 : 4} methods`
        )
        const r = await runner.measureCell(spec, withIndex, o.queries, o.warmup)
        log(
          `   gateway p50 ${r.methods.gateway!.latency.p50.toFixed(2)} ms, best direct (${r.best}) ${r.methods[r.best]!.latency.p50.toFixed(2)} ms, ` +
            `bare HTTP ${r.methods.bare!.latency.p50.toFixed(2)} ms; gateway / (best + bare) ${r.httpRatioP50.toFixed(2)}`
        )
        results.push(r)
      }
    }
    gateway.memory.phase = 'profile'
    log('A: profiling the gateway search path')
    const profile = await profileSearch(runner, o)
    const searchGatewayPeakRss = Math.max(gateway.memory.peak(), await gateway.stop())
    gateway = undefined

    return {
      layout: {
        rows: o.searchRows,
        largeUserRows: o.largeUserRows,
        smallUsers: o.smallUsers,
        smallUserRows: o.smallUserRows,
        groupRows: Math.round(o.largeUserRows / GROUPS),
        dimension: 1024
      },
      server,
      generationMs,
      directIngest,
      directSame,
      directSingle,
      gatewayIngest,
      ingestRatio: gatewayIngest.chunksPerSecond / directSame.chunksPerSecond,
      indexBuild,
      queries: o.queries,
      warmup: o.warmup,
      cells: results,
      profile,
      memory: { ingestGatewayPeakRss, searchGatewayPeakRss, searchGatewayIdleRss, ingestGatewayIdleRss },
      idleGatewayCpuMsPerSecond: runner.idleCpuMsPerSecond
    }
  } finally {
    await gateway?.stop().catch(() => {})
    await bare?.stop().catch(() => {})
    await ingestDb?.drop().catch(() => {})
    await db.drop()
  }
}
