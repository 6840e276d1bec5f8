// Feeds the providers' calls and recall samples into the metrics (metrics.ts).
// Apart from prom-client so that code wrapping providers (src/gateway.ts, hence
// the CLI) does not load it.
import type { RecallObserver } from '../providers/mariadb/recall-sampler.ts'
import type { VectorProvider } from '../providers/vector-provider.ts'
import type { GatewayMetrics } from './metrics.ts'

/** Feeds the MariaDB provider's recall checks (probes and shadow checks) into the metrics. */
export function recallObserver(metrics: GatewayMetrics): RecallObserver {
  return {
    observe: (plan, recall, check) => {
      metrics.searchRecall.observe({ plan, check }, recall)
    },
    dropped: (plan, check) => {
      metrics.searchRecallDropped.inc({ plan, check })
    }
  }
}

/** Wraps a provider so every async operation is timed per provider and outcome. */
export function instrumentProvider<P extends VectorProvider>(provider: P, metrics: GatewayMetrics): P {
  return new Proxy(provider, {
    get(target, prop, receiver) {
      const value = Reflect.get(target, prop, receiver)
      if (typeof value !== 'function' || typeof prop !== 'string') return value
      return function (this: unknown, ...args: unknown[]) {
        const result = value.apply(target, args)
        if (!(result instanceof Promise)) return result
        const end = metrics.providerDuration.startTimer({ provider: target.name, operation: prop })
        return result.then(
          (v: unknown) => {
            end({ outcome: 'ok' })
            return v
          },
          (err: unknown) => {
            end({ outcome: 'error' })
            throw err
          }
        )
      }
    }
  })
}
