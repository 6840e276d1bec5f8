// Starts this replica's retrier of pending removals of older copies (src/cleanup)
// once the app is ready, stops it on close, and exposes their count in /metrics.
import fp from 'fastify-plugin'
import type { Config } from '../config.ts'
import { RemovalRetrier } from '../cleanup/removal-retrier.ts'
import { pendingRemovalsGauge } from '../observability/pending-removals-metric.ts'

declare module 'fastify' {
  interface FastifyInstance {
    removalRetrier: RemovalRetrier
  }
}

export default fp(
  async (fastify, opts: { config: Config }) => {
    const retrier = new RemovalRetrier({
      store: fastify.pendingRemovals,
      providers: fastify.providers.all,
      baseDelayMs: opts.config.CLEANUP_RETRY_BASE_MS,
      maxDelayMs: opts.config.CLEANUP_RETRY_MAX_MS,
      logger: fastify.log
    })
    pendingRemovalsGauge(fastify.metrics.registry, async () => await fastify.pendingRemovals.count())
    fastify.decorate('removalRetrier', retrier)
    fastify.addHook('onReady', async () => {
      retrier.start()
    })
    fastify.addHook('onClose', async () => {
      await retrier.stop()
    })
  },
  { name: 'pending-removals', dependencies: ['metrics', 'vector-storage'] }
)
