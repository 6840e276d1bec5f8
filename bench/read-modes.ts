// Section B: read modes. With Qdrant configured (the project's REST emulator in a
// child process, or the server at --qdrant-url) each user's first half of files is
// stored while mariadb is active, then the provider is switched to qdrant and the
// second half is stored. Searches then run through the gateway in read mode
// `active` (Qdrant only) and `merged` (both providers in parallel, merged by key),
// alternating blocks of queries between the two modes.
import { ClusterModel, chunksBody, makeChunk, queryVectors, type BenchChunk } from './data.ts'
import {
  adminHeaders,
  dataHeaders,
  httpJson,
  httpRequest,
  log,
  sleep,
  withQdrantStack,
  type QdrantKind
} from './harness.ts'
import type { BenchOptions } from './options.ts'
import { ratio, summarize, type Summary } from './stats.ts'

export type ReadMode = 'active' | 'merged'

export interface ReadModeResult {
  users: number
  chunksPerUser: number
  perProvider: { mariadb: number; qdrant: number }
  activeProvider: 'qdrant'
  queries: number
  block: number
  modes: Record<
    ReadMode,
    {
      latency: Summary
      took: Summary
      results: number
      fromMariadb: number
      fromQdrant: number
      providersQueried: string
    }
  >
  ratioP50: number
  ratioP95: number
  gatewayPeakRss: number
  qdrant: QdrantKind
  qdrantUrl: string
}

const FIRST_USER = 2001

/** Polls GET /capabilities until the gateway reports the setting (10 s at most). */
export async function waitForSetting(url: string, key: 'active_provider' | 'read_mode', value: string): Promise<void> {
  const deadline = Date.now() + 10_000
  for (;;) {
    const caps = await httpJson(url, 'GET', '/capabilities')
    if (caps[key] === value) return
    if (Date.now() > deadline) throw new Error(`gateway still reports ${key}=${String(caps[key])}, expected ${value}`)
    await sleep(20)
  }
}

/** Stores chunks through POST /chunks, 1,000 per request. */
export async function store(url: string, chunks: BenchChunk[]): Promise<void> {
  for (let i = 0; i < chunks.length; i += 1000) {
    const answer = await httpRequest(url, 'POST', '/chunks', chunksBody(chunks.slice(i, i + 1000)), dataHeaders)
    if (answer.status !== 200) throw new Error(`POST /chunks answered ${answer.status}: ${answer.body.slice(0, 300)}`)
  }
}

export async function runReadModeSection(o: BenchOptions): Promise<ReadModeResult> {
  const model = new ClusterModel(o.seed + 100, { dimension: 1024 })
  return await withQdrantStack(o, 'readmodes', 2, async stack => {
    const gateway = await stack.startGateway(stack.qdrant.collection('read_modes'), { SETTINGS_CACHE_MS: '1000' })
    const users = Array.from({ length: o.readModeUsers }, (_, i) => FIRST_USER + i)
    const perUser = o.readModeChunksPerUser
    const half = Math.floor(perUser / 2 / 20) * 20 // whole files
    log(
      `B: ${users.length} users x ${perUser} chunks: first ${half} of each under mariadb, then switch, the rest under qdrant (${stack.qdrant.label})`
    )
    for (const u of users)
      await store(
        gateway.url,
        Array.from({ length: half }, (_, k) => makeChunk(model, o.seed, u, k))
      )
    await httpJson(gateway.url, 'PUT', '/admin/vector-storage/provider', { provider: 'qdrant' }, adminHeaders)
    await waitForSetting(gateway.url, 'active_provider', 'qdrant')
    for (const u of users)
      await store(
        gateway.url,
        Array.from({ length: perUser - half }, (_, k) => makeChunk(model, o.seed, u, half + k))
      )
    const stats = await httpJson(gateway.url, 'GET', `/stats?user_id=${users[0]}`)
    if (stats.providers.mariadb !== half || stats.providers.qdrant !== perUser - half) {
      throw new Error(`B: unexpected split for user ${users[0]}: ${JSON.stringify(stats.providers)}`)
    }

    const queries = queryVectors(model, o.seed + 9, 64)
    const samples: Record<
      ReadMode,
      { ms: number[]; took: number[]; results: number; mariadb: number; qdrant: number; queried: Set<string> }
    > = {
      active: { ms: [], took: [], results: 0, mariadb: 0, qdrant: 0, queried: new Set() },
      merged: { ms: [], took: [], results: 0, mariadb: 0, qdrant: 0, queried: new Set() }
    }
    const block = o.quick ? 10 : 20
    const rounds = Math.ceil(o.readModeQueries / block)
    log(`B: ${rounds} rounds of ${block} queries per mode, modes alternating`)
    let n = 0
    for (let r = -1; r < rounds; r++) {
      const order: ReadMode[] = r % 2 === 0 ? ['active', 'merged'] : ['merged', 'active']
      for (const mode of order) {
        await httpJson(gateway.url, 'PUT', '/admin/vector-storage/read-mode', { read_mode: mode }, adminHeaders)
        await waitForSetting(gateway.url, 'read_mode', mode)
        for (let i = 0; i < (r < 0 ? o.warmup : block); i++) {
          const q = n++
          const body = JSON.stringify({
            user_id: users[q % users.length],
            vector: queries[q % queries.length],
            limit: 10,
            min_score: 0
          })
          const started = performance.now()
          const answer = await httpRequest(gateway.url, 'POST', '/search', body, dataHeaders)
          const parsed = JSON.parse(answer.body) as {
            results: Array<{ provider: string }>
            providers_queried: string[]
            took_ms: number
          }
          const ms = performance.now() - started
          if (answer.status !== 200)
            throw new Error(`POST /search answered ${answer.status}: ${answer.body.slice(0, 300)}`)
          if (r < 0) continue
          const s = samples[mode]
          s.ms.push(ms)
          s.took.push(parsed.took_ms)
          s.results += parsed.results.length
          for (const hit of parsed.results) {
            if (hit.provider === 'mariadb') s.mariadb++
            else s.qdrant++
          }
          s.queried.add([...parsed.providers_queried].sort().join('+'))
        }
      }
    }
    const gatewayPeakRss = Math.max(gateway.memory.peak(), await gateway.stop())
    const modes = Object.fromEntries(
      (['active', 'merged'] as const).map(m => {
        const s = samples[m]
        return [
          m,
          {
            latency: summarize(s.ms),
            took: summarize(s.took),
            results: s.results / s.ms.length,
            fromMariadb: s.mariadb / s.ms.length,
            fromQdrant: s.qdrant / s.ms.length,
            providersQueried: [...s.queried].join(', ')
          }
        ]
      })
    ) as ReadModeResult['modes']
    return {
      users: users.length,
      chunksPerUser: perUser,
      perProvider: { mariadb: half, qdrant: perUser - half },
      activeProvider: 'qdrant',
      queries: samples.active.ms.length,
      block,
      modes,
      ratioP50: ratio(modes.merged.latency.p50, modes.active.latency.p50),
      ratioP95: ratio(modes.merged.latency.p95, modes.active.latency.p95),
      gatewayPeakRss,
      qdrant: stack.qdrant.kind,
      qdrantUrl: stack.qdrant.url
    }
  })
}
