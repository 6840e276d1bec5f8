// Prometheus metrics (prom-client): one registry per app so tests and replicas in
// one process do not share counters.
import { Counter, Histogram, Registry, collectDefaultMetrics } from 'prom-client'
import type { SearchStats } from '../providers/mariadb/search-executor.ts'

export interface GatewayMetrics {
  registry: Registry
  httpRequests: Counter<'method' | 'route' | 'status'>
  httpDuration: Histogram<'method' | 'route' | 'status'>
  providerDuration: Histogram<'provider' | 'operation' | 'outcome'>
  /** recall@k of the MariaDB index plan against the exact plan, by check (probe or shadow, recall-sampler.ts) */
  searchRecall: Histogram<'plan' | 'check'>
  searchRecallDropped: Counter<'plan' | 'check'>
  /** Exports the MariaDB provider's plan counters (read when /metrics is scraped). */
  mirrorSearchPlans(stats: () => SearchStats): void
}

export function createMetrics(): GatewayMetrics {
  const registry = new Registry()
  collectDefaultMetrics({ register: registry, prefix: 'vg_' })
  return {
    registry,
    httpRequests: new Counter({
      name: 'vg_http_requests_total',
      help: 'HTTP requests by route and status',
      labelNames: ['method', 'route', 'status'],
      registers: [registry]
    }),
    httpDuration: new Histogram({
      name: 'vg_http_request_duration_seconds',
      help: 'HTTP request latency',
      labelNames: ['method', 'route', 'status'],
      buckets: [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10],
      registers: [registry]
    }),
    providerDuration: new Histogram({
      name: 'vg_provider_operation_duration_seconds',
      help: 'Vector provider operations by provider, operation and outcome',
      labelNames: ['provider', 'operation', 'outcome'],
      buckets: [0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10],
      registers: [registry]
    }),
    searchRecall: new Histogram({
      name: 'vg_search_recall',
      help: 'recall@k of the MariaDB index plan against the exact plan; check=probe: measured after an exact answer, shadow: an index answer re-run exactly',
      labelNames: ['plan', 'check'],
      buckets: [0.1, 0.2, 0.3, 0.4, 0.5, 0.6, 0.7, 0.8, 0.9, 0.95, 0.98, 0.99, 1],
      registers: [registry]
    }),
    searchRecallDropped: new Counter({
      name: 'vg_search_recall_samples_dropped_total',
      help: 'recall checks skipped because another was still running',
      labelNames: ['plan', 'check'],
      registers: [registry]
    }),
    mirrorSearchPlans(stats) {
      new Counter({
        name: 'vg_mariadb_search_plans_total',
        help: 'MariaDB searches by plan: exact, index (every index walk), index_fallback (index walks that came back short and were answered exactly)',
        labelNames: ['plan'],
        registers: [registry],
        collect() {
          const s = stats()
          this.reset()
          this.inc({ plan: 'exact' }, s.exact)
          this.inc({ plan: 'index' }, s.index)
          this.inc({ plan: 'index_fallback' }, s.indexFallbacks)
        }
      })
    }
  }
}
