// Section L (issue 9 §1-§3): the gateway against fair baselines, on the 1,000-row user.
// - one client: gateway p50 vs (direct exact-plan SQL p50 + bare-HTTP p50), where bare
//   HTTP is bench/bare-http.ts (Fastify, same request body, a response of the same size,
//   same keep-alive client); gateway CPU ms per search;
// - under load: 16 and 64 concurrent keep-alive clients (autocannon) for a fixed time,
//   gateway searches/s vs the same SQL through a direct pool of the gateway's pool size
//   (MARIADB_POOL_SIZE), with p50/p99 of each.
import autocannon from 'autocannon'
import { ClusterModel, layoutRows, queryVectors, uniformLayout, vectorBytes, type BenchChunk } from './data.ts'
import {
  createDatabase,
  dataHeaders,
  httpRequest,
  log,
  sleep,
  startBareHttp,
  startGateway,
  type BareHttp,
  type Gateway
} from './harness.ts'
import { directInsert, insertParams } from './ingest.ts'
import { directParams, directSql, gatewayConfig } from './mariadb-search.ts'
import { oneClient, searchOverHttp } from './one-client.ts'
import { createProviders } from '../src/providers/create-providers.ts'
import type { BenchOptions } from './options.ts'
import { summarize, type Summary } from './stats.ts'

const USER = 7001
const ROWS = 1000
const POOL = 10
/** seconds of load per path and client count (a smoke run only checks that it works) */
const SECONDS = 5
const QUICK_SECONDS = 2

export interface LoadRow {
  clients: number
  gateway: { rps: number; p50: number; p99: number }
  bare: { rps: number; p50: number; p99: number }
  direct: { rps: number; p50: number; p99: number }
  /** gateway searches/s / direct searches/s */
  ratio: number
}

export interface LoadSectionResult {
  rows: number
  single: { gateway: Summary; bare: Summary; direct: Summary; responseBytes: number }
  /** gateway p50 / (direct p50 + bare p50) */
  latencyRatio: number
  gatewayCpuMsPerSearch: number
  /** CPU ms of the bare HTTP process per request: what parsing the same body and answering costs Fastify alone */
  bareCpuMsPerRequest: number
  load: LoadRow[]
}

async function cannon(
  url: string,
  clients: number,
  body: string,
  seconds: number
): Promise<{ rps: number; p50: number; p99: number }> {
  const r = await autocannon({
    url: `${url}/search`,
    method: 'POST',
    connections: clients,
    duration: seconds,
    headers: { 'content-type': 'application/json', ...dataHeaders },
    body
  })
  if (r.non2xx > 0 || r.errors > 0) throw new Error(`L: ${url}: ${r.non2xx} non-2xx, ${r.errors} errors`)
  return { rps: r.requests.average, p50: r.latency.p50, p99: r.latency.p99 }
}

export async function runLoadSection(o: BenchOptions): Promise<LoadSectionResult> {
  const db = await createDatabase(o.serverUrl, `vgbench_${o.runId}_load`, o.keep, POOL)
  let gateway: Gateway | undefined
  let bare: BareHttp | undefined
  try {
    await createProviders(gatewayConfig(db.url), db.pool).mariadb.init()
    const model = new ClusterModel(o.seed + 300, { dimension: 1024 })
    const rows = layoutRows(uniformLayout(USER, 1, ROWS), model, o.seed)
    await directInsert(
      db.pool,
      'BRAG',
      1,
      () => {
        const batch: BenchChunk[] = []
        for (let r = rows.next(); !r.done; r = rows.next()) batch.push(r.value)
        return insertParams(batch, Date.now() * 1000)
      },
      { concurrency: 1 }
    )
    const queries = queryVectors(model, o.seed + 301, 50)
    const bodies = queries.map(v => JSON.stringify({ user_id: USER, vector: v, limit: 10, min_score: 0 }))
    const sql = directSql('exact', { user_id: USER }, false, 0)
    const params = queries.map(v => directParams(vectorBytes(v), { user_id: USER }))

    const gw = await startGateway({ MARIADB_URL: db.url, MARIADB_POOL_SIZE: String(POOL) })
    gateway = gw
    const first = await httpRequest(gw.url, 'POST', '/search', bodies[0], dataHeaders)
    if (first.status !== 200) throw new Error(`L: gateway search ${first.status} ${first.body.slice(0, 200)}`)
    const responseBytes = Buffer.byteLength(first.body)
    const bareHttp = await startBareHttp(responseBytes)
    bare = bareHttp
    const bareUrl = bareHttp.url

    log(`L: one client, ${queries.length * 4} searches per method, interleaved (gateway, bare HTTP, direct SQL)`)
    const one = await oneClient(
      [
        ...searchOverHttp(gw, bareHttp, bodies),
        { name: 'direct', run: async i => await db.pool.query(sql, params[i]) }
      ],
      queries.length,
      5
    )
    const single = {
      gateway: one.latency.gateway,
      bare: one.latency.bare,
      direct: one.latency.direct,
      responseBytes
    }

    const load: LoadRow[] = []
    const seconds = o.quick ? QUICK_SECONDS : SECONDS
    for (const clients of [16, 64]) {
      log(`L: ${clients} keep-alive clients, ${seconds} s each: gateway, bare HTTP, direct pool of ${POOL}`)
      const g = await cannon(gw.url, clients, bodies[0], seconds)
      const b = await cannon(bareUrl, clients, bodies[0], seconds)
      const lat: number[] = []
      const until = performance.now() + seconds * 1000
      let n = 0
      await Promise.all(
        Array.from({ length: clients }, async (_, c) => {
          while (performance.now() < until) {
            const t = performance.now()
            await db.pool.query(sql, params[(c + n) % params.length])
            lat.push(performance.now() - t)
            n++
          }
        })
      )
      const s = summarize(lat)
      const sorted = [...lat].sort((x, y) => x - y)
      const direct = { rps: n / seconds, p50: s.p50, p99: sorted[Math.floor(sorted.length * 0.99)] ?? Number.NaN }
      load.push({ clients, gateway: g, bare: b, direct, ratio: g.rps / direct.rps })
    }
    return {
      rows: ROWS,
      single,
      latencyRatio: single.gateway.p50 / (single.direct.p50 + single.bare.p50),
      gatewayCpuMsPerSearch: one.cpuMsPerRequest.gateway,
      bareCpuMsPerRequest: one.cpuMsPerRequest.bare,
      load
    }
  } finally {
    await bare?.stop().catch(() => {})
    await gateway?.stop().catch(() => {})
    await db.drop()
    await sleep(0)
  }
}
