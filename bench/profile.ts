// Where a gateway search spends its time, next to the same SQL issued directly.
// Interleaved per query on the running gateway (with the vector index present):
//   live          GET /health/live: the bare HTTP round trip through Fastify
//   gateway       POST /search over HTTP (and its took_ms: time inside the handler)
//   inject        the same request through app.inject() of a gateway built in this process
//                 (buildApp: parsing, validation, auth, hooks, serialisation; no socket)
//   router        app.router.search() of that in-process gateway (settings, metrics proxy, merge)
//   provider      MariaDbProvider.search() in this process: plan + SQL + mapping, no HTTP
//   gateway-sql   the exact SQL text the provider plans, issued with pool.query
//   gateway-sql-x the same SQL with pool.execute (binary protocol, prepared)
//   best          the best direct plan of section A (LIMIT 10)
// plus in-process micro-timings of what the handler does with a 1024-float body.
import { Ajv } from 'ajv'
import addFormats from 'ajv-formats'
import { buildApp } from '../src/app.ts'
import { loadConfig } from '../src/config.ts'
import { encodeVector } from '../src/providers/mariadb/vector-codec.ts'
import { searchBody } from '../src/schemas/search.ts'
import { LARGE_USER, SMALL_USER_BASE } from './data.ts'
import { ADMIN_KEY, DATA_KEY, dataHeaders, httpRequest } from './harness.ts'
import type { SearchRunner } from './mariadb-search.ts'
import type { BenchOptions } from './options.ts'
import { summarize, type Summary } from './stats.ts'
import { explainSearch } from '../test/helpers/mariadb-explain.ts'

export type ProfileMethod =
  'live' | 'gateway' | 'took' | 'inject' | 'router' | 'provider' | 'gateway-sql' | 'gateway-sql-x' | 'best'

export interface ProfileCase {
  label: string
  plan: string
  best: 'exact' | 'index'
  latency: Partial<Record<ProfileMethod, Summary>>
}

export interface SearchProfile {
  cases: ProfileCase[]
  /** microseconds per call, mean, in this process */
  micro: {
    jsonParseUs: number
    validateUs: number
    encodeVectorUs: number
    stringifyReplyUs: number
    bodyBytes: number
  }
}

function microUs(fn: () => unknown, reps: number): number {
  for (let i = 0; i < Math.min(200, reps); i++) fn()
  const started = performance.now()
  for (let i = 0; i < reps; i++) fn()
  return ((performance.now() - started) * 1000) / reps
}

