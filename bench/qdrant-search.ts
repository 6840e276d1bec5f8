// Section Q (issue 9 target 1, the Qdrant path): one user's 1,000 chunks x 1024-d in Qdrant (the
// emulator in its own process, or the server at --qdrant-url), active provider qdrant, read mode
// active. One sequential keep-alive client, interleaved query by query:
// - gateway: POST /search;
// - bare HTTP: bench/bare-http.ts (Fastify, same request body, an answer of the gateway's size),
//   over the same keep-alive client;
// - direct: the official @qdrant/js-client-rest client's query() on the same collection with the
//   request the gateway's provider sends (QdrantProvider.searchRequest).
// Target: gateway p50 <= 1.10 x (direct p50 + bare p50). Also the gateway's CPU ms per search.
import { ClusterModel, makeChunk, queryVectors } from './data.ts'
import {
  DIMENSION,
  adminHeaders,
  dataHeaders,
  httpJson,
  httpRequest,
  log,
  startBareHttp,
  withQdrantStack,
  type BareHttp,
  type HttpAnswer,
  type QdrantKind
} from './harness.ts'
import { oneClient, searchOverHttp } from './one-client.ts'
import type { BenchOptions } from './options.ts'
import { store, waitForSetting } from './read-modes.ts'
import type { Summary } from './stats.ts'
import { loadConfig } from '../src/config.ts'
import { createProviders } from '../src/providers/create-providers.ts'
import { qdrantPointId } from '../src/providers/qdrant/point-id.ts'
import type { SearchQuery } from '../src/providers/vector-provider.ts'

/** gateway p50 / (direct p50 + bare HTTP p50) must not exceed this */
export const QDRANT_SEARCH_TARGET = 1.1

const USER = 9001
const ROWS = 1000
const QUERIES = 50
const LIMIT = 10

export interface QdrantSearchResult {
  rows: number
  dimension: number
  queries: number
  /** measured rounds over the queries (after one warm-up round) */
  rounds: number
  latency: { gateway: Summary; bare: Summary; direct: Summary }
  responseBytes: number
  /** gateway p50 / (direct p50 + bare p50) */
  latencyRatio: number
  gatewayCpuMsPerSearch: number
  /** CPU ms of the bare HTTP process per request */
  bareCpuMsPerRequest: number
  qdrant: QdrantKind
  qdrantUrl: string
}

export async function runQdrantSearchSection(o: BenchOptions): Promise<QdrantSearchResult> {
  const model = new ClusterModel(o.seed + 400, { dimension: DIMENSION })
  const rounds = o.quick ? 3 : 5
  return await withQdrantStack(o, 'qdrantsearch', 2, async stack => {
    const collection = stack.qdrant.collection('qdrant_search')
    const gateway = await stack.startGateway(collection)
    await httpJson(gateway.url, 'PUT', '/admin/vector-storage/provider', { provider: 'qdrant' }, adminHeaders)
    await httpJson(gateway.url, 'PUT', '/admin/vector-storage/read-mode', { read_mode: 'active' }, adminHeaders)
    await waitForSetting(gateway.url, 'active_provider', 'qdrant')
    await waitForSetting(gateway.url, 'read_mode', 'active')
    log(`Q: ${ROWS} chunks x ${DIMENSION}-d of one user into Qdrant (${stack.qdrant.label}) through the gateway`)
    await store(
      gateway.url,
      Array.from({ length: ROWS }, (_, k) => makeChunk(model, o.seed, USER, k))
    )
    const stats = await httpJson(gateway.url, 'GET', `/stats?user_id=${USER}`)
    if (stats.providers.qdrant !== ROWS || (stats.providers.mariadb ?? 0) !== 0)
      throw new Error(`Q: expected ${ROWS} chunks in qdrant only, got ${JSON.stringify(stats.providers)}`)

    // the provider the gateway builds from the same configuration: its request, its client
    const provider = createProviders(
      loadConfig({
        MARIADB_URL: stack.db.url,
        ...stack.qdrant.env,
        QDRANT_COLLECTION: collection,
        VECTOR_DIMENSION: String(DIMENSION),
        AUTH_DISABLED: 'true'
      }),
      stack.db.pool
    ).qdrant!
    const vectors = queryVectors(model, o.seed + 401, QUERIES)
    const queries: SearchQuery[] = vectors.map(vector => ({ user_id: USER, vector, limit: LIMIT, min_score: 0 }))
    const bodies = queries.map(q => JSON.stringify(q))
    const requests = queries.map(q => provider.searchRequest(q))

    const first = await httpRequest(gateway.url, 'POST', '/search', bodies[0], dataHeaders)
    if (first.status !== 200) throw new Error(`Q: gateway search ${first.status} ${first.body.slice(0, 200)}`)
    const queried = (JSON.parse(first.body) as { providers_queried: string[] }).providers_queried
    if (queried.join() !== 'qdrant') throw new Error(`Q: the gateway queried ${queried.join(', ')}, not qdrant alone`)
    const responseBytes = Buffer.byteLength(first.body)

    let bare: BareHttp | undefined
    try {
      const bareHttp = await startBareHttp(responseBytes)
      bare = bareHttp
      log(
        `Q: one client, ${QUERIES * (rounds - 1)} searches per method after ${QUERIES} warm-up, interleaved ` +
          '(gateway, bare HTTP, direct Qdrant client)'
      )
      let checked = 0
      const one = await oneClient(
        [
          ...searchOverHttp(gateway, bareHttp, bodies),
          { name: 'direct', run: async i => await provider.qdrant.query(collection, requests[i]) }
        ],
        QUERIES,
        rounds,
        (i, [g, , d]) => {
          const answer = g as HttpAnswer
          if (answer.status !== 200) throw new Error(`Q: gateway search ${answer.status} ${answer.body.slice(0, 200)}`)
          const hits = (JSON.parse(answer.body) as { results: Array<{ file_id: number; chunk_index: number }> }).results
          const mine = hits.map(h => qdrantPointId({ user_id: USER, file_id: h.file_id, chunk_index: h.chunk_index }))
          const direct = (d as Awaited<ReturnType<typeof provider.qdrant.query>>).points.map(p => String(p.id))
          const same = mine.length === LIMIT && direct.length === LIMIT && mine.every(id => direct.includes(id))
          if (!same)
            throw new Error(
              `Q: query ${i}: the gateway's top ${LIMIT} (${mine.join(', ')}) differ from the direct call's (${direct.join(', ')})`
            )
          checked++
        }
      )
      log(`Q: gateway and direct top-${LIMIT} ids agreed on all ${checked} searches`)
      return {
        rows: ROWS,
        dimension: DIMENSION,
        queries: QUERIES,
        rounds: rounds - 1,
        latency: { gateway: one.latency.gateway, bare: one.latency.bare, direct: one.latency.direct },
        responseBytes,
        latencyRatio: one.latency.gateway.p50 / (one.latency.direct.p50 + one.latency.bare.p50),
        gatewayCpuMsPerSearch: one.cpuMsPerRequest.gateway,
        bareCpuMsPerRequest: one.cpuMsPerRequest.bare,
        qdrant: stack.qdrant.kind,
        qdrantUrl: stack.qdrant.url
      }
    } finally {
      await bare?.stop().catch(() => {})
    }
  })
}
