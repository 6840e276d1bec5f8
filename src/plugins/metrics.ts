// Request counts and latencies per route, exposed at /metrics for Prometheus.
import fp from 'fastify-plugin'
import { createMetrics, type GatewayMetrics } from '../observability/metrics.ts'

declare module 'fastify' {
  interface FastifyInstance {
    metrics: GatewayMetrics
  }
}

export default fp(
  async fastify => {
    const metrics = createMetrics()
    fastify.decorate('metrics', metrics)
    fastify.addHook('onResponse', async (request, reply) => {
      const labels = {
        method: request.method,
        route: request.routeOptions.url ?? 'unmatched',
        status: String(reply.statusCode)
      }
      metrics.httpRequests.inc(labels)
      metrics.httpDuration.observe(labels, reply.elapsedTime / 1000)
    })
    fastify.get('/metrics', { schema: { hide: true }, config: { auth: 'public' } }, async (_request, reply) => {
      reply.type(metrics.registry.contentType)
      return await metrics.registry.metrics()
    })
  },
  { name: 'metrics' }
)