export async function profileSearch(runner: SearchRunner, o: BenchOptions): Promise<SearchProfile> {
  const n = Math.max(20, Math.min(o.queries, 200))
  const cases: ProfileCase[] = []
  const app = await buildApp(
    loadConfig({
      MARIADB_URL: runner.db.url,
      API_KEY: DATA_KEY,
      ADMIN_API_KEY: ADMIN_KEY,
      LOG_LEVEL: 'warn',
      MARIADB_POOL_SIZE: '4'
    }),
    { logger: false }
  )
  await app.ready()
  try {
    for (const c of [
      { label: `user ${o.smallUserRows} rows`, filter: { user_id: SMALL_USER_BASE }, best: 'exact' as const },
      { label: `user ${o.largeUserRows} rows`, filter: { user_id: LARGE_USER }, best: 'index' as const }
    ]) {
      const { plan } = await explainSearch(runner.provider, {
        ...c.filter,
        vector: runner.queries[0],
        limit: 10,
        min_score: 0
      })
      const samples = new Map<ProfileMethod, number[]>()
      const push = (m: ProfileMethod, ms: number): void => {
        samples.set(m, [...(samples.get(m) ?? []), ms])
      }
      const methods: Array<Exclude<ProfileMethod, 'took'>> = [
        'live',
        'gateway',
        'inject',
        'router',
        'provider',
        'gateway-sql',
        'gateway-sql-x',
        'best'
      ]
      let executeWorks = true
      for (let i = -o.warmup; i < n; i++) {
        const qi = (i + runner.queries.length) % runner.queries.length
        const query = { ...c.filter, vector: runner.queries[qi], limit: 10, min_score: 0 }
        const planned = (await explainSearch(runner.provider, query)).plan
        const sql =
          planned.kind === 'index'
            ? `SET STATEMENT mhnsw_ef_search = ${planned.efSearch ?? runner.config.MARIADB_EF_SEARCH} FOR ${planned.sql}`
            : planned.sql
        const rotation = ((i % methods.length) + methods.length) % methods.length
        for (const m of [...methods.slice(rotation), ...methods.slice(0, rotation)]) {
          let ms: number
          let started: number
          switch (m) {
            case 'live':
              started = performance.now()
              await httpRequest(runner.gateway.url, 'GET', '/health/live')
              ms = performance.now() - started
              break
            case 'gateway': {
              const r = await runner.run('gateway', qi, c.filter, true)
              ms = r.ms
              if (i >= 0) push('took', r.took ?? Number.NaN)
              break
            }
            case 'inject': {
              const body = runner.searchBody(qi, c.filter)
              started = performance.now()
              const res = await app.inject({
                method: 'POST',
                url: '/search',
                headers: { ...dataHeaders, 'content-type': 'application/json' },
                payload: body
              })
              JSON.parse(res.body)
              ms = performance.now() - started
              if (res.statusCode !== 200)
                throw new Error(`inject POST /search: ${res.statusCode} ${res.body.slice(0, 200)}`)
              break
            }
            case 'router':
              started = performance.now()
              await app.router.search(query)
              ms = performance.now() - started
              break
            case 'provider':
              started = performance.now()
              await runner.provider.search(query)
              ms = performance.now() - started
              break
            case 'gateway-sql':
              started = performance.now()
              await runner.db.pool.query(sql, planned.params)
              ms = performance.now() - started
              break
            case 'gateway-sql-x':
              if (!executeWorks) continue
              started = performance.now()
              try {
                await runner.db.pool.execute(sql, planned.params)
              } catch {
                executeWorks = false
                continue
              }
              ms = performance.now() - started
              break
            case 'best':
              ms = (await runner.run(c.best, qi, c.filter, true)).ms
              break
          }
          if (i >= 0) push(m, ms)
        }
      }
      cases.push({
        label: c.label,
        plan: `${plan.kind}: ${plan.reason}`,
        best: c.best,
        latency: Object.fromEntries([...samples].map(([m, s]) => [m, summarize(s)]))
      })
    }
  } finally {
    await app.close()
  }

  // what the handler does per request, in this process
  const body = runner.searchBody(0, { user_id: SMALL_USER_BASE })
  const ajv = new Ajv({
    coerceTypes: false,
    useDefaults: true,
    removeAdditional: false,
    allErrors: false,
    strict: false
  })
  addFormats.default(ajv)
  const validate = ajv.compile(searchBody(1024))
  const parsed = JSON.parse(body) as { vector: number[] }
  if (validate(JSON.parse(body)) !== true)
    throw new Error(`profile: the search body does not validate: ${ajv.errorsText(validate.errors)}`)
  const reply = {
    results: Array.from({ length: 10 }, (_, i) => ({
      point_id: `doc_1_${i}_0`,
      user_id: 1,
      file_id: i,
      chunk_index: 0,
      group_key: 'G1',
      file_type: 0,
      start_line: 0,
      end_line: 39,
      text: 'x'.repeat(400),
      created: 1_760_000_000,
      score: 0.8123456789,
      provider: 'mariadb'
    })),
    providers_queried: ['mariadb'],
    providers_unavailable: [],
    took_ms: 3.21
  }
  return {
    cases,
    micro: {
      jsonParseUs: microUs(() => JSON.parse(body), 2000),
      validateUs: microUs(() => validate(JSON.parse(body)), 2000) - microUs(() => JSON.parse(body), 2000),
      encodeVectorUs: microUs(() => encodeVector(parsed.vector), 5000),
      stringifyReplyUs: microUs(() => JSON.stringify(reply), 5000),
      bodyBytes: Buffer.byteLength(body)
    }
  }
}
