// Section L (issue 9 §1-§3): the gateway against fair baselines, on the 1,000-row user.
// - one client: gateway p50 vs (direct exact-plan SQL p50 + bare-HTTP p50), where bare
//   HTTP is bench/bare-http.ts (Fastify, same request body, a response of the same size,
//   same keep-alive client); gateway CPU ms per search;
// - under load: 16 and 64 concurrent keep-alive clients (autocannon) for a fixed time,
//   gateway searches/s vs the same SQL through a direct pool of the gateway's pool size
//   (MARIADB_POOL_SIZE), with p50/p99 of each. Gateway and direct pool alternate over
//   several rounds, each going first in turn, and the medians are compared: one 5 s window
//   each swung the 16-client ratio between 0.50 and 0.91 from run to run on a 2-core box.
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
/** alternating rounds of gateway and direct pool per client count */
const ROUNDS = 3
const QUICK_ROUNDS = 1

interface LoadFigures {
  rps: number
  p50: number
  p99: number
}

export interface LoadRow {
  clients: number
  /** medians over the rounds */
  gateway: LoadFigures
  bare: LoadFigures
  direct: LoadFigures
  /** median gateway searches/s / median direct searches/s */
  ratio: number
  /** gateway / direct searches/s of each round */
  roundRatios: number[]
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

async function cannon(url: string, clients: number, body: string, seconds: number): Promise<LoadFigures> {
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
    const rounds = o.quick ? QUICK_ROUNDS : ROUNDS
    const directLoad = async (clients: number): Promise<LoadFigures> =>
      await directPoolLoad(clients, seconds, async i => await db.pool.query(sql, params[i % params.length]))
    for (const clients of [16, 64]) {
      log(
        `L: ${clients} keep-alive clients, ${rounds} round(s) of ${seconds} s per path: gateway and direct pool of ${POOL} alternating, then bare HTTP`
      )
      const g: LoadFigures[] = []
      const d: LoadFigures[] = []
      for (let round = 0; round < rounds; round++) {
        // each path goes first in turn, so neither always runs on a warmer or cooler box
        if (round % 2 === 0) {
          g.push(await cannon(gw.url, clients, bodies[0], seconds))
          d.push(await directLoad(clients))
        } else {
          d.push(await directLoad(clients))
          g.push(await cannon(gw.url, clients, bodies[0], seconds))
        }
      }
      const b = await cannon(bareUrl, clients, bodies[0], seconds)
      const gateway = medianFigures(g)
      const direct = medianFigures(d)
      load.push({
        clients,
        gateway,
        bare: b,
        direct,
        ratio: gateway.rps / direct.rps,
        roundRatios: g.map((x, i) => x.rps / d[i].rps)
      })
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

/** `clients` concurrent callers of `query(i)` for `seconds`: searches/s and latency. */
async function directPoolLoad(
  clients: number,
  seconds: number,
  query: (i: number) => Promise<unknown>
): Promise<LoadFigures> {
  const lat: number[] = []
  const until = performance.now() + seconds * 1000
  let n = 0
  await Promise.all(
    Array.from({ length: clients }, async (_, c) => {
      while (performance.now() < until) {
        const t = performance.now()
        await query(c + n)
        lat.push(performance.now() - t)
        n++
      }
    })
  )
  const sorted = lat.sort((x, y) => x - y)
  return { rps: n / seconds, p50: summarize(sorted).p50, p99: sorted[Math.floor(sorted.length * 0.99)] ?? Number.NaN }
}

/** Each figure's median over the rounds. */
function medianFigures(rounds: LoadFigures[]): LoadFigures {
  const median = (pick: (f: LoadFigures) => number): number => summarize(rounds.map(pick)).p50
  return { rps: median(f => f.rps), p50: median(f => f.p50), p99: median(f => f.p99) }
}
