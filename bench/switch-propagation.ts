// Section C: switch propagation. Two gateway processes on one database with
// SETTINGS_CACHE_MS=1000. The provider is switched through A; B is polled every
// 5 ms (GET /capabilities) until it reports the new provider. Each switch waits a
// random 0-1000 ms first, so it lands at a random point of B's cache period.
import { Rng } from './data.ts'
import { adminHeaders, httpJson, log, sleep, withQdrantStack } from './harness.ts'
import type { BenchOptions } from './options.ts'
import { summarize, type Summary } from './stats.ts'

export interface SwitchResult {
  cacheMs: number
  switches: number
  /** from A's answer to the PUT until B first reports the new provider */
  afterAnswer: Summary
  /** from sending the PUT */
  afterRequest: Summary
  /** A's own view right after its answer (its cache is invalidated by its own change) */
  switchingReplicaImmediate: boolean
  samples: Array<{ to: string; putMs: number; propagationMs: number; polls: number }>
}

export async function runSwitchSection(o: BenchOptions): Promise<SwitchResult> {
  const cacheMs = 1000
  return await withQdrantStack(o, 'switch', 2, async stack => {
    const env = { SETTINGS_CACHE_MS: String(cacheMs) }
    const collection = stack.qdrant.collection('switch')
    const a = await stack.startGateway(collection, env)
    const b = await stack.startGateway(collection, env)
    const rng = new Rng(o.seed, 0x5317c4)
    const samples: SwitchResult['samples'] = []
    let immediate = true
    log(`C: ${o.switches} switches through replica A, replica B polled every 5 ms`)
    for (let k = 0; k < o.switches; k++) {
      const to = k % 2 === 0 ? 'qdrant' : 'mariadb'
      await sleep(rng.int(1000))
      const sent = performance.now()
      await httpJson(a.url, 'PUT', '/admin/vector-storage/provider', { provider: to }, adminHeaders)
      const answered = performance.now()
      const own = await httpJson(a.url, 'GET', '/capabilities')
      if (own.active_provider !== to) immediate = false
      let polls = 0
      let seen = Number.NaN
      const deadline = answered + 10 * cacheMs
      while (performance.now() < deadline) {
        polls++
        const caps = await httpJson(b.url, 'GET', '/capabilities')
        if (caps.active_provider === to) {
          seen = performance.now()
          break
        }
        await sleep(5)
      }
      if (Number.isNaN(seen)) throw new Error(`C: replica B did not report ${to} within ${10 * cacheMs} ms`)
      samples.push({ to, putMs: answered - sent, propagationMs: seen - answered, polls })
      log(`   -> ${to}: B saw it ${(seen - answered).toFixed(0)} ms after A answered (${polls} polls)`)
    }
    return {
      cacheMs,
      switches: samples.length,
      afterAnswer: summarize(samples.map(s => s.propagationMs)),
      afterRequest: summarize(samples.map(s => s.propagationMs + s.putMs)),
      switchingReplicaImmediate: immediate,
      samples
    }
  })
}
